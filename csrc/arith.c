/* arith.c: BINARY_OP's small-int and float arithmetic, one copy shared by every site.
 *
 * Owns: the fast paths of +, -, *, / (and their in-place forms) on exact small ints (at most one
 * 30-bit digit) and exact floats, with results exactly as int's and float's own slots give them
 * (cached small ints included), reusing an operand only the stack holds for the result. An
 * exact float with a small int (`1 - t`, `x * 2`) is float's slot's case (int's answers
 * NotImplemented, running nothing): the int converted exactly, as PyLong_AsDouble does; and a
 * true division of two small ints is long_true_divide's exact case (one double division).
 *
 * Why out of line: in line, these paths made each BINARY_OP site about 240 bytes of machine code
 * on the hot path (int and float cases, result reuse, small-int cache), so arithmetic-heavy
 * functions did not fit the instruction cache and ran slower than the interpreter, whose one
 * handler per operator all sites share. Here one copy per operator serves every site; a site
 * keeps a call (stencils/binary.c). The call costs a few instructions; the misses it saves cost
 * far more (callgrind --cache-sim on chaos: see the commit that introduced this file).
 *
 * Also owns BINARY_OP followed by STORE_FAST (cpjit_arith_store_*): when the local's old value is
 * an int or float that nothing but the local (and the stack) can see, the result is written into
 * that object and the store is done, so a loop that keeps rebinding a numeric local allocates
 * and frees no object for it.
 */
#include "arith.h"
#include "slowpaths.h"
#include "numeric.h"
#include "opcode.h"

#include "internal/pycore_dict.h"
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

/* The float result of a float and a small int (`f`: the float one), which int's slot leaves to
 * float's: written into `f` when the stack alone holds it. */
static PyObject *mixed_result(PyObject **sp, PyObject *lhs, PyObject *rhs, PyObject *f,
                              double value)
{
    if (Py_REFCNT(f) == 1) {
        ((PyFloatObject *)f)->ob_fval = value;
        sp[-2] = f;
        Py_DECREF(f == lhs ? rhs : lhs);
        return f;
    }
    return replace_operands(sp, lhs, rhs, PyFloat_FromDouble(value));
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

int cpjit_small_int_op(int oparg, PyObject **sp, PyObject **res)
{
    PyObject *rhs = sp[-1], *lhs = sp[-2];
    if (!is_medium(lhs) || !is_medium(rhs)) {
        return 0;
    }
    int64_t a = medium_value(lhs), b = medium_value(rhs), r;
    switch (oparg) {
    case NB_FLOOR_DIVIDE:
    case NB_INPLACE_FLOOR_DIVIDE:
        if (b == 0) {
            return 0; /* ZeroDivisionError: the generic path's */
        }
        r = a / b - ((a % b != 0) & ((a < 0) != (b < 0))); /* toward minus infinity */
        break;
    case NB_REMAINDER:
    case NB_INPLACE_REMAINDER:
        if (b == 0) {
            return 0;
        }
        r = a % b;
        r += (r != 0 && (r < 0) != (b < 0)) ? b : 0; /* the divisor's sign */
        break;
    case NB_AND:
    case NB_INPLACE_AND:
        r = a & b; /* two's complement, as int's bitwise slots on negative ints */
        break;
    case NB_OR:
    case NB_INPLACE_OR:
        r = a | b;
        break;
    case NB_XOR:
    case NB_INPLACE_XOR:
        r = a ^ b;
        break;
    case NB_LSHIFT:
    case NB_INPLACE_LSHIFT:
        if (b < 0 || b > 32) {
            return 0; /* a negative count raises; a long shift may need more than 64 bits */
        }
        r = a * ((int64_t)1 << b);
        break;
    case NB_RSHIFT:
    case NB_INPLACE_RSHIFT:
        if (b < 0) {
            return 0;
        }
        r = b >= 63 ? (a < 0 ? -1 : 0) : a >> b; /* arithmetic: toward minus infinity */
        break;
    default:
        return 0;
    }
    *res = int_result(sp, lhs, rhs, r);
    return 1;
}

/* cpjit_arith_NAME: a left operand that is not an exact int or float goes straight to the
 * operator's generic path (cpjit_binary_other_NAME), before anything else is tested or saved;
 * the rest to the fast paths (arith_numeric_NAME). */
#define ARITH_ENTRY(NAME)                                                                      \
    CPJIT_HOT PyObject *cpjit_arith_##NAME(PyObject **sp)                                      \
    {                                                                                          \
        if (not_int_or_float(sp[-2])) {                                                        \
            return cpjit_binary_other_##NAME(sp);                                              \
        }                                                                                      \
        return arith_numeric_##NAME(sp);                                                       \
    }

#define ARITH_INT_FLOAT(NAME, OPER, NB)                                                        \
    CPJIT_HOT static __attribute__((noinline)) PyObject *arith_numeric_##NAME(PyObject **sp) \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2];                                                 \
        if (is_medium(lhs) && is_medium(rhs)) {                                                \
            return int_result(sp, lhs, rhs, medium_value(lhs) OPER medium_value(rhs));         \
        }                                                                                      \
        if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)) {                              \
            return float_result(sp, lhs, rhs,                                                  \
                                PyFloat_AS_DOUBLE(lhs) OPER PyFloat_AS_DOUBLE(rhs));           \
        }                                                                                      \
        PyObject *f = float_with_small_int(lhs, rhs);                                          \
        if (f != NULL) {                                                                       \
            return mixed_result(sp, lhs, rhs, f, as_double(lhs) OPER as_double(rhs));          \
        }                                                                                      \
        return cpjit_binary_op_consume((NB), sp);                                              \
    }                                                                                          \
    ARITH_ENTRY(NAME)

