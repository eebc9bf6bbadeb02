/* numeric.h: out-of-line halves of the numeric, subscript, sequence and iteration stencils
 * (stencils/subscr.c, unpack.c, iter.c, binary.c), implemented in csrc/numeric.c; and mirrors of
 * the private layouts of CPython 3.11's built-in iterators those stencils read in line.
 */
#ifndef CPJIT_NUMERIC_H
#define CPJIT_NUMERIC_H

#include "cpjit_rt.h"

/* Objects/listobject.c's listiterobject and Objects/tupleobject.c's tupleiterobject (3.11). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t it_index;
    PyObject *it_seq; /* NULL once exhausted */
} cpjit_seqiter;

/* Objects/rangeobject.c's rangeiterobject (3.11). These layouts are the same in every 3.11
 * release (cpjit builds for 3.11 only). */
typedef struct {
    PyObject_HEAD
    long index;
    long start;
    long step;
    long len;
} cpjit_rangeiter;

/* BUILD_SLICE 2|3 followed by BINARY_SUBSCR: container[start:stop(:step)] with the four (or
 * three) values on top of the stack (owned), for an exact list or tuple and bounds that are None
 * or exact ints, without building the slice object (the result is the one list_subscript /
 * tuple_subscript would give). Returns 1 when done (the result replaces the container, the
 * others are released: the caller drops has_step + 2 slots); 0 when the operands are of any other
 * kind (nothing touched); -1 on error (the container's slot holds NULL, all released: the caller
 * drops the same slots and raises). */
int cpjit_getslice_consume(PyObject **stack_pointer, int has_step);

/* BUILD_SLICE 2 followed by STORE_SUBSCR: list[start:stop] = v (v an exact list or tuple) with
 * v, list, start, stop on top of the stack (owned), as list_ass_subscript's step-1 path does.
 * Returns 1 when done (all four released), 0 when not applicable (nothing touched), -1 on error
 * (all four released). */
int cpjit_setslice_consume(PyObject **stack_pointer);

/* UNPACK_SEQUENCE's out-of-line path for everything not unpacked in line: the sequence on top of
 * the stack (owned) is replaced by its `n` items, last deepest. Returns the new stack pointer,
 * or NULL with an exception (the sequence popped and released, nothing pushed). */
PyObject **cpjit_unpack_sequence_slow(PyThreadState *tstate, PyObject **stack_pointer, int n);

/* What FOR_ITER + STORE_FAST (stencils/iter.c) learns, once, about the STORE_FAST after it; it
 * lives in the instruction's 64-byte cache (zeroed: CPJIT_PLAN_UNKNOWN). */
enum { CPJIT_PLAN_UNKNOWN = 0, CPJIT_PLAN_FUSED = 1, CPJIT_PLAN_UNFUSED = 2 };
#define CPJIT_PLAN_MAX_SLOTS 48
typedef struct {
    uint64_t state;
    const char *after; /* native code of the instruction after the n STORE_FASTs */
    uint8_t slots[CPJIT_PLAN_MAX_SLOTS]; /* their local slots, in order */
} cpjit_unpack_store_plan;

/* UNPACK_SEQUENCE n at `instr` (no EXTENDED_ARG) and the n STORE_FASTs after its cache entries
 * (none with an EXTENDED_ARG), run as one (stencils/unpack.c): the sequence on top of the stack
 * (owned) is unpacked as the interpreter does (exact tuples and lists of length n in line, any
 * other iterable through its iterator) and its items stored into the locals in the interpreter's
 * order, prev_instr at each store (as the quickened interpreter's pairs have it) while an old
 * value is released. Returns the stack pointer after the stores (the sequence's slot popped), or
 * NULL with an exception raised at `instr` (prev_instr set; the sequence popped and released,
 * nothing pushed or stored). */
PyObject **cpjit_unpack_into_locals(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                    _Py_CODEUNIT *instr);

/* The same with the LOAD_FAST before it (at `load`, no EXTENDED_ARG, run alone) included: the
 * sequence is that local's (an unbound local raises UnboundLocalError at the LOAD_FAST). NULL
 * with an exception (prev_instr set), the stack as before the LOAD_FAST. */
PyObject **cpjit_load_unpack_into_locals(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                         _Py_CODEUNIT *load);

/* FOR_ITER followed by STORE_FAST (stencils/iter.c): the first time, `plan` learns whether the
 * code unit after the FOR_ITER at `instr` is a STORE_FAST (plain or quickened, no EXTENDED_ARG)
 * and native code can be entered after it (FUSED: slots[0] is its local, `after` that code);
 * UNFUSED otherwise. Returns plan->state. */
uint64_t cpjit_plan_for_store(cpjit_unpack_store_plan *plan, CpjitCodeState *st,
                              PyCodeObject *code, _Py_CODEUNIT *instr);

/* BINARY_OP followed by SWAP 3, SWAP 2, STORE_SUBSCR: the tail of `c[i] op= v`
 * (stencils/binary.c). The first time, `plan` learns whether the three code units after the
 * BINARY_OP at `instr` (and its cache entry) are those instructions (plain or quickened, no
 * EXTENDED_ARG) and native code can be entered after the STORE_SUBSCR (FUSED: `after` is that
 * code; slots unused); UNFUSED otherwise. Returns plan->state. */
uint64_t cpjit_plan_subscr_update(cpjit_unpack_store_plan *plan, CpjitCodeState *st,
                                  PyCodeObject *code, _Py_CODEUNIT *instr);

/* BINARY_OP's in-line int path when no operand can be reused and the result is not a cached
 * small int: the two operands on top of the stack (owned) are replaced by a new int of `value`
 * in stack_pointer[-2] (the caller drops one slot) and released. NULL with MemoryError: the
 * operands stay on the stack, owned, for the unwinder (the caller keeps both slots). */
PyObject *cpjit_int_result_consume(PyObject **stack_pointer, int64_t value);

/* The conditional jumps' truth test for anything but True and False: PyObject_IsTrue (exact
 * ints decided in line), then the value (owned) is released. 1, 0, or -1 with an exception. */
int cpjit_truth_consume(PyObject *v);

/* COMPARE_OP's fast path per operator (csrc/hits.c): the truth of `l OPER r` for small ints,
 * floats, or (== and !=) exact strs, both references released; -1, nothing changed, otherwise.
 * CPJIT_COMPARE_HIT(OPER) names the function of a constant operator. */
int cpjit_compare_hit_lt(PyObject *l, PyObject *r, PyThreadState *tstate);
int cpjit_compare_hit_le(PyObject *l, PyObject *r, PyThreadState *tstate);
int cpjit_compare_hit_eq(PyObject *l, PyObject *r, PyThreadState *tstate);
int cpjit_compare_hit_ne(PyObject *l, PyObject *r, PyThreadState *tstate);
int cpjit_compare_hit_gt(PyObject *l, PyObject *r, PyThreadState *tstate);
int cpjit_compare_hit_ge(PyObject *l, PyObject *r, PyThreadState *tstate);
#define CPJIT_COMPARE_HIT(OPER)                                                                \
    ((OPER) == Py_LT ? cpjit_compare_hit_lt                                                    \
     : (OPER) == Py_LE ? cpjit_compare_hit_le                                                  \
     : (OPER) == Py_EQ ? cpjit_compare_hit_eq                                                  \
     : (OPER) == Py_NE ? cpjit_compare_hit_ne                                                  \
     : (OPER) == Py_GT ? cpjit_compare_hit_gt                                                  \
                       : cpjit_compare_hit_ge)

#endif
