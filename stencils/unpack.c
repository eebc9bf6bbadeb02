/* unpack.c: UNPACK_SEQUENCE and UNPACK_EX.
 *
 * UNPACK_SEQUENCE has the fast paths of 3.11's UNPACK_SEQUENCE_TUPLE / _LIST (exact tuple or list
 * of the right length) inline; everything else goes through cpjit_unpack_iterable (ceval.c's
 * unpack_iterable). On error the sequence is popped and released and no value is left pushed.
 */
#include "stencil.h"
#include "data.h"
#include "numeric.h"

/* The items of an exact tuple or list of the right length are pushed in line; everything else
 * (and a wrong length, which raises) goes out of line. Releasing the sequence after its items
 * were taken runs no code (every item keeps a reference), so it needs no instruction pointer. */
#define UNPACK_SEQUENCE_BODY(N)                                                                \
    do {                                                                                       \
        int n_ = (N);                                                                          \
        PyObject *seq = TOP();                                                                 \
        PyObject **items;                                                                      \
        if (PyTuple_CheckExact(seq)) {                                                         \
            items = _PyTuple_ITEMS(seq);                                                       \
        }                                                                                      \
        else if (PyList_CheckExact(seq)) {                                                     \
            items = _PyList_ITEMS(seq);                                                        \
        }                                                                                      \
        else {                                                                                 \
            goto slow;                                                                         \
        }                                                                                      \
        if (UNLIKELY(Py_SIZE(seq) != n_)) {                                                    \
            goto slow;                                                                         \
        }                                                                                      \
        /* Last item deepest, first item on top. */                                            \
        STACK_SHRINK(1);                                                                       \
        for (int i_ = n_; i_-- > 0;) {                                                         \
            PUSH(Py_NewRef(items[i_]));                                                        \
        }                                                                                      \
        Py_DECREF(seq);                                                                        \
        CONTINUE();                                                                            \
    slow:                                                                                      \
        SAVE_IP();                                                                             \
        PyObject **sp_ = cpjit_unpack_sequence_slow(tstate, stack_pointer, n_);                \
        if (UNLIKELY(sp_ == NULL)) {                                                           \
            STACK_SHRINK(1);                                                                   \
            ERROR();                                                                           \
        }                                                                                      \
        stack_pointer = sp_;                                                                   \
        CHECK_TRACING_AFTER(); /* an __iter__ or __next__ */                                   \
        CONTINUE();                                                                            \
    } while (0)

STENCIL(UNPACK_SEQUENCE__2)
{
    UNPACK_SEQUENCE_BODY(2);
}

STENCIL(UNPACK_SEQUENCE__3)
{
    UNPACK_SEQUENCE_BODY(3);
}

STENCIL(UNPACK_SEQUENCE)
{
    UNPACK_SEQUENCE_BODY(OPARG);
}

/* UNPACK_SEQUENCE n with the n STORE_FASTs after it (`a, b, c = t`), one stencil for the group
 * (src/superinstructions.rs `unpack_group` says when): csrc/numeric.c does what the n + 1
 * instructions do, every case included (any iterable, wrong lengths and errors, raised at the
 * UNPACK_SEQUENCE), with the stores in the interpreter's order and prev_instr where the
 * interpreter has it while an old value is released. The stores have no code of their own (they
 * get COVERED), so the code after them follows this stencil directly: a statement like
 * `a, b, c = t` costs one call's worth of bytes however many names it has. */
STENCIL(UNPACK_SEQUENCE_INTO_LOCALS)
{
    PyObject **sp = cpjit_unpack_into_locals(frame, stack_pointer, INSTR);
    if (UNLIKELY(sp == NULL)) {
        STACK_SHRINK(1); /* the sequence was popped and released */
        ERROR();
    }
    stack_pointer = sp;
    CONTINUE();
}

/* The same with the LOAD_FAST before it (`a, b, c = t` with t a local): the sequence is read from
 * the local, and an unbound local raises at the LOAD_FAST. Either error leaves the stack as it
 * was before the LOAD_FAST. */
STENCIL(LOAD_FAST_UNPACK_INTO_LOCALS)
{
    PyObject **sp = cpjit_load_unpack_into_locals(frame, stack_pointer, INSTR);
    if (UNLIKELY(sp == NULL)) {
        ERROR();
    }
    stack_pointer = sp;
    CONTINUE();
}

/* The instructions a group stencil runs: no code (the jump to the next is cut off). */
STENCIL(COVERED)
{
    CONTINUE();
}

/* a, *b, c = seq: oparg = (values after the star) << 8 | (values before it). */
STENCIL(UNPACK_EX)
{
    int oparg = OPARG;
    int before = oparg & 0xFF;
    int after = oparg >> 8;
    int total = 1 + before + after;
    SAVE_IP();
    PyObject *seq = POP();
    if (!cpjit_unpack_iterable(tstate, seq, before, after, stack_pointer + total)) {
        Py_DECREF(seq);
        ERROR();
    }
    STACK_GROW(total);
    Py_DECREF(seq);
    CHECK_TRACING_AFTER(); /* an __iter__ or __next__ */
    CONTINUE();
}
