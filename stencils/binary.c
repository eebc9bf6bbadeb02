/* binary.c: BINARY_OP (one variant per operator) and COMPARE_OP. */
#include "stencil.h"
#include "numeric.h"

/* Small ints (at most one 30-bit digit) as 64-bit values, like longobject.c's medium_value. */
static inline __attribute__((always_inline)) int is_medium(PyObject *o)
{
    return PyLong_CheckExact(o) && (size_t)(Py_SIZE(o) + 1) < 3;
}
static inline __attribute__((always_inline)) int64_t medium_value(PyObject *o)
{
    return (int64_t)Py_SIZE(o) * (int64_t)((PyLongObject *)o)->ob_digit[0];
}

/* Replace the two float operands on top of the stack by a float holding `value`. A temporary
 * operand (the stack holds its only reference) is reused instead of allocating: nothing else
 * can see it, so this is unobservable, and it saves an allocation and a deallocation. Releasing
 * a float runs no code. */
#define FLOAT_RESULT(LHS, RHS, VALUE)                                                          \
    do {                                                                                       \
        double value_ = (VALUE);                                                               \
        PyObject *reuse_, *other_;                                                             \
        if (Py_REFCNT(LHS) == 1) {                                                             \
            reuse_ = (LHS);                                                                    \
            other_ = (RHS);                                                                    \
        }                                                                                      \
        else if (Py_REFCNT(RHS) == 1) {                                                        \
            reuse_ = (RHS);                                                                    \
            other_ = (LHS);                                                                    \
        }                                                                                      \
        else {                                                                                 \
            PyObject *res_ = PyFloat_FromDouble(value_);                                       \
            if (UNLIKELY(res_ == NULL)) {                                                      \
                goto result_error;                                                             \
            }                                                                                  \
            STACK_SHRINK(1);                                                                   \
            SET_TOP(res_);                                                                     \
            Py_DECREF(LHS);                                                                    \
            Py_DECREF(RHS);                                                                    \
            CONTINUE();                                                                        \
        }                                                                                      \
        ((PyFloatObject *)reuse_)->ob_fval = value_;                                           \
        STACK_SHRINK(1);                                                                       \
        SET_TOP(reuse_);                                                                       \
        Py_DECREF(other_);                                                                     \
        CONTINUE();                                                                            \
    } while (0)

/* Replace two medium int operands by `value` (int64, computed exactly). When the result needs
 * one digit and is not one of the cached small ints (whose identity code may observe), a
 * temporary operand is reused in place, as FLOAT_RESULT does for floats; any other result is
 * made out of line (csrc/numeric.c). Releasing an int runs no code. */
#define INT_RESULT(LHS, RHS, VALUE)                                                            \
    do {                                                                                       \
        int64_t value_ = (VALUE);                                                              \
        uint64_t mag_ = value_ < 0 ? (uint64_t)0 - (uint64_t)value_ : (uint64_t)value_;       \
        PyObject *reuse_, *other_;                                                             \
        if (value_ >= -_PY_NSMALLNEGINTS && value_ < _PY_NSMALLPOSINTS) {                      \
            /* A cached small int, in line: the commonest result of loop arithmetic. */        \
            STACK_SHRINK(1);                                                                   \
            SET_TOP(Py_NewRef(                                                                 \
                (PyObject *)&_PyLong_SMALL_INTS[_PY_NSMALLNEGINTS + value_]));                 \
            Py_DECREF(LHS);                                                                    \
            Py_DECREF(RHS);                                                                    \
            CONTINUE();                                                                        \
        }                                                                                      \
        if (UNLIKELY(mag_ >= ((uint64_t)1 << PyLong_SHIFT))) {                                 \
            goto int_new_;                                                                     \
        }                                                                                      \
        if (Py_REFCNT(LHS) == 1) {                                                             \
            reuse_ = (LHS);                                                                    \
            other_ = (RHS);                                                                    \
        }                                                                                      \
        else if (Py_REFCNT(RHS) == 1) {                                                        \
            reuse_ = (RHS);                                                                    \
            other_ = (LHS);                                                                    \
        }                                                                                      \
        else {                                                                                 \
        int_new_:                                                                              \
            if (UNLIKELY(cpjit_int_result_consume(stack_pointer, value_) == NULL)) {           \
                goto result_error;                                                             \
            }                                                                                  \
            STACK_SHRINK(1);                                                                   \
            CONTINUE();                                                                        \
        }                                                                                      \
        Py_SET_SIZE(reuse_, value_ < 0 ? -1 : 1);                                              \
        ((PyLongObject *)reuse_)->ob_digit[0] = (digit)mag_;                                   \
        STACK_SHRINK(1);                                                                       \
        SET_TOP(reuse_);                                                                       \
        Py_DECREF(other_);                                                                     \
        CONTINUE();                                                                            \
    } while (0)

