/* locals.c: fast locals, constants and plain stack shuffling. */
#include "stencil.h"
#include "names.h"
#include "fused.h"

/* Push a fast local (LOAD_FAST), or the cell in its slot (LOAD_CLOSURE: in 3.11 it loads the
 * cell object itself from its fast slot); an unbound slot raises UnboundLocalError (out of
 * line). */
#define LOAD_SLOT_BODY(I)                                                                      \
    {                                                                                          \
        PyObject *value = GETLOCAL(I);                                                         \
        if (__builtin_expect(value == NULL, 0)) {                                              \
            /* Cold part (build.rs splits it out): a store and a tail jump, no call         \
             * (csrc/fused.c reads REDO back from prev_instr). */                             \
            frame->prev_instr = REDO;                                                          \
            __attribute__((musttail)) return cpjit_tail_unbound_local_redo(frame,              \
                                                                           stack_pointer,      \
                                                                           tstate);            \
        }                                                                                      \
        Py_INCREF(value);                                                                      \
        PUSH(value);                                                                           \
        CONTINUE();                                                                            \
    }

/* Store into a fast local; the old value's deallocation (out of line, cold) publishes
 * prev_instr. */
#define STORE_SLOT_BODY(I)                                                                     \
    {                                                                                          \
        PyObject *value = POP();                                                               \
        PyObject *old = GETLOCAL(I);                                                           \
        GETLOCAL(I) = value;                                                                   \
        if (old != NULL && UNLIKELY(--old->ob_refcnt == 0)) {                                  \
            DEALLOC_THEN_CONTINUE(old);                                                        \
        }                                                                                      \
        CONTINUE_JOINED();                                                                     \
    }

STENCIL(LOAD_FAST) LOAD_SLOT_BODY(OPARG)
STENCIL(LOAD_CLOSURE) LOAD_SLOT_BODY(OPARG)
STENCIL(STORE_FAST) STORE_SLOT_BODY(OPARG)

/* Variants for the commonest slots: the slot's offset is a constant of the code. */
#define FAST_VARIANTS(I)                                                                       \
    STENCIL(LOAD_FAST__##I) LOAD_SLOT_BODY(I)                                                  \
    STENCIL(STORE_FAST__##I) STORE_SLOT_BODY(I)
FAST_VARIANTS(0)
FAST_VARIANTS(1)
FAST_VARIANTS(2)
FAST_VARIANTS(3)
FAST_VARIANTS(4)
FAST_VARIANTS(5)
FAST_VARIANTS(6)
FAST_VARIANTS(7)

STENCIL(LOAD_CONST)
{
    PyObject *value = CONST;
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

/* The old value's deallocation (a finalizer, a weakref callback) goes on through
 * cpjit_dealloc_then, which hands the frame over when it switched tracing or profiling on. */
STENCIL(DELETE_FAST)
{
    SAVE_IP();
    PyObject *v = GETLOCAL(OPARG);
    if (v != NULL) {
        GETLOCAL(OPARG) = NULL;
        if (UNLIKELY(--v->ob_refcnt == 0)) {
            DEALLOC_THEN_CONTINUE(v);
        }
        CONTINUE_JOINED();
    }
    cpjit_unbound_local_error(tstate, frame, OPARG);
    ERROR();
}

STENCIL(POP_TOP)
{
    PyObject *value = POP();
    if (UNLIKELY(--value->ob_refcnt == 0)) {
        DEALLOC_THEN_CONTINUE(value);
    }
    CONTINUE_JOINED();
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

/* The opargs augmented assignments and comparison chains use (`c[i] += v` is COPY 2, COPY 2,
 * ..., SWAP 3, SWAP 2): fixed offsets, no arithmetic on the oparg. */
#define COPY_SWAP_VARIANTS(N)                                                                  \
    STENCIL(COPY__##N)                                                                         \
    {                                                                                          \
        PyObject *peek = PEEK(N);                                                              \
        Py_INCREF(peek);                                                                       \
        PUSH(peek);                                                                            \
        CONTINUE();                                                                            \
    }                                                                                          \
    STENCIL(SWAP__##N)                                                                         \
    {                                                                                          \
        PyObject *top = TOP();                                                                 \
        SET_TOP(PEEK(N));                                                                      \
        PEEK(N) = top;                                                                         \
        CONTINUE();                                                                            \
    }
COPY_SWAP_VARIANTS(1)
COPY_SWAP_VARIANTS(2)
COPY_SWAP_VARIANTS(3)
