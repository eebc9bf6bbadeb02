/* helpers.h: C functions stencils call that CPython 3.11 does not export (it builds with hidden
 * visibility) or that are too large to copy into every stencil. Implemented in csrc/helpers*.c,
 * each one a re-implementation of the named ceval.c behaviour against CPython's headers.
 */
#ifndef CPJIT_HELPERS_H
#define CPJIT_HELPERS_H

#include "cpjit_rt.h"

#define CPJIT_NAME_ERROR_MSG "name '%.200s' is not defined"
#define CPJIT_UNBOUNDLOCAL_ERROR_MSG \
    "cannot access local variable '%s' where it is not associated with a value"
#define CPJIT_UNBOUNDFREE_ERROR_MSG \
    "cannot access free variable '%s' where it is not associated with a" \
    " value in enclosing scope"

/* ceval.c's format_exc_check_arg: raise `exc` with `format_str` % name; NameError gets .name. */
void cpjit_format_exc_check_arg(PyThreadState *tstate, PyObject *exc, const char *format_str,
                                PyObject *obj);
/* UnboundLocalError for local slot `oparg` of the frame's code. */
void cpjit_unbound_local_error(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg);

/* ** and **= without a modulus (ceval.c keeps these static). */
PyObject *cpjit_power(PyObject *base, PyObject *exp);
PyObject *cpjit_inplace_power(PyObject *base, PyObject *exp);

/* BINARY_OP's generic path: the binary_ops[] table of ceval.c. NULL with an error on failure. */
PyObject *cpjit_binary_op(int oparg, PyObject *lhs, PyObject *rhs);
/* csrc/dunders.c: `lhs op rhs` when an operand is an instance of a Python class whose operator
 * method is a Python function (the caller has seen a heap type among the operands' types),
 * called without the generic dispatch: returns 1 with the result
 * (NULL with an exception set) in *result, or 0 having done nothing (the generic path's case). */
int cpjit_binary_dunder(int oparg, PyObject *lhs, PyObject *rhs, PyObject **result);

/* BINARY_OP `oparg`'s generic call, `op` being its operator function: a Python class's operator
 * method through cpjit_binary_dunder, anything else through `op`. New reference or NULL. */
static inline __attribute__((always_inline)) PyObject *
cpjit_binary_call(int oparg, binaryfunc op, PyObject *lhs, PyObject *rhs)
{
    PyObject *res;
    if (((Py_TYPE(lhs)->tp_flags | Py_TYPE(rhs)->tp_flags) & Py_TPFLAGS_HEAPTYPE)
        && cpjit_binary_dunder(oparg, lhs, rhs, &res)) { /* an instance of a Python class */
        return res;
    }
    return op(lhs, rhs);
}

/* LOAD_GLOBAL's lookup: globals, then builtins; NameError when missing. New reference or NULL.
 * (LOAD_GLOBAL's cache is in names.h.) */
PyObject *cpjit_load_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);

/* FOR_ITER's end-of-iteration check: 0 when the iterator is simply exhausted (error cleared,
 * trace hook called like ceval's), -1 when a real error is pending. */
/* Whether `it` is a built-in sequence or range iterator with at most `limit` items left (its
 * C __length_hint__ tells, no Python code runs). Used to bound the interpreted rest of a loop
 * that ends a code object's warm-up (JUMP_BACKWARD_LAST_FOR, stencils/jumps.c). */
int cpjit_few_items_left(PyObject *it, Py_ssize_t limit);

int cpjit_for_iter_exhausted(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* The out-of-line half of the instructions that count the warm-up and serve the eval breaker
 * (RESUME, JUMP_BACKWARD, JUMP_BACKWARD_LAST_FOR, POP_JUMP_BACKWARD_IF_*: stencils/frame.c and
 * stencils/jumps.c). Their copies keep only the tests in line (the code state's countdown still
 * running, the eval breaker set) and call this when one holds; it does what the instruction's
 * slow path does, as the in-line code did before:
 *   WARMUP: one more step of the countdown (`st`, the code's state; NULL: none); at the step that
 *           ends it, the interpreter runs the rest of the frame from this instruction (RESUME
 *           always, JUMP_BACKWARD_LAST_FOR when the iterator on top has few items left: see
 *           WARMUP in stencils/stencil.h);
 *   then the eval breaker (prev_instr published), and the hand-over to the interpreter when
 *           tracing was switched on meanwhile (RESUME: after the instruction; JUMP_BACKWARD: the
 *           jump again; POP_JUMP_BACKWARD_IF_*, which has popped its condition, and a compare
 *           paired with one, which has popped its operands: at the target).
 * `redo` is the instruction's REDO hole (the instruction and its oparg, see cpjit_decode_redo).
 * Returns status 0: go on; -1: raise (prev_instr is the instruction); 1: the interpreter
 * finished the frame, `result` is what it returned. Two registers: no memory traffic. */
enum {
    CPJIT_LOOP_RESUME = 0,           /* RESUME 0 and 1: countdown, breaker, tracing */
    CPJIT_LOOP_RESUME_NO_BREAKER,    /* RESUME 2 and 3: countdown only */
    CPJIT_LOOP_JUMP,                 /* JUMP_BACKWARD: countdown (never hands over), breaker */
    CPJIT_LOOP_LAST_FOR,             /* JUMP_BACKWARD_LAST_FOR */
    CPJIT_LOOP_BREAKER_ONLY,         /* POP_JUMP_BACKWARD_IF_* (jump taken): breaker, tracing */
    CPJIT_LOOP_COMPARE_BACK,         /* COMPARE_OP + POP_JUMP_BACKWARD_IF_* decided by the shared
                                      * fast path, jump taken (`redo` the COMPARE_OP's): breaker,
                                      * tracing; prev_instr at the COMPARE_OP once warm, as the
                                      * interpreter's COMPARE_OP_*_JUMP has it */
};
typedef struct {
    intptr_t status;
    PyObject *result;
} CpjitLoopExit;
CpjitLoopExit cpjit_loop_slow(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate, CpjitCodeState *st, _Py_CODEUNIT *redo,
                              int kind);

#endif
