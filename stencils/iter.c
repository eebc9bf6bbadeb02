/* iter.c: GET_ITER and FOR_ITER.
 *
 * FOR_ITER takes the next item of a list, tuple or range iterator in line (what listiter_next,
 * tupleiter_next and rangeiter_next do, read through the layouts in csrc/numeric.h); any other
 * iterator, and the end of those, goes through tp_iternext as in the interpreter.
 * FOR_ITER_SEQUENCE is the same without the range path, for loops over a value no call just made.
 */
#include "stencil.h"
#include "numeric.h"

typedef PRESERVE_NONE PyObject *(*cpjit_next_fn)(_PyInterpreterFrame *, PyObject **,
                                                 PyThreadState *);

STENCIL(GET_ITER)
{
    SAVE_IP();
    PyObject *iterable = TOP();
    PyObject *iter = PyObject_GetIter(iterable);
    Py_DECREF(iterable);
    SET_TOP(iter);
    if (UNLIKELY(iter == NULL)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* an __iter__ */
    CONTINUE();
}

/* List and tuple iterators each get their own copy of the few instructions: one type test
 * each, no second test to find the items. */
#define SEQ_ITER_NEXT(ITEMS)                                                                   \
    do {                                                                                       \
        cpjit_seqiter *it = (cpjit_seqiter *)iter;                                             \
        PyObject *seq = it->it_seq;                                                            \
        /* Exhausted: tp_iternext below drops the sequence. */                                 \
        if (LIKELY(seq != NULL && it->it_index < Py_SIZE(seq))) {                              \
            next = Py_NewRef(ITEMS(seq)[it->it_index++]);                                      \
            PUSH(next);                                                                        \
            CONTINUE();                                                                        \
        }                                                                                      \
    } while (0)

#define FOR_ITER_BODY(RANGE_IN_LINE)                                                           \
{                                                                                              \
    PyObject *iter = TOP();                                                                    \
    PyObject *next;                                                                            \
    PyTypeObject *type = Py_TYPE(iter);                                                        \
    if (type == &PyListIter_Type) {                                                            \
        SEQ_ITER_NEXT(_PyList_ITEMS);                                                          \
    }                                                                                          \
    else if (type == &PyTupleIter_Type) {                                                      \
        SEQ_ITER_NEXT(_PyTuple_ITEMS);                                                         \
    }                                                                                          \
    else if ((RANGE_IN_LINE) && type == &PyRangeIter_Type) {                                   \
        cpjit_rangeiter *r = (cpjit_rangeiter *)iter;                                          \
        if (LIKELY(r->index < r->len)) {                                                       \
            long value = (long)(r->start + (unsigned long)(r->index++) * r->step);             \
            /* Followed by STORE_FAST into a local holding an int nobody else sees (and the    \
             * value needs a digit and is not a cached small int): the int is updated in place \
             * and the STORE_FAST stencil skipped, as 3.12's FOR_ITER_RANGE does. */           \
            cpjit_unpack_store_plan *plan = (cpjit_unpack_store_plan *)JIT_CACHE;              \
            if (plan->state == CPJIT_PLAN_FUSED                                                \
                || (UNLIKELY(plan->state == CPJIT_PLAN_UNKNOWN)                                \
                    && cpjit_plan_for_store(plan, STATE, CODE, INSTR) == CPJIT_PLAN_FUSED)) {  \
                PyObject *old = GETLOCAL(plan->slots[0]);                                      \
                unsigned long mag =                                                            \
                    value < 0 ? 0UL - (unsigned long)value : (unsigned long)value;             \
                if (old != NULL && Py_REFCNT(old) == 1 && PyLong_CheckExact(old)               \
                    && mag < (1UL << PyLong_SHIFT)                                             \
                    && (value < -_PY_NSMALLNEGINTS || value >= _PY_NSMALLPOSINTS)) {           \
                    Py_SET_SIZE(old, value < 0 ? -1 : 1);                                      \
                    ((PyLongObject *)old)->ob_digit[0] = (digit)mag;                           \
                    __attribute__((musttail)) return ((cpjit_next_fn)plan->after)(             \
                        frame, stack_pointer, tstate);                                         \
                }                                                                              \
            }                                                                                  \
            next = PyLong_FromLong(value); /* what rangeiter_next returns */                   \
            if (next == NULL) {                                                                \
                SAVE_IP();                                                                     \
                ERROR();                                                                       \
            }                                                                                  \
            PUSH(next);                                                                        \
            CONTINUE();                                                                        \
        }                                                                                      \
    }                                                                                          \
    SAVE_IP();                                                                                 \
    next = (*type->tp_iternext)(iter);                                                         \
    if (LIKELY(next != NULL)) {                                                                \
        PUSH(next);                                                                            \
        CHECK_TRACING_AFTER(); /* a __next__, a generator resumed */                           \
        CONTINUE();                                                                            \
    }                                                                                          \
    if (UNLIKELY(CPJIT_INTERPRET_ONLY(tstate) != 0)) {                                         \
        /* The iterator's last step ran code that switched tracing on: the interpreter runs    \
         * this FOR_ITER's end itself (the StopIteration reported to a trace function, the     \
         * jump's line event), over an iterator that ends the same way at once. */            \
        PyObject *end_ = cpjit_for_iter_end_replay(tstate, iter);                              \
        if (UNLIKELY(end_ == NULL)) {                                                          \
            ERROR();                                                                           \
        }                                                                                      \
        SET_TOP(end_);                                                                         \
        TRACED_FROM(REDO);                                                                     \
    }                                                                                          \
    if (UNLIKELY(cpjit_for_iter_exhausted(tstate, frame) < 0)) {                               \
        ERROR();                                                                               \
    }                                                                                          \
    STACK_SHRINK(1);                                                                           \
    Py_DECREF(iter);                                                                           \
    JUMP();                                                                                    \
}

/* Loops over a value that a call did not just make (`for x in self.items`, `for k in d`): the
 * list and tuple paths in line, a range iterator through its tp_iternext like any other (the
 * compiler picks this stencil when the GET_ITER before the FOR_ITER follows no CALL, so
 * `for i in range(n)` and comprehensions keep the range path, 3.12's FOR_ITER_RANGE: about 180
 * bytes of code). */
STENCIL(FOR_ITER_SEQUENCE) FOR_ITER_BODY(0)

STENCIL(FOR_ITER) FOR_ITER_BODY(1)
