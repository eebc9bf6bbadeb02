/* dunders.c: binary operators whose operand is an instance of a Python class with the operator
 * method written in Python (`v - w` calling `V.__sub__`), called without the generic dispatch.
 *
 * The interpreter's BINARY_OP reaches such a method through PyNumber_Subtract -> binary_op1 ->
 * the class's nb_subtract slot (typeobject.c's slot_nb_subtract) -> vectorcall_maybe, which
 * looks the method up again and calls it. Here, for the cases whose outcome that chain settles
 * without running anything but the method, the method is looked up the same way (_PyType_Lookup,
 * the type's method cache) and called the same way (the function's vectorcall, the two operands
 * as its arguments), and whatever the chain would do after a NotImplemented is done as it does
 * it. The cases:
 *
 *   - forward: the left operand's class has the Python slot for the operator (typeobject.c
 *     installs it for a class whose `__sub__` or `__rsub__` is found as a Python function) and
 *     `__sub__` is a Python function; the right operand is of the same class, of a static type,
 *     or of another class that is no subclass of the left one's (after a NotImplemented: its
 *     `__rsub__` when its slot is the Python one too, else its own slot);
 *   - reflected: the left operand is an exact int or float, the right one's class has the Python
 *     slot and `__rsub__` is a Python function, and it is no int or float (whose own slot would
 *     take it): int's and float's slots answer NotImplemented for it without running code.
 *
 * In-place operators (`v -= w`) take these paths when the left class has no in-place slot
 * (binary_iop1 then goes straight to binary_op1). Sequence fallbacks of + and * (sq_concat,
 * sq_repeat, which PyNumber_Add and PyNumber_Multiply try after a NotImplemented) rule a case
 * out. Everything else is left to the generic path (helpers.c: cpjit_binary_op).
 *
 * The slot function itself is static in typeobject.c: it is learnt, per operator, from the first
 * class deriving from object alone whose method lookup finds a Python function (that class's
 * slot is necessarily it). Counted in stats()["operator_methods"].
 */
#include "helpers.h"
#include "calls.h"

#include "internal/pycore_call.h"
#include "internal/pycore_global_strings.h"
#include "internal/pycore_runtime.h"
#include "opcode.h"

#include <stddef.h>

/* One binary operator: its method and reflected method, the offsets of its slot and in-place
 * slot in PyNumberMethods, the symbol binop_type_error names it by (the in-place one for
 * in-place opargs), and which sequence fallback PyNumber_* tries after NotImplemented. */
typedef struct {
    PyObject *name;
    PyObject *rname;
    uint16_t slot;
    uint16_t inplace_slot; /* 0: not an in-place oparg */
    uint8_t base;          /* the non-in-place oparg: index of the learnt slot function */
    uint8_t sequence;      /* SEQ_* */
    const char *symbol;
} DunderOp;

enum { SEQ_NONE, SEQ_CONCAT, SEQ_REPEAT };

#define NB(field) (uint16_t)offsetof(PyNumberMethods, field)
#define OP(ARG, DUNDER, RDUNDER, FIELD, SEQ, SYM)                                               \
    [ARG] = {&_Py_ID(DUNDER), &_Py_ID(RDUNDER), NB(FIELD), 0, ARG, SEQ, SYM}
#define IOP(ARG, BASE, DUNDER, RDUNDER, FIELD, IFIELD, SEQ, SYM)                                \
    [ARG] = {&_Py_ID(DUNDER), &_Py_ID(RDUNDER), NB(FIELD), NB(IFIELD), BASE, SEQ, SYM}