/* Fast paths for the operators the interpreter specialises: small int and float arithmetic
 * computed inline. They produce exactly what the generic operator would. */
#define FAST_INT_FLOAT(OPER)                                                                   \
    {                                                                                          \
        PyObject *rhs_ = TOP(), *lhs_ = SECOND();                                              \
        if (is_medium(lhs_) && is_medium(rhs_)) {                                              \
            INT_RESULT(lhs_, rhs_, medium_value(lhs_) OPER medium_value(rhs_));                \
        }                                                                                      \
        else if (PyFloat_CheckExact(lhs_) && PyFloat_CheckExact(rhs_)) {                       \
            FLOAT_RESULT(lhs_, rhs_, PyFloat_AS_DOUBLE(lhs_) OPER PyFloat_AS_DOUBLE(rhs_));    \
        }                                                                                      \
    }
#define NO_FAST_PATH

/* True division of two floats by a non-zero float (zero raises in the generic path). */
#define FAST_FLOAT_DIV                                                                         \
    {                                                                                          \
        PyObject *rhs_ = TOP(), *lhs_ = SECOND();                                              \
        if (PyFloat_CheckExact(lhs_) && PyFloat_CheckExact(rhs_)                               \
            && PyFloat_AS_DOUBLE(rhs_) != 0.0) {                                               \
            FLOAT_RESULT(lhs_, rhs_, PyFloat_AS_DOUBLE(lhs_) / PyFloat_AS_DOUBLE(rhs_));       \
        }                                                                                      \
    }

/* Each operator gets its own stencil (BINARY_OP__<oparg>): its fast path in line, anything else
 * (big ints included) out of line. */
