/* data.h: C helpers for the "data" family of stencils (containers, subscripts, unpacking,
 * f-string formatting, PRINT_EXPR). Each re-implements a piece of CPython 3.11's ceval.c or an
 * unexported internal (_PyDict_FromItems, unpack_iterable, format_kwargs_error, ...) with the
 * same behaviour and error messages. Implemented in csrc/data.c.
 */
#ifndef CPJIT_DATA_H
#define CPJIT_DATA_H

#include "cpjit_rt.h"

/* ceval.c's unpack_iterable: unpack `v` into argcnt values (plus a list and argcntafter values
 * when argcntafter >= 0), written downwards from `sp` (so sp[-1] is the first value). Returns 1,
 * or 0 with an exception set and nothing left written (partial values are released).
 * Does not release `v`. */
int cpjit_unpack_iterable(PyThreadState *tstate, PyObject *v, int argcnt, int argcntafter,
                          PyObject **sp);

/* BUILD_MAP: a dict from `n` key/value pairs laid out key0, value0, key1, value1, ... (borrowed).
 * Same table kind and presizing as _PyDict_FromItems. New reference or NULL. */
PyObject *cpjit_dict_from_pairs(PyObject *const *items, Py_ssize_t n);

/* LIST_EXTEND's error path: turn "not iterable" into "Value after * must be an iterable". */
void cpjit_list_extend_error(PyThreadState *tstate, PyObject *iterable);

/* DICT_UPDATE's error path: AttributeError becomes "'%.200s' object is not a mapping". */
void cpjit_dict_update_error(PyThreadState *tstate, PyObject *update);

/* ceval.c's format_kwargs_error, for DICT_MERGE (`func` is the callable below the kwargs). */
void cpjit_format_kwargs_error(PyThreadState *tstate, PyObject *func, PyObject *kwargs);

/* PRINT_EXPR: call sys.displayhook(value). 0, or -1 with an exception set. Borrows value. */
int cpjit_print_expr(PyThreadState *tstate, PyObject *value);

/* BUILD_STRING: ''.join(items[0:n]) for str items (borrowed). New reference or NULL. */
PyObject *cpjit_build_string(PyObject *const *items, Py_ssize_t n);

#endif
