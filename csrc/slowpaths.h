/* slowpaths.h: the out-of-line halves of stencils (csrc/slowpaths.c).
 *
 * A stencil keeps its fast path in line and calls one of these for everything else, so the
 * machine code copied for each instruction stays small. Each works on the value stack as the
 * interpreter's instruction does, so the stencil only moves the stack pointer and checks for NULL.
 */
#ifndef CPJIT_SLOWPATHS_H
#define CPJIT_SLOWPATHS_H

#include "cpjit_rt.h"
#include "internal/pycore_pyerrors.h"

/* BINARY_OP `oparg` on the two values on top of the stack (owned): the result (new reference,
 * or NULL with an exception) replaces the lower one (stack_pointer[-2]); both operands are
 * released. Exact ints of any size go straight to int's slot for + - *. */
PyObject *cpjit_binary_op_consume(int oparg, PyObject **stack_pointer);

/* The same for + - * / and their in-place forms when the left operand is neither an exact int
 * nor an exact float (csrc/arith.c's fast paths all need one): a Decimal, a Fraction, a str, a
 * list, a numpy scalar. The operator's PyNumber_* function called directly (after a Python
 * class's dunder, as cpjit_binary_op), one call deep, as the interpreter's generic BINARY_OP
 * does: the way through the fast paths' checks, cpjit_binary_op_consume and cpjit_binary_op
 * cost 55 instructions more per operation than plain python (decimal_pi: 0.93x). */
PyObject *cpjit_binary_other_add(PyObject **stack_pointer);
PyObject *cpjit_binary_other_subtract(PyObject **stack_pointer);
PyObject *cpjit_binary_other_multiply(PyObject **stack_pointer);
PyObject *cpjit_binary_other_true_divide(PyObject **stack_pointer);
PyObject *cpjit_binary_other_inplace_add(PyObject **stack_pointer);
PyObject *cpjit_binary_other_inplace_subtract(PyObject **stack_pointer);
PyObject *cpjit_binary_other_inplace_multiply(PyObject **stack_pointer);
PyObject *cpjit_binary_other_inplace_true_divide(PyObject **stack_pointer);

/* BINARY_OP `N` for the operators without arithmetic fast paths (&, //, <<, @, %, |, **, >>, ^
 * and their in-place forms; stencils/binary.c): a left operand that is an exact int or float
 * through cpjit_binary_op_consume (small ints, big ints, float powers), any other (`"%s" % x`,
 * sets, Decimals) straight to the operator's function, as cpjit_binary_other_* do. */
#define CPJIT_BINARY_GENERIC(N) PyObject *cpjit_binary_generic_##N(PyObject **stack_pointer);
CPJIT_BINARY_GENERIC(1)
CPJIT_BINARY_GENERIC(2)
CPJIT_BINARY_GENERIC(3)
CPJIT_BINARY_GENERIC(4)
CPJIT_BINARY_GENERIC(6)
CPJIT_BINARY_GENERIC(7)
CPJIT_BINARY_GENERIC(8)
CPJIT_BINARY_GENERIC(9)
CPJIT_BINARY_GENERIC(12)
CPJIT_BINARY_GENERIC(14)
CPJIT_BINARY_GENERIC(15)
CPJIT_BINARY_GENERIC(16)
CPJIT_BINARY_GENERIC(17)
CPJIT_BINARY_GENERIC(19)
CPJIT_BINARY_GENERIC(20)
CPJIT_BINARY_GENERIC(21)
CPJIT_BINARY_GENERIC(22)
CPJIT_BINARY_GENERIC(25)
#undef CPJIT_BINARY_GENERIC

/* COMPARE_OP `oper` (Py_LT..Py_GE) the same way: PyObject_RichCompare of the two values on top
 * of the stack, result into stack_pointer[-2], both operands released. */
PyObject *cpjit_compare_consume(int oper, PyObject **stack_pointer);

/* The same for a COMPARE_OP followed by a conditional jump, counting recursion levels as the
 * interpreter's instruction there does: with no budget left, a comparison its warm specialised
 * forms would make (small ints, non-NaN floats, str == / != str) counts none, anything else one
 * (PyObject_RichCompare, which raises RecursionError "in comparison"). The stencils' own inline
 * comparisons run only with budget left, where a level counted or not cannot be observed. */
PyObject *cpjit_compare_jump_consume(PyThreadState *tstate, _PyInterpreterFrame *frame, int oper,
                                     PyObject **stack_pointer);

/* MAKE_FUNCTION `oparg`: the code object on top of the stack, below it (as the flags in oparg
 * say) closure, annotations, keyword defaults and defaults, all owned. Returns the stack pointer
 * after the instruction, with the new function on top; or NULL with an exception set, having
 * released only the code object (the caller drops that one slot; the others stay for the
 * unwinder, as in the interpreter). */
PyObject **cpjit_make_function(int oparg, PyObject **stack_pointer, PyObject *globals);

/* BINARY_SUBSCR's out-of-line path: container[sub] for the two values on top of the stack
 * (owned). Dicts as BINARY_SUBSCR_DICT (on error the key is released and the dict stays in
 * stack_pointer[-2], owned, for the unwinder), a class's Python __getitem__ called as its
 * mapping slot would call it (natively when compiled, as 3.11's BINARY_SUBSCR_GETITEM inlines
 * it), anything else through PyObject_GetItem (both released, the result or NULL in
 * stack_pointer[-2]). Returns the result or NULL. */
PyObject *cpjit_binary_subscr_consume(PyThreadState *tstate, PyObject **stack_pointer);

/* CONTAINS_OP's test, PySequence_Contains(container, item): 1, 0, or -1 with an exception set.
 * For a class whose sq_contains is typeobject.c's slot_sq_contains and whose __contains__ is a
 * C method with one argument (a Python subclass of dict or set: their __contains__ are methods,
 * not slot wrappers), the method is called as that slot's call of it would call it. */
int cpjit_contains(PyObject *container, PyObject *item);

/* Learn the addresses of CPython's static slot functions cpjit_binary_subscr_consume compares
 * with (a class defining __getitem__ gets typeobject.c's slot_mp_subscript). 0, or -1 with an
 * exception set. Called once at start-up. */
int cpjit_learn_slot_functions(void);

/* typeobject.c's slot_tp_getattr_hook (static there), the tp_getattro of every class that
 * defines __getattr__ in Python (a metaclass like 3.11's EnumType), and type's own
 * __getattribute__ (a slot wrapper, borrowed from type's dict): learnt by
 * cpjit_learn_slot_functions, NULL before (or when the probe found otherwise). */
extern getattrofunc cpjit_python_getattr_hook;
extern PyObject *cpjit_type_getattribute;
/* The getters of object's __class__ and of type's __name__ (getset descriptors of static types),
 * learnt by cpjit_learn_slot_functions: the data descriptors the attribute caches' first tier
 * answers for itself (names.h, CPJIT_DESCR_*). NULL before, or if the probe found otherwise. */
extern getter cpjit_object_class_getter;
extern getter cpjit_type_name_getter;
/* _collections._tuplegetter (a namedtuple's field: the item at its index), learnt likewise, when
 * its objects keep the index right after the header (cpjit_tuplegetter_index); else NULL. */
extern PyTypeObject *cpjit_tuplegetter_type;

/* STORE_SUBSCR's out-of-line path: container[sub] = v with v, container, sub (owned) on top of
 * the stack; all three are released. Returns 0, or -1 with an exception set. */
int cpjit_store_subscr_consume(PyObject **stack_pointer);

#endif
