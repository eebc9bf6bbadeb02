/* subscr.c: BINARY_SUBSCR, STORE_SUBSCR, DELETE_SUBSCR and BUILD_SLICE.
 *
 * The subscript stencils call one shared copy of the fast paths of 3.11's specialisations
 * (BINARY_SUBSCR_LIST_INT, _TUPLE_INT, _DICT, STORE_SUBSCR_LIST_INT, _DICT; csrc/hits.c), which
 * fall back to the generic PyObject_GetItem / PyObject_SetItem; behaviour is the same either
 * way.
 */
#include "stencil.h"
#include "numeric.h"

/* container[sub] with container, sub on the stack (sub on top): cpjit_binary_subscr (csrc/hits.c,
 * shared by all sites) serves a list or tuple by an int in line and everything else by the
 * generic path; it leaves the result (or NULL) in container's slot. */
STENCIL(BINARY_SUBSCR)
{
    PyObject *res = cpjit_binary_subscr(frame, stack_pointer, tstate, INSTR);
    STACK_SHRINK(1);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    CONTINUE();
}

/* container[sub] = v, with v, container, sub on the stack (sub on top): cpjit_store_subscr
 * (csrc/hits.c) serves a list by an int in line and everything else by the generic path. On
 * error all three are popped and released. */
STENCIL(STORE_SUBSCR)
{
    int err = cpjit_store_subscr(frame, stack_pointer, INSTR);
    STACK_SHRINK(3);
    if (UNLIKELY(err < 0)) {
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
    if (UNLIKELY(err != 0)) {
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
