/* numeric.c: the out-of-line halves of the numeric, subscript, sequence and iteration stencils
 * (see numeric.h). Each re-implements exactly what the named CPython 3.11 code does for the
 * operand kinds it accepts, and declines (returns 0) for anything else, so the stencil can take
 * the generic path with nothing changed. */
#include "numeric.h"
#include "data.h"
#include "helpers.h"
#include "internal/pycore_list.h"
#include "internal/pycore_code.h"
#include "internal/pycore_opcode.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_pyerrors.h"
#include "opcode.h"
#include "internal/pycore_tuple.h"

/* A slice bound that _PyEval_SliceIndex would convert without running code or raising: None
 * (returns 1, *is_none set) or an exact int that fits a Py_ssize_t. 0 for anything else. */
static int simple_bound(PyObject *v, Py_ssize_t *out, int *is_none)
{
    if (v == Py_None) {
        *is_none = 1;
        return 1;
    }
    *is_none = 0;
    if (!PyLong_CheckExact(v)) {
        return 0;
    }
    Py_ssize_t size = Py_SIZE(v);
    if (size == 0) {
        *out = 0;
        return 1;
    }
    if (size == 1 || size == -1) {
        Py_ssize_t d = (Py_ssize_t)((PyLongObject *)v)->ob_digit[0];
        *out = size < 0 ? -d : d;
        return 1;
    }
    /* Larger ints: _PyEval_SliceIndex clamps them; let the generic path do it. */
    return 0;
}

/* PySlice_Unpack for None / small exact int bounds: 1 with start, stop, step set (step != 0),
 * 0 when the generic path must run (other kinds, or a zero step, which raises there). */
static int unpack_bounds(PyObject *start_o, PyObject *stop_o, PyObject *step_o,
                         Py_ssize_t *start, Py_ssize_t *stop, Py_ssize_t *step)
{
    int none;
    if (step_o == NULL) {
        *step = 1;
    }
    else {
        if (!simple_bound(step_o, step, &none)) {
            return 0;
        }
        if (none) {
            *step = 1;
        }
        else if (*step == 0) {
            return 0;
        }
    }
    if (!simple_bound(start_o, start, &none)) {
        return 0;
    }
    if (none) {
        *start = *step < 0 ? PY_SSIZE_T_MAX : 0;
    }
    if (!simple_bound(stop_o, stop, &none)) {
        return 0;
    }
    if (none) {
        *stop = *step < 0 ? PY_SSIZE_T_MIN : PY_SSIZE_T_MAX;
    }
    return 1;
}

/* tuple_subscript for a slice, given its unpacked bounds (a tuple does not change while the
 * result is allocated). */
static PyObject *tuple_slice(PyObject *seq, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t step)
{
    Py_ssize_t n = PySlice_AdjustIndices(Py_SIZE(seq), &start, &stop, step);
    if (step == 1 || n <= 0) {
        return PyTuple_GetSlice(seq, start, n <= 0 ? start : stop);
    }
    PyObject *res = PyTuple_New(n);
    if (res == NULL) {
        return NULL;
    }
    PyObject **src = _PyTuple_ITEMS(seq), **dst = _PyTuple_ITEMS(res);
    size_t cur = (size_t)start;
    for (Py_ssize_t i = 0; i < n; i++, cur += (size_t)step) {
        dst[i] = Py_NewRef(src[cur]);
    }
    return res;
}

/* list_subscript for a slice, given its unpacked bounds. Allocating the result may run a
 * garbage collection whose finalizers change the list: its length is taken again after the
 * allocation, and the items read then (the interpreter allocates the slice object first, so
 * its collection runs before the length is taken). */
static PyObject *list_slice(PyObject *seq, Py_ssize_t start_in, Py_ssize_t stop_in,
                            Py_ssize_t step)
{
    for (;;) {
        Py_ssize_t size = Py_SIZE(seq), start = start_in, stop = stop_in;
        Py_ssize_t n = PySlice_AdjustIndices(size, &start, &stop, step);
        PyObject *res = PyList_New(n > 0 ? n : 0);
        if (res == NULL || n <= 0) {
            return res;
        }
        if (Py_SIZE(seq) != size) {
            Py_DECREF(res); /* its items are NULL: releasing it runs no code */
            continue;
        }
        PyObject **src = _PyList_ITEMS(seq), **dst = _PyList_ITEMS(res);
        size_t cur = (size_t)start;
        for (Py_ssize_t i = 0; i < n; i++, cur += (size_t)step) {
            dst[i] = Py_NewRef(src[cur]);
        }
        return res;
    }
}

