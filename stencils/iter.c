/* iter.c: GET_ITER and FOR_ITER. */
#include "stencil.h"

STENCIL(GET_ITER)
{
    SAVE_IP();
    PyObject *iterable = TOP();
    PyObject *iter = PyObject_GetIter(iterable);
    Py_DECREF(iterable);
    SET_TOP(iter);
    if (iter == NULL) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(FOR_ITER)
{
    SAVE_IP();
    PyObject *iter = TOP();
    PyObject *next = (*Py_TYPE(iter)->tp_iternext)(iter);
    if (next != NULL) {
        PUSH(next);
        CONTINUE();
    }
    if (cpjit_for_iter_exhausted(tstate, frame) < 0) {
        ERROR();
    }
    STACK_SHRINK(1);
    Py_DECREF(iter);
    JUMP();
}
