/* exc.h: C helpers of the exception, `with` and pattern-matching stencils (family "exc").
 *
 * Each helper re-implements a piece of CPython 3.11's ceval.c (or Objects/exceptions.c) that is
 * static or not exported by libpython, with the same behaviour and error messages.
 */
#ifndef CPJIT_EXC_H
#define CPJIT_EXC_H

#include "cpjit_rt.h"

/* ceval.c's check_except_type_valid / check_except_star_type_valid: 0, or -1 with TypeError. */
int cpjit_check_except_type_valid(PyThreadState *tstate, PyObject *right);
int cpjit_check_except_star_type_valid(PyThreadState *tstate, PyObject *right);

/* ceval.c's exception_group_match (CHECK_EG_MATCH): sets *match and *rest to new references
 * (None, None when nothing matches). Returns 0, or -1 with an error set. */
int cpjit_exception_group_match(PyObject *exc_value, PyObject *match_type, PyObject **match,
                                PyObject **rest);

/* Objects/exceptions.c's _PyExc_PrepReraiseStar (PREP_RERAISE_STAR). New reference or NULL. */
PyObject *cpjit_prep_reraise_star(PyObject *orig, PyObject *excs);

/* ceval.c's do_raise for `raise exc [from cause]` (exc != NULL): consumes both references and
 * always leaves an exception set (the raised one, or the error raising it caused). */
void cpjit_do_raise(PyThreadState *tstate, PyObject *exc, PyObject *cause);

/* Free a code state's decoded exception table (CpjitCodeState.exc_table; NULL is fine). */
void cpjit_exc_table_free(void *table);

/* ceval.c's `exception_unwind:` label, for exceptions that already carry their traceback (bare
 * `raise`, RERAISE): no traceback entry is added for this frame. Looks up the handler of the
 * instruction at `instr` in the exception table.
 *   - Handler found: pops the value stack to the handler's depth, pushes lasti (when the handler
 *     wants it) and the exception. If the frame's native code has an entry at the handler, stores
 *     the stack pointer in the frame and returns that entry: the caller reloads stack_pointer,
 *     sets frame->stacktop to -1 and jumps there. Otherwise the interpreter runs the frame from
 *     the handler on; returns NULL with the frame's result in *result.
 *   - No handler: pops the whole stack and leaves the frame as exit_unwind does; returns NULL
 *     with *result = NULL (exception set).
 * frame->prev_instr must already hold the lasti ceval would have (RERAISE restores it from the
 * stack); the caller has checked that no tracing is active. */
cpjit_native_fn cpjit_unwind_reraise(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                     PyThreadState *tstate, _Py_CODEUNIT *instr,
                                     PyObject **result);

/* RERAISE: the exception on top of the stack is raised again with its traceback (oparg != 0:
 * the lasti below it is restored first); bare `raise` (cpjit_reraise_handled): the exception
 * being handled. Both unwind from `instr` as cpjit_unwind_reraise does (same results), an error
 * of their own (lasti not an int; no active exception) as cpjit_unwind_error does. When a
 * handler in this frame catches it, the exception object goes straight onto the stack: with no
 * other exception pending and an exception class whose metaclass is `type`, ceval's
 * restore / fetch / normalize round trip changes nothing but a NULL __traceback__ to None.
 * The caller has checked that no tracing is active. */
cpjit_native_fn cpjit_reraise(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate, _Py_CODEUNIT *instr, int oparg,
                              PyObject **result);
cpjit_native_fn cpjit_reraise_handled(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                      PyThreadState *tstate, _Py_CODEUNIT *instr,
                                      PyObject **result);

/* ceval.c's `error:` label followed by `exception_unwind:`, natively: records this frame in the
 * traceback and unwinds as cpjit_unwind_reraise does (same results), looking the handler up at
 * frame->prev_instr (the raising instruction). When a trace function is set (it must see the
 * 'exception' event and the handler's lines) or no exception is set, the interpreter does all of
 * it instead: returns NULL with the frame's result in *result, counted under `reason`. */
cpjit_native_fn cpjit_unwind_error(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                   PyThreadState *tstate, int reason, PyObject **result);

/* The exception an instruction is about to raise (by ERROR(), to the frame's error exit) is
 * looked up in the exception table at code unit `unit`, not at prev_instr, which the traceback
 * still records: 3.11 serves the eval breaker of a taken backward jump after the jump, so an
 * exception from a signal handler, a pending call or PyThreadState_SetAsyncExc there is looked
 * up at the unit before the jump target (ceval's INSTR_OFFSET() - 1), while the traceback and a
 * handler's lasti name the jump. `try: while True: ...` does not catch it: the target is the
 * first unit the handler covers. */
void cpjit_unwind_next_error_from(_PyInterpreterFrame *frame, _Py_CODEUNIT *unit);

/* cpjit_unwind_error with the handler looked up at `raised_at` while the traceback records
 * frame->prev_instr: 3.11's superinstructions raise from their second half with prev_instr still
 * on the first (stencils/fused.c). When the interpreter does the unwinding (tracing) it uses
 * prev_instr for both, as it does itself then. */
/* Whether the code object's exception table has a handler for the instruction at code unit
 * `index` (osr.c: a frame may only be left with an exception from where none catches it). */
int cpjit_exc_handler_covers(PyCodeObject *code, int index);

cpjit_native_fn cpjit_unwind_error_at(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                      PyThreadState *tstate, int reason, _Py_CODEUNIT *raised_at,
                                      PyObject **result);

/* ceval.c's match_keys (MATCH_KEYS): tuple of values, None when a key is missing, NULL on error. */
PyObject *cpjit_match_keys(PyThreadState *tstate, PyObject *map, PyObject *keys);

/* ceval.c's match_class (MATCH_CLASS): tuple of attributes on a match; NULL on no match (no
 * error set) or on error (error set). */
PyObject *cpjit_match_class(PyThreadState *tstate, PyObject *subject, PyObject *type,
                            Py_ssize_t nargs, PyObject *kwargs);

#endif