CPJIT_HOT
int cpjit_getslice_consume(PyObject **stack_pointer, int has_step)
{
    PyObject *step_o = has_step ? stack_pointer[-1] : NULL;
    PyObject *stop_o = stack_pointer[-1 - has_step];
    PyObject *start_o = stack_pointer[-2 - has_step];
    PyObject **slot = &stack_pointer[-3 - has_step];
    PyObject *seq = *slot;
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) {
        return 0;
    }
    Py_ssize_t start, stop, step;
    if (!unpack_bounds(start_o, stop_o, step_o, &start, &stop, &step)) {
        return 0;
    }
    PyObject *res = PyList_CheckExact(seq) ? list_slice(seq, start, stop, step)
                                           : tuple_slice(seq, start, stop, step);
    *slot = res;
    /* BINARY_SUBSCR releases the container, then the slice (its step, start, stop). */
    Py_DECREF(seq);
    Py_XDECREF(step_o);
    Py_DECREF(start_o);
    Py_DECREF(stop_o);
    return res != NULL ? 1 : -1;
}

int cpjit_setslice_consume(PyObject **stack_pointer)
{
    PyObject *stop_o = stack_pointer[-1];
    PyObject *start_o = stack_pointer[-2];
    PyObject *list = stack_pointer[-3];
    PyObject *v = stack_pointer[-4];
    if (!PyList_CheckExact(list) || !(PyList_CheckExact(v) || PyTuple_CheckExact(v))) {
        return 0;
    }
    Py_ssize_t start, stop, step;
    if (!unpack_bounds(start_o, stop_o, NULL, &start, &stop, &step)) {
        return 0;
    }
    PySlice_AdjustIndices(PyList_GET_SIZE(list), &start, &stop, 1);
    int err = PyList_SetSlice(list, start, stop, v);
    /* STORE_SUBSCR releases v, the container, then the slice (its step, start, stop). */
    Py_DECREF(v);
    Py_DECREF(list);
    Py_DECREF(start_o);
    Py_DECREF(stop_o);
    return err == 0 ? 1 : -1;
}

/* The items of a tuple or list subclass that iterates as its base does (its tp_iter is the
 * base's: tuple_iter and list_iter hand out the items in order and run no code), so unpacking it
 * may read them in place instead of through an iterator: namedtuples, struct sequences
 * (os.stat_result, time.struct_time, tokenize's TokenInfo), plain subclasses. NULL for anything
 * else (an __iter__ of its own, set at class creation or later, changes tp_iter). */
static inline PyObject **items_iterated_as_base(PyObject *seq)
{
    PyTypeObject *tp = Py_TYPE(seq);
    if (PyTuple_Check(seq) && tp->tp_iter == PyTuple_Type.tp_iter) {
        return _PyTuple_ITEMS(seq);
    }
    if (PyList_Check(seq) && tp->tp_iter == PyList_Type.tp_iter) {
        return _PyList_ITEMS(seq);
    }
    return NULL;
}

PyObject **cpjit_unpack_sequence_slow(PyThreadState *tstate, PyObject **stack_pointer, int n)
{
    PyObject *seq = *--stack_pointer;
    PyObject **items = NULL;
    if (PyTuple_CheckExact(seq) && PyTuple_GET_SIZE(seq) == n) {
        items = _PyTuple_ITEMS(seq);
    }
    else if (PyList_CheckExact(seq) && PyList_GET_SIZE(seq) == n) {
        items = _PyList_ITEMS(seq);
    }
    else if ((items = items_iterated_as_base(seq)) != NULL && Py_SIZE(seq) != n) {
        items = NULL; /* a wrong length: the iterator path raises as the interpreter does */
    }
    if (items != NULL) {
        for (int i = n; i-- > 0;) {
            *stack_pointer++ = Py_NewRef(items[i]);
        }
        Py_DECREF(seq);
        return stack_pointer;
    }
    if (!cpjit_unpack_iterable(tstate, seq, n, -1, stack_pointer + n)) {
        Py_DECREF(seq);
        return NULL;
    }
    Py_DECREF(seq);
    return stack_pointer + n;
}

