/* functions.c (stencils): MAKE_FUNCTION and CALL_FUNCTION_EX (f(*args, **kwargs)). */
#include "stencil.h"
#include "names.h"
#include "calls.h"

/* PyFunction_New takes name and qualname from the code object (3.11); the flags in oparg say
 * which of closure, annotations, kw-defaults and defaults sit on the stack under the code. On
 * failure only the code object has been popped; the rest stays for the unwinder. */
STENCIL(MAKE_FUNCTION)
{
    SAVE_IP();
    PyObject **sp = cpjit_make_function(OPARG, stack_pointer, GLOBALS());
    if (sp == NULL) {
        STACK_SHRINK(1); /* the code object; the operands below stay for the unwinder */
        ERROR();
    }
    stack_pointer = sp;
    CONTINUE();
}

/* NULL | func | callargs [| kwargs]  ->  result.
 * ceval.c's do_call_core is PyObject_Call when tracing is off (cpjit_call_ex: a Python callee's
 * frame built and entered natively); with tracing on (only possible if
 * it was switched on without a hand-over) the interpreter runs the call so profilers see it.
 * Error paths leave NULL | func [| NULL] like ceval.c (operands already popped are released
 * here, where ceval.c would leak kwargs). */
STENCIL(CALL_FUNCTION_EX)
{
    if (__builtin_expect(tstate->cframe->use_tracing != 0, 0)) {
        HANDOVER_BEFORE(CPJIT_R_TRACING_MIDFRAME);
    }
    SAVE_IP();
    PyObject *kwargs = NULL;
    if (OPARG & 0x01) {
        kwargs = POP();
        if (!PyDict_CheckExact(kwargs)) {
            /* SECOND() is func: callargs is on top now. */
            kwargs = cpjit_ex_kwargs(tstate, SECOND(), kwargs);
            if (UNLIKELY(kwargs == NULL)) {
                ERROR();
            }
        }
    }
    PyObject *callargs = POP();
    PyObject *func = TOP();
    if (!PyTuple_CheckExact(callargs)) {
        callargs = cpjit_ex_callargs(tstate, func, callargs);
        if (callargs == NULL) {
            Py_XDECREF(kwargs);
            ERROR();
        }
        if (UNLIKELY(tstate->cframe->use_tracing != 0)) {
            /* Iterating `*args` switched tracing on: the interpreter makes the call (so
             * profilers see it) from the arguments already converted, which it takes as
             * they are (an exact tuple, an exact dict). */
            PUSH(callargs);
            if (OPARG & 0x01) {
                PUSH(kwargs);
            }
            HANDOVER_BEFORE(CPJIT_R_TRACING_MIDFRAME);
        }
    }
    PyObject *result = cpjit_call_ex(tstate, func, callargs, kwargs);
    Py_DECREF(func);
    Py_DECREF(callargs);
    Py_XDECREF(kwargs);
    STACK_SHRINK(1);
    SET_TOP(result);
    if (UNLIKELY(result == NULL)) {
        ERROR();
    }
    if (EVAL_BREAKER_SET()) {
        if (UNLIKELY(cpjit_handle_pending(tstate) < 0)) {
            ERROR();
        }
    }
    CHECK_TRACING_AFTER();
    CONTINUE();
}
