/* calls.h: calling from native code. */
#ifndef CPJIT_CALLS_H
#define CPJIT_CALLS_H

#include "cpjit_rt.h"

/* CALL's core: call `callable` with `nargs` positional arguments at `args` (+ keyword names),
 * borrowing everything. A Python function whose code is compiled and whose arguments match its
 * parameters exactly is entered natively on a frame pushed here (no _PyEval_Vector, no frame-eval
 * hook); anything else goes through PyObject_Vectorcall. */
PyObject *cpjit_call(PyThreadState *tstate, PyObject *callable, PyObject *const *args,
                     Py_ssize_t nargs, PyObject *kwnames, int warm);

/* CALL's general case: the oparg + 2 value-stack slots below `stack_pointer` hold
 * [NULL or method, callable or self, args...] (owned); unpack a bound method, call (directly for
 * compiled Python functions, see cpjit_call), release every slot, return the result or NULL.
 * `done` is the prev_instr the interpreter leaves while a Python callee runs; `warm` says whether
 * the interpreter would have specialised this call site by now (see WARMUP in stencil.h). */
PyObject *cpjit_call_generic(PyThreadState *tstate, _PyInterpreterFrame *frame,
                             PyObject **stack_pointer, int oparg, PyObject *kwnames,
                             _Py_CODEUNIT *done, int warm);

/* The frame-eval function (runtime.c). Native code calls compiled callees directly only while
 * it is the interpreter's current one: if something else replaced it (a profiler, a test's
 * own PEP 523 hook), every call must go through that evaluator. */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
extern int cpjit_hook_installed;
/* Whether the thread's C stack is nearly exhausted (runtime.c; cheap below 500 Python frames). */
int cpjit_rt_c_stack_low(void);
/* After a directly called frame returned: clear it and pop it off the data stack (`base` is
 * where it started), as _PyEvalFrameClearAndPop does. */
void cpjit_pop_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **base);

#endif