CPJIT_HOT
int cpjit_truth_consume(PyObject *v)
{
    int truth;
    if (PyLong_CheckExact(v)) {
        truth = Py_SIZE(v) != 0;
    }
    else {
        truth = PyObject_IsTrue(v);
    }
    Py_DECREF(v);
    return truth;
}

CPJIT_HOT
PyObject *cpjit_int_result_consume(PyObject **stack_pointer, int64_t value)
{
    PyObject *res = PyLong_FromLongLong(value); /* cached small ints included */
    if (res == NULL) {
        return NULL;
    }
    PyObject *lhs = stack_pointer[-2], *rhs = stack_pointer[-1];
    stack_pointer[-2] = res;
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    return res;
}

_Static_assert(sizeof(cpjit_unpack_store_plan) <= 64, "the plan must fit an instruction's cache");

/* The plan for n STORE_FASTs starting at code unit `first`. */
static void plan_stores(cpjit_unpack_store_plan *plan, CpjitCodeState *st, PyCodeObject *code,
                        Py_ssize_t first, int n)
{
    plan->state = CPJIT_PLAN_UNFUSED;
    Py_ssize_t after = first + n;
    if (n > CPJIT_PLAN_MAX_SLOTS || first < 0 || after >= (Py_ssize_t)st->n_units
        || st->entries == NULL || st->entries[after] == CPJIT_NO_ENTRY) {
        return;
    }
    for (int k = 0; k < n; k++) {
        _Py_CODEUNIT word = _PyCode_CODE(code)[first + k];
        int op = _Py_OPCODE(word);
        if (op != STORE_FAST && op != STORE_FAST__LOAD_FAST && op != STORE_FAST__STORE_FAST) {
            return;
        }
        plan->slots[k] = (uint8_t)_Py_OPARG(word);
    }
    /* The stores run alone, second half, alone, ... (what precedes the first is no
     * superinstruction head: UNPACK_SEQUENCE has caches, FOR_ITER pairs with nothing). When the
     * last runs alone and a LOAD_FAST follows, falling through runs that LOAD_FAST as the second
     * half of STORE_FAST__LOAD_FAST (src/superinstructions.rs), a mode the native entry at
     * `after` (arriving alone) does not have: leave those to the stencils. */
    int after_op = _PyOpcode_Deopt[_Py_OPCODE(_PyCode_CODE(code)[after])];
    if (n % 2 == 1 && after_op == LOAD_FAST) {
        return;
    }
    plan->after = st->base + st->entries[after];
    plan->state = CPJIT_PLAN_FUSED;
}

uint64_t cpjit_plan_for_store(cpjit_unpack_store_plan *plan, CpjitCodeState *st,
                              PyCodeObject *code, _Py_CODEUNIT *instr)
{
    /* FOR_ITER has no cache entries in 3.11. */
    plan_stores(plan, st, code, (instr - _PyCode_CODE(code)) + 1, 1);
    return plan->state;
}

uint64_t cpjit_plan_subscr_update(cpjit_unpack_store_plan *plan, CpjitCodeState *st,
                                  PyCodeObject *code, _Py_CODEUNIT *instr)
{
    plan->state = CPJIT_PLAN_UNFUSED;
    Py_ssize_t first = (instr - _PyCode_CODE(code)) + 1 + INLINE_CACHE_ENTRIES_BINARY_OP;
    Py_ssize_t store = first + 2;
    Py_ssize_t after = store + 1 + INLINE_CACHE_ENTRIES_STORE_SUBSCR;
    if (first < 0 || after >= (Py_ssize_t)st->n_units || st->entries == NULL
        || st->entries[after] == CPJIT_NO_ENTRY) {
        return plan->state;
    }
    _Py_CODEUNIT *units = _PyCode_CODE(code);
    if (_PyOpcode_Deopt[_Py_OPCODE(units[first])] != SWAP || _Py_OPARG(units[first]) != 3
        || _PyOpcode_Deopt[_Py_OPCODE(units[first + 1])] != SWAP
        || _Py_OPARG(units[first + 1]) != 2
        || _PyOpcode_Deopt[_Py_OPCODE(units[store])] != STORE_SUBSCR) {
        return plan->state;
    }
    plan->after = st->base + st->entries[after];
    plan->state = CPJIT_PLAN_FUSED;
    return plan->state;
}

