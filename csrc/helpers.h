/* helpers.h: C functions stencils call that CPython 3.11 does not export (it builds with hidden
 * visibility) or that are too large to copy into every stencil. Implemented in csrc/helpers*.c,
 * each one a re-implementation of the named ceval.c behaviour against CPython's headers.
 */
#ifndef CPJIT_HELPERS_H
#define CPJIT_HELPERS_H

#include "cpjit_rt.h"

#define CPJIT_NAME_ERROR_MSG "name '%.200s' is not defined"
#define CPJIT_UNBOUNDLOCAL_ERROR_MSG \
    "cannot access local variable '%s' where it is not associated with a value"
#define CPJIT_UNBOUNDFREE_ERROR_MSG \
    "cannot access free variable '%s' where it is not associated with a" \
    " value in enclosing scope"

/* ceval.c's format_exc_check_arg: raise `exc` with `format_str` % name; NameError gets .name. */
void cpjit_format_exc_check_arg(PyThreadState *tstate, PyObject *exc, const char *format_str,
                                PyObject *obj);
/* UnboundLocalError for local slot `oparg` of the frame's code. */
void cpjit_unbound_local_error(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg);

/* ** and **= without a modulus (ceval.c keeps these static). */
PyObject *cpjit_power(PyObject *base, PyObject *exp);
PyObject *cpjit_inplace_power(PyObject *base, PyObject *exp);

/* BINARY_OP's generic path: the binary_ops[] table of ceval.c. NULL with an error on failure. */
PyObject *cpjit_binary_op(int oparg, PyObject *lhs, PyObject *rhs);

/* LOAD_GLOBAL's lookup: globals, then builtins; NameError when missing. New reference or NULL.
 * (LOAD_GLOBAL's cache is in names.h.) */
PyObject *cpjit_load_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);

/* FOR_ITER's end-of-iteration check: 0 when the iterator is simply exhausted (error cleared,
 * trace hook called like ceval's), -1 when a real error is pending. */
/* Whether `it` is a built-in sequence or range iterator with at most `limit` items left (its
 * C __length_hint__ tells, no Python code runs). Used to bound the interpreted rest of a loop
 * that ends a code object's warm-up (JUMP_BACKWARD_LAST_FOR, stencils/jumps.c). */
int cpjit_few_items_left(PyObject *it, Py_ssize_t limit);

int cpjit_for_iter_exhausted(PyThreadState *tstate, _PyInterpreterFrame *frame);

#endif
