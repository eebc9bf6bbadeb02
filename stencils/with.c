/* with.c: the `with` statement. BEFORE_WITH (enter) and WITH_EXCEPT_START (calling __exit__
 * with the exception raised in the body). The normal exit is an ordinary CALL. */
#include "stencil.h"
#include "exc.h"

STENCIL(BEFORE_WITH)
{
    SAVE_IP();
    PyObject *mgr = TOP();
    PyObject *enter = _PyObject_LookupSpecial(mgr, &_Py_ID(__enter__));
    if (enter == NULL) {
        if (!_PyErr_Occurred(tstate)) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "'%.200s' object does not support the context manager protocol",
                          Py_TYPE(mgr)->tp_name);
        }
        ERROR();
    }
    PyObject *exit = _PyObject_LookupSpecial(mgr, &_Py_ID(__exit__));
    if (exit == NULL) {
        if (!_PyErr_Occurred(tstate)) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "'%.200s' object does not support the context manager protocol "
                          "(missed __exit__ method)",
                          Py_TYPE(mgr)->tp_name);
        }
        Py_DECREF(enter);
        ERROR();
    }
    /* [mgr] -> [exit, enter()] */
    SET_TOP(exit);
    Py_DECREF(mgr);
    PyObject *res = PyObject_CallNoArgs(enter);
    Py_DECREF(enter);
    if (res == NULL) {
        ERROR();
    }
    PUSH(res);
    CHECK_TRACING_AFTER();
    CONTINUE();
}

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
    if (res == NULL) {
        ERROR();
    }
    PUSH(res);
    CHECK_TRACING_AFTER();
    CONTINUE();
}
