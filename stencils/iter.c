/* iter.c: GET_ITER and FOR_ITER.
 *
 * FOR_ITER takes the next item of a list, tuple or range iterator in line (what listiter_next,
 * tupleiter_next and rangeiter_next do, read through the layouts in csrc/numeric.h); any other
 * iterator, and the end of those, goes through tp_iternext as in the interpreter.
 */
#include "stencil.h"
#include "numeric.h"

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
    PyObject *iter = TOP();
    PyObject *next;
    PyTypeObject *type = Py_TYPE(iter);
    if (type == &PyListIter_Type || type == &PyTupleIter_Type) {
        cpjit_seqiter *it = (cpjit_seqiter *)iter;
        PyObject *seq = it->it_seq;
        /* Exhausted: tp_iternext below drops the sequence. */
        if (seq != NULL && it->it_index < Py_SIZE(seq)) {
            PyObject **items = type == &PyListIter_Type ? _PyList_ITEMS(seq) : _PyTuple_ITEMS(seq);
            next = Py_NewRef(items[it->it_index++]);
            PUSH(next);
            CONTINUE();
        }
    }
    else if (type == &PyRangeIter_Type) {
        cpjit_rangeiter *r = (cpjit_rangeiter *)iter;
        if (r->index < r->len) {
            long value = (long)(r->start + (unsigned long)(r->index++) * r->step);
            if (value >= -_PY_NSMALLNEGINTS && value < _PY_NSMALLPOSINTS) {
                next = Py_NewRef((PyObject *)&_PyLong_SMALL_INTS[_PY_NSMALLNEGINTS + value]);
            }
            else {
                next = PyLong_FromLong(value);
                if (next == NULL) {
                    SAVE_IP();
                    ERROR();
                }
            }
            PUSH(next);
            CONTINUE();
        }
    }
    SAVE_IP();
    next = (*type->tp_iternext)(iter);
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
