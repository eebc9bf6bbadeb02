/* locals.c: fast locals, constants and plain stack shuffling. */
#include "stencil.h"

/* Push a fast local (LOAD_FAST), or the cell in its slot (LOAD_CLOSURE: in 3.11 it loads the
 * cell object itself from its fast slot); an unbound slot raises UnboundLocalError. */
#define LOAD_SLOT_BODY                                                                         \
    {                                                                                          \
        PyObject *value = GETLOCAL(OPARG);                                                     \
        if (value == NULL) {                                                                   \
            SAVE_IP();                                                                         \
            cpjit_unbound_local_error(tstate, frame, OPARG);                                   \
            ERROR();                                                                           \
        }                                                                                      \
        Py_INCREF(value);                                                                      \
        PUSH(value);                                                                           \
        CONTINUE();                                                                            \
    }

STENCIL(LOAD_FAST) LOAD_SLOT_BODY
STENCIL(LOAD_CLOSURE) LOAD_SLOT_BODY

STENCIL(LOAD_CONST)
{
    PyObject *value = CONST;
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

STENCIL(STORE_FAST)
{
    PyObject *value = POP();
    PyObject *old = GETLOCAL(OPARG);
    GETLOCAL(OPARG) = value;
    if (old != NULL) {
        DECREF_SAVING_IP(old);
    }
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
    PyObject *value = POP();
    DECREF_SAVING_IP(value);
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
