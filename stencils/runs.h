/* runs.h: the calling convention of the optimising tier's runs (stencils/floats.c and
 * stencils/ints.c; src/opt/float_runs.rs picks the instructions).
 *
 * A run's stencils pass the baseline's three registers and a stack of four value registers
 * along: four doubles (xmm0-xmm3) and four 64-bit ints (the general registers preserve_none
 * passes after the baseline's), so a float value and an int value can be in the same run. The
 * stencil for depth k reads and writes the k-th register of the kind its value has. */
#ifndef CPJIT_RUNS_H
#define CPJIT_RUNS_H

#include "stencil.h"
#include "names.h"

#include <stdint.h>

#define RUN_ARGS                                                                               \
    _PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate, double d0,    \
        double d1, double d2, double d3, int64_t i0, int64_t i1, int64_t i2, int64_t i3
#define RUN_STENCIL(FULLNAME) PRESERVE_NONE PyObject *FULLNAME(RUN_ARGS)
typedef PRESERVE_NONE PyObject *(*cpjit_run_fn)(RUN_ARGS);

/* On to the next stencil of the run, the registers passed along. */
#define RUN_CONTINUE()                                                                         \
    __attribute__((musttail)) return ((cpjit_run_fn)&_JIT_CONTINUE)(                           \
        frame, stack_pointer, tstate, d0, d1, d2, d3, i0, i1, i2, i3)
/* A tail call of TARGET with the value registers left as they are: undefined, so nothing is
 * kept for them across a call made before, and nothing is set. For code that reads none of
 * them (the baseline's). */
#define RUN_TAIL_UNDEFINED(TARGET)                                                             \
    do {                                                                                       \
        _Pragma("clang diagnostic push");                                                      \
        _Pragma("clang diagnostic ignored \"-Wuninitialized\"");                               \
        double dead_d_;                                                                        \
        int64_t dead_i_;                                                                       \
        __attribute__((musttail)) return ((cpjit_run_fn)&(TARGET))(                            \
            frame, stack_pointer, tstate, dead_d_, dead_d_, dead_d_, dead_d_, dead_i_, dead_i_, \
            dead_i_, dead_i_);                                                                 \
        _Pragma("clang diagnostic pop");                                                       \
    } while (0)
/* Out of the run, from its last stencil: the code after it is the baseline's. */
#define RUN_LEAVE() RUN_TAIL_UNDEFINED(_JIT_CONTINUE)
/* A compare ending the run jumps (_JIT_JUMP_TARGET is then the jump's target, baseline code). */
#define RUN_LEAVE_BY_JUMP() RUN_TAIL_UNDEFINED(_JIT_JUMP_TARGET)
/* A check failed: the baseline code of the run, from its start, the frame untouched (the
 * registers passed as they are: no code), counted by why in stats()["run_fallbacks_by"]
 * (WHY names a CPJIT_RUN_* of cpjit_rt.h: TYPE, UNBOUND, ATTRIBUTE, INDEX, RANGE, ARITHMETIC,
 * ALLOCATION). */
