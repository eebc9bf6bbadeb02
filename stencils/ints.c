/* ints.c: int expressions computed unboxed (src/opt/float_runs.rs picks the instructions).
 *
 * The int half of the optimising tier's runs (stencils/runs.h): where the interpreter
 * specialised an operator to ints (BINARY_OP_ADD_INT, _SUBTRACT_INT, _MULTIPLY_INT), a stretch
 * like `(i + j) * (i + j + 1) // 2 + i + 1` keeps its values in 64-bit registers and boxes only
 * its result, where the baseline allocates an int object for each intermediate value above 256.
 * An int result a float operator takes next (`1.0 / (...)`) is also put in that depth's double
 * register, so one run holds both.
 *
 * As for floats, every check comes before anything is written, and a failed one goes to the
 * baseline copy of the run, which starts it again with the frame as it was: a local that is not
 * an exact int of at most two digits (below 2**60 in magnitude), a result that does not fit 64
 * bits, a zero divisor, a negative or too large shift, an int result for a float operator that
 * is not exactly a double (above 2**53 in magnitude), a failed allocation. Within those bounds
 * Python's int operators are these 64-bit operations: floor division and modulo round towards
 * negative infinity (longobject.c's l_divmod), the bitwise operators act on two's complement
 * (long_bitwise), and >> is an arithmetic shift (floor). A result is boxed by
 * PyLong_FromLongLong, which gives the same small ints from the same cache.
 *
 * Holes: _JIT_OPARG (the local), _JIT_OPERAND (a constant's value), _JIT_JUMP_TARGET (the
 * baseline copy of the run), _JIT_INSTR (the STORE_FAST, published before an old value's
 * deallocation). */
#include "runs.h"
#include "arith.h"

/* IREG(K) = `v`, which must be an exact int of at most two 30-bit digits. */
#define INT_VALUE_TO(K, v)                                                                     \
    do {                                                                                       \
        if (UNLIKELY(!PyLong_CheckExact(v))) {                                                 \
            RUN_FALLBACK(TYPE);                                                                \
        }                                                                                      \
        Py_ssize_t size_ = Py_SIZE(v);                                                         \
        const digit *d_ = ((PyLongObject *)(v))->ob_digit;                                     \
        if (LIKELY((size_t)(size_ + 1) < 3)) {                                                 \
            IREG(K) = (int64_t)size_ * (int64_t)d_[0];                                         \
            RUN_CONTINUE();                                                                    \
        }                                                                                      \
        if (UNLIKELY((size_t)(size_ + 2) <= 4)) { /* two digits */                             \
            int64_t mag_ = (int64_t)d_[0] | ((int64_t)d_[1] << PyLong_SHIFT);                  \
            IREG(K) = size_ < 0 ? -mag_ : mag_;                                                \
            RUN_CONTINUE();                                                                    \
        }                                                                                      \
        RUN_FALLBACK(RANGE);                                                                   \
    } while (0)

/* Push local OPARG (LOAD_FAST) or the contents of its cell (LOAD_DEREF), or `local.name` with
 * the owner in either, which must be an exact int of at most two 30-bit digits
 * (stencils/runs.h: RUN_LEAF_STENCIL, RUN_ATTR_LEAF_STENCIL). */