static const DunderOp dunder_ops[NB_INPLACE_XOR + 1] = {
    OP(NB_ADD, __add__, __radd__, nb_add, SEQ_CONCAT, "+"),
    OP(NB_AND, __and__, __rand__, nb_and, SEQ_NONE, "&"),
    OP(NB_FLOOR_DIVIDE, __floordiv__, __rfloordiv__, nb_floor_divide, SEQ_NONE, "//"),
    OP(NB_LSHIFT, __lshift__, __rlshift__, nb_lshift, SEQ_NONE, "<<"),
    OP(NB_MATRIX_MULTIPLY, __matmul__, __rmatmul__, nb_matrix_multiply, SEQ_NONE, "@"),
    OP(NB_MULTIPLY, __mul__, __rmul__, nb_multiply, SEQ_REPEAT, "*"),
    OP(NB_REMAINDER, __mod__, __rmod__, nb_remainder, SEQ_NONE, "%"),
    OP(NB_OR, __or__, __ror__, nb_or, SEQ_NONE, "|"),
    OP(NB_RSHIFT, __rshift__, __rrshift__, nb_rshift, SEQ_NONE, ">>"),
    OP(NB_SUBTRACT, __sub__, __rsub__, nb_subtract, SEQ_NONE, "-"),
    OP(NB_TRUE_DIVIDE, __truediv__, __rtruediv__, nb_true_divide, SEQ_NONE, "/"),
    OP(NB_XOR, __xor__, __rxor__, nb_xor, SEQ_NONE, "^"),
    IOP(NB_INPLACE_ADD, NB_ADD, __add__, __radd__, nb_add, nb_inplace_add, SEQ_CONCAT, "+="),
    IOP(NB_INPLACE_AND, NB_AND, __and__, __rand__, nb_and, nb_inplace_and, SEQ_NONE, "&="),
    IOP(NB_INPLACE_FLOOR_DIVIDE, NB_FLOOR_DIVIDE, __floordiv__, __rfloordiv__, nb_floor_divide,
        nb_inplace_floor_divide, SEQ_NONE, "//="),
    IOP(NB_INPLACE_LSHIFT, NB_LSHIFT, __lshift__, __rlshift__, nb_lshift, nb_inplace_lshift,
        SEQ_NONE, "<<="),
    IOP(NB_INPLACE_MATRIX_MULTIPLY, NB_MATRIX_MULTIPLY, __matmul__, __rmatmul__,
        nb_matrix_multiply, nb_inplace_matrix_multiply, SEQ_NONE, "@="),
    IOP(NB_INPLACE_MULTIPLY, NB_MULTIPLY, __mul__, __rmul__, nb_multiply, nb_inplace_multiply,
        SEQ_REPEAT, "*="),
    IOP(NB_INPLACE_REMAINDER, NB_REMAINDER, __mod__, __rmod__, nb_remainder,
        nb_inplace_remainder, SEQ_NONE, "%="),
    IOP(NB_INPLACE_OR, NB_OR, __or__, __ror__, nb_or, nb_inplace_or, SEQ_NONE, "|="),
    IOP(NB_INPLACE_RSHIFT, NB_RSHIFT, __rshift__, __rrshift__, nb_rshift, nb_inplace_rshift,
        SEQ_NONE, ">>="),
    IOP(NB_INPLACE_SUBTRACT, NB_SUBTRACT, __sub__, __rsub__, nb_subtract, nb_inplace_subtract,
        SEQ_NONE, "-="),
    IOP(NB_INPLACE_TRUE_DIVIDE, NB_TRUE_DIVIDE, __truediv__, __rtruediv__, nb_true_divide,
        nb_inplace_true_divide, SEQ_NONE, "/="),
    IOP(NB_INPLACE_XOR, NB_XOR, __xor__, __rxor__, nb_xor, nb_inplace_xor, SEQ_NONE, "^="),
};

/* typeobject.c's slot function for each operator (indexed by the non-in-place oparg), once
 * learnt; written under the GIL. */
static binaryfunc python_slot[NB_XOR + 1];

static inline binaryfunc number_slot(PyTypeObject *type, uint16_t offset)
{
    PyNumberMethods *nb = type->tp_as_number;
    return nb == NULL ? NULL : *(binaryfunc *)((char *)nb + offset);
}

/* Whether `type`'s slot for the operator is typeobject.c's Python slot: compared with the
 * learnt function, or learnt here when `method` (the method a lookup found on `type`) is a
 * Python function, which makes `type`'s slot that function. */
static int has_python_slot(const DunderOp *op, PyTypeObject *type, PyObject *method)
{
    binaryfunc slot = number_slot(type, op->slot);
    if (slot == NULL) {
        return 0;
    }
    if (python_slot[op->base] == NULL && method != NULL && Py_IS_TYPE(method, &PyFunction_Type)
        && type->tp_base == &PyBaseObject_Type) {
        /* A class statement's class on object alone: nothing but typeobject.c set its slot. */
        python_slot[op->base] = slot;
    }
    return slot == python_slot[op->base];
}

/* The sequence methods PyNumber_Add / _Multiply (and their in-place forms) would try after a
 * NotImplemented, on either operand. */
static int has_sequence_fallback(const DunderOp *op, PyTypeObject *type)
{
    PySequenceMethods *sq = type->tp_as_sequence;
    if (sq == NULL || op->sequence == SEQ_NONE) {
        return 0;
    }
    if (op->sequence == SEQ_CONCAT) {
        return sq->sq_concat != NULL || sq->sq_inplace_concat != NULL;
    }
    return sq->sq_repeat != NULL || sq->sq_inplace_repeat != NULL;
}

/* The Python function `name` names on `type` (borrowed), as lookup_maybe_method finds it, or
 * NULL when it is anything else. */
static inline PyObject *python_method(PyTypeObject *type, PyObject *name)
{
    PyObject *f = _PyType_Lookup(type, name);
    return f != NULL && Py_IS_TYPE(f, &PyFunction_Type) ? f : NULL;
}

/* vectorcall_maybe's call of an unbound method, the two operands its arguments: a compiled
 * method's frame pushed and run natively (calls.c: cpjit_call_python), without the function's
 * vectorcall and the frame-evaluation hook on the way. */