/* Whether warm 3.11 runs STORE_FAST pairs as STORE_FAST__STORE_FAST here: once the code is warm
 * and never under tracing or profiling. Then a finalizer run by an odd-numbered store sees the
 * pair's first store (csrc/fused.c does the same for the stencils). */
static int stores_run_fused(_PyInterpreterFrame *frame)
{
    PyThreadState *tstate = _PyThreadState_GET();
    return cpjit_code_is_warm(frame->f_code) && tstate->cframe->use_tracing == 0
           && tstate->c_tracefunc == NULL;
}

/* A store of the group released the last reference to the local's old value `old`: prev_instr
 * where the interpreter has it then (the store, or the first half of the STORE_FAST__STORE_FAST
 * pair it runs in as the second half: `second`), then the finalizer may look at the frame. */
static __attribute__((noinline, cold)) void
store_dealloc(_PyInterpreterFrame *frame, _Py_CODEUNIT *store, int second, PyObject *old)
{
    frame->prev_instr = store - (second && stores_run_fused(frame));
    _Py_Dealloc(old);
}

/* The n STORE_FASTs after the UNPACK_SEQUENCE at `instr`, with their n values on top of the
 * stack (the first value on top): each popped into its local and the old value released. */
#define STORE_N_BODY(UNROLL)                                                                   \
    PyObject **locals = frame->localsplus;                                                     \
    _Py_CODEUNIT *store = instr + 1 + INLINE_CACHE_ENTRIES_UNPACK_SEQUENCE;                    \
    UNROLL                                                                                     \
    for (int k = 0; k < n; k++) {                                                              \
        PyObject *value = *--stack_pointer;                                                    \
        PyObject **slot = &locals[_Py_OPARG(store[k])];                                        \
        PyObject *old = *slot;                                                                 \
        *slot = value;                                                                         \
        if (old != NULL && __builtin_expect(--old->ob_refcnt == 0, 0)) {                       \
            store_dealloc(frame, store + k, k & 1, old);                                       \
        }                                                                                      \
    }                                                                                          \
    return stack_pointer;

/* Any n. */
static PyObject **
store_any(_PyInterpreterFrame *frame, PyObject **stack_pointer, _Py_CODEUNIT *instr, int n)
{
    STORE_N_BODY()
}

/* A constant n (always inlined: the loop unrolls). */
static inline __attribute__((always_inline)) PyObject **
store_n(_PyInterpreterFrame *frame, PyObject **stack_pointer, _Py_CODEUNIT *instr, const int n)
{
    STORE_N_BODY(_Pragma("clang loop unroll(full)"))
}

/* The exact tuple or list `seq` of n items: its items pushed at `base`, last deepest (what
 * UNPACK_SEQUENCE does), the sequence released when it was on the stack (`owned`: that runs no
 * code, every item keeps a reference), then stored. A constant n (always inlined: the loops
 * unroll). */
static inline __attribute__((always_inline)) PyObject **
unpack_store_n(_PyInterpreterFrame *frame, PyObject **base, _Py_CODEUNIT *instr, PyObject *seq,
               PyObject **items, const int n, const int owned)
{
    PyObject **stack_pointer = base;
#pragma clang loop unroll(full)
    for (int i = n; i-- > 0;) {
        *stack_pointer++ = Py_NewRef(items[i]);
    }
    if (owned) {
        Py_DECREF(seq);
    }
    return store_n(frame, stack_pointer, instr, n);
}

