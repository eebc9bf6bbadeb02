/* with.c: the `with` and `async with` statements. BEFORE_WITH / BEFORE_ASYNC_WITH (enter) and
 * WITH_EXCEPT_START (calling __exit__ with the exception raised in the body). The normal exit
 * is an ordinary CALL. */
#include "stencil.h"
#include "exc.h"

/* BEFORE_WITH and BEFORE_ASYNC_WITH: [mgr] -> [exit, enter()], with ceval.c's messages when
 * the manager lacks the methods. If enter() raises, [exit] stays on the stack, as in ceval. */
#define BEFORE_WITH_BODY(ENTER, EXIT, PROTOCOL)                                                 \
    {                                                                                          \
        SAVE_IP();                                                                             \
        PyObject *mgr = TOP();                                                                 \
        PyObject *enter = _PyObject_LookupSpecial(mgr, &_Py_ID(ENTER));                        \
        if (enter == NULL) {                                                                   \
            if (!_PyErr_Occurred(tstate)) {                                                    \
                _PyErr_Format(tstate, PyExc_TypeError,                                         \
                              "'%.200s' object does not support the " PROTOCOL,                \
                              Py_TYPE(mgr)->tp_name);                                          \
            }                                                                                  \
            ERROR();                                                                           \
        }                                                                                      \
        PyObject *exit = _PyObject_LookupSpecial(mgr, &_Py_ID(EXIT));                          \
        if (exit == NULL) {                                                                    \
            if (!_PyErr_Occurred(tstate)) {                                                    \
                _PyErr_Format(tstate, PyExc_TypeError,                                         \
                              "'%.200s' object does not support the " PROTOCOL                 \
                              " (missed " #EXIT " method)",                                    \
                              Py_TYPE(mgr)->tp_name);                                          \
            }                                                                                  \
            Py_DECREF(enter);                                                                  \
            ERROR();                                                                           \
        }                                                                                      \
        SET_TOP(exit);                                                                         \
        Py_DECREF(mgr);                                                                        \
        PyObject *res = PyObject_CallNoArgs(enter);                                            \
        Py_DECREF(enter);                                                                      \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        PUSH(res);                                                                             \
        CHECK_TRACING_AFTER();                                                                 \
        CONTINUE();                                                                            \
    }

STENCIL(BEFORE_WITH) BEFORE_WITH_BODY(__enter__, __exit__, "context manager protocol")
STENCIL(BEFORE_ASYNC_WITH)
BEFORE_WITH_BODY(__aenter__, __aexit__, "asynchronous context manager protocol")

/* Stack: [exit, lasti, previous exc, exc] -> [..., exit(type(exc), exc, exc.__traceback__)] */
STENCIL(WITH_EXCEPT_START)
{
    SAVE_IP();
    PyObject *val = TOP();
    PyObject *exc = PyExceptionInstance_Class(val);
    PyObject *tb = PyException_GetTraceback(val);
    Py_XDECREF(tb); /* borrowed from val from here on */
    PyObject *exit_func = PEEK(4);
    PyObject *stack[4] = {NULL, exc, val, tb};
    PyObject *res = PyObject_Vectorcall(exit_func, stack + 1, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                        NULL);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    PUSH(res);
    CHECK_TRACING_AFTER();
    CONTINUE();
}
