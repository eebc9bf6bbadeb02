/* gen.h: helpers for the generator and coroutine stencils (stencils/generators.c).
 *
 * CPython 3.11 keeps these internal (hidden visibility): _Py_MakeCoro, _PyFrame_Copy,
 * _PyCoro_GetAwaitableIter, _PyGen_yf, _PyAsyncGenValueWrapperNew, ceval.c's
 * format_awaitable_error. Each helper here re-implements the 3.11 behaviour, messages included.
 */
#ifndef CPJIT_GEN_H
#define CPJIT_GEN_H

#include "cpjit_rt.h"
#include "opcode.h"

/* 1 when the generator, coroutine, async generator and wrapped-value types have the layout
 * this file was compiled against (checked once against the types' tp_basicsize/tp_itemsize);
 * 0 when not, and then the stencils hand RETURN_GENERATOR / ASYNC_GEN_WRAP to the interpreter.
 * The answer is kept in cpjit_gen_layout (0: not checked yet, 1: matches, -1: does not). */
extern int cpjit_gen_layout;
int cpjit_gen_layout_check(void);
static inline int cpjit_gen_layout_ok(void)
{
    return cpjit_gen_layout > 0 || (cpjit_gen_layout == 0 && cpjit_gen_layout_check());
}

/* RETURN_GENERATOR for a native (entry) frame whose stack pointer is saved and whose prev_instr
 * is the RETURN_GENERATOR instruction (only when cpjit_gen_layout_ok()): make the generator /
 * coroutine / async generator of the frame's function (_Py_MakeCoro, with coroutine origin
 * tracking), move the frame into it, and
 * leave `frame` the way ceval leaves an entry frame for _PyEvalFrameClearAndPop (no stack, no
 * locals dict, own references to f_func and f_code). New reference, or NULL with an error set
 * (then the frame is untouched). Does not unlink the frame from the thread. */
PyObject *cpjit_return_generator(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* _PyCoro_GetAwaitableIter followed by ceval's format_awaitable_error for `oparg` (1: from
 * __aenter__, 2: from __aexit__). New reference, or NULL with an error set. */
PyObject *cpjit_get_awaitable(PyThreadState *tstate, PyObject *iterable, int oparg);

/* _PyGen_yf(gen) != NULL, for 3.11 frames: a started, not finished generator whose next
 * instruction is a RESUME with oparg >= 2 (the resume point after a yield inside SEND's loop)
 * is delegating to the object on top of its stack. Native frames keep prev_instr at the
 * YIELD_VALUE while suspended, exactly as the interpreter does. */
static inline int cpjit_gen_is_delegating(PyGenObject *gen)
{
    if (gen->gi_frame_state >= FRAME_CLEARED || gen->gi_frame_state == FRAME_CREATED) {
        return 0;
    }
    _Py_CODEUNIT next = ((_PyInterpreterFrame *)gen->gi_iframe)->prev_instr[1];
    int op = _Py_OPCODE(next);
    return (op == RESUME || op == RESUME_QUICK) && _Py_OPARG(next) >= 2;
}

/* GET_ANEXT for an object that is not exactly an async generator: __anext__ and the awaitable
 * of its result, with ceval's messages. New reference, or NULL with an error set. */
PyObject *cpjit_get_anext_generic(PyThreadState *tstate, PyObject *aiter);

/* _PyAsyncGenValueWrapperNew: wrap a value an async generator yields. New reference or NULL. */
PyObject *cpjit_async_gen_wrap(PyObject *value);

/* gen_send_ex2's end for a generator or coroutine whose frame has returned or raised (and is
 * unlinked): drop the exception state, mark the frame cleared and clear it (_PyFrame_Clear: a
 * frame object still referenced elsewhere takes a copy of the frame). */
void cpjit_gen_release_frame(PyGenObject *gen);

/* SEND's send: PyIter_Send(receiver, arg, presult), resuming a generator or coroutine with native
 * code directly (csrc/runtime.c, beside the hook's entry). */
PySendResult cpjit_gen_send(PyThreadState *tstate, PyObject *receiver, PyObject *arg,
                            PyObject **presult);

#endif
