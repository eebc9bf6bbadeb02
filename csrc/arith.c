/* arith.c: BINARY_OP's small-int and float arithmetic, one copy shared by every site.
 *
 * Owns: the fast paths of +, -, *, / (and their in-place forms) on exact small ints (at most one
 * 30-bit digit) and exact floats, with results exactly as int's and float's own slots give them
 * (cached small ints included), reusing an operand only the stack holds for the result.
 *
 * Why out of line: in line, these paths made each BINARY_OP site about 240 bytes of machine code
 * on the hot path (int and float cases, result reuse, small-int cache), so arithmetic-heavy
 * functions did not fit the instruction cache and ran slower than the interpreter, whose one
 * handler per operator all sites share. Here one copy per operator serves every site; a site
 * keeps a call (stencils/binary.c). The call costs a few instructions; the misses it saves cost
 * far more (callgrind --cache-sim on chaos: see the commit that introduced this file).
 */
#include "arith.h"
#include "slowpaths.h"
#include "numeric.h"
#include "opcode.h"

#include "internal/pycore_long.h"
#include "internal/pycore_runtime.h"

/* Pick the operand to reuse for the result: one the stack holds the only reference to (then
 * nothing else can see it change). Returns it and sets *other to the operand to release, or
 * NULL when both are shared. */
static inline PyObject *reusable(PyObject *lhs, PyObject *rhs, PyObject **other)
{
    if (Py_REFCNT(lhs) == 1) {
        *other = rhs;
        return lhs;
    }
    if (Py_REFCNT(rhs) == 1) {
        *other = lhs;
        return rhs;
    }
    return NULL;
}

/* Releasing an int or a float runs no code, so the order of these decrefs is unobservable. */
static inline PyObject *replace_operands(PyObject **sp, PyObject *lhs, PyObject *rhs,
                                         PyObject *res)
{
    sp[-2] = res;
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    return res;
}

static PyObject *float_result(PyObject **sp, PyObject *lhs, PyObject *rhs, double value)
{
    PyObject *other;
    PyObject *reuse = reusable(lhs, rhs, &other);
    if (reuse == NULL) {
        return replace_operands(sp, lhs, rhs, PyFloat_FromDouble(value));
    }
    ((PyFloatObject *)reuse)->ob_fval = value;
    sp[-2] = reuse;
    Py_DECREF(other);
    return reuse;
}

CPJIT_HOT
static PyObject *int_result(PyObject **sp, PyObject *lhs, PyObject *rhs, int64_t value)
{
    if (value >= -_PY_NSMALLNEGINTS && value < _PY_NSMALLPOSINTS) {
        /* A cached small int: code may observe its identity. */
        PyObject *res = Py_NewRef((PyObject *)&_PyLong_SMALL_INTS[_PY_NSMALLNEGINTS + value]);
        return replace_operands(sp, lhs, rhs, res);
    }
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    PyObject *other;
    PyObject *reuse;
    if (mag >= ((uint64_t)1 << PyLong_SHIFT) || (reuse = reusable(lhs, rhs, &other)) == NULL) {
        return cpjit_int_result_consume(sp, value);
    }
    Py_SET_SIZE(reuse, value < 0 ? -1 : 1);
    ((PyLongObject *)reuse)->ob_digit[0] = (digit)mag;
    sp[-2] = reuse;
    Py_DECREF(other);
    return reuse;
}

#define ARITH_INT_FLOAT(NAME, OPER, NB)                                                        \
    CPJIT_HOT PyObject *cpjit_arith_##NAME(PyObject **sp)                                      \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2];                                                 \
        if (is_medium(lhs) && is_medium(rhs)) {                                                \
            return int_result(sp, lhs, rhs, medium_value(lhs) OPER medium_value(rhs));         \
        }                                                                                      \
        if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)) {                              \
            return float_result(sp, lhs, rhs,                                                  \
                                PyFloat_AS_DOUBLE(lhs) OPER PyFloat_AS_DOUBLE(rhs));           \
        }                                                                                      \
        return cpjit_binary_op_consume((NB), sp);                                              \
    }

/* True division: two floats and a non-zero divisor (zero raises in the generic path). */
#define ARITH_FLOAT_DIV(NAME, NB)                                                              \
    CPJIT_HOT PyObject *cpjit_arith_##NAME(PyObject **sp)                                      \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2];                                                 \
        if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)                                 \
            && PyFloat_AS_DOUBLE(rhs) != 0.0) {                                                \
            return float_result(sp, lhs, rhs, PyFloat_AS_DOUBLE(lhs) / PyFloat_AS_DOUBLE(rhs)); \
        }                                                                                      \
        return cpjit_binary_op_consume((NB), sp);                                              \
    }

ARITH_INT_FLOAT(add, +, NB_ADD)
ARITH_INT_FLOAT(subtract, -, NB_SUBTRACT)
ARITH_INT_FLOAT(multiply, *, NB_MULTIPLY)
ARITH_FLOAT_DIV(true_divide, NB_TRUE_DIVIDE)
ARITH_INT_FLOAT(inplace_add, +, NB_INPLACE_ADD)
ARITH_INT_FLOAT(inplace_subtract, -, NB_INPLACE_SUBTRACT)
ARITH_INT_FLOAT(inplace_multiply, *, NB_INPLACE_MULTIPLY)
ARITH_FLOAT_DIV(inplace_true_divide, NB_INPLACE_TRUE_DIVIDE)
