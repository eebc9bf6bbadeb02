/* slowpaths.h: the out-of-line halves of stencils (csrc/slowpaths.c).
 *
 * A stencil keeps its fast path in line and calls one of these for everything else, so the
 * machine code copied for each instruction stays small. Each works on the value stack as the
 * interpreter's instruction does, so the stencil only moves the stack pointer and checks for NULL.
 */
#ifndef CPJIT_SLOWPATHS_H
#define CPJIT_SLOWPATHS_H

#include "Python.h"

/* BINARY_OP `oparg` on the two values on top of the stack (owned): the result (new reference,
 * or NULL with an exception) replaces the lower one (stack_pointer[-2]); both operands are
 * released. Exact ints of any size go straight to int's slot for + - *. */
PyObject *cpjit_binary_op_consume(int oparg, PyObject **stack_pointer);

/* COMPARE_OP `oper` (Py_LT..Py_GE) the same way: PyObject_RichCompare of the two values on top
 * of the stack, result into stack_pointer[-2], both operands released. */
PyObject *cpjit_compare_consume(int oper, PyObject **stack_pointer);

#endif
