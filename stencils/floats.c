/* floats.c: float expressions computed unboxed (src/opt/float_runs.rs picks the instructions).
 *
 * A run is a stretch of one basic block that only loads fast locals, their attributes and
 * constants and combines them with +, -, *, /, ** and unary minus, ending with one value: `dt * ((dx*dx + dy*dy +
 * dz*dz) ** -1.5)`. The baseline gives each operator its own stencil, which boxes its result:
 * every intermediate value is a float object allocated and freed. Here the values live in four
 * xmm registers, passed from stencil to stencil as extra arguments (stencils/runs.h: a register
 * stack, the stencil for depth k reads and writes the k-th), and only the run's result is boxed, or
 * written into the float its STORE_FAST target already holds when nothing else holds that.
 *
 * Nothing in a run can be seen from outside it: loads of locals and constants, and arithmetic
 * on exact floats, run no code, change no object and raise nothing. So every check is made
 * before anything is written, and a check that fails (a local that is not an exact float, a
 * division by zero, a power whose result the interpreter would raise on or make complex, a
 * failed allocation) jumps to the baseline code of the same instructions, laid out of line
 * (_JIT_JUMP_TARGET), which starts the run again from its first instruction with the frame as
 * it was and does whatever the interpreter would do, raising included. Python's float
 * operators are the C operators on doubles (Objects/floatobject.c: float_add, float_sub,
 * float_mul, float_div after its zero check, float_pow through libm's pow), and an int
 * constant meets a float only after an exact conversion (the planner takes ints below 2**30),
 * so the results are the same bits.
 *
 * Holes: _JIT_OPARG (the local), _JIT_OPERAND (the bits of a constant's double; for an
 * attribute, the cache and the local),
 * _JIT_JUMP_TARGET (the baseline copy of the run), _JIT_INSTR (the STORE_FAST, published before
 * an old value's deallocation). */
#include "runs.h"
#include "arith.h"
#include "names.h"

#pragma clang fp contract(off)

#define FLOAT_STENCIL(FULLNAME) RUN_STENCIL(FULLNAME)
#define FLOAT_CONTINUE() RUN_CONTINUE()
#define FLOAT_FALLBACK(WHY) RUN_FALLBACK(WHY)

/* REG(K) = `v`, which must be an exact float; then on. */
#define FLOAT_VALUE_TO(K, v)                                                                   \
    do {                                                                                       \
        if (UNLIKELY(!PyFloat_CheckExact(v))) {                                                \
            FLOAT_FALLBACK(TYPE);                                                              \
        }                                                                                      \
        REG(K) = PyFloat_AS_DOUBLE(v);                                                         \
        FLOAT_CONTINUE();                                                                      \
    } while (0)
/* REG(K) = `v`, an exact float or an int of one digit (below 2**30 in magnitude: exactly a
 * double, converted as float_add's CONVERT_TO_DOUBLE does); then on. */
#define NUM_VALUE_TO(K, v)                                                                     \
    do {                                                                                       \
        if (PyFloat_CheckExact(v)) {                                                           \
            REG(K) = PyFloat_AS_DOUBLE(v);                                                     \
            FLOAT_CONTINUE();                                                                  \
        }                                                                                      \
        if (UNLIKELY(!is_medium(v))) {                                                         \
            FLOAT_FALLBACK(TYPE);                                                              \
        }                                                                                      \
        REG(K) = (double)medium_value(v);                                                      \
        FLOAT_CONTINUE();                                                                      \
    } while (0)

/* Push local OPARG (LOAD_FAST) or the contents of its cell (LOAD_DEREF), which must be an exact
 * float (stencils/runs.h: RUN_LEAF_STENCIL). */
#define LOAD_FAST_AT(K)                                                                        \
    RUN_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_FAST__##K, K, RUN_LOCAL, FLOAT_VALUE_TO)
#define LOAD_DEREF_AT(K)                                                                       \
    RUN_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_DEREF__##K, K, RUN_CELL, FLOAT_VALUE_TO)
