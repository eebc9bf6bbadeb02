/* subscr.c: BINARY_SUBSCR, STORE_SUBSCR, DELETE_SUBSCR and BUILD_SLICE.
 *
 * The subscript stencils have the fast paths of 3.11's specialisations (BINARY_SUBSCR_LIST_INT,
 * _TUPLE_INT, _DICT, STORE_SUBSCR_LIST_INT, _DICT) inline, and fall back to the generic
 * PyObject_GetItem / PyObject_SetItem otherwise; behaviour is the same either way.
 */
#include "stencil.h"
#include "numeric.h"

/* An exact int of at most one digit (|value| < 2**30) as an index into a sequence of `len`
 * items, a negative one counted from the end as list and tuple do: 1 with the index in *out, or
 * 0 when it is not such an int or is out of range (the generic path raises IndexError or
 * handles other kinds). One unsigned compare checks both ends. */
static inline __attribute__((always_inline)) int seq_index(PyObject *sub, Py_ssize_t len,
                                                           Py_ssize_t *out)
{
    if (UNLIKELY(!PyLong_CheckExact(sub))) {
        return 0;
    }
    Py_ssize_t size = Py_SIZE(sub);
    Py_ssize_t digit0 = (Py_ssize_t)((PyLongObject *)sub)->ob_digit[0];
    Py_ssize_t index;
    if (LIKELY((size_t)size <= 1)) {
        index = size ? digit0 : 0;
    }
    else if (size == -1) {
        index = len - digit0;
    }
    else {
        return 0;
    }
    *out = index;
    return (size_t)index < (size_t)len;
}

/* Dicts, dead containers and everything else: cpjit_binary_subscr_consume does the whole
 * instruction. */
#define BINARY_SUBSCR_OUT_OF_LINE()                                                            \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        PyObject *res_ = cpjit_binary_subscr_consume(tstate, stack_pointer);                   \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res_ == NULL)) {                                                          \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    } while (0)

/* BINARY_SUBSCR with the fast paths of the sequences IN_LINE_LIST / IN_LINE_TUPLE in line. */
#define BINARY_SUBSCR_BODY(IN_LINE_LIST, IN_LINE_TUPLE)                                       \
    {                                                                                          \
        PyObject *sub = TOP();                                                                 \
        PyObject *container = SECOND();                                                        \
        PyObject *res;                                                                         \
        PyObject **items;                                                                      \
        if ((IN_LINE_LIST) && PyList_CheckExact(container)) {                                  \
            items = _PyList_ITEMS(container);                                                  \
        }                                                                                      \
        else if ((IN_LINE_TUPLE) && PyTuple_CheckExact(container)) {                           \
            items = _PyTuple_ITEMS(container);                                                 \
        }                                                                                      \
        else {                                                                                 \
            goto slow;                                                                         \
        }                                                                                      \
        /* Py_SIZE is the item count of both. A container this subscript holds the last       \
         * reference to goes out of line, where its deallocation publishes the instruction     \
         * pointer. */                                                                         \
        Py_ssize_t index;                                                                      \
        if (LIKELY(seq_index(sub, Py_SIZE(container), &index) && Py_REFCNT(container) > 1)) {  \
            res = Py_NewRef(items[index]);                                                     \
            goto fast;                                                                         \
        }                                                                                      \
    slow:                                                                                      \
        BINARY_SUBSCR_OUT_OF_LINE();                                                           \
    fast:                                                                                      \
        STACK_SHRINK(1);                                                                       \
        Py_DECREF(sub); /* an int: its deallocation runs no code */                            \
        SET_TOP(res);                                                                          \
        _Py_DECREF_NO_DEALLOC(container);                                                      \
        CONTINUE();                                                                            \
    }

/* Code compiled before the interpreter quickened it: lists and tuples in line. */
STENCIL(BINARY_SUBSCR) BINARY_SUBSCR_BODY(1, 1)

/* Hints (src/compiler.rs: hinted_subscript). Code compiled after quickening carries the form the
 * interpreter specialised each subscript to; the stencil for that form keeps in line only the
 * path that form takes, and every other container goes out of line as before, so a site that
 * later sees other types behaves the same, only slower. A site left adaptive (it never ran
 * since quickening, or its containers are none of these: strings, slices, subclasses...) and
 * the forms whose work is a call anyway (dicts, a class's __getitem__) get no path in line:
 * about 40 bytes of code instead of 164. */