#define BINARY_VARIANT(ARG, FUNC, FAST)                                                        \
    STENCIL(BINARY_OP__##ARG)                                                                  \
    {                                                                                          \
        FAST                                                                                   \
        SAVE_IP();                                                                             \
        PyObject *res = cpjit_binary_op_consume((ARG), stack_pointer);                         \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    result_error: /* no memory for an in-line result: both operands still on the stack */     \
        __attribute__((unused));                                                               \
        SAVE_IP();                                                                             \
        ERROR();                                                                               \
    }

BINARY_VARIANT(0, PyNumber_Add, FAST_INT_FLOAT(+))
BINARY_VARIANT(1, PyNumber_And, NO_FAST_PATH)
BINARY_VARIANT(2, PyNumber_FloorDivide, NO_FAST_PATH)
BINARY_VARIANT(3, PyNumber_Lshift, NO_FAST_PATH)
BINARY_VARIANT(4, PyNumber_MatrixMultiply, NO_FAST_PATH)
BINARY_VARIANT(5, PyNumber_Multiply, FAST_INT_FLOAT(*))
BINARY_VARIANT(6, PyNumber_Remainder, NO_FAST_PATH)
BINARY_VARIANT(7, PyNumber_Or, NO_FAST_PATH)
BINARY_VARIANT(8, cpjit_power, NO_FAST_PATH)
BINARY_VARIANT(9, PyNumber_Rshift, NO_FAST_PATH)
BINARY_VARIANT(10, PyNumber_Subtract, FAST_INT_FLOAT(-))
BINARY_VARIANT(11, PyNumber_TrueDivide, FAST_FLOAT_DIV)
BINARY_VARIANT(12, PyNumber_Xor, NO_FAST_PATH)
BINARY_VARIANT(13, PyNumber_InPlaceAdd, FAST_INT_FLOAT(+))
BINARY_VARIANT(14, PyNumber_InPlaceAnd, NO_FAST_PATH)
BINARY_VARIANT(15, PyNumber_InPlaceFloorDivide, NO_FAST_PATH)
BINARY_VARIANT(16, PyNumber_InPlaceLshift, NO_FAST_PATH)
BINARY_VARIANT(17, PyNumber_InPlaceMatrixMultiply, NO_FAST_PATH)
BINARY_VARIANT(18, PyNumber_InPlaceMultiply, FAST_INT_FLOAT(*))
BINARY_VARIANT(19, PyNumber_InPlaceRemainder, NO_FAST_PATH)
BINARY_VARIANT(20, PyNumber_InPlaceOr, NO_FAST_PATH)
BINARY_VARIANT(21, cpjit_inplace_power, NO_FAST_PATH)
BINARY_VARIANT(22, PyNumber_InPlaceRshift, NO_FAST_PATH)
BINARY_VARIANT(23, PyNumber_InPlaceSubtract, FAST_INT_FLOAT(-))
BINARY_VARIANT(24, PyNumber_InPlaceTrueDivide, FAST_FLOAT_DIV)
BINARY_VARIANT(25, PyNumber_InPlaceXor, NO_FAST_PATH)

/* Any other oparg (none exist in 3.11): the helper raises SystemError. */
STENCIL(BINARY_OP)
{
    SAVE_IP();
    PyObject *rhs = POP();
    PyObject *lhs = TOP();
    PyObject *res = cpjit_binary_op(OPARG, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    SET_TOP(res);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    CONTINUE();
}

/* Rich comparison of two plain numbers, the way the interpreter's COMPARE_OP_INT/FLOAT_JUMP
 * decide; anything else goes through PyObject_RichCompare. */
#define COMPARE(OPER, A, B)                                                                    \
    ((OPER) == Py_LT ? (A) < (B)                                                               \
     : (OPER) == Py_LE ? (A) <= (B)                                                            \
     : (OPER) == Py_EQ ? (A) == (B)                                                            \
     : (OPER) == Py_NE ? (A) != (B)                                                            \
     : (OPER) == Py_GT ? (A) > (B)                                                             \
                       : (A) >= (B))

/* Whether an inline comparison may skip the recursion level the interpreter's instruction would
 * count: only with budget left, where that level cannot be observed (the operands compared
 * inline run no code). With none left, the slow path counts exactly as the interpreter does. */
#define BUDGET_LEFT() __builtin_expect(tstate->recursion_remaining > 0, 1)

/* COMPARE_OP for comparison OPER, its result pushed: small ints and floats compared inline (the
 * operator is a constant in each variant), anything else through SLOW (which counts recursion
 * levels as the interpreter's instruction at that site does). */
/* The truth of `l OPER r` computed inline for two small ints or two floats while recursion
 * budget is left (then counting a level or not cannot be observed); -1 otherwise. */
#define INLINE_TRUTH(OPER, l, r)                                                               \
    (!BUDGET_LEFT() ? -1                                                                       \
     : is_medium(l) && is_medium(r) ? COMPARE(OPER, medium_value(l), medium_value(r))         \
     : PyFloat_CheckExact(l) && PyFloat_CheckExact(r)                                         \
         ? COMPARE(OPER, PyFloat_AS_DOUBLE(l), PyFloat_AS_DOUBLE(r))                           \
         : -1)

#define COMPARE_VALUE(OPER, SLOW)                                                              \
    {                                                                                          \
        PyObject *r = TOP(), *l = SECOND();                                                    \
        int truth = INLINE_TRUTH(OPER, l, r);                                                  \
        if (truth >= 0) {                                                                      \
            STACK_SHRINK(1);                                                                   \
            SET_TOP(truth ? Py_NewRef(Py_True) : Py_NewRef(Py_False));                         \
            /* Deallocating an int or float runs no code that looks at the frame. */           \
            Py_DECREF(l);                                                                      \
            Py_DECREF(r);                                                                      \
            CONTINUE();                                                                        \
        }                                                                                      \
        SAVE_IP();                                                                             \
        PyObject *res = (SLOW);                                                                \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

/* Not followed by a conditional jump (or by one behind EXTENDED_ARG): the interpreter never
 * specialises the site, so its comparison always counts a recursion level. */
#define COMPARE_BODY(OPER) COMPARE_VALUE(OPER, cpjit_compare_consume((OPER), stack_pointer))

STENCIL(COMPARE_OP__0) COMPARE_BODY(Py_LT)
STENCIL(COMPARE_OP__1) COMPARE_BODY(Py_LE)
STENCIL(COMPARE_OP__2) COMPARE_BODY(Py_EQ)
STENCIL(COMPARE_OP__3) COMPARE_BODY(Py_NE)
STENCIL(COMPARE_OP__4) COMPARE_BODY(Py_GT)
STENCIL(COMPARE_OP__5) COMPARE_BODY(Py_GE)

/* COMPARE_OP followed by POP_JUMP_FORWARD_IF_FALSE / _TRUE (how `if a < b:` compiles): for
 * small ints and floats the comparison decides the jump directly, with no bool on the stack;
 * anything else does the comparison here and falls into the jump's own stencil. */
#define COMPARE_JUMP(ARG, OPER, JUMP_NAME, JUMP_WHEN)                                          \
    STENCIL_FN(cpjit_op_COMPARE_OP__##ARG##__##JUMP_NAME)                                      \
    {                                                                                          \
        PyObject *r = TOP(), *l = SECOND();                                                    \
        int truth = INLINE_TRUTH(OPER, l, r);                                                  \
        if (truth >= 0) {                                                                      \
            STACK_SHRINK(2); /* no SAVE_IP: as above, int and float deallocation */            \
            Py_DECREF(l);                                                                      \
            Py_DECREF(r);                                                                      \
            if (truth == (JUMP_WHEN)) {                                                        \
                JUMP();                                                                        \
            }                                                                                  \
            SKIP();                                                                            \
        }                                                                                      \
        SAVE_IP();                                                                             \
        PyObject *res = cpjit_compare_jump_consume(tstate, frame, (OPER), stack_pointer);      \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

/* COMPARE_OP followed by POP_JUMP_BACKWARD_IF_FALSE / _TRUE (a `while` loop's test at its
 * bottom): the bool is pushed and the jump's own stencil (with its eval-breaker check) jumps;
 * paired only to count recursion levels as the interpreter's specialised forms do. */
#define COMPARE_JUMP_BACK(ARG, OPER, JUMP_NAME)                                                \
    STENCIL_FN(cpjit_op_COMPARE_OP__##ARG##__##JUMP_NAME)                                      \
    COMPARE_VALUE(OPER, cpjit_compare_jump_consume(tstate, frame, (OPER), stack_pointer))

#define COMPARE_JUMPS(ARG, OPER)                                                               \
    COMPARE_JUMP(ARG, OPER, POP_JUMP_FORWARD_IF_FALSE, 0)                                      \
    COMPARE_JUMP(ARG, OPER, POP_JUMP_FORWARD_IF_TRUE, 1)                                       \
    COMPARE_JUMP_BACK(ARG, OPER, POP_JUMP_BACKWARD_IF_FALSE)                                   \
    COMPARE_JUMP_BACK(ARG, OPER, POP_JUMP_BACKWARD_IF_TRUE)

COMPARE_JUMPS(0, Py_LT)
COMPARE_JUMPS(1, Py_LE)
COMPARE_JUMPS(2, Py_EQ)
COMPARE_JUMPS(3, Py_NE)
COMPARE_JUMPS(4, Py_GT)
COMPARE_JUMPS(5, Py_GE)

/* Any other oparg (none in 3.11): PyObject_RichCompare reports it. */
STENCIL(COMPARE_OP) COMPARE_BODY(OPARG)