/* Push a constant: its double, computed when the code compiled. */
#define LOAD_CONST_AT(K)                                                                       \
    FLOAT_STENCIL(cpjit_op_FLOAT_LOAD_CONST__##K)                                              \
    {                                                                                          \
        union {                                                                                \
            uint64_t bits;                                                                     \
            double value;                                                                      \
        } c_ = {.bits = OPERAND_BITS};                                                         \
        REG(K) = c_.value;                                                                     \
        FLOAT_CONTINUE();                                                                      \
    }
/* Push `local.name` (LOAD_FAST then LOAD_ATTR, the LOAD_FAST's own code empty: FLOAT_SKIP), an
 * exact float (stencils/runs.h: RUN_ATTR_LEAF_STENCIL); `_DEREF`, the owner in a cell. */
#define LOAD_ATTR_AT(K)                                                                        \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_ATTR__##K, K, RUN_LOCAL, FLOAT_VALUE_TO)
#define LOAD_ATTR_DEREF_AT(K)                                                                  \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_ATTR_DEREF__##K, K, RUN_CELL, FLOAT_VALUE_TO)
/* The same where the operator's other operand is a float whatever happens: the attribute may
 * also hold an int of one digit, converted exactly as the float operators convert it
 * (FLOAT_LOAD_NUM's rule). */
#define LOAD_ATTR_NUM_AT(K)                                                                    \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_ATTR_NUM__##K, K, RUN_LOCAL, NUM_VALUE_TO)
#define LOAD_ATTR_NUM_DEREF_AT(K)                                                              \
    RUN_ATTR_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_ATTR_NUM_DEREF__##K, K, RUN_CELL, NUM_VALUE_TO)
LOAD_ATTR_NUM_AT(0)
LOAD_ATTR_NUM_AT(1)
LOAD_ATTR_NUM_AT(2)
LOAD_ATTR_NUM_AT(3)
LOAD_ATTR_AT(0)
LOAD_ATTR_AT(1)
LOAD_ATTR_AT(2)
LOAD_ATTR_AT(3)
/* The same with the owner in a cell (`self.x` where `self` is a cell or free variable, as in a
 * method whose comprehension uses it). */
LOAD_ATTR_NUM_DEREF_AT(0)
LOAD_ATTR_NUM_DEREF_AT(1)
LOAD_ATTR_NUM_DEREF_AT(2)
LOAD_ATTR_NUM_DEREF_AT(3)
LOAD_ATTR_DEREF_AT(0)
LOAD_ATTR_DEREF_AT(1)
LOAD_ATTR_DEREF_AT(2)
LOAD_ATTR_DEREF_AT(3)

/* A list item `seq[i]`: the operand holds the list's local in bits 0-15, and the index's local
 * in bits 16-31 (INDEX_LOCAL) or the index itself in bits 32-61 (a constant below 2**30). The
 * place of the item in *slot, or the baseline when there is none: not an exact list, an index
 * that is not an int of one digit (a bool, a big int: the baseline decides), out of range. A
 * negative index counts from the end, as list_subscript does. */
#define ITEM_SLOT(slot, INDEX_LOCAL)                                                           \
    do {                                                                                       \
        uint64_t op_ = OPERAND_BITS;                                                           \
        PyObject *seq_ = GETLOCAL(op_ & 0xffff);                                               \
        if (UNLIKELY(seq_ == NULL || !PyList_CheckExact(seq_))) {                              \
            RUN_FALLBACK(TYPE);                                                                \
        }                                                                                      \
        Py_ssize_t n_ = Py_SIZE(seq_);                                                         \
        Py_ssize_t ix_;                                                                        \
        if (INDEX_LOCAL) {                                                                     \
            PyObject *i_ = GETLOCAL((op_ >> 16) & 0xffff);                                     \
            if (UNLIKELY(i_ == NULL || !is_medium(i_))) {                                      \
                RUN_FALLBACK(TYPE);                                                            \
            }                                                                                  \
            ix_ = (Py_ssize_t)medium_value(i_);                                                \
            if (ix_ < 0) {                                                                     \
                ix_ += n_;                                                                     \
            }                                                                                  \
        }                                                                                      \
        else {                                                                                 \
            ix_ = (Py_ssize_t)(op_ >> 32);                                                     \
        }                                                                                      \
        if (UNLIKELY((size_t)ix_ >= (size_t)n_)) {                                             \
            RUN_FALLBACK(INDEX);                                                               \
        }                                                                                      \
        (slot) = &((PyListObject *)seq_)->ob_item[ix_];                                        \
    } while (0)

/* Push `seq[i]` (LOAD_FAST seq, the index's load and BINARY_SUBSCR, the two loads' code empty:
 * FLOAT_SKIP), an exact float item of an exact list. The interpreter specialised the
 * subscript to BINARY_SUBSCR_LIST_INT; nothing is written or called. */
#define LOAD_ITEM_AT(K, KIND, INDEX_LOCAL)                                                     \
    FLOAT_STENCIL(cpjit_op_FLOAT_LOAD_ITEM_##KIND##__##K)                                      \
    {                                                                                          \
        PyObject **slot;                                                                       \
        ITEM_SLOT(slot, INDEX_LOCAL);                                                          \
        PyObject *v = *slot;                                                                   \
        FLOAT_VALUE_TO(K, v);                                                                  \
    }
LOAD_ITEM_AT(0, LOCAL, 1)
LOAD_ITEM_AT(1, LOCAL, 1)
LOAD_ITEM_AT(2, LOCAL, 1)
LOAD_ITEM_AT(3, LOCAL, 1)
LOAD_ITEM_AT(0, CONST, 0)
LOAD_ITEM_AT(1, CONST, 0)
LOAD_ITEM_AT(2, CONST, 0)
LOAD_ITEM_AT(3, CONST, 0)

/* The run's result stored as `seq[i]` (its STORE_SUBSCR, after `seq[i] op= ...` or `seq[i] =
 * ...`, the loads and SWAPs around it without code): into the float the item is when the list
 * alone holds it (only `id()` can tell, as for the baseline's `c[i] op= v`), else as a new
 * float, the old item released (its deallocation, which can run code, with prev_instr at the
 * STORE_SUBSCR). The checks come first: nothing is written when one fails. */
/* The run's result into `*place`, whose value `old` is not NULL: into the float `old` is when
 * nothing else holds it (only `id()` can tell), else as a new float, `old` released (its
 * deallocation, which can run code, with prev_instr at the storing instruction); then out of the
 * run. */
#define REBIND_OR_REPLACE_THEN_LEAVE(place, old)                                               \
    do {                                                                                       \
        if (Py_REFCNT(old) == 1 && PyFloat_CheckExact(old)) {                                  \
            ((PyFloatObject *)(old))->ob_fval = d0;                                            \
            RUN_LEAVE();                                                                       \
        }                                                                                      \
        PyObject *res_;                                                                        \
        RUN_BOX_OR_FALLBACK(res_, PyFloat_FromDouble(d0));                                     \
        RUN_REPLACE_THEN_LEAVE(place, res_, old);                                              \
    } while (0)

#define STORE_ITEM(KIND, INDEX_LOCAL)                                                          \
    FLOAT_STENCIL(cpjit_op_FLOAT_STORE_ITEM_##KIND)                                            \
    {                                                                                          \
        PyObject **slot;                                                                       \
        ITEM_SLOT(slot, INDEX_LOCAL);                                                          \
        PyObject *old = *slot;                                                                 \
        REBIND_OR_REPLACE_THEN_LEAVE(slot, old);                                               \
    }
STORE_ITEM(LOCAL, 1)
STORE_ITEM(CONST, 0)

/* The run's result stored as `local.name` (its STORE_ATTR, after `local.name = ...` or
 * `local.name op= ...`, the LOAD_FAST, COPY and SWAP around it without code), where the
 * interpreter specialised the store to the instance's inline values or a __slots__ member: the
 * place the first way of the STORE_ATTR's cache names (the operand holds the cache's address
 * and, in its top 16 bits, the local), under that way's type version, as the baseline's first
 * tier stores (csrc/hits.c: cpjit_store_attr_hit). Into the float the attribute is when the
 * instance alone holds it (only `id()` can tell, as for a local or a list item), else as a new
 * float, the old value released (its deallocation, which can run code, with prev_instr at the
 * STORE_ATTR); a first store enters the attribute in the inline values' insertion order. The
 * checks come first: nothing is written when one fails, and an empty way, another type or an
 * instance without inline values goes to the baseline, whose STORE_ATTR fills the cache. */
FLOAT_STENCIL(cpjit_op_FLOAT_STORE_ATTR)
{
    uint64_t operand_ = OPERAND_BITS;
    CpjitAttrCache *cache = (CpjitAttrCache *)(operand_ & ((1ull << 48) - 1));
    PyObject *owner = GETLOCAL(operand_ >> 48);
    unsigned kind = cache->kind[0];
    if (UNLIKELY(owner == NULL || Py_TYPE(owner)->tp_version_tag != cache->version[0]
                 || (kind != CPJIT_ATTR_VALUES && kind != CPJIT_ATTR_SLOT))) {
        RUN_FALLBACK(ATTRIBUTE);
    }
    PyObject **place;
    PyDictValues *values = NULL;
    if (kind == CPJIT_ATTR_SLOT) {
        place = (PyObject **)((char *)owner + cache->index[0]);
    }
    else {
        values = *_PyObject_ValuesPointer(owner);
        if (UNLIKELY(values == NULL)) {
            RUN_FALLBACK(ATTRIBUTE);
        }
        place = &values->values[cache->index[0]];
    }
    PyObject *old = *place;
    if (UNLIKELY(old == NULL)) {
        /* A first store (an __init__'s): a value appears in the inline values' order. */
        PyObject *res;
        RUN_BOX_OR_FALLBACK(res, PyFloat_FromDouble(d0));
        *place = res;
        if (values != NULL) {
            cpjit_values_add_to_order(values, cache->index[0]);
        }
        RUN_LEAVE();
    }
    REBIND_OR_REPLACE_THEN_LEAVE(place, old);
}

/* The LOAD_FAST of a `local.name` leaf: no code (FLOAT_LOAD_ATTR reads the local). */
FLOAT_STENCIL(cpjit_op_FLOAT_SKIP)
{
    FLOAT_CONTINUE();
}

/* Push local OPARG, an exact float or an int of one digit (below 2**30 in magnitude: exactly a
 * double). Only for a local whose operator's other operand is a float whatever happens (a
 * float constant, an operator's result, an attribute leaf): Python's float operators convert
 * such an int exactly (float_add's CONVERT_TO_DOUBLE), so `i * 0.5` is the same double. */
#define LOAD_NUM_AT(K)                                                                         \
    RUN_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_NUM__##K, K, RUN_LOCAL, NUM_VALUE_TO)
#define LOAD_NUM_DEREF_AT(K)                                                                   \
    RUN_LEAF_STENCIL(cpjit_op_FLOAT_LOAD_NUM_DEREF__##K, K, RUN_CELL, NUM_VALUE_TO)
LOAD_NUM_AT(0)
LOAD_NUM_AT(1)
LOAD_NUM_AT(2)
LOAD_NUM_AT(3)
LOAD_NUM_DEREF_AT(0)
LOAD_NUM_DEREF_AT(1)
LOAD_NUM_DEREF_AT(2)
LOAD_NUM_DEREF_AT(3)

LOAD_FAST_AT(0)
LOAD_FAST_AT(1)
LOAD_FAST_AT(2)
LOAD_FAST_AT(3)
LOAD_DEREF_AT(0)
LOAD_DEREF_AT(1)
LOAD_DEREF_AT(2)
LOAD_DEREF_AT(3)
LOAD_CONST_AT(0)
LOAD_CONST_AT(1)
LOAD_CONST_AT(2)
LOAD_CONST_AT(3)

/* Operator OP on the top two registers (depth K before: REG(K-2) op REG(K-1) into REG(K-2)). */
#define ARITH_AT(NAME, K, L, R)                                                                \
    FLOAT_STENCIL(cpjit_op_FLOAT_##NAME##__##K)                                                \
    {                                                                                          \
        ARITH_##NAME(REG(L), REG(R));                                                          \
        FLOAT_CONTINUE();                                                                      \
    }
#define ARITH_ADD(A, B) ((A) = (A) + (B))
#define ARITH_SUB(A, B) ((A) = (A) - (B))
#define ARITH_MUL(A, B) ((A) = (A) * (B))
#define ARITH_DIV(A, B)                                                                        \
    do {                                                                                       \
        if (UNLIKELY((B) == 0.0)) {                                                            \
            FLOAT_FALLBACK(ARITHMETIC); /* ZeroDivisionError, raised by the baseline */        \
        }                                                                                      \
        (A) = (A) / (B);                                                                       \
    } while (0)
#define ARITH_POW(A, B)                                                                        \
    do {                                                                                       \
        if (UNLIKELY(!cpjit_plain_pow((A), (B), &(A)))) {                                      \
            RUN_FALLBACK_AFTER_CALL(ARITHMETIC);                                               \
        }                                                                                      \
    } while (0)
#define ARITH_ALL_DEPTHS(NAME)                                                                 \
    ARITH_AT(NAME, 2, 0, 1)                                                                    \
    ARITH_AT(NAME, 3, 1, 2)                                                                    \
    ARITH_AT(NAME, 4, 2, 3)
ARITH_ALL_DEPTHS(ADD)
ARITH_ALL_DEPTHS(SUB)
ARITH_ALL_DEPTHS(MUL)
ARITH_ALL_DEPTHS(DIV)
ARITH_ALL_DEPTHS(POW)

/* Unary minus on the top register (depth K before). */
#define NEG_AT(K, T)                                                                           \
    FLOAT_STENCIL(cpjit_op_FLOAT_NEG__##K)                                                     \
    {                                                                                          \
        REG(T) = -REG(T);                                                                      \
        FLOAT_CONTINUE();                                                                      \
    }
NEG_AT(1, 0)
NEG_AT(2, 1)
NEG_AT(3, 2)
NEG_AT(4, 3)

/* `res` = the run's result as a new float, or the baseline. */
#define BOX_OR_FALLBACK(res) RUN_BOX_OR_FALLBACK(res, PyFloat_FromDouble(d0))

/* The run's last operator, its result pushed as a new float (a run whose value is not stored
 * in a local: an argument, a subscript, a return value). */
#define BOX_AND_PUSH()                                                                         \
    do {                                                                                       \
        PyObject *res;                                                                         \
        BOX_OR_FALLBACK(res);                                                                  \
        PUSH(res);                                                                             \
        RUN_LEAVE();                                                                           \
    } while (0)
#define ARITH_THEN_BOX(NAME)                                                                   \
    FLOAT_STENCIL(cpjit_op_FLOAT_##NAME##__BOX)                                                \
    {                                                                                          \
        ARITH_##NAME(d0, d1);                                                                  \
        BOX_AND_PUSH();                                                                        \
    }
ARITH_THEN_BOX(ADD)
ARITH_THEN_BOX(SUB)
ARITH_THEN_BOX(MUL)
ARITH_THEN_BOX(DIV)
ARITH_THEN_BOX(POW)
FLOAT_STENCIL(cpjit_op_FLOAT_NEG__BOX)
{
    d0 = -d0;
    BOX_AND_PUSH();
}

/* The run's result stored in local OPARG (the run's STORE_FAST): into the float the local
 * holds when nothing else holds it (only `id()` can tell, as for the baseline's BINARY_OP +
 * STORE_FAST pair), else as a new float, the old value released (its deallocation, which can
 * run code, with prev_instr at the STORE_FAST). */
FLOAT_STENCIL(cpjit_op_FLOAT_STORE_FAST)
{
    PyObject *old = GETLOCAL(OPARG);
    if (old != NULL && Py_REFCNT(old) == 1 && PyFloat_CheckExact(old)) {
        ((PyFloatObject *)old)->ob_fval = d0;
        RUN_LEAVE();
    }
    PyObject *res;
    BOX_OR_FALLBACK(res);
    RUN_REPLACE_THEN_LEAVE(&GETLOCAL(OPARG), res, old);
}

/* A run ending in a compare and a forward jump (stencils/runs.h: RUN_CMP): the two doubles
 * compared as float_richcompare compares two floats (the C operators: a NaN is unequal to
 * everything, itself included). */
RUN_ALL_CMPS(FLOAT, d0, d1)
