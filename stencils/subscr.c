/* subscr.c: BINARY_SUBSCR, STORE_SUBSCR, DELETE_SUBSCR and BUILD_SLICE.
 *
 * The subscript stencils have the fast paths of 3.11's specialisations (BINARY_SUBSCR_LIST_INT,
 * _TUPLE_INT, _DICT, STORE_SUBSCR_LIST_INT, _DICT) inline, and fall back to the generic
 * PyObject_GetItem / PyObject_SetItem otherwise; behaviour is the same either way.
 */
#include "stencil.h"

/* A small non-negative exact int (0 <= value < 2**30) as an index, or -1. */
static inline __attribute__((always_inline)) Py_ssize_t small_index(PyObject *sub)
{
    if (!PyLong_CheckExact(sub)) {
        return -1;
    }
    Py_ssize_t size = Py_SIZE(sub);
    if ((size_t)size > 1) {
        return -1;
    }
    return size ? (Py_ssize_t)((PyLongObject *)sub)->ob_digit[0] : 0;
}

STENCIL(BINARY_SUBSCR)
{
    SAVE_IP();
    PyObject *sub = TOP();
    PyObject *container = SECOND();
    PyObject *res;
    Py_ssize_t index = small_index(sub);
    if (index >= 0) {
        if (PyList_CheckExact(container) && index < PyList_GET_SIZE(container)) {
            res = Py_NewRef(PyList_GET_ITEM(container, index));
            goto fast;
        }
        if (PyTuple_CheckExact(container) && index < PyTuple_GET_SIZE(container)) {
            res = Py_NewRef(PyTuple_GET_ITEM(container, index));
            goto fast;
        }
    }
    /* Dicts and everything else, out of line. */
    res = cpjit_binary_subscr_consume(tstate, stack_pointer);
    STACK_SHRINK(1);
    if (res == NULL) {
        ERROR();
    }
    CONTINUE();
fast:
    STACK_SHRINK(1);
    Py_DECREF(sub);
    SET_TOP(res);
    Py_DECREF(container);
    CONTINUE();
}

/* container[sub] = v, with v, container, sub on the stack (sub on top). On error all three are
 * popped and released. */
STENCIL(STORE_SUBSCR)
{
    SAVE_IP();
    PyObject *sub = TOP();
    PyObject *container = SECOND();
    PyObject *v = THIRD();
    STACK_SHRINK(3);
    if (PyList_CheckExact(container)) {
        Py_ssize_t index = small_index(sub);
        if (index >= 0 && index < PyList_GET_SIZE(container)) {
            /* The list takes the stack's reference to v. */
            PyObject *old = PyList_GET_ITEM(container, index);
            PyList_SET_ITEM(container, index, v);
            Py_DECREF(old);
            Py_DECREF(sub);
            Py_DECREF(container);
            CONTINUE();
        }
    }
    /* Dicts and everything else, out of line (the stack pointer has already dropped the
     * three slots; their references are released there). */
    if (cpjit_store_subscr_consume(stack_pointer + 3) < 0) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(DELETE_SUBSCR)
{
    SAVE_IP();
    PyObject *sub = TOP();
    PyObject *container = SECOND();
    STACK_SHRINK(2);
    int err = PyObject_DelItem(container, sub);
    Py_DECREF(container);
    Py_DECREF(sub);
    if (err != 0) {
        ERROR();
    }
    CONTINUE();
}

/* slice(start, stop[, step]); oparg is 2 or 3. On error the stack keeps one NULL slot. */
#define BUILD_SLICE_BODY(HAS_STEP)                                                             \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        PyObject *step = (HAS_STEP) ? POP() : NULL;                                            \
        PyObject *stop = POP();                                                                \
        PyObject *start = TOP();                                                               \
        PyObject *slice = PySlice_New(start, stop, step);                                      \
        Py_DECREF(start);                                                                      \
        Py_DECREF(stop);                                                                       \
        Py_XDECREF(step);                                                                      \
        SET_TOP(slice);                                                                        \
        if (slice == NULL) {                                                                   \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    } while (0)

STENCIL(BUILD_SLICE__2)
{
    BUILD_SLICE_BODY(0);
}

STENCIL(BUILD_SLICE__3)
{
    BUILD_SLICE_BODY(1);
}

STENCIL(BUILD_SLICE)
{
    BUILD_SLICE_BODY(OPARG == 3);
}
