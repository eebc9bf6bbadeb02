/* names.h: helpers for the "names" family of stencils (name/global/attribute/import/cell/function
 * opcodes). Each re-implements a piece of CPython 3.11's ceval.c that is static there or too big
 * to copy into every stencil, with the same behaviour and error messages. Implemented in
 * csrc/names.c.
 *
 * Convention: functions returning PyObject* return a new reference, or NULL with an exception set.
 */
#ifndef CPJIT_NAMES_H
#define CPJIT_NAMES_H

#include "cpjit_rt.h"

/* LOAD_NAME: frame locals, then globals, then builtins. */
PyObject *cpjit_load_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* STORE_NAME: stores `v` (borrowed) in the frame's locals. 0 or -1. */
int cpjit_store_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                     PyObject *v);
/* DELETE_NAME. 0 or -1. */
int cpjit_delete_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* DELETE_GLOBAL. 0 or -1. */
int cpjit_delete_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* LOAD_BUILD_CLASS: builtins.__build_class__. */
PyObject *cpjit_load_build_class(PyThreadState *tstate, _PyInterpreterFrame *frame);
/* SETUP_ANNOTATIONS. 0 or -1. */
int cpjit_setup_annotations(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* ceval.c's format_exc_unbound: UnboundLocalError for a cell variable, NameError for a free
 * one; does nothing if an exception is already set. */
void cpjit_format_exc_unbound(PyThreadState *tstate, PyCodeObject *co, int oparg);
/* LOAD_CLASSDEREF: the frame's locals mapping first, then the cell in slot `oparg`. */
PyObject *cpjit_load_classderef(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg);

/* ceval.c's import_name, import_from and import_all_from. */
PyObject *cpjit_import_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                            PyObject *fromlist, PyObject *level);
PyObject *cpjit_import_from(PyThreadState *tstate, PyObject *v, PyObject *name);
int cpjit_import_all_from(PyThreadState *tstate, PyObject *locals, PyObject *v);

/* CALL_FUNCTION_EX's argument preparation.
 * cpjit_ex_kwargs: turn the **kwargs operand (owned, consumed) into an exact dict (new
 * reference), or NULL with ceval's format_kwargs_error message. `func` names the callee.
 * cpjit_ex_callargs: turn the *args operand (owned, consumed) into an exact tuple, or NULL with
 * ceval's check_args_iterable message. */
PyObject *cpjit_ex_kwargs(PyThreadState *tstate, PyObject *func, PyObject *kwargs);
PyObject *cpjit_ex_callargs(PyThreadState *tstate, PyObject *func, PyObject *callargs);

#endif