#define INT_LOAD_FAST_AT(K)                                                                    \
    RUN_LEAF_STENCIL(cpjit_op_INT_LOAD_FAST__##K, K, RUN_LOCAL, INT_VALUE_TO)
#define INT_LOAD_DEREF_AT(K)                                                                   \
    RUN_LEAF_STENCIL(cpjit_op_INT_LOAD_DEREF__##K, K, RUN_CELL, INT_VALUE_TO)
#define INT_LOAD_ATTR_AT(K)                                                                    \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_INT_LOAD_ATTR__##K, K, RUN_LOCAL, INT_VALUE_TO)
#define INT_LOAD_ATTR_DEREF_AT(K)                                                              \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_INT_LOAD_ATTR_DEREF__##K, K, RUN_CELL, INT_VALUE_TO)
INT_LOAD_ATTR_AT(0)
INT_LOAD_ATTR_AT(1)
INT_LOAD_ATTR_AT(2)
INT_LOAD_ATTR_AT(3)
INT_LOAD_ATTR_DEREF_AT(0)
INT_LOAD_ATTR_DEREF_AT(1)
INT_LOAD_ATTR_DEREF_AT(2)
INT_LOAD_ATTR_DEREF_AT(3)
INT_LOAD_FAST_AT(0)
INT_LOAD_FAST_AT(1)
INT_LOAD_FAST_AT(2)
INT_LOAD_FAST_AT(3)
INT_LOAD_DEREF_AT(0)
INT_LOAD_DEREF_AT(1)
INT_LOAD_DEREF_AT(2)
INT_LOAD_DEREF_AT(3)

/* Push a constant: its value, read when the code compiled. */
#define INT_LOAD_CONST_AT(K)                                                                   \
    RUN_STENCIL(cpjit_op_INT_LOAD_CONST__##K)                                                  \
    {                                                                                          \
        IREG(K) = (int64_t)OPERAND_BITS;                                                       \
        RUN_CONTINUE();                                                                        \
    }
INT_LOAD_CONST_AT(0)
INT_LOAD_CONST_AT(1)
INT_LOAD_CONST_AT(2)
INT_LOAD_CONST_AT(3)

/* The operators: A = A op B, or the baseline when Python's result would not be this one. */
#define INT_ADD(A, B)                                                                          \
    do {                                                                                       \
        if (UNLIKELY(__builtin_add_overflow((A), (B), &(A)))) {                                \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
    } while (0)
#define INT_SUB(A, B)                                                                          \
    do {                                                                                       \
        if (UNLIKELY(__builtin_sub_overflow((A), (B), &(A)))) {                                \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
    } while (0)
#define INT_MUL(A, B)                                                                          \
    do {                                                                                       \
        if (UNLIKELY(__builtin_mul_overflow((A), (B), &(A)))) {                                \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
    } while (0)
/* Floor division and modulo: zero divisors raise, INT64_MIN by -1 overflows. */
#define INT_DIVISOR_CHECK(A, B)                                                                \
    do {                                                                                       \
        if (UNLIKELY((B) == 0 || ((B) == -1 && (A) == INT64_MIN))) {                           \
            RUN_FALLBACK(ARITHMETIC);                                                          \
        }                                                                                      \
    } while (0)
#define INT_FLOORDIV(A, B)                                                                     \
    do {                                                                                       \
        INT_DIVISOR_CHECK(A, B);                                                               \
        int64_t q_ = (A) / (B);                                                                \
        if ((A) % (B) != 0 && (((A) < 0) != ((B) < 0))) {                                      \
            q_ -= 1;                                                                           \
        }                                                                                      \
        (A) = q_;                                                                              \
    } while (0)
#define INT_MOD(A, B)                                                                          \
    do {                                                                                       \
        INT_DIVISOR_CHECK(A, B);                                                               \
        int64_t r_ = (A) % (B);                                                                \
        if (r_ != 0 && ((r_ < 0) != ((B) < 0))) {                                              \
            r_ += (B);                                                                         \
        }                                                                                      \
        (A) = r_;                                                                              \
    } while (0)
#define INT_AND(A, B) ((A) &= (B))
#define INT_OR(A, B) ((A) |= (B))
#define INT_XOR(A, B) ((A) ^= (B))
/* A negative count raises; a shift whose result leaves 64 bits goes to the baseline too. */
#define INT_LSHIFT(A, B)                                                                       \
    do {                                                                                       \
        if (UNLIKELY((uint64_t)(B) > 62)) {                                                    \
            RUN_FALLBACK(ARITHMETIC);                                                          \
        }                                                                                      \
        int64_t s_ = (int64_t)((uint64_t)(A) << (B));                                          \
        if (UNLIKELY((s_ >> (B)) != (A))) {                                                    \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
        (A) = s_;                                                                              \
    } while (0)
#define INT_RSHIFT(A, B)                                                                       \
    do {                                                                                       \
        if (UNLIKELY((B) < 0)) {                                                               \
            RUN_FALLBACK(ARITHMETIC);                                                          \
        }                                                                                      \
        (A) = (B) > 63 ? ((A) < 0 ? -1 : 0) : (A) >> (B);                                      \
    } while (0)

/* Operator NAME on the top two registers (depth K before: IREG(L) op IREG(R) into IREG(L)). */
#define INT_ARITH_AT(NAME, K, L, R)                                                            \
    RUN_STENCIL(cpjit_op_INT_##NAME##__##K)                                                    \
    {                                                                                          \
        INT_##NAME(IREG(L), IREG(R));                                                          \
        RUN_CONTINUE();                                                                        \
    }
/* The same when a float operator takes the result next: also in the double register, where
 * the int is exactly a double (float_add and the others convert it; beyond 2**53 the baseline
 * rounds it as PyLong_AsDouble does). */
#define INT_TO_FLOAT_AT(NAME, K, L, R)                                                         \
    RUN_STENCIL(cpjit_op_INT_##NAME##__##K##F)                                                 \
    {                                                                                          \
        INT_##NAME(IREG(L), IREG(R));                                                          \
        if (UNLIKELY((uint64_t)(IREG(L) + (1ll << 53)) > (1ull << 54))) {                      \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
        REG(L) = (double)IREG(L);                                                              \
        RUN_CONTINUE();                                                                        \
    }
#define INT_ALL_DEPTHS(NAME)                                                                   \
    INT_ARITH_AT(NAME, 2, 0, 1)                                                                \
    INT_ARITH_AT(NAME, 3, 1, 2)                                                                \
    INT_ARITH_AT(NAME, 4, 2, 3)
#define INT_FLOAT_ALL_DEPTHS(NAME)                                                             \
    INT_TO_FLOAT_AT(NAME, 2, 0, 1)                                                             \
    INT_TO_FLOAT_AT(NAME, 3, 1, 2)                                                             \
    INT_TO_FLOAT_AT(NAME, 4, 2, 3)
INT_ALL_DEPTHS(ADD)
INT_ALL_DEPTHS(SUB)
INT_ALL_DEPTHS(MUL)
INT_ALL_DEPTHS(FLOORDIV)
INT_ALL_DEPTHS(MOD)
INT_ALL_DEPTHS(AND)
INT_ALL_DEPTHS(OR)
INT_ALL_DEPTHS(XOR)
INT_ALL_DEPTHS(LSHIFT)
INT_ALL_DEPTHS(RSHIFT)
INT_FLOAT_ALL_DEPTHS(ADD)
INT_FLOAT_ALL_DEPTHS(SUB)
INT_FLOAT_ALL_DEPTHS(MUL)
INT_FLOAT_ALL_DEPTHS(FLOORDIV)
INT_FLOAT_ALL_DEPTHS(MOD)

/* Unary minus on the top register (depth K before). */
#define INT_NEG_AT(K, T)                                                                       \
    RUN_STENCIL(cpjit_op_INT_NEG__##K)                                                         \
    {                                                                                          \
        if (UNLIKELY(IREG(T) == INT64_MIN)) {                                                  \
            RUN_FALLBACK(RANGE);                                                               \
        }                                                                                      \
        IREG(T) = -IREG(T);                                                                    \
        RUN_CONTINUE();                                                                        \
    }
INT_NEG_AT(1, 0)
INT_NEG_AT(2, 1)
INT_NEG_AT(3, 2)
INT_NEG_AT(4, 3)

/* `res` = the run's result as an int object (the same small ints as int's own slots), or the
 * baseline. */
#define INT_BOX_OR_FALLBACK(res) RUN_BOX_OR_FALLBACK(res, PyLong_FromLongLong(i0))

/* The run's last operator, its result pushed as an int (an argument, a subscript, a return
 * value, an operand of what follows). */
#define INT_THEN_BOX(NAME)                                                                     \
    RUN_STENCIL(cpjit_op_INT_##NAME##__BOX)                                                    \
    {                                                                                          \
        INT_##NAME(i0, i1);                                                                    \
        PyObject *res;                                                                         \
        INT_BOX_OR_FALLBACK(res);                                                              \
        PUSH(res);                                                                             \
        RUN_LEAVE();                                                                           \
    }
INT_THEN_BOX(ADD)
INT_THEN_BOX(SUB)
INT_THEN_BOX(MUL)
INT_THEN_BOX(FLOORDIV)
INT_THEN_BOX(MOD)
INT_THEN_BOX(AND)
INT_THEN_BOX(OR)
INT_THEN_BOX(XOR)
INT_THEN_BOX(LSHIFT)
INT_THEN_BOX(RSHIFT)
RUN_STENCIL(cpjit_op_INT_NEG__BOX)
{
    if (UNLIKELY(i0 == INT64_MIN)) {
        RUN_FALLBACK(RANGE);
    }
    i0 = -i0;
    PyObject *res;
    INT_BOX_OR_FALLBACK(res);
    PUSH(res);
    RUN_LEAVE();
}

/* The run's result stored in local OPARG (the run's STORE_FAST): into the int the local holds
 * when nothing else holds it, it has one digit, the result fits one and is not a small int
 * (only `id()` can tell, as for the baseline's BINARY_OP + STORE_FAST pair); else as a new int,
 * the old value released (its deallocation, which can run code, with prev_instr at the
 * STORE_FAST). */
RUN_STENCIL(cpjit_op_INT_STORE_FAST)
{
    PyObject *old = GETLOCAL(OPARG);
    uint64_t mag = i0 < 0 ? 0 - (uint64_t)i0 : (uint64_t)i0;
    if (old != NULL && Py_REFCNT(old) == 1 && PyLong_CheckExact(old)
        && (size_t)(Py_SIZE(old) + 1) < 3 && Py_SIZE(old) != 0 && mag < (1ull << PyLong_SHIFT)
        && (i0 < -_PY_NSMALLNEGINTS || i0 >= _PY_NSMALLPOSINTS)) {
        Py_SET_SIZE(old, i0 < 0 ? -1 : 1);
        ((PyLongObject *)old)->ob_digit[0] = (digit)mag;
        RUN_LEAVE();
    }
    PyObject *res;
    INT_BOX_OR_FALLBACK(res);
    RUN_REPLACE_THEN_LEAVE(&GETLOCAL(OPARG), res, old);
}

/* A run ending in a compare and a forward jump on two ints (stencils/runs.h: RUN_CMP), compared
 * as long_richcompare compares them. */
RUN_ALL_CMPS(INT, i0, i1)
