/* arith.h: BINARY_OP's arithmetic for the operators CPython 3.11 specialises (+, -, *, / and
 * their in-place forms), shared by every site (implemented in csrc/arith.c).
 */
#ifndef CPJIT_ARITH_H
#define CPJIT_ARITH_H

#include "cpjit_rt.h"

/* Small ints (at most one 30-bit digit) as 64-bit values, like longobject.c's medium_value
 * (for csrc/arith.c and the stencils' comparisons). */
static inline __attribute__((always_inline)) int is_medium(PyObject *o)
{
    return PyLong_CheckExact(o) && (size_t)(Py_SIZE(o) + 1) < 3;
}
static inline __attribute__((always_inline)) int64_t medium_value(PyObject *o)
{
    return (int64_t)Py_SIZE(o) * (int64_t)((PyLongObject *)o)->ob_digit[0];
}

/* Whether the left operand rules out every fast path of BINARY_OP's arithmetic (csrc/arith.c,
 * slowpaths.c): they all need it to be an exact int or an exact float. */
static inline __attribute__((always_inline)) int not_int_or_float(PyObject *lhs)
{
    PyTypeObject *t = Py_TYPE(lhs);
    return __builtin_expect(t != &PyLong_Type && t != &PyFloat_Type, 0);
}

/* An exact float and a small int (at most one digit, so the double conversion float's slots
 * make, PyLong_AsDouble, is exact): the operand that is a float, or NULL. */
static inline __attribute__((always_inline)) PyObject *float_with_small_int(PyObject *lhs,
                                                                             PyObject *rhs)
{
    if (PyFloat_CheckExact(lhs)) {
        return is_medium(rhs) ? lhs : NULL;
    }
    return PyFloat_CheckExact(rhs) && is_medium(lhs) ? rhs : NULL;
}

/* An operand as float's slots convert it (CONVERT_TO_DOUBLE): a float's value, or a small int's
 * exactly. */
static inline __attribute__((always_inline)) double as_double(PyObject *o)
{
    return PyFloat_CheckExact(o) ? PyFloat_AS_DOUBLE(o) : (double)medium_value(o);
}

/* Two exact floats, or an exact float and a small int: operands float's slots compute on as
 * the two doubles as_double gives. */
static inline __attribute__((always_inline)) int float_operands(PyObject *lhs, PyObject *rhs)
{
    return (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs))
           || float_with_small_int(lhs, rhs) != NULL;
}

/* The truth of `A OPER B` for a rich-comparison operator (Py_LT ... Py_GE), on C numbers. */
#define COMPARE_TRUTH(OPER, A, B)                                                              \
    ((OPER) == Py_LT ? (A) < (B)                                                               \
     : (OPER) == Py_LE ? (A) <= (B)                                                            \
     : (OPER) == Py_EQ ? (A) == (B)                                                            \
     : (OPER) == Py_NE ? (A) != (B)                                                            \
     : (OPER) == Py_GT ? (A) > (B)                                                             \
                       : (A) >= (B))

/* BINARY_OP's operators CPython 3.11 never specialises, on two small ints: //, %, &, |, ^, <<
 * and >> (and their in-place forms: int has no in-place slots), computed as int's slots compute
 * them. Returns 1 with the result stored at stack_pointer[-2] and the operands released (*res:
 * the result, NULL when allocating it failed), or 0, nothing changed, for anything else (a zero
 * divisor, a negative or long shift, other operands), which the generic path takes. */
int cpjit_small_int_op(int oparg, PyObject **stack_pointer, PyObject **res);

/* Each takes the two operands on top of the value stack (stack_pointer[-2] op
 * stack_pointer[-1], both owned), computes what PyNumber_<op> would, stores the result (or NULL)
 * in stack_pointer[-2] and releases the operands: small ints and floats in line (an operand the
 * stack alone holds may be reused for the result, which nothing can observe), anything else
 * through cpjit_binary_op_consume. Returns the result, NULL with an exception set. */
PyObject *cpjit_arith_add(PyObject **stack_pointer);
PyObject *cpjit_arith_subtract(PyObject **stack_pointer);
PyObject *cpjit_arith_multiply(PyObject **stack_pointer);
PyObject *cpjit_arith_true_divide(PyObject **stack_pointer);
PyObject *cpjit_arith_inplace_add(PyObject **stack_pointer);
PyObject *cpjit_arith_inplace_subtract(PyObject **stack_pointer);
PyObject *cpjit_arith_inplace_multiply(PyObject **stack_pointer);
PyObject *cpjit_arith_inplace_true_divide(PyObject **stack_pointer);

/* BINARY_OP followed by STORE_FAST into `local` (stencils/binary.c's pair stencils): when both
 * operands are exact floats (or small ints with a result int's slots would allocate) and the
 * local's old value is an object of that type nothing else can see (held by the local alone, or
 * by the local and one operand's stack slot), the result is written into it: returns 1, both
 * operands released, the store done. Otherwise the BINARY_OP alone, as above: 0 with the result
 * in stack_pointer[-2], -1 with an exception. For + and += on two exact strs whose left one is
 * the local's value, the str is appended in place as 3.11's BINARY_OP_INPLACE_ADD_UNICODE does
 * (1, or -1 with an exception, the local cleared and stack_pointer[-2] NULL). */
int cpjit_arith_store_add(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_subtract(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_multiply(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_true_divide(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_inplace_add(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_inplace_subtract(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_inplace_multiply(PyObject **stack_pointer, PyObject **local);
int cpjit_arith_store_inplace_true_divide(PyObject **stack_pointer, PyObject **local);

/* `c[i] op= v` (BINARY_OP followed by SWAP 3, SWAP 2, STORE_SUBSCR; stencils/binary.c): with
 * the container, the index, the item and the operand on top of the stack, when the container is
 * an exact list (the index an int naming the item's place) or an exact dict with str keys only
 * (the key an exact str whose entry holds the item), held elsewhere too, the item held by the
 * container and the stack alone, and item and operand exact floats (or small ints whose result is neither
 * a cached small int nor over one digit): the result is written into the item, the four slots
 * released, and 1 returned; the caller continues after the STORE_SUBSCR. 0, changing nothing,
 * otherwise. */
int cpjit_arith_update_inplace_add(PyObject **stack_pointer);
int cpjit_arith_update_inplace_subtract(PyObject **stack_pointer);
int cpjit_arith_update_inplace_multiply(PyObject **stack_pointer);
int cpjit_arith_update_inplace_true_divide(PyObject **stack_pointer);

/* `a ** b` for two floats, as float_pow computes it, for a finite base and exponent: a zero
 * base as float_pow's own case for it (1 for a zero exponent, a signed zero for a positive
 * one), a negative base only to an integral power (the power of its magnitude, negated for an
 * odd exponent, as float_pow does), and pow() for the rest when its result is finite
 * (float_pow's special cases for a base of +-1.0 and a zero exponent give what pow gives).
 * Writes the result and returns 1; returns 0, nothing written, for anything else (a negative
 * power of zero, which raises; a negative base to a fractional power: complex; infinities and
 * NaNs; an overflow, which raises), which the caller leaves to the generic operator. For
 * stencils/floats.c. */
int cpjit_plain_pow(double a, double b, double *out);

#endif
