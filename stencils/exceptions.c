/* exceptions.c: handler bookkeeping and raising. PUSH_EXC_INFO, POP_EXCEPT, CHECK_EXC_MATCH,
 * CHECK_EG_MATCH, PREP_RERAISE_STAR, RERAISE and RAISE_VARARGS (one variant per form).
 *
 * Handlers run natively: the error exit (EXIT_ERROR, stencils/frame.c) records the traceback
 * entry, unwinds and continues at the handler's native code (csrc/exc.c); the interpreter does it
 * when a tracer must see it.
 *
 * RERAISE and bare `raise` re-raise an exception that already carries its traceback: ceval goes
 * straight to `exception_unwind` without adding a traceback entry for this frame, which ERROR()
 * (the interpreter's `error:` label) would add. cpjit_reraise / cpjit_reraise_handled
 * (csrc/exc.c) do that unwind step themselves and continue at the handler, natively when they
 * can.
 */
#include "stencil.h"
#include "exc.h"

STENCIL(PUSH_EXC_INFO)
{
    /* [exc] -> [previous exc_info value or None, exc]; exc becomes the handled exception. The
     * previous value's reference moves to the stack, the stack's reference to exc_info. */
    PyObject *value = TOP();
    _PyErr_StackItem *exc_info = tstate->exc_info;
    SET_TOP(exc_info->exc_value != NULL ? exc_info->exc_value : Py_NewRef(Py_None));
    PUSH(Py_NewRef(value));
    exc_info->exc_value = value;
    CONTINUE();
}

STENCIL(POP_EXCEPT)
{
    _PyErr_StackItem *exc_info = tstate->exc_info;
    PyObject *value = exc_info->exc_value;
    exc_info->exc_value = POP();
    SAVE_IP();
    Py_XDECREF(value);
    CONTINUE();
}

STENCIL(CHECK_EXC_MATCH)
{
    SAVE_IP();
    PyObject *right = POP();
    PyObject *left = TOP();
    if (cpjit_check_except_type_valid(tstate, right) < 0) {
        Py_DECREF(right);
        ERROR();
    }
    int res = PyErr_GivenExceptionMatches(left, right);
    Py_DECREF(right);
    PUSH(Py_NewRef(res ? Py_True : Py_False));
    CONTINUE();
}

STENCIL(CHECK_EG_MATCH)
{
    SAVE_IP();
    PyObject *match_type = POP();
    if (cpjit_check_except_star_type_valid(tstate, match_type) < 0) {
        Py_DECREF(match_type);
        ERROR();
    }
    PyObject *exc_value = TOP();
    PyObject *match = NULL, *rest = NULL;
    int res = cpjit_exception_group_match(exc_value, match_type, &match, &rest);
    Py_DECREF(match_type);
    if (UNLIKELY(res < 0)) {
        ERROR();
    }
    if (Py_IsNone(match)) {
        PUSH(match);
        Py_XDECREF(rest);
    }
    else {
        /* Total or partial match: [exc] -> [rest, match] (rest may be None), and the match is
         * the exception being handled. */
        SET_TOP(rest);
        PUSH(match);
        PyErr_SetExcInfo(NULL, Py_NewRef(match), NULL);
        Py_DECREF(exc_value);
    }
    CHECK_TRACING_AFTER();
    CONTINUE();
}

STENCIL(PREP_RERAISE_STAR)
{
    SAVE_IP();
    PyObject *excs = POP();
    PyObject *orig = POP();
    PyObject *val = cpjit_prep_reraise_star(orig, excs);
    Py_DECREF(excs);
    Py_DECREF(orig);
    if (UNLIKELY(val == NULL)) {
        ERROR();
    }
    PUSH(val);
    CHECK_TRACING_AFTER();
    CONTINUE();
}

STENCIL(RERAISE)
{
    if (__builtin_expect(tstate->cframe->use_tracing != 0, 0)) {
        /* The interpreter's unwind reports the frame's exit to the tracer: let it do this one. */
        HANDOVER_BEFORE(CPJIT_R_TRACING_MIDFRAME);
    }
    SAVE_IP();
    PyObject *result;
    cpjit_native_fn next = cpjit_reraise(frame, stack_pointer, tstate, INSTR, OPARG, &result);
    CONTINUE_AT_HANDLER(next, result);
}

/* Bare `raise`: re-raise the exception being handled, traceback untouched ("No active exception
 * to reraise" gets a traceback entry, as in ceval). */
STENCIL(RAISE_VARARGS__0)
{
    if (__builtin_expect(tstate->cframe->use_tracing != 0, 0)) {
        HANDOVER_BEFORE(CPJIT_R_TRACING_MIDFRAME);
    }
    SAVE_IP();
    PyObject *result;
    cpjit_native_fn next = cpjit_reraise_handled(frame, stack_pointer, tstate, INSTR, &result);
    CONTINUE_AT_HANDLER(next, result);
}

/* `raise exc`: do_raise consumes exc and always leaves an exception set. */
STENCIL(RAISE_VARARGS__1)
{
    SAVE_IP();
    PyObject *exc = POP();
    cpjit_do_raise(tstate, exc, NULL);
    ERROR();
}

/* `raise exc from cause` */
STENCIL(RAISE_VARARGS__2)
{
    SAVE_IP();
    PyObject *cause = POP();
    PyObject *exc = POP();
    cpjit_do_raise(tstate, exc, cause);
    ERROR();
}

/* Any other oparg: ceval's SystemError, nothing popped. */
STENCIL(RAISE_VARARGS)
{
    SAVE_IP();
    _PyErr_SetString(tstate, PyExc_SystemError, "bad RAISE_VARARGS oparg");
    ERROR();
}