/* True division: two floats, a float and a small int, or two small ints, and a non-zero divisor
 * (zero raises in the generic path). */
#define ARITH_FLOAT_DIV(NAME, NB)                                                              \
    CPJIT_HOT static __attribute__((noinline)) PyObject *arith_numeric_##NAME(PyObject **sp) \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2];                                                 \
        if (PyFloat_CheckExact(lhs) && PyFloat_CheckExact(rhs)                                 \
            && PyFloat_AS_DOUBLE(rhs) != 0.0) {                                                \
            return float_result(sp, lhs, rhs, PyFloat_AS_DOUBLE(lhs) / PyFloat_AS_DOUBLE(rhs)); \
        }                                                                                      \
        PyObject *f = float_with_small_int(lhs, rhs);                                          \
        if (f != NULL && as_double(rhs) != 0.0) {                                              \
            return mixed_result(sp, lhs, rhs, f, as_double(lhs) / as_double(rhs));             \
        }                                                                                      \
        if (is_medium(lhs) && is_medium(rhs) && medium_value(rhs) != 0) {                      \
            /* long_true_divide's case of two ints a double holds exactly. */                  \
            return replace_operands(                                                           \
                sp, lhs, rhs,                                                                  \
                PyFloat_FromDouble((double)medium_value(lhs) / (double)medium_value(rhs)));    \
        }                                                                                      \
        return cpjit_binary_op_consume((NB), sp);                                              \
    }                                                                                          \
    ARITH_ENTRY(NAME)

ARITH_INT_FLOAT(add, +, NB_ADD)
ARITH_INT_FLOAT(subtract, -, NB_SUBTRACT)
ARITH_INT_FLOAT(multiply, *, NB_MULTIPLY)
ARITH_FLOAT_DIV(true_divide, NB_TRUE_DIVIDE)
ARITH_INT_FLOAT(inplace_add, +, NB_INPLACE_ADD)
ARITH_INT_FLOAT(inplace_subtract, -, NB_INPLACE_SUBTRACT)
ARITH_INT_FLOAT(inplace_multiply, *, NB_INPLACE_MULTIPLY)
ARITH_FLOAT_DIV(inplace_true_divide, NB_INPLACE_TRUE_DIVIDE)

/* Whether the local's old value `old` may become the result of lhs OP rhs in place: nothing but
 * the local holds it (not an operand, one reference), or it is exactly one of the operands and
 * held by the local and that stack slot alone (two references). Either way no other code can
 * see the object before or after, so overwriting it is what rebinding the local to a new object
 * and releasing the old one looks like. */
static inline int takes_result(PyObject *old, PyObject *lhs, PyObject *rhs)
{
    if (old != lhs && old != rhs) {
        return Py_REFCNT(old) == 1;
    }
    return lhs != rhs && Py_REFCNT(old) == 2;
}

/* The result is in `old` (the local still holds it): the operands' stack references go.
 * Releasing ints and floats runs no code, so the order is unobservable. */