STENCIL(BINARY_SUBSCR_LIST_INT) BINARY_SUBSCR_BODY(1, 0)
STENCIL(BINARY_SUBSCR_TUPLE_INT) BINARY_SUBSCR_BODY(0, 1)
STENCIL(BINARY_SUBSCR_DICT) { BINARY_SUBSCR_OUT_OF_LINE(); }
STENCIL(BINARY_SUBSCR_GETITEM) { BINARY_SUBSCR_OUT_OF_LINE(); }
STENCIL(BINARY_SUBSCR_ADAPTIVE) { BINARY_SUBSCR_OUT_OF_LINE(); }

/* Dicts and everything else, out of line (the stack pointer has already dropped the three
 * slots; their references are released there). */
#define STORE_SUBSCR_OUT_OF_LINE()                                                             \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        if (UNLIKELY(cpjit_store_subscr_consume(stack_pointer + 3) < 0)) {                     \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    } while (0)

/* container[sub] = v, with v, container, sub on the stack (sub on top). On error all three are
 * popped and released. */
STENCIL(STORE_SUBSCR)
{
    PyObject *sub = TOP();
    PyObject *container = SECOND();
    PyObject *v = THIRD();
    STACK_SHRINK(3);
    if (PyList_CheckExact(container)) {
        Py_ssize_t index;
        if (LIKELY(seq_index(sub, PyList_GET_SIZE(container), &index))) {
            /* The list takes the stack's reference to v. Only a deallocation (of the old item
             * or of the list) can run code that looks at the frame: it publishes prev_instr. */
            PyObject *old = PyList_GET_ITEM(container, index);
            PyList_SET_ITEM(container, index, v);
            DECREF_SAVING_IP(old);
            Py_DECREF(sub); /* an int: its deallocation runs no code */
            DECREF_SAVING_IP(container);
            CONTINUE();
        }
    }
    STORE_SUBSCR_OUT_OF_LINE();
}

/* Hints, as for BINARY_SUBSCR: STORE_SUBSCR_LIST_INT keeps the generic stencil (its one path in
 * line is the list's); dicts and adaptive sites go out of line at once. */
STENCIL(STORE_SUBSCR_DICT)
{
    STACK_SHRINK(3);
    STORE_SUBSCR_OUT_OF_LINE();
}
STENCIL(STORE_SUBSCR_ADAPTIVE)
{
    STACK_SHRINK(3);
    STORE_SUBSCR_OUT_OF_LINE();
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
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a __delitem__ */
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
        if (UNLIKELY(slice == NULL)) {                                                         \
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

/* BUILD_SLICE followed by BINARY_SUBSCR (`seq[a:b]`, `seq[a:b:c]`): an exact list or tuple with
 * None or small-int bounds is sliced without building the slice object; anything else builds
 * it and falls into BINARY_SUBSCR's own stencil. The pair's second instruction is the code unit
 * after BUILD_SLICE (no cache entries, no EXTENDED_ARG between), so errors and finalizers see
 * prev_instr at BINARY_SUBSCR, as in the interpreter. */
#define SLICE_SUBSCR_PAIR(HAS_STEP)                                                            \
    {                                                                                          \
        frame->prev_instr = INSTR + 1;                                                         \
        int done = cpjit_getslice_consume(stack_pointer, (HAS_STEP));                          \
        if (done != 0) {                                                                       \
            STACK_SHRINK(2 + (HAS_STEP));                                                      \
            if (UNLIKELY(done < 0)) {                                                          \
                ERROR();                                                                       \
            }                                                                                  \
            SKIP();                                                                            \
        }                                                                                      \
        BUILD_SLICE_BODY(HAS_STEP);                                                            \
    }

STENCIL(BUILD_SLICE__2__BINARY_SUBSCR) SLICE_SUBSCR_PAIR(0)
STENCIL(BUILD_SLICE__3__BINARY_SUBSCR) SLICE_SUBSCR_PAIR(1)

/* BUILD_SLICE 2 followed by STORE_SUBSCR (`lst[a:b] = v`): an exact list, None or small-int
 * bounds and an exact list or tuple v are assigned as list_ass_slice does, without the slice
 * object; anything else builds it and falls into STORE_SUBSCR's own stencil. */
STENCIL(BUILD_SLICE__2__STORE_SUBSCR)
{
    frame->prev_instr = INSTR + 1;
    int done = cpjit_setslice_consume(stack_pointer);
    if (done != 0) {
        STACK_SHRINK(4);
        if (UNLIKELY(done < 0)) {
            ERROR();
        }
        SKIP();
    }
    BUILD_SLICE_BODY(0);
}