#define RUN_FALLBACK(WHY)                                                                      \
    do {                                                                                       \
        cpjit_stats.run_fallbacks[CPJIT_RUN_##WHY]++;                                          \
        __attribute__((musttail)) return ((cpjit_run_fn)&_JIT_JUMP_TARGET)(                    \
            frame, stack_pointer, tstate, d0, d1, d2, d3, i0, i1, i2, i3);                     \
    } while (0)
/* The same after a call, whose clobbered registers are not worth keeping for it. */
#define RUN_FALLBACK_AFTER_CALL(WHY)                                                           \
    do {                                                                                       \
        cpjit_stats.run_fallbacks[CPJIT_RUN_##WHY]++;                                          \
        RUN_TAIL_UNDEFINED(_JIT_JUMP_TARGET);                                                  \
    } while (0)

/* `res` = BOX, the run's result as a new object; a failed allocation goes to the baseline,
 * which allocates again and raises as the interpreter would. */
#define RUN_BOX_OR_FALLBACK(res, BOX)                                                          \
    do {                                                                                       \
        (res) = (BOX);                                                                         \
        if (UNLIKELY((res) == NULL)) {                                                         \
            PyErr_Clear();                                                                     \
            RUN_FALLBACK_AFTER_CALL(ALLOCATION);                                               \
        }                                                                                      \
    } while (0)

/* `*place` = `res`, then the old value released (its deallocation, which can run code, with
 * prev_instr at the storing instruction), then out of the run. */
#define RUN_REPLACE_THEN_LEAVE(place, res, old)                                                \
    do {                                                                                       \
        *(place) = (res);                                                                      \
        if ((old) != NULL && UNLIKELY(--(old)->ob_refcnt == 0)) {                              \
            DEALLOC_THEN_CONTINUE(old);                                                        \
        }                                                                                      \
        RUN_LEAVE();                                                                           \
    } while (0)

/* A run ending in COMPARE_OP and POP_JUMP_FORWARD_IF_FALSE / _TRUE: A OP B, the jump taken or
 * not, no bool made; one stencil for each way the jump goes. */
#define RUN_CMP(KIND, NAME, OP, A, B)                                                          \
    RUN_STENCIL(cpjit_op_##KIND##_CMP_##NAME##_IF_FALSE)                                       \
    {                                                                                          \
        if (!((A)OP(B))) {                                                                     \
            RUN_LEAVE_BY_JUMP();                                                               \
        }                                                                                      \
        RUN_LEAVE();                                                                           \
    }                                                                                          \
    RUN_STENCIL(cpjit_op_##KIND##_CMP_##NAME##_IF_TRUE)                                        \
    {                                                                                          \
        if ((A)OP(B)) {                                                                        \
            RUN_LEAVE_BY_JUMP();                                                               \
        }                                                                                      \
        RUN_LEAVE();                                                                           \
    }
#define RUN_ALL_CMPS(KIND, A, B)                                                               \
    RUN_CMP(KIND, LT, <, A, B)                                                                 \
    RUN_CMP(KIND, LE, <=, A, B)                                                                \
    RUN_CMP(KIND, EQ, ==, A, B)                                                                \
    RUN_CMP(KIND, NE, !=, A, B)                                                                \
    RUN_CMP(KIND, GT, >, A, B)                                                                 \
    RUN_CMP(KIND, GE, >=, A, B)

#define OPERAND_BITS ((uint64_t)HOLE64(_JIT_OPERAND))

/* A leaf's value (NULL when unbound): local `i` itself (LOAD_FAST), or the contents of the cell
 * it holds (LOAD_DEREF of a cell or free variable: 3.11's oparg indexes the frame's locals,
 * where MAKE_CELL and COPY_FREE_VARS put the cells). */
#define RUN_LOCAL(i) GETLOCAL(i)
#define RUN_CELL(i) cpjit_run_cell_contents(GETLOCAL(i))
static inline __attribute__((always_inline)) PyObject *cpjit_run_cell_contents(PyObject *cell)
{
    return cell != NULL ? PyCell_GET(cell) : NULL;
}

/* `v` = `local.name` (a run's attribute leaf: LOAD_FAST or LOAD_DEREF then LOAD_ATTR; FROM,
 * RUN_LOCAL or RUN_CELL, reads the owner from the local), the value in the
 * instance's inline values or a __slots__ member, found through the first way of the attribute
 * cache of the baseline copy's LOAD_ATTR, which the generic path fills (csrc/names.h: the way's
 * type version guards the kind and the place). The operand holds the cache's address and, in
 * its top 16 bits, the local. Nothing is written: an empty way, another type or a missing value
 * goes to the baseline, whose LOAD_ATTR fills the cache. Borrowed: the caller checks its type. */
#define RUN_ATTR_VALUE_FROM(v, FROM)                                                           \
    do {                                                                                       \
        uint64_t operand_ = OPERAND_BITS;                                                      \
        CpjitAttrCache *cache = (CpjitAttrCache *)(operand_ & ((1ull << 48) - 1));             \
        PyObject *owner = FROM(operand_ >> 48);                                                \
        if (UNLIKELY(owner == NULL || Py_TYPE(owner)->tp_version_tag != cache->version[0])) {  \
            RUN_FALLBACK(ATTRIBUTE);                                                           \
        }                                                                                      \
        unsigned kind = cache->kind[0];                                                        \
        if (kind - 1u < 2u) { /* VALUES or HINT: inline values */                              \
            PyDictValues *values = *_PyObject_ValuesPointer(owner);                            \
            if (UNLIKELY(values == NULL)) {                                                    \
                RUN_FALLBACK(ATTRIBUTE);                                                       \
            }                                                                                  \
            (v) = values->values[cache->index[0]];                                             \
        }                                                                                      \
        else if (kind == CPJIT_ATTR_SLOT) {                                                    \
            (v) = *(PyObject **)((char *)owner + cache->index[0]);                             \
        }                                                                                      \
        else {                                                                                 \
            RUN_FALLBACK(ATTRIBUTE);                                                           \
        }                                                                                      \
        if (UNLIKELY((v) == NULL)) {                                                           \
            RUN_FALLBACK(ATTRIBUTE);                                                           \
        }                                                                                      \
    } while (0)

/* The leaf stencils of every kind, FULLNAME at depth K: local OPARG's value (FROM: RUN_LOCAL
 * for LOAD_FAST, RUN_CELL for LOAD_DEREF; unbound goes to the baseline), or `local.name`
 * (RUN_ATTR_VALUE_FROM; the LOAD_FAST's or LOAD_DEREF's own code empty), then VALUE_TO(K, v):
 * the check and load of the leaf's kind (floats.c: FLOAT_VALUE_TO, NUM_VALUE_TO; ints.c:
 * INT_VALUE_TO). */
#define RUN_LEAF_STENCIL(FULLNAME, K, FROM, VALUE_TO)                                          \
    RUN_STENCIL(FULLNAME)                                                                      \
    {                                                                                          \
        PyObject *v = FROM(OPARG);                                                             \
        if (UNLIKELY(v == NULL)) {                                                             \
            RUN_FALLBACK(UNBOUND);                                                             \
        }                                                                                      \
        VALUE_TO(K, v);                                                                        \
    }
#define RUN_ATTR_LEAF_STENCIL(FULLNAME, K, FROM, VALUE_TO)                                     \
    RUN_STENCIL(FULLNAME)                                                                      \
    {                                                                                          \
        PyObject *v;                                                                           \
        RUN_ATTR_VALUE_FROM(v, FROM);                                                          \
        VALUE_TO(K, v);                                                                        \
    }

/* The k-th register of each kind, by depth (0-based). */
#define REG_0 d0
#define REG_1 d1
#define REG_2 d2
#define REG_3 d3
#define REG(K) REG_##K
#define IREG_0 i0
#define IREG_1 i1
#define IREG_2 i2
#define IREG_3 i3
#define IREG(K) IREG_##K

#endif