static inline void release_operands(PyObject *old, PyObject *lhs, PyObject *rhs)
{
    if (old == lhs || old == rhs) {
        Py_SET_REFCNT(old, 1); /* the stack's reference; never the last */
        Py_DECREF(old == lhs ? rhs : lhs);
        return;
    }
    Py_DECREF(lhs);
    Py_DECREF(rhs);
}

static inline int float_into(PyObject *old, PyObject *lhs, PyObject *rhs, double value)
{
    ((PyFloatObject *)old)->ob_fval = value;
    release_operands(old, lhs, rhs);
    return 1;
}

/* An int result goes into an existing int object only where int's own slots would make a new
 * object: not a cached small int (its identity is observable) and one digit at most. Writes it
 * into `o` and returns 1 then, else 0. */
static inline int int_in_place(PyObject *o, int64_t value)
{
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    if (mag >= ((uint64_t)1 << PyLong_SHIFT)
        || (value >= -_PY_NSMALLNEGINTS && value < _PY_NSMALLPOSINTS)) {
        return 0;
    }
    Py_SET_SIZE(o, value < 0 ? -1 : 1);
    ((PyLongObject *)o)->ob_digit[0] = (digit)mag;
    return 1;
}

static inline int int_into(PyObject *old, PyObject *lhs, PyObject *rhs, int64_t value)
{
    if (!int_in_place(old, value)) {
        return 0;
    }
    release_operands(old, lhs, rhs);
    return 1;
}

/* Exact ints of at most two 30-bit digits (|v| < 2**60): their value in *v. */
static inline int two_digit_value(PyObject *o, int64_t *v)
{
    if (is_medium(o)) {
        *v = medium_value(o);
        return 1;
    }
    Py_ssize_t size = Py_SIZE(o);
    if (!PyLong_CheckExact(o) || (size != 2 && size != -2)) {
        return 0;
    }
    const digit *d = ((PyLongObject *)o)->ob_digit;
    int64_t mag = (int64_t)d[0] | ((int64_t)d[1] << PyLong_SHIFT);
    *v = size < 0 ? -mag : mag;
    return 1;
}

/* int_into for results of up to two digits: the value goes into `old` (an exact int) when its
 * current digits have room for it (an int's memory holds at least its current digits), and,
 * as there, never a cached small int. A loop summing past 2**30 (`total += x`) keeps one int. */
static inline int wide_int_into(PyObject *old, PyObject *lhs, PyObject *rhs, int64_t value)
{
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    Py_ssize_t room = Py_SIZE(old) < 0 ? -Py_SIZE(old) : Py_SIZE(old);
    if (mag < ((uint64_t)1 << PyLong_SHIFT)) {
        return int_into(old, lhs, rhs, value);
    }
    if (mag >= ((uint64_t)1 << (2 * PyLong_SHIFT)) || room < 2) {
        return 0;
    }
    Py_SET_SIZE(old, value < 0 ? -2 : 2);
    ((PyLongObject *)old)->ob_digit[0] = (digit)(mag & PyLong_MASK);
    ((PyLongObject *)old)->ob_digit[1] = (digit)(mag >> PyLong_SHIFT);
    release_operands(old, lhs, rhs);
    return 1;
}

/* `s = s + t` and `s += t` for exact strs, `s` a local: appended in place when `s` is
 * otherwise unshared, as 3.11's BINARY_OP_INPLACE_ADD_UNICODE does (a loop building a string
 * this way is linear, not quadratic). The stack's reference to `s` is dropped first, so that
 * only the local's remains for PyUnicode_Append to see; it leaves the local the result, or NULL
 * with an exception (then stack_pointer[-2] is cleared: both operands are gone). */
static int str_append_into(PyObject **sp, PyObject **local, PyObject *lhs, PyObject *rhs)
{
    Py_SET_REFCNT(lhs, Py_REFCNT(lhs) - 1); /* the stack's; the local still holds it */
    PyUnicode_Append(local, rhs);
    Py_DECREF(rhs);
    if (*local == NULL) {
        sp[-2] = NULL;
        return -1;
    }
    return 1;
}

/* BINARY_OP + STORE_FAST into `local` (stencils/binary.c): 1 when the result went into the
 * local's old value in place (both operands released; the caller drops both slots and skips
 * the STORE_FAST), else the BINARY_OP alone as cpjit_arith_NAME does it: 0 with the result in
 * stack_pointer[-2], -1 with an exception. */
