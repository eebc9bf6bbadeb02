/* calls.h: calling from native code. */
#ifndef CPJIT_CALLS_H
#define CPJIT_CALLS_H

#include "cpjit_rt.h"

/* CALL's core: call `callable` with `nargs` positional arguments at `args` (+ keyword names),
 * borrowing everything. A Python function whose code is compiled and whose arguments match its
 * parameters exactly is entered natively on a frame pushed here (no _PyEval_Vector, no frame-eval
 * hook); anything else goes through PyObject_Vectorcall. */
PyObject *cpjit_call(PyThreadState *tstate, PyObject *callable, PyObject *const *args,
                     Py_ssize_t nargs, PyObject *kwnames);

#endif
