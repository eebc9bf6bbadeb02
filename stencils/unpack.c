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

/* UNPACK_SEQUENCE n followed by STORE_FAST (`a, b, c = t`). When all n instructions after it are
 * STORE_FASTs (csrc/numeric.c checks the bytecode once and keeps their slots and the address of
 * the code after them in this instruction's cache), an exact tuple or list of length n is
 * unpacked and stored in line, and the n STORE_FAST stencils are jumped over: the same stores in
 * the same order as the interpreter's instructions (the items pushed, the sequence released,
 * then each one popped into its slot), with prev_instr at each STORE_FAST while its old value is
 * released. Anything else runs UNPACK_SEQUENCE and falls into the STORE_FASTs. */
typedef PRESERVE_NONE PyObject *(*cpjit_next_fn)(_PyInterpreterFrame *, PyObject **,
                                                 PyThreadState *);

#define UNPACK_STORE_PAIR(N)                                                                   \
    STENCIL(UNPACK_SEQUENCE__##N##__STORE_FAST)                                                \
    {                                                                                          \
        cpjit_unpack_store_plan *plan = (cpjit_unpack_store_plan *)JIT_CACHE;                  \
        PyObject **after_ = cpjit_unpack_store(frame, stack_pointer, plan, STATE, INSTR, (N)); \
        if (after_ != NULL) {                                                                  \
            __attribute__((musttail)) return ((cpjit_next_fn)plan->after)(frame, after_,      \
                                                                           tstate);            \
        }                                                                                      \
        /* Not fused, or not an exact tuple or list of n items. */                            \
        UNPACK_SEQUENCE_BODY(N);                                                               \
    }

/* Not for 2 and 3 items: there the call costs more than the separate stencils do. */
UNPACK_STORE_PAIR(4)
UNPACK_STORE_PAIR(5)
UNPACK_STORE_PAIR(6)
UNPACK_STORE_PAIR(7)
UNPACK_STORE_PAIR(8)
UNPACK_STORE_PAIR(9)
UNPACK_STORE_PAIR(10)
UNPACK_STORE_PAIR(11)
UNPACK_STORE_PAIR(12)

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
    CONTINUE();
}