#define ARITH_STORE_INT_FLOAT(NAME, OPER, STR, CHECKED)                                        \
    CPJIT_HOT int cpjit_arith_store_##NAME(PyObject **sp, PyObject **local)                    \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2], *old = *local;                                  \
        if (STR && old == lhs && PyUnicode_CheckExact(lhs) && PyUnicode_CheckExact(rhs)) {     \
            return str_append_into(sp, local, lhs, rhs);                                       \
        }                                                                                      \
        if (not_int_or_float(lhs)) {                                                           \
            return cpjit_binary_other_##NAME(sp) != NULL ? 0 : -1;                             \
        }                                                                                      \
        if (old != NULL && takes_result(old, lhs, rhs)) {                                      \
            if (PyFloat_CheckExact(old) && float_operands(lhs, rhs)) {                         \
                return float_into(old, lhs, rhs, as_double(lhs) OPER as_double(rhs));          \
            }                                                                                  \
            if (is_medium(old) && is_medium(lhs) && is_medium(rhs)) {                          \
                if (int_into(old, lhs, rhs, medium_value(lhs) OPER medium_value(rhs))) {       \
                    return 1;                                                                  \
                }                                                                              \
            }                                                                                  \
            else {                                                                             \
                int64_t a_, b_, r_;                                                            \
                if (PyLong_CheckExact(old) && two_digit_value(lhs, &a_)                        \
                    && two_digit_value(rhs, &b_) && !CHECKED(a_, b_, &r_)                      \
                    && wide_int_into(old, lhs, rhs, r_)) {                                     \
                    return 1;                                                                  \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return cpjit_arith_##NAME(sp) != NULL ? 0 : -1;                                        \
    }

#define ARITH_STORE_FLOAT_DIV(NAME)                                                            \
    CPJIT_HOT int cpjit_arith_store_##NAME(PyObject **sp, PyObject **local)                    \
    {                                                                                          \
        PyObject *rhs = sp[-1], *lhs = sp[-2], *old = *local;                                  \
        if (old != NULL && PyFloat_CheckExact(old) && float_operands(lhs, rhs)                 \
            && as_double(rhs) != 0.0 && takes_result(old, lhs, rhs)) {                         \
            return float_into(old, lhs, rhs, as_double(lhs) / as_double(rhs));                 \
        }                                                                                      \
        return cpjit_arith_##NAME(sp) != NULL ? 0 : -1;                                        \
    }

ARITH_STORE_INT_FLOAT(add, +, 1, __builtin_add_overflow)
ARITH_STORE_INT_FLOAT(subtract, -, 0, __builtin_sub_overflow)
ARITH_STORE_INT_FLOAT(multiply, *, 0, __builtin_mul_overflow)
ARITH_STORE_FLOAT_DIV(true_divide)
ARITH_STORE_INT_FLOAT(inplace_add, +, 1, __builtin_add_overflow)
ARITH_STORE_INT_FLOAT(inplace_subtract, -, 0, __builtin_sub_overflow)
ARITH_STORE_INT_FLOAT(inplace_multiply, *, 0, __builtin_mul_overflow)
ARITH_STORE_FLOAT_DIV(inplace_true_divide)

/* `d[k] op= v` on an exact dict whose keys are all strs, `k` an exact str with its hash known:
 * whether the item is still the value at that key (the lookup compares strs only, so no code
 * runs; the STORE_SUBSCR would store into the same entry). */
static inline int is_dict_value(PyObject *dict, PyObject *key, PyObject *item)
{
    if (!PyUnicode_CheckExact(key) || !DK_IS_UNICODE(((PyDictObject *)dict)->ma_keys)) {
        return 0;
    }
    Py_hash_t hash = ((PyASCIIObject *)key)->hash;
    return hash != -1 && _PyDict_GetItem_KnownHash(dict, key, hash) == item;
}

/* `c[i] op= v` on a list or `d[k] op= v` on a dict (stencils/binary.c): the stack holds the
 * container, the index or key, the item the BINARY_SUBSCR read and the operand. When the item
 * is still the container's at that index or key and held by the container and that stack slot
 * alone, the result goes into the item and the SWAPs and the STORE_SUBSCR are done: storing the
 * item back where it is changes nothing. The container must outlive its release here (another
 * reference), so that no finalizer can run. Returns the item, or NULL with nothing changed. */
static inline PyObject *updated_item(PyObject **sp)
{
    PyObject *container = sp[-4], *index = sp[-3], *item = sp[-2];
    if (Py_REFCNT(container) < 2 || Py_REFCNT(item) != 2) {
        return NULL;
    }
    if (PyDict_CheckExact(container)) {
        return is_dict_value(container, index, item) ? item : NULL;
    }
    PyObject *list = container;
    if (!PyList_CheckExact(list) || !is_medium(index)) {
        return NULL;
    }
    Py_ssize_t i = (Py_ssize_t)medium_value(index);
    if (i < 0) {
        i += PyList_GET_SIZE(list);
    }
    if (i < 0 || i >= PyList_GET_SIZE(list) || PyList_GET_ITEM(list, i) != item) {
        return NULL;
    }
    return item;
}

static inline int release_update(PyObject **sp, PyObject *item)
{
    if (PyDict_CheckExact(sp[-4])) {
        /* The item changed: a new version, as the STORE_SUBSCR's insertdict would give. */
        cpjit_dict_new_version((PyDictObject *)sp[-4]);
    }
    Py_SET_REFCNT(item, 1); /* the stack's reference; the container's stays */
    Py_DECREF(sp[-1]);      /* an int or a float: no code runs */
    Py_DECREF(sp[-3]);      /* the index (an int) or the key (a str) */
    Py_DECREF(sp[-4]);      /* the container, held elsewhere too */
    return 1;
}

#define ARITH_UPDATE_INT_FLOAT(NAME, OPER)                                                     \
    CPJIT_HOT int cpjit_arith_update_##NAME(PyObject **sp)                                     \
    {                                                                                          \
        PyObject *item = updated_item(sp), *rhs = sp[-1];                                      \
        if (item == NULL || item == rhs) {                                                     \
            return 0;                                                                          \
        }                                                                                      \
        if (PyFloat_CheckExact(item) && PyFloat_CheckExact(rhs)) {                             \
            ((PyFloatObject *)item)->ob_fval = PyFloat_AS_DOUBLE(item) OPER PyFloat_AS_DOUBLE(rhs); \
            return release_update(sp, item);                                                   \
        }                                                                                      \
        if (is_medium(item) && is_medium(rhs)                                                  \
            && int_in_place(item, medium_value(item) OPER medium_value(rhs))) {                \
            return release_update(sp, item);                                                   \
        }                                                                                      \
        return 0;                                                                              \
    }

CPJIT_HOT int cpjit_arith_update_inplace_true_divide(PyObject **sp)
{
    PyObject *item = updated_item(sp), *rhs = sp[-1];
    if (item == NULL || item == rhs || !PyFloat_CheckExact(item) || !PyFloat_CheckExact(rhs)
        || PyFloat_AS_DOUBLE(rhs) == 0.0) {
        return 0;
    }
    ((PyFloatObject *)item)->ob_fval = PyFloat_AS_DOUBLE(item) / PyFloat_AS_DOUBLE(rhs);
    return release_update(sp, item);
}

ARITH_UPDATE_INT_FLOAT(inplace_add, +)
ARITH_UPDATE_INT_FLOAT(inplace_subtract, -)
ARITH_UPDATE_INT_FLOAT(inplace_multiply, *)

int cpjit_plain_pow(double a, double b, double *out)
{
    if (!isfinite(a) || !isfinite(b)) {
        return 0;
    }
    if (a == 0.0) {
        /* float_pow: 0 ** 0 is 1; a negative power of zero raises (the baseline's); a positive
         * one is zero, with the base's sign for an odd integral exponent. */
        if (b < 0.0) {
            return 0;
        }
        *out = b == 0.0 ? 1.0 : fmod(fabs(b), 2.0) == 1.0 ? a : 0.0;
        return 1;
    }
    int negate = 0;
    if (a < 0.0) {
        /* float_pow: a negative base to a fractional power is complex (the baseline's); to an
         * integral one, the power of its magnitude, negated for an odd exponent. */
        if (b != floor(b)) {
            return 0;
        }
        a = -a;
        negate = fmod(fabs(b), 2.0) == 1.0;
    }
    double r = pow(a, b);
    if (!isfinite(r)) {
        return 0;
    }
    *out = negate ? -r : r;
    return 1;
}
