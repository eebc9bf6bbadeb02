/* locals.c: fast locals, constants and plain stack shuffling. */
#include "stencil.h"

STENCIL(LOAD_FAST)
{
    PyObject *value = GETLOCAL(OPARG);
    if (value == NULL) {
        SAVE_IP();
        cpjit_unbound_local_error(tstate, frame, OPARG);
        ERROR();
    }
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

/* In 3.11 LOAD_CLOSURE loads the cell itself from its fast slot. */
STENCIL(LOAD_CLOSURE)
{
    PyObject *value = GETLOCAL(OPARG);
    if (value == NULL) {
        SAVE_IP();
        cpjit_unbound_local_error(tstate, frame, OPARG);
        ERROR();
    }
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

STENCIL(LOAD_CONST)
{
    PyObject *value = CONST;
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

STENCIL(STORE_FAST)
{
    SAVE_IP();
    PyObject *value = POP();
    SETLOCAL(OPARG, value);
    CONTINUE();
}

STENCIL(DELETE_FAST)
{
    SAVE_IP();
    PyObject *v = GETLOCAL(OPARG);
    if (v != NULL) {
        SETLOCAL(OPARG, NULL);
        CONTINUE();
    }
    cpjit_unbound_local_error(tstate, frame, OPARG);
    ERROR();
}

STENCIL(POP_TOP)
{
    SAVE_IP();
    PyObject *value = POP();
    Py_DECREF(value);
    CONTINUE();
}

STENCIL(PUSH_NULL)
{
    PUSH(NULL);
    CONTINUE();
}

STENCIL(COPY)
{
    PyObject *peek = PEEK(OPARG);
    Py_INCREF(peek);
    PUSH(peek);
    CONTINUE();
}

STENCIL(SWAP)
{
    PyObject *top = TOP();
    SET_TOP(PEEK(OPARG));
    PEEK(OPARG) = top;
    CONTINUE();
}