static PyObject *call_method(PyThreadState *tstate, PyObject *func, PyObject *self,
                             PyObject *other)
{
    cpjit_stats.operator_methods++;
    if (!Py_IS_TYPE(func, &PyFunction_Type)) {
        PyObject *stack[2] = {self, other};
        Py_INCREF(func);
        PyObject *res = _PyObject_VectorcallTstate(tstate, func, stack, 2, NULL);
        Py_DECREF(func);
        return res;
    }
    /* A slot before the arguments, for PY_VECTORCALL_ARGUMENTS_OFFSET; the call takes over
     * the arguments' references. */
    PyObject *stack[3] = {NULL, Py_NewRef(self), Py_NewRef(other)};
    return cpjit_call_python(tstate, func, stack + 1, 2);
}

/* vectorcall_maybe: `self`'s method `name` called with `other` (a bound or plain callable when
 * the attribute is no method descriptor), NotImplemented when the type has none. */
static PyObject *call_maybe(PyThreadState *tstate, PyObject *name, PyObject *self,
                            PyObject *other)
{
    PyObject *f = _PyType_Lookup(Py_TYPE(self), name);
    if (f == NULL) {
        return Py_NewRef(Py_NotImplemented);
    }
    if (PyType_HasFeature(Py_TYPE(f), Py_TPFLAGS_METHOD_DESCRIPTOR)) {
        return call_method(tstate, f, self, other);
    }
    descrgetfunc get = Py_TYPE(f)->tp_descr_get;
    f = get == NULL ? Py_NewRef(f) : get(f, self, (PyObject *)Py_TYPE(self));
    if (f == NULL) {
        return NULL;
    }
    PyObject *stack[2] = {self, other};
    PyObject *res = _PyObject_VectorcallTstate(tstate, f, stack + 1,
                                               1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(f);
    return res;
}

static PyObject *binop_type_error(const DunderOp *op, PyObject *v, PyObject *w)
{
    PyErr_Format(PyExc_TypeError, "unsupported operand type(s) for %.100s: '%.100s' and '%.100s'",
                 op->symbol, Py_TYPE(v)->tp_name, Py_TYPE(w)->tp_name);
    return NULL;
}

int cpjit_binary_dunder(int oparg, PyObject *v, PyObject *w, PyObject **result)
{
    PyTypeObject *tv = Py_TYPE(v), *tw = Py_TYPE(w); /* one a heap type: the caller's test */
    if ((unsigned)oparg > NB_INPLACE_XOR || oparg == NB_POWER || oparg == NB_INPLACE_POWER) {
        return 0;
    }
    const DunderOp *op = &dunder_ops[oparg];
    if (op->inplace_slot != 0 && number_slot(tv, op->inplace_slot) != NULL) {
        return 0; /* binary_iop1 tries the in-place slot first */
    }
    if (has_sequence_fallback(op, tv) || has_sequence_fallback(op, tw)) {
        return 0;
    }
    PyThreadState *tstate = _PyThreadState_GET();
    PyObject *res;
    if (tv->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        /* Forward: binary_op1 calls v's slot (the Python one), which calls v.__op__(w); after a
         * NotImplemented, w.__rop__(v) when w's type is another with the Python slot (slot_nb's
         * do_other: binary_op1 dropped w's slot as the same function), else w's own slot. A w
         * of a subclass of v's type goes first in both: left to the generic path. */
        if (tw != tv && (tw->tp_flags & Py_TPFLAGS_HEAPTYPE) && PyType_IsSubtype(tw, tv)) {
            return 0;
        }
        PyObject *method = python_method(tv, op->name);
        if (method == NULL || !has_python_slot(op, tv, method)) {
            return 0;
        }
        binaryfunc slotw = tw != tv ? number_slot(tw, op->slot) : NULL;
        int do_other = slotw != NULL && slotw == python_slot[op->base];
        res = call_method(tstate, method, v, w);
        if (res != Py_NotImplemented) {
            *result = res;
            return 1;
        }
        Py_DECREF(res);
        res = do_other ? call_maybe(tstate, op->rname, w, v)
              : slotw != NULL ? slotw(v, w)
                              : Py_NewRef(Py_NotImplemented);
        if (res != Py_NotImplemented) {
            *result = res;
            return 1;
        }
        Py_DECREF(res);
        *result = binop_type_error(op, v, w);
        return 1;
    }
    /* Reflected: v is an exact int or float whose slot (if any) answers NotImplemented for a w
     * that is neither an int nor a float; then w's slot calls w.__rop__(v) (do_other: v's type
     * differs and w's slot is the Python one; v's slot is not). */
    if ((!PyLong_CheckExact(v) && !PyFloat_CheckExact(v)) || PyLong_Check(w) || PyFloat_Check(w)) {
        return 0;
    }
    PyObject *method = python_method(tw, op->rname);
    if (method == NULL || !has_python_slot(op, tw, method)) {
        return 0;
    }
    res = call_method(tstate, method, w, v);
    if (res != Py_NotImplemented) {
        *result = res;
        return 1;
    }
    Py_DECREF(res);
    *result = binop_type_error(op, v, w);
    return 1;
}