/* The same for any n. */
static PyObject **unpack_store_any(_PyInterpreterFrame *frame, PyObject **base,
                                   _Py_CODEUNIT *instr, PyObject *seq, PyObject **items, int n,
                                   int owned)
{
    PyObject **stack_pointer = base;
    for (int i = n; i-- > 0;) {
        *stack_pointer++ = Py_NewRef(items[i]);
    }
    if (owned) {
        Py_DECREF(seq);
    }
    return store_any(frame, stack_pointer, instr, n);
}

/* UNPACK_SEQUENCE at `instr` and its stores, for `seq`: on top of the stack (`owned`), or
 * borrowed from a local (the LOAD_FAST before it; `stack_pointer` is where it would go). */
static inline __attribute__((always_inline)) PyObject **
unpack_into_locals(_PyInterpreterFrame *frame, PyObject **stack_pointer, _Py_CODEUNIT *instr,
                   PyObject *seq, const int owned)
{
    int n = _Py_OPARG(*instr); /* no EXTENDED_ARG: unpack_group checked */
    PyObject **base = owned ? stack_pointer - 1 : stack_pointer;
    PyObject **items;
    if (PyTuple_CheckExact(seq)) {
        items = _PyTuple_ITEMS(seq);
    }
    else if (PyList_CheckExact(seq)) {
        items = _PyList_ITEMS(seq);
    }
    else if ((items = items_iterated_as_base(seq)) != NULL) {
        /* A subclass's instance may run code when released (a __del__): it sees the
         * UNPACK_SEQUENCE, as on the generic path. */
        frame->prev_instr = instr;
    }
    else {
        goto generic;
    }
    if (Py_SIZE(seq) != n) {
        goto generic;
    }
    switch (n) {
#define CPJIT_UNPACK_CASE(N)                                                                   \
    case N:                                                                                    \
        return unpack_store_n(frame, base, instr, seq, items, N, owned);
        CPJIT_UNPACK_CASE(1)
        CPJIT_UNPACK_CASE(2)
        CPJIT_UNPACK_CASE(3)
        CPJIT_UNPACK_CASE(4)
        CPJIT_UNPACK_CASE(5)
        CPJIT_UNPACK_CASE(6)
        CPJIT_UNPACK_CASE(7)
        CPJIT_UNPACK_CASE(8)
        CPJIT_UNPACK_CASE(9)
        CPJIT_UNPACK_CASE(10)
        CPJIT_UNPACK_CASE(11)
        CPJIT_UNPACK_CASE(12)
#undef CPJIT_UNPACK_CASE
    default:
        return unpack_store_any(frame, base, instr, seq, items, n, owned);
    }
generic:
    /* ceval.c's UNPACK_SEQUENCE for everything else (the iterator's code and the sequence's
     * release see this instruction as prev_instr; so does an error), then the stores. */
    if (!owned) {
        *stack_pointer++ = Py_NewRef(seq); /* the LOAD_FAST */
    }
    frame->prev_instr = instr;
    stack_pointer = cpjit_unpack_sequence_slow(_PyThreadState_GET(), stack_pointer, n);
    if (stack_pointer == NULL) {
        return NULL;
    }
    stack_pointer = store_any(frame, stack_pointer, instr, n);
    if (__builtin_expect(CPJIT_TRACING_STARTED(), 0)) {
        /* The iteration ran code that switched tracing on: on after the last store, in the
         * interpreter (cpjit_rt.h: cpjit_trace_after; the stencil's error exit hands over). */
        frame->prev_instr = instr + INLINE_CACHE_ENTRIES_UNPACK_SEQUENCE + n;
        cpjit_trace_after();
        return NULL;
    }
    return stack_pointer;
}

CPJIT_HOT
PyObject **cpjit_unpack_into_locals(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                    _Py_CODEUNIT *instr)
{
    return unpack_into_locals(frame, stack_pointer, instr, stack_pointer[-1], 1);
}

PyObject **cpjit_load_unpack_into_locals(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                         _Py_CODEUNIT *load)
{
    int local = _Py_OPARG(*load); /* no EXTENDED_ARG: unpack_group checked */
    PyObject *seq = frame->localsplus[local];
    if (seq == NULL) {
        frame->prev_instr = load;
        cpjit_unbound_local_error(_PyThreadState_GET(), frame, local);
        return NULL;
    }
    return unpack_into_locals(frame, stack_pointer, load + 1, seq, 0);
}
