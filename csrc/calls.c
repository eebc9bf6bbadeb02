/* calls.c: the CALL instruction's run-time half, and direct native-to-native calls of Python
 * functions.
 *
 * With a PEP 523 hook installed, CPython 3.11 no longer inlines Python-to-Python calls: each one
 * goes PyObject_Vectorcall -> _PyFunction_Vectorcall -> _PyEval_Vector -> hook. For the common
 * case (positional arguments, compiled callee) this file does what CALL_PY_EXACT_ARGS and
 * CALL_PY_WITH_DEFAULTS do in the interpreter: push the callee's frame on the thread's data
 * stack, move the arguments in, run it natively, then clear and pop it. Frame push/clear/pop are
 * static in CPython, so they are re-implemented here from pycore_frame.h and Python/frame.c.
 *
 * The CALL stencil makes one call, to cpjit_call (preserve_none, so the stencil's registers pass
 * through untouched). Its fast path is the site's one-entry cache (calls.h: CpjitCallCache, the
 * callee's code object and what its frame needs, valid while no compiled code object has died
 * since it was filled). Next come the forms a site remembers or can tell at once, each a
 * function of its own reached by a tail call: the C call it made last (call_c_kind), a bound
 * method (call_bound), a callee taking *args or **kwargs (call_varargs), another Python
 * function (call_retarget: called directly, the cache refilled, or its frame built whole by
 * cpjit_call_function), keyword arguments to a Python function (call_python_whole). Everything
 * else goes through call_general and call_slow: bound-method split, classes and callable
 * instances with Python __init__ or __call__, and calls of anything that is not a Python
 * function (call_other: the warm interpreter's PRECALL specialisations).
 */
#include "calls.h"
#include "callsite.h"
#include "exc.h"
#include "hub_probe.h"
#include "names.h"
#include "osr.h"
#include "tier_trials.h"

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_ceval.h"
#include "opcode.h"

#include <string.h>

#define EVAL_BREAKER_IS_SET(tstate)                                                            \
    _Py_atomic_load_relaxed(&(tstate)->interp->ceval.eval_breaker)

/* Enter `frame` natively at its first instruction (runtime.c). */
PyObject *cpjit_rt_run_new_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 CpjitCodeState *st);

/* Python/frame.c's take_ownership: a frame object outlives its frame, so it gets a copy. */
static void take_ownership(PyThreadState *tstate, PyFrameObject *f, _PyInterpreterFrame *frame)
{
    Py_ssize_t size = ((char *)&frame->localsplus[frame->stacktop]) - (char *)frame;
    memcpy((_PyInterpreterFrame *)f->_f_frame_data, frame, size);
    frame = (_PyInterpreterFrame *)f->_f_frame_data;
    f->f_frame = frame;
    frame->owner = FRAME_OWNED_BY_FRAME_OBJECT;
    if (_PyFrame_IsIncomplete(frame)) {
        PyCodeObject *code = frame->f_code;
        frame->prev_instr = _PyCode_CODE(code) + code->_co_firsttraceable;
    }
    if (frame->previous != NULL) {
        /* f_back is the frame object of the nearest complete frame below: the thread's current
         * frame now that this one is unlinked. PyThreadState_GetFrame creates it if needed. */
        PyFrameObject *back = PyThreadState_GetFrame(tstate);
        if (back != NULL) {
            f->f_back = back; /* new reference */
        }
        frame->previous = NULL;
    }
    if (!_PyObject_GC_IS_TRACKED((PyObject *)f)) {
        _PyObject_GC_TRACK((PyObject *)f);
    }
}

CPJIT_HOT
void cpjit_clear_frame(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (frame->frame_obj) {
        PyFrameObject *f = frame->frame_obj;
        frame->frame_obj = NULL;
        if (Py_REFCNT(f) > 1) {
            take_ownership(tstate, f, frame);
            Py_DECREF(f);
            return;
        }
        Py_DECREF(f);
    }
    for (int i = 0; i < frame->stacktop; i++) {
        Py_XDECREF(frame->localsplus[i]);
    }
    Py_XDECREF(frame->f_locals);
    Py_DECREF(frame->f_func);
    Py_DECREF(frame->f_code);
}

/* A new frame of compiled code that C code calls (a function's vectorcall, a slot or a builtin
 * that calls a Python function, cpjit's helpers calling one for native code): a root, measured
 * native against interpreted until decided, then run the way that measured faster
 * (tier_trials.c). */
static inline __attribute__((always_inline)) PyObject *
run_root_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st)
{
    if (__builtin_expect(!(st->tier & CPJIT_TIER_ROOT_DONE), 0)) {
        return cpjit_root_call(tstate, frame, st);
    }
    return cpjit_rt_run_new_frame(tstate, frame, st);
}

/* The most parameters a directly called function may have (the rest go the generic way). */
#define MAX_DIRECT_PARAMS 64

/* The keyword-only parameters' defaults of a function, read from its __kwdefaults__ as
 * initialize_locals reads them (one dict lookup per parameter) but remembered in the code
 * object's state, keyed on the dict's identity and its PEP 509 version: versions are unique
 * among all dicts of the process and change with every mutation, so a match means the same dict,
 * unchanged since, still holding every value read (borrowed here). */
typedef struct {
    PyObject *dict;  /* identity only, no reference */
    uint64_t version;
    PyObject *values[]; /* per keyword-only parameter; NULL: not in the dict */
} KeywordOnlyDefaults;

/* Per keyword-only parameter of `code` (in order), its default from `func`'s __kwdefaults__
 * (borrowed; NULL where the dict has none), or NULL when the generic path must bind: no
 * __kwdefaults__ dict, or one whose lookups might run code. Only a dict whose keys are all exact
 * str is read: a key of a str subclass with its own __eq__ would run Python code, whose frames
 * would land on the room the callee's frame is being bound in, not yet reserved. Without a code
 * state (or memory for the table), `scratch` (room for co_kwonlyargcount values) is filled. */
static PyObject *const *keyword_only_defaults(PyFunctionObject *func, PyCodeObject *code,
                                              PyObject **scratch)
{
    PyObject *kwdefs = func->func_kwdefaults;
    if (kwdefs == NULL || !PyDict_CheckExact(kwdefs)
        || !DK_IS_UNICODE(((PyDictObject *)kwdefs)->ma_keys)) {
        return NULL;
    }
    uint64_t version = ((PyDictObject *)kwdefs)->ma_version_tag;
    int n = code->co_kwonlyargcount;
    CpjitCodeState *st = cpjit_direct_extra_ok ? cpjit_state_fast(code) : NULL;
    KeywordOnlyDefaults *known = st != NULL ? st->kw_defaults : NULL;
    if (known != NULL && known->dict == kwdefs && known->version == version) {
        return known->values;
    }
    if (known == NULL && st != NULL) {
        known = malloc(sizeof(KeywordOnlyDefaults) + (size_t)n * sizeof(PyObject *));
        st->kw_defaults = known;
    }
    PyObject **values = known != NULL ? known->values : scratch;
    PyObject *names = code->co_localsplusnames;
    for (int i = 0; i < n; i++) {
        /* An exact str key in a dict of exact str keys: no code runs, nothing is raised. */
        values[i] = PyDict_GetItemWithError(kwdefs, PyTuple_GET_ITEM(names, code->co_argcount + i));
    }
    if (known != NULL) {
        known->dict = kwdefs;
        known->version = version;
    }
    return values;
}

/* Bind the call's arguments to `code`'s parameters the way initialize_locals() would, into
 * `slots` (borrowed references; bit i of *defaults says slot i holds a default, not an argument;
 * bit k of *extra_kw says keyword k goes to the **kwargs dict), for the cases that cannot fail:
 * keywords naming positional-or-keyword or keyword-only parameters at most once (by identity:
 * names in code objects and KW_NAMES are interned) or, with **kwargs, any other interned str
 * (one that is not interned may still equal a parameter's name), extra
 * positional arguments only with *args, and every missing parameter having a default. Returns
 * 0 when it bound everything, -1 when the generic path must handle the call (including every
 * case that raises). */
static int bind_arguments(PyFunctionObject *func, PyCodeObject *code, PyObject *const *args,
                          Py_ssize_t npos, PyObject *kwnames, PyObject **slots,
                          uint64_t *defaults, uint64_t *extra_kw)
{
    int argcount = code->co_argcount;
    int total = argcount + code->co_kwonlyargcount;
    *defaults = 0;
    *extra_kw = 0;
    if ((npos > argcount && !(code->co_flags & CO_VARARGS)) || total > MAX_DIRECT_PARAMS) {
        return -1;
    }
    for (int i = 0; i < total; i++) {
        slots[i] = i < npos && i < argcount ? args[i] : NULL;
    }
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        PyObject *names = code->co_localsplusnames;
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, k);
            int found = -1;
            for (int i = code->co_posonlyargcount; i < total; i++) {
                if (PyTuple_GET_ITEM(names, i) == key) {
                    found = i;
                    break;
                }
            }
            if (found < 0) {
                /* Not a parameter by identity: by equality neither only if the name is an
                 * interned str (parameter names are interned), else the generic call looks.
                 * The interpreter compares it with each name (PyObject_RichCompareBool), which
                 * counts a recursion level: at the limit, the generic call raises as it does. */
                if (!(code->co_flags & CO_VARKEYWORDS) || k >= 64 || !PyUnicode_CheckExact(key)
                    || !PyUnicode_CHECK_INTERNED(key)
                    || (total > code->co_posonlyargcount
                        && _PyThreadState_GET()->recursion_remaining <= 0)) {
                    return -1;
                }
                *extra_kw |= (uint64_t)1 << k;
                continue;
            }
            if (slots[found] != NULL) {
                return -1;
            }
            slots[found] = args[npos + k];
        }
    }
    if (npos < argcount) {
        PyObject *defs = func->func_defaults;
        Py_ssize_t ndefs = defs ? PyTuple_GET_SIZE(defs) : 0;
        int first_default = argcount - (int)ndefs;
        for (int i = (int)npos; i < argcount; i++) {
            if (slots[i] == NULL) {
                if (i < first_default) {
                    return -1;
                }
                slots[i] = PyTuple_GET_ITEM(defs, i - first_default);
                *defaults |= (uint64_t)1 << i;
            }
        }
    }
    PyObject *const *kw_defaults = NULL;
    PyObject *kw_scratch[MAX_DIRECT_PARAMS];
    for (int i = argcount; i < total; i++) {
        if (slots[i] == NULL) {
            if (kw_defaults == NULL
                && (kw_defaults = keyword_only_defaults(func, code, kw_scratch)) == NULL) {
                return -1;
            }
            PyObject *def = kw_defaults[i - argcount];
            if (def == NULL) {
                return -1;
            }
            slots[i] = def;
            *defaults |= (uint64_t)1 << i;
        }
    }
    return 0;
}

/* The common shape of a call, as CALL_PY_EXACT_ARGS and CALL_PY_WITH_DEFAULTS bind it:
 * positional arguments only, none missing that has no default, no extra ones, no *args,
 * **kwargs or keyword-only parameters. The frame pushed with the arguments (new references when
 * `new_refs`, else the caller's moved in), new references to the defaults used and `locals`
 * (NULL for CO_OPTIMIZED code); NULL, changing nothing, otherwise (or without room in the data
 * stack's current chunk). Nothing is allocated, so nothing runs code. */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
push_frame_positional(PyThreadState *tstate, PyFunctionObject *func, PyObject *const *args,
                      Py_ssize_t npos, const int new_refs, PyObject *locals)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int argcount = code->co_argcount;
    PyObject *defaults = func->func_defaults;
    int ndefaults = defaults != NULL ? (int)PyTuple_GET_SIZE(defaults) : 0;
    PyObject **top;
    _PyInterpreterFrame *frame;
    if (npos > argcount || npos < argcount - ndefaults || code->co_kwonlyargcount != 0
        || (code->co_flags & (CO_VARARGS | CO_VARKEYWORDS))
        || (frame = cpjit_frame_room(tstate, code, &top)) == NULL) {
        return NULL;
    }
    tstate->datastack_top = top;
    _PyFrame_InitializeSpecials(frame, func, locals, code->co_nlocalsplus);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < npos; i++) {
        frame->localsplus[i] = new_refs ? Py_NewRef(args[i]) : args[i];
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = (int)npos; i < argcount; i++) {
        frame->localsplus[i] = Py_NewRef(PyTuple_GET_ITEM(defaults, i - (argcount - ndefaults)));
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = argcount; i < code->co_nlocalsplus; i++) {
        frame->localsplus[i] = NULL;
    }
    return frame;
}

/* What the interpreter's inlined CALL does before it runs the callee: push a frame for `func`
 * on the thread's data stack and move the arguments into it (extra positional ones into the
 * *args tuple, unmatched keywords into the **kwargs dict, as initialize_locals does). On success
 * the frame owns the references to `func` and to every argument (the caller's slots no longer
 * do), defaults are new references, and `*base` is where the frame starts (for cpjit_pop_frame).
 * Returns NULL, changing nothing, when the call cannot be bound here (see bind_arguments), memory
 * runs out, or the data stack's current chunk has no room: the caller then makes a generic
 * call.
 *
 * The *args tuple and the **kwargs dict are allocated before anything is written into the
 * frame's room: allocating a container may run a garbage collection, whose finalizers and
 * weakref callbacks run Python code that pushes its own frames at the data stack's top (the
 * room is not reserved until the frame commits) and may replace `func`'s defaults. From the
 * binding to the commit nothing runs code: str keys hash and compare without it. */
static _PyInterpreterFrame *push_frame_moving_args(PyThreadState *tstate, PyFunctionObject *func,
                                                   PyObject *const *args, Py_ssize_t npos,
                                                   PyObject *kwnames, PyObject ***base)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int argcount = code->co_argcount;
    /* As _PyFunction_Vectorcall: code that is not CO_OPTIMIZED gets the globals as locals. */
    PyObject *locals = (code->co_flags & CO_OPTIMIZED) ? NULL : func->func_globals;
    /* The common shape first (push_frame_positional); the general binding otherwise. */
    *base = tstate->datastack_top;
    _PyInterpreterFrame *frame;
    if (kwnames == NULL
        && (frame = push_frame_positional(tstate, func, args, npos, 0, locals)) != NULL) {
        return frame;
    }
    PyObject **top;
    int total = argcount + code->co_kwonlyargcount;
    PyObject *varargs = NULL, *varkw = NULL;
    /* The frame's f_code, taken before anything can run code: the interpreter pushes the frame
     * (with the function's code at that moment) before it binds, so a finalizer that assigns
     * `func.__code__` meanwhile changes the next call, not this one. */
    Py_INCREF(code);
    if (code->co_flags & CO_VARARGS) {
        varargs = PyTuple_New(npos > argcount ? npos - argcount : 0);
        if (varargs == NULL) {
            goto no_memory;
        }
    }
    if (code->co_flags & CO_VARKEYWORDS) {
        varkw = PyDict_New();
        if (varkw == NULL) {
            goto no_memory;
        }
    }
    frame = cpjit_frame_room(tstate, code, &top);
    uint64_t defaults, extra_kw;
    if (frame == NULL
        || bind_arguments(func, code, args, npos, kwnames, frame->localsplus, &defaults,
                          &extra_kw) < 0) {
        goto unbound;
    }
    for (uint64_t rest = extra_kw; rest != 0; rest &= rest - 1) {
        int k = __builtin_ctzll(rest);
        if (PyDict_SetItem(varkw, PyTuple_GET_ITEM(kwnames, k), args[npos + k]) < 0) {
            goto no_memory;
        }
    }
    /* Committed: nothing below fails. */
    *base = tstate->datastack_top;
    tstate->datastack_top = top;
    for (uint64_t rest = defaults; rest != 0; rest &= rest - 1) {
        Py_INCREF(frame->localsplus[__builtin_ctzll(rest)]);
    }
    int n = total;
    if (varargs != NULL) {
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(varargs); j++) {
            PyTuple_SET_ITEM(varargs, j, args[argcount + j]); /* moved */
        }
        frame->localsplus[n++] = varargs;
    }
    if (varkw != NULL) {
        for (uint64_t rest = extra_kw; rest != 0; rest &= rest - 1) {
            Py_DECREF(args[npos + __builtin_ctzll(rest)]); /* moved: the dict holds it now */
        }
        frame->localsplus[n++] = varkw;
    }
    /* _PyFrame_InitializeSpecials, with the code held above (which it would read again from
     * the function). */
    frame->f_func = func;
    frame->f_code = code; /* the reference taken above */
    frame->f_builtins = func->func_builtins;
    frame->f_globals = func->func_globals;
    frame->f_locals = Py_XNewRef(locals);
    frame->stacktop = code->co_nlocalsplus;
    frame->frame_obj = NULL;
    frame->prev_instr = _PyCode_CODE(code) - 1;
    frame->is_entry = false;
    frame->owner = FRAME_OWNED_BY_THREAD;
    for (int i = n; i < code->co_nlocalsplus; i++) {
        frame->localsplus[i] = NULL;
    }
    return frame;

no_memory:
    PyErr_Clear(); /* the generic call meets the same condition and reports it */
unbound:
    /* Empty, or holding str keys and values the caller still references: releasing them runs
     * no code. */
    Py_XDECREF(varargs);
    Py_XDECREF(varkw);
    Py_DECREF(code);
    return NULL;
}

CPJIT_HOT
void cpjit_pop_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **base)
{
    tstate->recursion_remaining--;
    cpjit_clear_frame(tstate, frame);
    tstate->recursion_remaining++;
    tstate->datastack_top = base;
}

uint64_t cpjit_code_epoch;

/* Where the warm interpreter's prev_instr is while a specialised PRECALL calls: the PRECALL
 * (then its cache entry, the CALL's EXTENDED_ARG prefixes, the CALL). */
static inline _Py_CODEUNIT *precall_of(_Py_CODEUNIT *done, int oparg)
{
    _Py_CODEUNIT *precall = done - INLINE_CACHE_ENTRIES_CALL - 1 - INLINE_CACHE_ENTRIES_PRECALL;
    if (__builtin_expect(oparg > 0xff, 0)) {
        precall -= (oparg > 0xff) + (oparg > 0xffff) + (oparg > 0xffffff);
    }
    return precall;
}

/* What PRECALL does with a bound method called as `f(...)` (the stencil has no code for it):
 * the slots [NULL, method, args...] become [function, self, args...]. Its deallocation may run
 * code (a weakref callback), so the PRECALL's address is published first, as the interpreter
 * has it when its PRECALL releases the method. */
static void split_bound_method(_PyInterpreterFrame *frame, PyObject **slots, _Py_CODEUNIT *done,
                               int oparg)
{
    PyObject *function = slots[1];
    if (slots[0] != NULL || Py_TYPE(function) != &PyMethod_Type) {
        return;
    }
    slots[1] = Py_NewRef(((PyMethodObject *)function)->im_self);
    slots[0] = Py_NewRef(((PyMethodObject *)function)->im_func);
    if (Py_REFCNT(function) == 1) {
        frame->prev_instr = precall_of(done, oparg);
    }
    Py_DECREF(function);
}

/* The callee the site cache's entry names, as an older one (CpjitCallCache.older). */
static inline CpjitOlderCallee entry_callee(const CpjitCallCache *cc)
{
    return (CpjitOlderCallee){cc->code, cc->entry, cc->argcount, cc->nlocalsplus, cc->framesize, 0};
}

/* The site cache's callee part (calls.h: CpjitCallCache): `code`, compiled (`st`), with the
 * argument count its fast path checks (CPJIT_ARGCOUNT_VARARGS for call_varargs), valid in the
 * current code epoch. */
static void fill_callee_cache(CpjitCallCache *cc, PyCodeObject *code, CpjitCodeState *st,
                              int32_t argcount)
{
    if (cc->epoch != cpjit_code_epoch) {
        /* A compiled code object died since: the older callees may name it. */
        memset(cc->older, 0, sizeof cc->older);
    }
    else if (cc->code != NULL && cc->code != code && cc->argcount != CPJIT_ARGCOUNT_VARARGS) {
        /* The entry's callee becomes the latest older one. */
        cc->older[1] = cc->older[0];
        cc->older[0] = entry_callee(cc);
    }
    cc->code = code;
    cc->entry = (cpjit_native_fn)(st->base + st->entries[0]);
    cc->epoch = cpjit_code_epoch;
    cc->argcount = argcount;
    cc->nlocalsplus = code->co_nlocalsplus;
    cc->framesize = code->co_nlocalsplus + code->co_stacksize + FRAME_SPECIALS_SIZE;
}

/* call_slow's and call_retarget's direct case (see cpjit_call in calls.h), after
 * split_bound_method; NULL when it does not apply. `by_jump`: the caller jumps into the callee
 * (call_retarget), so the C stack need not be checked.
 *
 * A callee that stays cold with nothing for the hook to decide (calls.h: callee_state) gets its
 * frame pushed the same way, with the function and arguments moved in, but not linked: NULL is
 * returned with *cold_st set to its state and *out_callee to the frame, which the caller runs
 * with run_cold_callee (the interpreter links it). The caller's prev_instr is then at `done`, as
 * the interpreter's inlined call has it while the callee runs. */
CPJIT_HOT static cpjit_native_fn enter_direct(PyThreadState *tstate,
                                              _PyInterpreterFrame *frame,
                                              PyObject **stack_pointer, int oparg,
                                              _Py_CODEUNIT *done, CpjitCallCache *cc,
                                              _PyInterpreterFrame **out_callee,
                                              PyObject ***out_sp, int by_jump,
                                              CpjitCodeState **cold_st)
{
    PyObject **slots = stack_pointer - oparg - 2;
    int is_meth = slots[0] != NULL;
    int total_args = oparg + is_meth;
    PyObject *function = slots[1 - is_meth];
    if (Py_TYPE(function) != &PyFunction_Type) {
        return NULL;
    }
    PyFunctionObject *func = (PyFunctionObject *)function;
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int argcount = code->co_argcount;
    PyObject *const *defaults;
    CpjitCodeState *st;
    _PyInterpreterFrame *callee;
    PyObject **top;
    int cold = 0;
    *cold_st = NULL;
    if (total_args > argcount || !cpjit_trailing_defaults(func, total_args, argcount, &defaults)
        || code->co_kwonlyargcount != 0 || (code->co_flags & (CO_VARARGS | CO_VARKEYWORDS))
        || (st = callee_state(tstate, code, !by_jump, &cold)) == NULL
        || (cold && by_jump && !cpjit_c_stack_ok_fast(tstate) && cpjit_rt_c_stack_low(tstate))
        || (callee = cpjit_frame_room(tstate, code, &top)) == NULL) {
        return NULL;
    }
    tstate->datastack_top = top;
    _PyFrame_InitializeSpecials(callee, func, NULL, code->co_nlocalsplus);
    PyObject **args = slots + 2 - is_meth;
    /* A few slots: a vectorised loop would cost more than it saves. */
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < total_args; i++) {
        callee->localsplus[i] = args[i];
    }
    /* Missing trailing parameters from the defaults (CALL_PY_WITH_DEFAULTS). */
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = total_args; i < argcount; i++) {
        callee->localsplus[i] = Py_NewRef(defaults[i]);
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = argcount; i < code->co_nlocalsplus; i++) {
        callee->localsplus[i] = NULL;
    }
    if (cold) {
        frame->prev_instr = done;
        *out_callee = callee;
        *cold_st = st;
        return NULL;
    }
    cpjit_link_callee(tstate, frame, callee, slots, done);
    callee->stacktop = -1;
    *out_callee = callee;
    *out_sp = callee->localsplus + code->co_nlocalsplus;
    /* The fast path's conditions that depend on the callee only hold: cache it. */
    fill_callee_cache(cc, code, st, argcount);
    return cc->entry;
}

/* A cold callee's frame enter_direct pushed: counted and interpreted, then popped; its result. */
static PyObject *run_cold_callee(PyThreadState *tstate, _PyInterpreterFrame *callee,
                                 CpjitCodeState *st)
{
    PyObject *res = cpjit_rt_run_cold_frame(tstate, callee, st);
    cpjit_pop_frame(tstate, callee, (PyObject **)callee);
    return res;
}

/* cpjit_call_function; for a call made as the interpreter's inlined CALL makes it (`caller`
 * not NULL, its prev_instr on the CALL), the caller's prev_instr moves to `done`, the CALL's
 * last cache entry, once the arguments are bound (a finalizer the binding's allocations run
 * sees the CALL, as in the interpreter), and *unstarted says whether the call failed before its
 * callee's frame started, that is, in binding (cpjit_frames_started unmoved by it; known only
 * while cpjit's hook is the evaluator, since any other starts frames without counting them). */
static inline __attribute__((always_inline)) PyObject *
call_function(PyThreadState *tstate, PyObject *function, PyObject *const *args, Py_ssize_t npos,
              PyObject *kwnames, _PyInterpreterFrame *caller, _Py_CODEUNIT *done,
              int *unstarted)
{
    PyFunctionObject *func = (PyFunctionObject *)function;
    PyObject **base;
    _PyInterpreterFrame *frame = push_frame_moving_args(tstate, func, args, npos, kwnames, &base);
    if (caller != NULL) {
        caller->prev_instr = done;
    }
    if (frame == NULL) {
        uint64_t started = cpjit_frames_started;
        PyObject *res = PyObject_Vectorcall(function, args, npos | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                            kwnames);
        if (caller != NULL) {
            /* Before the releases below, whose finalizers may start frames of their own. */
            *unstarted = res == NULL && cpjit_frames_started == started
                         && cpjit_hooked_for(tstate);
            if (*unstarted) {
                /* The interpreter's inlined call fails to bind before it moves prev_instr off
                 * the CALL: the arguments released below are seen there. */
                caller->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
            }
        }
        Py_DECREF(function);
        Py_ssize_t total = npos + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
        for (Py_ssize_t i = 0; i < total; i++) {
            Py_DECREF(args[i]);
        }
        return res;
    }
    /* Compiled and nothing in the way: natively, as the CALL stencil does. Staying cold with
     * nothing for the hook to decide: counted and interpreted, as the hook would (its cold case,
     * without the hook's other tests; callers here are native code and C called from it, never
     * an interpreter-run CALL the hook would make look inlined). Otherwise through the frame
     * evaluator, as _PyEval_Vector would (the hook counts calls, compiles, or hands the frame to
     * the interpreter; another evaluator installed over cpjit sees the call). */
    int cold;
    CpjitCodeState *st = callee_state(tstate, frame->f_code, 1, &cold);
    PyObject *res = st == NULL ? _PyEval_EvalFrame(tstate, frame, 0)
                    : cold     ? cpjit_rt_run_cold_frame(tstate, frame, st)
                               : run_root_frame(tstate, frame, st);
    cpjit_pop_frame(tstate, frame, base);
    return res;
}

CPJIT_HOT
PyObject *cpjit_call_function(PyThreadState *tstate, PyObject *function, PyObject *const *args,
                              Py_ssize_t npos, PyObject *kwnames)
{
    return call_function(tstate, function, args, npos, kwnames, NULL, NULL, NULL);
}

/* A call of a Python function that the interpreter would inline, by call_function: the
 * caller's prev_instr on the CALL while the arguments are bound, on the CALL's last cache entry
 * while the callee runs (and where an exception from it is seen to come from), but on the CALL
 * itself when the arguments do not bind, since the interpreter raises that error before it
 * moves past the CALL (tb_lasti, dis.distb's marker). */
static inline PyObject *call_as_inlined(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                        _Py_CODEUNIT *done, PyObject *callable,
                                        PyObject *const *args, Py_ssize_t npos, PyObject *kwnames)
{
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
    int unstarted = 0;
    /* A call that failed to bind has prev_instr back on the CALL (call_function). */
    return call_function(tstate, callable, args, npos, kwnames, frame, done, &unstarted);
}

/* Whether a call into a new frame is the one an interpreter-run CALL of the current frame makes
 * itself: the interpreter (under a PEP 523 hook) passes the arguments in place on its own value
 * stack, and the hook makes such a call look inlined (runtime.c's as_inlined_call). With the
 * CALL's oparg N, the interpreter calls either the slot below N arguments, whose own lower
 * neighbour is NULL (`total` == N), or the method below self and N arguments (`total` == N + 1);
 * either way `callable` sits just below `args`. C code that forwards a slice of the arguments it
 * was given (operator.call(f, x), Context.run(f, x)) passes a pointer into the same stack with
 * the function just below, but with fewer arguments than that: it is not taken for the CALL's
 * own call; nor is a forwarded call without PY_VECTORCALL_ARGUMENTS_OFFSET (Context.run's, a
 * bound method's), which the interpreter always passes, or one made from deeper in the C stack
 * than the interpreter makes its calls (calls.h: cpjit_made_by_the_interpreter), which is how
 * partial(operator.call, f)(x), with f written into the callable slot, is told apart. The oparg comes from the CALL's code unit; behind an EXTENDED_ARG (or a cache entry
 * that looks like one) from the call-site table, as the hook reads it. */
static inline __attribute__((always_inline)) int
from_interpreted_call(PyThreadState *tstate, PyObject *callable,
                                        PyObject *const *args, Py_ssize_t total, size_t nargsf,
                                        uintptr_t here)
{
    _PyInterpreterFrame *caller = tstate->cframe->current_frame;
    /* The interpreter's CALL always lets the callee use the slot below the arguments. */
    if (!(nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET)) {
        return 0;
    }
    if (caller == NULL || _PyFrame_IsIncomplete(caller)) {
        return 0;
    }
    _Py_CODEUNIT *instr = caller->prev_instr;
    if (!cpjit_is_interpreter_call_op(_Py_OPCODE(*instr))) {
        return 0;
    }
    /* Within the caller's value stack before anything is read around it: C callers may pass
     * NULL (PyObject_CallNoArgs) or an array of their own. */
    PyCodeObject *code = caller->f_code;
    PyObject *const *stack = caller->localsplus + code->co_nlocalsplus;
    if (args < stack + 1 || args > stack + code->co_stacksize || args[-1] != callable) {
        return 0;
    }
    int n = _Py_OPARG(*instr);
    if (__builtin_expect(_Py_OPCODE(instr[-1]) == EXTENDED_ARG, 0)) {
        CpjitCodeState *st = cpjit_rt_state_for(code, 1);
        int depth;
        if (st == NULL || !cpjit_call_site(code, st, instr, &n, &depth)) {
            return 0;
        }
    }
    return (total == n + 1 || (total == n && args - 2 >= stack && args[-2] == NULL))
           && cpjit_made_by_the_interpreter(tstate, here, cpjit_direct_depth_vectorcall);
}

/* A frame cpjit_function_vectorcall pushed: interpreted and counted when its code stays cold,
 * else entered natively. */
static inline __attribute__((always_inline)) PyObject *
run_pushed_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st, int cold)
{
    cpjit_frames_started++; /* the frames the hook does not see (cpjit_rt.h) */
    if (cold) {
        return cpjit_rt_run_cold_frame(tstate, frame, st);
    }
    cpjit_stats.frames_from_c++;
    return run_root_frame(tstate, frame, st);
}

/* cpjit_function_vectorcall for a call from an interpreter-run CALL that plain CPython would
 * have inlined (the frame is pushed and holds references of its own to the arguments; `cold`:
 * the interpreter runs it, counted, else its native code): what the
 * hook's as_inlined_call and its return path do for such calls, without the call-site table,
 * since the arguments' place on the caller's stack is `args`. While the callee runs, the caller's
 * prev_instr is at the CALL's last cache entry and its argument slots hold None (released by the
 * interpreter after the call as it releases arguments), so the callee holds the only references;
 * the callee's frame is released while prev_instr is there (a finalizer sees that f_lasti), and
 * it stays there, as after the interpreter's inlined call: the interpreter's CALL releases the
 * function after this returns (a function that dies with its first call is seen there too), and
 * after an exception the traceback entry points there. */
static __attribute__((noinline)) PyObject *
run_as_inlined_call(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                    PyObject **base, PyObject *const *args, Py_ssize_t npos, PyObject *kwnames,
                    int cold)
{
    _PyInterpreterFrame *caller = tstate->cframe->current_frame;
    _Py_CODEUNIT *at_call = caller->prev_instr;
    Py_ssize_t total = npos + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject **slots = (PyObject **)args; /* the caller's own value stack */
    for (Py_ssize_t i = 0; i < total; i++) {
        PyObject *arg = slots[i];
        slots[i] = Py_NewRef(Py_None);
        Py_DECREF(arg); /* the callee's frame holds a reference of its own */
    }
    caller->prev_instr = at_call + INLINE_CACHE_ENTRIES_CALL;
    cpjit_probe_note_call(caller, frame->f_code);
    cpjit_osr_note_caller(tstate, caller); /* a loop of __main__ started unhooked */
    PyObject *res = run_pushed_frame(tstate, frame, st, cold);
    /* Everything the frame holds (its locals, a frame object, a locals() dict, its function)
     * released while prev_instr is still at the last cache entry, as the interpreter's inlined
     * return does (a finalizer sees that f_lasti). */
    cpjit_pop_frame(tstate, frame, base);
    cpjit_osr_after_call(tstate);
    return res;
}

/* cpjit_function_vectorcall's arguments and result, for a call on a stack segment. */
typedef struct {
    PyObject *callable;
    PyObject *const *args;
    size_t nargsf;
    PyObject *kwnames;
    uintptr_t here; /* where the call came in, on the stack it came in on */
    PyObject *result;
} DeeperVectorcall;

static PyObject *function_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames, uintptr_t here);

static void vectorcall_deeper(void *arg)
{
    DeeperVectorcall *c = arg;
    c->result = function_vectorcall(c->callable, c->args, c->nargsf, c->kwnames, c->here);
}

/* The call on a stack segment: 1 with *result set, 0 when no segment could be had. Out of line,
 * so that cpjit_function_vectorcall's own frame stays as small as it was: with the hook taken
 * out (deep recursion without segments) it sits between the interpreter's levels. */
static __attribute__((noinline, cold)) int
vectorcall_on_segment(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames,
                      uintptr_t here, PyObject **result)
{
    DeeperVectorcall call = {callable, args, nargsf, kwnames, here, NULL};
    if (!cpjit_rt_run_deeper(vectorcall_deeper, &call)) {
        return 0;
    }
    *result = call.result;
    return 1;
}

/* cpjit_function_vectorcall when the call may be cpjit's to run. Entered by a tail call, so its
 * frame lies where the vectorcall's own would: `here` is measured from it, as calibrated
 * (runtime.c: calibration_vectorcall). */
CPJIT_HOT static __attribute__((noinline)) PyObject *
function_vectorcall_hooked(PyObject *callable, PyObject *const *args, size_t nargsf,
                           PyObject *kwnames)
{
    return function_vectorcall(callable, args, nargsf, kwnames,
                               (uintptr_t)__builtin_frame_address(0));
}

/* Inside a region of this thread (the hook out: the interpreter runs everything beneath as
 * plain python does) nothing is cpjit's to decide, and a function's C callers (slots, property
 * getters, map, sort keys) reach it here hundreds of thousands of times a second: straight on
 * to CPython's own vectorcall, with no frame of our own (email, nothing compiled: 76
 * instructions per call before, most of them the full path's prologue and epilogue). */
CPJIT_HOT
PyObject *cpjit_function_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    PyThreadState *tstate = _PyThreadState_GET();
    if (tstate->interp->eval_frame == NULL && !cpjit_other_sample_due()
        && cpjit_in_own_region(tstate)) {
        return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
    }
    __attribute__((musttail)) return function_vectorcall_hooked(callable, args, nargsf, kwnames);
}

/* cpjit_function_vectorcall, `here` an address in the C frame the call came into (on a stack
 * segment, the one it came into before the switch: from_interpreted_call measures from it). */
static inline __attribute__((always_inline)) PyObject *
function_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames,
                    uintptr_t here)
{
    PyThreadState *tstate = _PyThreadState_GET();
    if (cpjit_other_sample_due() && cpjit_serve_other_sample(tstate)) {
        /* A call inside another thread's region, sampled: it goes on as the region runs it. */
        return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
    }
    PyFunctionObject *func = (PyFunctionObject *)callable;
    /* Compiled: entered natively. Staying cold: the frame pushed here and handed to the
     * interpreter, as the hook would, without _PyEval_Vector and the hook on the way (one pass
     * over the checks both cases share). */
    int cold;
    CpjitCodeState *st = callee_state(tstate, (PyCodeObject *)func->func_code, 0, &cold);
    if (st != NULL && !cpjit_c_stack_ok_fast(tstate) && cpjit_rt_c_stack_low(tstate)) {
        /* Only the C stack stands in the way (callee_state's own stack test, made here): the
         * same call on a stack segment, where it takes the fast path, instead of the hook's way
         * there (a frame on the thread's own stack calling across to a segment at every call,
         * as a small-stack thread's loop does, paid _PyEval_Vector and the hook each time). */
        PyObject *res;
        if (vectorcall_on_segment(callable, args, nargsf, kwnames, here, &res)) {
            return res;
        }
        st = NULL;
    }
    if (st == NULL) {
        return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
    }
    /* An interpreter-run CALL whose callable slot holds this very function (args[-1]: the
     * callable, or the method slot when self is args[0]) is a call plain CPython would have
     * inlined; it is made to look so below (the hook's as_inlined_call does the same for the
     * calls that reach it; tested at `run`, after the push, which reads nothing it tests). A
     * bound-method object's call (method_vectorcall shifts the arguments) is no inlined call:
     * nothing is changed for it. */
    Py_ssize_t npos = PyVectorcall_NARGS(nargsf);
    PyObject **base = tstate->datastack_top;
    _PyInterpreterFrame *frame =
        kwnames == NULL ? push_frame_positional(tstate, func, args, npos, 1, NULL) : NULL;
    if (frame != NULL) {
        goto run;
    }
    Py_ssize_t total = npos + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    /* The frame takes references of its own, as _PyEval_Vector gives it. */
    for (Py_ssize_t i = 0; i < total; i++) {
        Py_INCREF(args[i]);
    }
    frame = push_frame_moving_args(tstate, func, args, npos, kwnames, &base);
    if (frame == NULL) {
        /* Nothing was moved: give the references back (the caller holds its own, so none of
         * these is the last) and bind the way CPython does, errors included. */
        for (Py_ssize_t i = 0; i < total; i++) {
            Py_DECREF(args[i]);
        }
        return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
    }
    /* The binding's allocations may have run code (a finalizer that switches tracing on or
     * assigns __code__; the frame runs the code it was pushed with): asked again. */
    st = callee_state(tstate, frame->f_code, 1, &cold);
    if (st == NULL) {
        Py_INCREF(func); /* the frame's f_func */
        PyObject *res = _PyEval_EvalFrame(tstate, frame, 0);
        cpjit_pop_frame(tstate, frame, base);
        return res;
    }
run:
    Py_INCREF(func); /* the frame's f_func */
    if (from_interpreted_call(tstate, callable, args,
                              npos + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0), nargsf,
                              here)) {
        return run_as_inlined_call(tstate, frame, st, base, args, npos, kwnames, cold);
    }
    PyObject *res = run_pushed_frame(tstate, frame, st, cold);
    cpjit_pop_frame(tstate, frame, base);
    cpjit_osr_after_call(tstate); /* (C code the candidate called, calling back) */
    return res;
}

/* The start of descrobject.c's propertyobject (private in 3.11): the getter comes first. */
typedef struct {
    PyObject_HEAD
    PyObject *prop_get;
} PropertyHead;

CPJIT_HOT
PyObject *cpjit_property_get(PyObject *prop, PyObject *obj)
{
    if (!Py_IS_TYPE(prop, &PyProperty_Type) || obj == NULL || obj == Py_None) {
        return NULL;
    }
    PyObject *fget = ((PropertyHead *)prop)->prop_get;
    if (fget == NULL || !Py_IS_TYPE(fget, &PyFunction_Type)) {
        return NULL;
    }
    /* property_descr_get's PyObject_CallOneArg(fget, obj); a slot before the argument for
     * PY_VECTORCALL_ARGUMENTS_OFFSET. */
    PyObject *stack[2] = {NULL, Py_NewRef(obj)};
    return cpjit_call_python(_PyThreadState_GET(), fget, stack + 1, 1);
}

CPJIT_HOT
PyObject *cpjit_call_python(PyThreadState *tstate, PyObject *function, PyObject **args, int nargs)
{
    PyFunctionObject *func = (PyFunctionObject *)function;
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    CpjitCodeState *st;
    _PyInterpreterFrame *callee;
    PyObject **top;
    Py_INCREF(function); /* the frame's, or cpjit_call_function's */
    if (code->co_argcount != nargs || code->co_kwonlyargcount != 0
        || (st = cpjit_direct_callee(tstate, code)) == NULL
        || (callee = cpjit_frame_room(tstate, code, &top)) == NULL) {
        return cpjit_call_function(tstate, function, args, nargs, NULL);
    }
    /* The arguments bind exactly: CALL_PY_EXACT_ARGS's frame. */
    PyObject **base = tstate->datastack_top;
    tstate->datastack_top = top;
    _PyFrame_InitializeSpecials(callee, func, NULL, code->co_nlocalsplus);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < nargs; i++) {
        callee->localsplus[i] = args[i];
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = nargs; i < code->co_nlocalsplus; i++) {
        callee->localsplus[i] = NULL;
    }
    PyObject *res = run_root_frame(tstate, callee, st);
    cpjit_pop_frame(tstate, callee, base);
    return res;
}

/* The most arguments (positional and keyword) cpjit_call_ex spreads on the C stack. */
#define EX_STACK_ARGS 32

CPJIT_HOT
PyObject *cpjit_call_ex(PyThreadState *tstate, PyObject *callable, PyObject *callargs,
                        PyObject *kwargs)
{
    PyObject *function = callable, *self = NULL;
    if (Py_IS_TYPE(callable, &PyMethod_Type)) {
        function = ((PyMethodObject *)callable)->im_func;
        self = ((PyMethodObject *)callable)->im_self;
    }
    Py_ssize_t npos = PyTuple_GET_SIZE(callargs) + (self != NULL);
    Py_ssize_t nkw = kwargs != NULL ? PyDict_GET_SIZE(kwargs) : 0;
    if (!Py_IS_TYPE(function, &PyFunction_Type) || npos + nkw > EX_STACK_ARGS) {
        return PyObject_Call(callable, callargs, kwargs);
    }
    /* What PyObject_Call does for a function (PyVectorcall_Call, _PyStack_UnpackDict): the
     * arguments spread, the keywords' names as a tuple; a method's self first, as
     * method_vectorcall prepends it. Only str keys: anything else gets PyObject_Call's error.
     * (A key that is not interned may equal a parameter's name without being it: the binder
     * hands such calls to the generic vectorcall, which compares by equality.) */
    PyObject *kwnames = NULL;
    PyObject *stack[EX_STACK_ARGS + 1];
    PyObject **args = stack + 1;
    if (nkw > 0) {
        kwnames = PyTuple_New(nkw);
        if (kwnames == NULL) {
            return NULL;
        }
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *value;
        while (PyDict_Next(kwargs, &pos, &key, &value)) {
            if (!PyUnicode_Check(key)) {
                Py_DECREF(kwnames);
                return PyObject_Call(callable, callargs, kwargs);
            }
            PyTuple_SET_ITEM(kwnames, i, Py_NewRef(key));
            args[npos + i] = value;
            i++;
        }
    }
    stack[0] = NULL;
    Py_ssize_t first = 0;
    if (self != NULL) {
        args[first++] = self;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(callargs); i++) {
        args[first + i] = PyTuple_GET_ITEM(callargs, i);
    }
    /* cpjit_call_function takes references to the function and the arguments over. */
    for (Py_ssize_t i = 0; i < npos + nkw; i++) {
        Py_INCREF(args[i]);
    }
    Py_INCREF(function);
    PyObject *res = cpjit_call_function(tstate, function, args, npos, kwnames);
    Py_XDECREF(kwnames);
    return res;
}

/* As _Py_CheckFunctionResult, its common case in line: a result without an exception set, or
 * NULL with one. */
static inline PyObject *check_result(PyThreadState *tstate, PyObject *callable, PyObject *res)
{
    if ((res != NULL) == (tstate->curexc_type == NULL)) {
        return res;
    }
    return _Py_CheckFunctionResult(tstate, callable, res, NULL);
}

/* The calling-convention bits of a PyMethodDef's flags. The interpreter specialises a call by
 * these, but its specialised forms compare the flags whole (`!= METH_O`, ...) and deoptimise to
 * the generic call, which counts a recursion level for the C call and serves the eval breaker at
 * the CALL, when any other bit is set (METH_CLASS: dict.fromkeys, int.from_bytes; METH_STATIC:
 * str.maketrans; METH_COEXIST: dict.__contains__): so call_builtin and call_c_kind compare
 * them whole, and c_varargs sends those callables the generic way. */
#define METH_MASK (METH_VARARGS | METH_FASTCALL | METH_NOARGS | METH_O | METH_KEYWORDS | METH_METHOD)

/* The warm interpreter's specialised PRECALLs for built-in functions and method descriptors
 * called without keyword names (see call_other), borrowing `callable` and the `nargs` arguments
 * at `args`. Returns 1 with the result in *res (NULL with an exception set), or 0 when the call
 * is not one of those (nothing done). */
static inline __attribute__((always_inline)) int
call_builtin(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *callable,
             PyObject **args, Py_ssize_t nargs, int oparg, _Py_CODEUNIT *done, PyObject **res,
             uint8_t *kind)
{
    PyTypeObject *tp = Py_TYPE(callable);
    if (tp == &PyCFunction_Type) {
        PyCFunction cfunc = PyCFunction_GET_FUNCTION(callable);
        PyObject *self = PyCFunction_GET_SELF(callable);
        switch (PyCFunction_GET_FLAGS(callable)) { /* whole: see METH_MASK */
        case METH_O: /* PRECALL_NO_KW_BUILTIN_O, PRECALL_NO_KW_LEN */
            if (nargs != 1) {
                return 0;
            }
            frame->prev_instr = precall_of(done, oparg);
            if (callable == tstate->interp->callable_cache.len) {
                *kind = CPJIT_C_LEN;
                Py_ssize_t n = PyObject_Length(args[0]);
                *res = n < 0 ? NULL : PyLong_FromSsize_t(n);
                return 1;
            }
            *kind = CPJIT_C_BUILTIN_O;
            if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
                *res = NULL;
                return 1;
            }
            *res = cfunc(self, args[0]);
            _Py_LeaveRecursiveCallTstate(tstate);
            *res = check_result(tstate, callable, *res);
            return 1;
        case METH_FASTCALL: /* PRECALL_BUILTIN_FAST, PRECALL_NO_KW_ISINSTANCE */
            frame->prev_instr = precall_of(done, oparg);
            if (callable == tstate->interp->callable_cache.isinstance && nargs == 2) {
                *kind = CPJIT_C_ISINSTANCE;
                int ok = PyObject_IsInstance(args[0], args[1]);
                *res = ok < 0 ? NULL : PyBool_FromLong(ok);
                return 1;
            }
            *kind = CPJIT_C_BUILTIN_FAST;
            *res = check_result(tstate, callable,
                                ((_PyCFunctionFast)(void (*)(void))cfunc)(self, args, nargs));
            return 1;
        case METH_FASTCALL | METH_KEYWORDS: /* PRECALL_BUILTIN_FAST_WITH_KEYWORDS */
            *kind = CPJIT_C_BUILTIN_FAST_KW;
            frame->prev_instr = precall_of(done, oparg);
            *res = check_result(tstate, callable,
                                ((_PyCFunctionFastWithKeywords)(void (*)(void))cfunc)(
                                    self, args, nargs, NULL));
            return 1;
        default: /* not specialised: the generic call */
            return 0;
        }
    }
    if (tp == &PyMethodDescr_Type) {
        PyMethodDescrObject *descr = (PyMethodDescrObject *)callable;
        /* The descriptor's own type check, as the specialisations make it; the one for
         * `lst.append(x)` as a statement (PRECALL_NO_KW_LIST_APPEND) takes list subclasses too. */
        if (nargs < 1
            || (!Py_IS_TYPE(args[0], descr->d_common.d_type)
                && !(callable == tstate->interp->callable_cache.list_append && nargs == 2
                     && oparg == 1 && _Py_OPCODE(done[1]) == POP_TOP && PyList_Check(args[0])))) {
            return 0;
        }
        PyCFunction cfunc = descr->d_method->ml_meth;
        PyObject *self = args[0];
        switch (descr->d_method->ml_flags) { /* whole: see METH_MASK */
        case METH_NOARGS: /* PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS */
            if (nargs != 1) {
                return 0;
            }
            *kind = CPJIT_C_DESCR_NOARGS;
            frame->prev_instr = precall_of(done, oparg);
            if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
                *res = NULL;
                return 1;
            }
            *res = cfunc(self, NULL);
            _Py_LeaveRecursiveCallTstate(tstate);
            *res = check_result(tstate, callable, *res);
            return 1;
        case METH_O: /* PRECALL_NO_KW_METHOD_DESCRIPTOR_O, PRECALL_NO_KW_LIST_APPEND */
            if (nargs != 2) {
                return 0;
            }
            frame->prev_instr = precall_of(done, oparg);
            *kind = CPJIT_C_DESCR_O;
            if (callable == tstate->interp->callable_cache.list_append && oparg == 1
                && _Py_OPCODE(done[1]) == POP_TOP) {
                *kind = CPJIT_C_LIST_APPEND;
                /* _PyList_AppendTakeRef's room-to-spare case in line (PyList_Append's resize
                 * otherwise); the argument's reference is released by the caller as usual. */
                PyListObject *list = (PyListObject *)self;
                Py_ssize_t len = Py_SIZE(list);
                if (__builtin_expect(list->allocated > len, 1)) {
                    PyList_SET_ITEM(list, len, Py_NewRef(args[1]));
                    Py_SET_SIZE(list, len + 1);
                    *res = Py_NewRef(Py_None);
                    return 1;
                }
                *res = PyList_Append(self, args[1]) < 0 ? NULL : Py_NewRef(Py_None);
                return 1;
            }
            if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
                *res = NULL;
                return 1;
            }
            *res = cfunc(self, args[1]);
            _Py_LeaveRecursiveCallTstate(tstate);
            *res = check_result(tstate, callable, *res);
            return 1;
        case METH_FASTCALL: /* PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST */
            *kind = CPJIT_C_DESCR_FAST;
            frame->prev_instr = precall_of(done, oparg);
            *res = check_result(tstate, callable,
                                ((_PyCFunctionFast)(void (*)(void))cfunc)(self, args + 1,
                                                                          nargs - 1));
            return 1;
        case METH_FASTCALL | METH_KEYWORDS: /* PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS */
            *kind = CPJIT_C_DESCR_FAST_KW;
            frame->prev_instr = precall_of(done, oparg);
            *res = check_result(tstate, callable,
                                ((_PyCFunctionFastWithKeywords)(void (*)(void))cfunc)(
                                    self, args + 1, nargs - 1, NULL));
            return 1;
        default:
            return 0;
        }
    }
    return 0;
}

/* Whether call_slow gives a call of the class `callable` with positional arguments only
 * (`is_meth`: the class came from the method slot) straight to call_other, call_init's first
 * tests turning it down: what call_c_kind's CPJIT_C_CLASS then repeats. */
static inline int class_call_skips_init(PyObject *callable, int is_meth)
{
    PyTypeObject *type = (PyTypeObject *)callable;
    return is_meth || Py_TYPE(callable)->tp_call != PyType_Type.tp_call
           || type->tp_vectorcall != NULL || type->tp_new != PyBaseObject_Type.tp_new
           || type->tp_init == NULL || type->tp_init == PyBaseObject_Type.tp_init;
}

/* Call a callable that is not a Python function, borrowing `callable` and the `total_args`
 * arguments at `args` (the last len(kwnames) of them keyword values). frame->prev_instr is at
 * the CALL. When the interpreter would have specialised the site by now (`warm`, and no
 * tracing), built-in functions, method descriptors and built-in classes are called the way its
 * specialised PRECALL instructions call them: with prev_instr (f_lasti) at the PRECALL, straight
 * into the C function, counting a recursion level only where they do (METH_O, METH_NOARGS), and
 * without counting one for len(x), `lst.append(x)` as a statement and str(x) (PRECALL_NO_KW_LEN,
 * _LIST_APPEND, _STR_1), so the recursion depth a program observes is the warmed-up
 * interpreter's. Anything else goes through PyObject_Vectorcall, as the interpreter's CALL. */
static PyObject *call_other(PyThreadState *tstate, _PyInterpreterFrame *frame,
                            PyObject *callable, PyObject **args, int total_args,
                            PyObject *kwnames, int oparg, _Py_CODEUNIT *done, int warm,
                            uint8_t *kind)
{
    Py_ssize_t nargs = total_args - (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    if (!warm || tstate->cframe->use_tracing) {
        goto generic;
    }
    PyObject *res;
    if (kwnames == NULL) {
        if (call_builtin(tstate, frame, callable, args, nargs, oparg, done, &res, kind)) {
            return res;
        }
    }
    else if (Py_TYPE(callable) == &PyCFunction_Type
             && PyCFunction_GET_FLAGS(callable) == (METH_FASTCALL | METH_KEYWORDS)) {
        /* PRECALL_BUILTIN_FAST_WITH_KEYWORDS */
        frame->prev_instr = precall_of(done, oparg);
        res = ((_PyCFunctionFastWithKeywords)(void (*)(void))PyCFunction_GET_FUNCTION(callable))(
            PyCFunction_GET_SELF(callable), args, nargs, kwnames);
        return check_result(tstate, callable, res);
    }
    if (PyType_Check(callable)) {
        PyTypeObject *type = (PyTypeObject *)callable;
        if (kwnames == NULL && class_call_skips_init(callable, total_args != oparg)) {
            /* What follows, as call_c_kind does it (str(x), type(x) and tuple(x)
             * record their own). */
            *kind = CPJIT_C_CLASS;
        }
        if (type->tp_new == PyBaseObject_Type.tp_new
            || !(type->tp_flags & Py_TPFLAGS_IMMUTABLETYPE)) {
            goto generic;
        }
        if (total_args == 1 && kwnames == NULL && oparg == 1) {
            if (type == &PyUnicode_Type) { /* PRECALL_NO_KW_STR_1 */
                *kind = CPJIT_C_STR_1;
                frame->prev_instr = precall_of(done, oparg);
                return PyObject_Str(args[0]);
            }
            if (type == &PyType_Type) { /* PRECALL_NO_KW_TYPE_1: what type_vectorcall does */
                *kind = CPJIT_C_TYPE_1;
                frame->prev_instr = precall_of(done, oparg);
                return Py_NewRef(Py_TYPE(args[0]));
            }
            if (type == &PyTuple_Type) { /* PRECALL_NO_KW_TUPLE_1: what tuple_vectorcall does */
                *kind = CPJIT_C_TUPLE_1;
                frame->prev_instr = precall_of(done, oparg);
                return PySequence_Tuple(args[0]);
            }
        }
        if (type->tp_vectorcall != NULL) { /* PRECALL_BUILTIN_CLASS, PRECALL_NO_KW_TUPLE_1 */
            frame->prev_instr = precall_of(done, oparg);
        }
    }
generic:
    return PyObject_Vectorcall(callable, args, nargs | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
}

/* Whether the site cache's Python function (init_func, one of the class's slots) may run
 * directly now with `total_args` positional arguments (its first the instance): the conditions
 * of cpjit_direct_callee (filling the cache's code part when its code changed), arguments that
 * bind positionally (missing trailing ones from its defaults), room in the data stack's chunk,
 * and `levels` recursion levels to spare beyond the frame's own. */
CPJIT_HOT
static int slot_ready(PyThreadState *tstate, CpjitCallCache *cc, int total_args, int levels)
{
    PyFunctionObject *func = cc->init_func;
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    if (code != cc->code || cc->epoch != cpjit_code_epoch) {
        CpjitCodeState *st;
        if (code->co_kwonlyargcount != 0 || (st = cpjit_direct_callee(tstate, code)) == NULL) {
            return 0;
        }
        fill_callee_cache(cc, code, st, code->co_argcount);
    }
    else if (!cpjit_hooked_for(tstate) || CPJIT_INTERPRET_ONLY(tstate)
             || (!cpjit_c_stack_ok_fast(tstate) && cpjit_rt_c_stack_low(tstate))) {
        return 0;
    }
    if (tstate->recursion_remaining <= 1 + levels) {
        return 0;
    }
    int argcount = cc->argcount;
    if (total_args > argcount) {
        return 0;
    }
    if (total_args < argcount) {
        PyObject *defs = func->func_defaults;
        if (defs == NULL || total_args < argcount - (int)PyTuple_GET_SIZE(defs)) {
            return 0;
        }
    }
    PyObject **base = tstate->datastack_top;
    return base != NULL && base + cc->framesize < tstate->datastack_limit
           && base != &tstate->datastack_chunk->data[0];
}

/* Run the site cache's function (slot_ready said it may) on `self` and the `nargs` positional
 * arguments at `args` (new references to them in its frame; `self` first): its frame pushed on
 * the data stack, run natively, popped, as _PyObject_Call_Prepend -> _PyFunction_Vectorcall ->
 * the hook would run it (one recursion level for the frame). Returns its result (NULL with an
 * exception set). */
CPJIT_HOT
static PyObject *slot_run(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCallCache *cc,
                          PyObject *self, PyObject *const *args, int nargs)
{
    PyFunctionObject *func = cc->init_func;
    int total_args = nargs + 1;
    int argcount = cc->argcount;
    _PyInterpreterFrame *callee = (_PyInterpreterFrame *)tstate->datastack_top;
    tstate->datastack_top += cc->framesize;
    Py_INCREF(func);
    _PyFrame_InitializeSpecials(callee, func, NULL, cc->nlocalsplus);
    callee->localsplus[0] = Py_NewRef(self);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < nargs; i++) {
        callee->localsplus[i + 1] = Py_NewRef(args[i]);
    }
    if (total_args < argcount) {
        PyObject *defs = func->func_defaults;
        PyObject *const *defaults = &PyTuple_GET_ITEM(defs, PyTuple_GET_SIZE(defs) - argcount);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
        for (int i = total_args; i < argcount; i++) {
            callee->localsplus[i] = Py_NewRef(defaults[i]);
        }
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = argcount; i < cc->nlocalsplus; i++) {
        callee->localsplus[i] = NULL;
    }
    callee->previous = frame;
    tstate->cframe->current_frame = callee;
    tstate->recursion_remaining--;
    cpjit_stats.frames_native++;
    callee->stacktop = -1;
    callee->is_entry = true;
    PyObject *res = cc->entry(callee, callee->localsplus + cc->nlocalsplus, tstate);
    cpjit_pop_direct(tstate, callee);
    return res;
}

/* The site cache's entry for `type`'s `kind` slot (CPJIT_SLOT_INIT: __init__, CPJIT_SLOT_CALL:
 * __call__) when it is a Python function, filled from `type` when needed (the function
 * slot_tp_init / slot_tp_call would look up). Returns 1 when the cache holds it. */
static int slot_cached(CpjitCallCache *cc, PyTypeObject *type, int kind)
{
    if (type == cc->init_type && type->tp_version_tag == cc->init_version
        && cc->slot_kind == kind) {
        return 1;
    }
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        return 0;
    }
    /* What the slot function will find (the lookup also gives the type a version tag). */
    PyObject *f = _PyType_Lookup(type, kind == CPJIT_SLOT_INIT ? &_Py_ID(__init__)
                                                               : &_Py_ID(__call__));
    if (f == NULL || Py_TYPE(f) != &PyFunction_Type
        || !(type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) || type->tp_version_tag == 0) {
        return 0;
    }
    cc->init_type = type;
    cc->init_func = (PyFunctionObject *)f;
    cc->init_version = type->tp_version_tag;
    cc->slot_kind = kind;
    return 1;
}

/* Calling an instance of a class whose __call__ is a Python function (a heap type without
 * vectorcall: _PyObject_MakeTpCall -> slot_tp_call), for positional arguments: one recursion
 * level for the call, then __call__'s frame with the instance first, run natively. Returns 0
 * when that cannot be done here (the generic call does it, exactly), else 1 with the result in
 * *result (NULL with an exception set). */
static int call_slot(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *callable,
                     PyObject *const *args, int nargs, CpjitCallCache *cc, PyObject **result)
{
    PyTypeObject *tp = Py_TYPE(callable);
    if ((tp->tp_flags & Py_TPFLAGS_HAVE_VECTORCALL) || tp->tp_call == NULL
        || !slot_cached(cc, tp, CPJIT_SLOT_CALL) || !slot_ready(tstate, cc, nargs + 1, 1)) {
        return 0;
    }
    /* _PyObject_MakeTpCall's level: cannot fail here (slot_ready saw two to spare). */
    tstate->recursion_remaining--;
    PyObject *res = slot_run(tstate, frame, cc, callable, args, nargs);
    tstate->recursion_remaining++;
    *result = check_result(tstate, callable, res);
    return 1;
}

/* Calling a class the way type_call does when its __new__ is object.__new__ and its __init__ a
 * Python function (calls.h: CpjitCallCache), for positional arguments: one recursion level for
 * the call (_PyObject_MakeTpCall), the instance from object.__new__ (which makes the same checks,
 * abstract classes included), then __init__ directly when slot_ready says so, or its frame
 * built whole by cpjit_call_function when the cached __init__ binds the arguments another way
 * (*args, **kwargs, keyword-only parameters), else through the type's tp_init as type_call
 * calls it; "__init__() should return None" as slot_tp_init raises
 * it. Returns 0 when `callable` is no such class (the generic call handles it), else 1 with the
 * call's result in *result (NULL with an exception set). */
/* The most positional arguments call_init passes to an __init__ it binds whole. */
#define INIT_STACK_ARGS 16

static int call_init(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *callable,
                     PyObject *const *args, int nargs, CpjitCallCache *cc, PyObject **result)
{
    PyTypeObject *type = (PyTypeObject *)callable;
    /* Called through _PyObject_MakeTpCall -> type_call (no vectorcall, the metaclass's call is
     * type's), object.__new__ and an __init__ other than object's: checked at every call, as a
     * metaclass can change without changing the class's version. */
    if (Py_TYPE(callable)->tp_call != PyType_Type.tp_call || type->tp_vectorcall != NULL
        || type->tp_new != PyBaseObject_Type.tp_new || type->tp_init == NULL
        || type->tp_init == PyBaseObject_Type.tp_init) {
        return 0;
    }
    if (type == &PyType_Type || !slot_cached(cc, type, CPJIT_SLOT_INIT)) {
        return 0;
    }
    if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
        *result = NULL;
        return 1;
    }
    PyObject *self = PyBaseObject_Type.tp_new(type, (PyObject *)&_Py_SINGLETON(tuple_empty), NULL);
    if (self != NULL) {
        PyObject *res = NULL;
        /* The allocation may have run code (a finalizer) that changed the class: the cache is
         * checked again. */
        int direct = type == cc->init_type && type->tp_version_tag == cc->init_version
                     && cc->slot_kind == CPJIT_SLOT_INIT && slot_ready(tstate, cc, nargs + 1, 0);
        if (direct) {
            res = slot_run(tstate, frame, cc, self, args, nargs);
        }
        else if (type == cc->init_type && type->tp_version_tag == cc->init_version
                 && cc->slot_kind == CPJIT_SLOT_INIT && nargs < INIT_STACK_ARGS) {
            /* An __init__ whose parameters do not take the arguments one to one (**kwargs,
             * *args, keyword-only ones): the frame built whole, as slot_tp_init ->
             * _PyObject_Call_Prepend -> _PyFunction_Vectorcall would build it, natively when
             * compiled. A slot before the arguments for PY_VECTORCALL_ARGUMENTS_OFFSET. */
            PyObject *stack[INIT_STACK_ARGS + 2];
            stack[0] = NULL;
            stack[1] = Py_NewRef(self);
            for (int i = 0; i < nargs; i++) {
                stack[i + 2] = Py_NewRef(args[i]);
            }
            Py_INCREF(cc->init_func);
            res = cpjit_call_function(tstate, (PyObject *)cc->init_func, stack + 1, nargs + 1,
                                      NULL);
            direct = 1;
        }
        if (!direct) {
            /* type_call's tp_init call, with the arguments as a tuple. */
            int ok = -1;
            PyObject *tuple = PyTuple_New(nargs);
            if (tuple != NULL) {
                for (int i = 0; i < nargs; i++) {
                    PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
                }
                initproc init = Py_TYPE(self)->tp_init;
                ok = init != NULL ? init(self, tuple, NULL) : 0;
                Py_DECREF(tuple);
            }
            if (ok < 0) {
                Py_CLEAR(self);
            }
        }
        else if (res == NULL) {
            Py_CLEAR(self);
        }
        else if (res != Py_None) {
            PyErr_Format(PyExc_TypeError, "__init__() should return None, not '%.200s'",
                         Py_TYPE(res)->tp_name);
            Py_DECREF(res);
            Py_CLEAR(self);
        }
        else {
            Py_DECREF(res);
        }
    }
    _Py_LeaveRecursiveCallTstate(tstate);
    *result = check_result(tstate, callable, self);
    return 1;
}

/* Whether `callable` is a built-in function or method descriptor taking METH_VARARGS, or a
 * built-in function taking METH_NOARGS (`time.time()`, `os.getpid()`), or either with METH_CLASS,
 * METH_STATIC or METH_COEXIST among its flags (see METH_MASK): no specialised PRECALL of 3.11
 * runs those (call_builtin handles none of them), so with or without keyword names the
 * interpreter calls them through PyObject_Vectorcall. */
static inline __attribute__((always_inline)) int c_varargs(PyObject *callable)
{
    PyTypeObject *tp = Py_TYPE(callable);
    int flags = tp == &PyCFunction_Type     ? PyCFunction_GET_FLAGS(callable)
                : tp == &PyMethodDescr_Type ? ((PyMethodDescrObject *)callable)->d_method->ml_flags
                                            : 0;
    return (flags & (METH_VARARGS | METH_CLASS | METH_STATIC | METH_COEXIST)) != 0
           || (tp == &PyCFunction_Type && (flags & METH_MASK) == METH_NOARGS);
}

/* The site cache (calls.h: CpjitCallCache) names a callee taking *args and/or **kwargs by its
 * cpjit_code_epoch-checked code object with argcount CPJIT_ARGCOUNT_VARARGS, filled by
 * call_slow (fill_varargs_cache) when the callee is compiled, optimised and has no keyword-only
 * parameters. */
static void fill_varargs_cache(PyThreadState *tstate, CpjitCallCache *cc, PyCodeObject *code)
{
    CpjitCodeState *st;
    if (!(code->co_flags & (CO_VARARGS | CO_VARKEYWORDS)) || code->co_kwonlyargcount != 0
        || (st = cpjit_direct_frame_callee(tstate, code)) == NULL) {
        return;
    }
    fill_callee_cache(cc, code, st, CPJIT_ARGCOUNT_VARARGS);
}

/* cpjit_push_cached for the callee a varargs cache entry names, called with positional
 * arguments only, bound as the interpreter's inlined CALL binds them (initialize_locals): the
 * first co_argcount arguments to the parameters (missing trailing ones from the defaults), the
 * rest moved into a new *args tuple (the empty tuple when there are none), and a new empty
 * **kwargs dict. The frame pushed, linked and counted as cpjit_push_cached does; NULL, changing
 * nothing, when the site's callee is another one, the arguments would not bind (extra ones
 * without *args, too few), the call may not go directly, or memory runs out (the general path
 * then makes the call and reports any error).
 *
 * The tuple and the dict are allocated before anything else is decided: an allocation may run
 * a garbage collection whose finalizers run Python code (which may assign the function's
 * __code__ or __defaults__, compile or free code objects, switch tracing on). */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
push_varargs_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **slots, int oparg,
                   const CpjitCallCache *cc, _Py_CODEUNIT *done)
{
    PyObject *meth = slots[0];
    PyObject *callable = meth != NULL ? meth : slots[1];
    if (Py_TYPE(callable) != &PyFunction_Type) {
        return NULL;
    }
    PyFunctionObject *func = (PyFunctionObject *)callable;
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    if (code != cc->code || cc->epoch != cpjit_code_epoch) {
        return NULL;
    }
    int total_args = oparg + (meth != NULL);
    int argcount = code->co_argcount;
    int nextra = total_args > argcount ? total_args - argcount : 0;
    int flags = code->co_flags;
    if (nextra > 0 && !(flags & CO_VARARGS)) {
        return NULL; /* the general path raises the TypeError */
    }
    PyObject *varargs = NULL, *varkw = NULL;
    /* As the interpreter binds: the caller on the CALL, the callee's code held (its frame is
     * pushed before the allocations, so a finalizer assigning __code__ changes the next call). */
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
    Py_INCREF(code);
    if ((flags & CO_VARARGS) && (varargs = PyTuple_New(nextra)) == NULL) {
        goto fail;
    }
    if ((flags & CO_VARKEYWORDS) && (varkw = PyDict_New()) == NULL) {
        goto fail;
    }
    /* What the allocations may have changed, checked after them. */
    if (cc->epoch != cpjit_code_epoch || !cpjit_hooked_for(tstate)
        || CPJIT_INTERPRET_ONLY(tstate) || tstate->recursion_remaining <= 1) {
        goto release;
    }
    PyObject *const *defaults;
    _PyInterpreterFrame *callee;
    if (!cpjit_trailing_defaults(func, total_args, argcount, &defaults)
        || (callee = cpjit_cached_room(tstate, cc)) == NULL) {
        goto release;
    }
    /* Committed: nothing below fails or runs code. */
    tstate->datastack_top = (PyObject **)callee + cc->framesize;
    PyObject **args = slots + 2 - (meth != NULL);
    cpjit_init_running_frame(callee, func, code);
    int nbound = total_args - nextra;
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < nbound; i++) {
        callee->localsplus[i] = args[i]; /* moved */
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = nbound; i < argcount; i++) {
        callee->localsplus[i] = Py_NewRef(defaults[i]);
    }
    int n = argcount;
    if (varargs != NULL) {
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
        for (int j = 0; j < nextra; j++) {
            PyTuple_SET_ITEM(varargs, j, args[argcount + j]); /* moved */
        }
        callee->localsplus[n++] = varargs;
    }
    if (varkw != NULL) {
        callee->localsplus[n++] = varkw;
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = n; i < cc->nlocalsplus; i++) {
        callee->localsplus[i] = NULL;
        __asm__("" ::: "memory"); /* a few slots: no call to memset */
    }
    cpjit_link_callee(tstate, frame, callee, slots, done);
    Py_DECREF(code); /* the frame holds its own (cpjit_init_running_frame) */
    return callee;

fail:
    PyErr_Clear(); /* the general path meets the same condition and reports it */
release:
    /* Empty containers: releasing them runs no code. */
    Py_XDECREF(varargs);
    Py_XDECREF(varkw);
    Py_DECREF(code);
    return NULL;
}

/* Whether calls of `callable` (its type `tp`) take the generic way at every site whatever the
 * site has seen (no case of call_slow and call_other applies to its type): then the site records
 * CPJIT_C_OBJECT with the type and its version, and call_c_kind makes its next calls straight
 * away instead of trying each case again (the __call__ lookup of a heap type on every call
 * among them). A heap type's version changes when its __call__ is assigned, and the lookup
 * here gives the type a version tag. Called with no exception set. */
static int fill_object_kind(CpjitCallCache *cc, PyTypeObject *tp)
{
    if (tp == &PyFunction_Type || tp == &PyMethod_Type || tp == &PyCFunction_Type
        || tp == &PyMethodDescr_Type || PyType_IsSubtype(tp, &PyType_Type)) {
        return 0;
    }
    PyObject *call = _PyType_Lookup(tp, &_Py_ID(__call__));
    if ((call != NULL && Py_TYPE(call) == &PyFunction_Type)
        || !(tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) {
        return 0;
    }
    cc->init_type = tp;
    cc->init_func = NULL;
    cc->init_version = tp->tp_version_tag;
    cc->slot_kind = CPJIT_SLOT_OBJECT;
    return 1;
}

/* Whether the interpreter serves the eval breaker right after a C call of this form
 * (CpjitCallCache.c_kind): its specialised PRECALLs for len, isinstance, type(x) and
 * list.append do not (the next instruction that checks does), every other C call does, at the
 * PRECALL for a specialised form (where call_c_kind and call_builtin leave prev_instr) or at the
 * CALL for the generic one. */
static inline int c_kind_serves_breaker(uint8_t kind)
{
    return !(kind == CPJIT_C_LEN || kind == CPJIT_C_ISINSTANCE || kind == CPJIT_C_TYPE_1
             || kind == CPJIT_C_LIST_APPEND);
}

/* cpjit_call's general case (see cpjit_call in calls.h): the call made, the slots consumed, the
 * result returned (NULL with an exception set, prev_instr where the interpreter reports it). */
CPJIT_HOT static __attribute__((noinline)) PyObject *
call_slow(_PyInterpreterFrame *frame, PyObject **slots, PyThreadState *tstate, int oparg,
          CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames, int *serve_breaker)
{
    /* The interpreter serves the eval breaker after every call it does not inline. */
    *serve_breaker = 1;
    PyObject **stack_pointer = slots + oparg + 2;
    split_bound_method(frame, slots, done, oparg);
    int is_meth = slots[0] != NULL;
    int total_args = oparg + is_meth;
    PyObject *callable = slots[1 - is_meth];
    PyObject **args = slots + 2 - is_meth;
    PyObject *res;
    if (Py_TYPE(callable) == &PyFunction_Type) {
        if (kwnames == NULL) {
            _PyInterpreterFrame *callee;
            PyObject **callee_sp;
            CpjitCodeState *cold_st;
            cpjit_native_fn entry = enter_direct(tstate, frame, stack_pointer, oparg, done, cc,
                                                 &callee, &callee_sp, 0, &cold_st);
            if (entry != NULL) {
                callee->is_entry = true;
                res = entry(callee, callee_sp, tstate);
                frame->stacktop = -1;
                cpjit_pop_direct(tstate, callee);
                *serve_breaker = 0;
                return res;
            }
            if (cold_st != NULL) {
                *serve_breaker = 0; /* an inlined call, as below */
                return run_cold_callee(tstate, callee, cold_st);
            }
        }
        if (kwnames == NULL) {
            /* A compiled callee taking *args or **kwargs: bound at the site from its next call
             * on (call_varargs). */
            PyFunctionObject *func = (PyFunctionObject *)callable;
            fill_varargs_cache(tstate, cc, (PyCodeObject *)func->func_code);
        }
        /* The interpreter inlines this call: prev_instr (f_lasti) at the CALL's last cache entry
         * while the callee runs (and where an exception from it is seen to come from), and the
         * callee's frame takes over the arguments. */
        Py_ssize_t npos = total_args - (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
        *serve_breaker = 0;
        return call_as_inlined(tstate, frame, done, callable, args, npos, kwnames);
    }
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
    if (kwnames == NULL && !is_meth
        && (PyType_Check(callable) ? call_init(tstate, frame, callable, args, oparg, cc, &res)
                                   : call_slot(tstate, frame, callable, args, oparg, cc, &res))) {
        goto release;
    }
    /* Once warm, always warm (the countdown only goes up): remembered per site. */
    int warm = cc->warm;
    if (!warm) {
        CpjitCodeState *me = cpjit_state_fast(frame->f_code);
        warm = cc->warm = me != NULL && me->warmup >= 0;
    }
    uint8_t kind = CPJIT_C_NONE;
    res = call_other(tstate, frame, callable, args, total_args, kwnames, oparg, done, warm,
                     &kind);
    if (c_varargs(callable)) {
        cc->c_kind = CPJIT_C_VARARGS; /* the same generic call next time (call_c_kind) */
    }
    else if (kind != CPJIT_C_NONE) {
        cc->c_kind = kind; /* tried first next time (call_c_kind) */
        *serve_breaker = c_kind_serves_breaker(kind);
    }
    else if (res != NULL && fill_object_kind(cc, Py_TYPE(callable))) {
        /* (Not after a failed call: _PyType_Lookup would take its exception for its own.) */
        cc->c_kind = CPJIT_C_OBJECT; /* the same generic call next time (call_c_kind) */
    }
release:
    Py_DECREF(callable);
    for (int i = 0; i < total_args; i++) {
        Py_DECREF(args[i]);
    }
    return res;
}

/* What the CALL stencil did after the call, out of line: the eval breaker (when the call's form
 * serves it, with prev_instr where that form has it), tracing. */
static __attribute__((noinline)) uintptr_t
after_call_slow(_PyInterpreterFrame *frame, PyObject **slots, PyThreadState *tstate,
                _Py_CODEUNIT *done, int serve_breaker)
{
    if (serve_breaker && EVAL_BREAKER_IS_SET(tstate) && cpjit_handle_pending(tstate) < 0) {
        /* Raised where the form serves the breaker, its result on the stack, as in the
         * interpreter. */
        return (uintptr_t)(slots + 1) | 1;
    }
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
    if (CPJIT_INTERPRET_ONLY(tstate)) {
        frame->prev_instr = done;
        return (uintptr_t)(slots + 1) | 1; /* no exception: hand over after the CALL */
    }
    return (uintptr_t)(slots + 1);
}

/* After the call: the result pushed, the eval breaker served if `serve_breaker` (the interpreter
 * serves it after every call but an inlined Python call and the C calls c_kind_serves_breaker
 * excepts), prev_instr at the CALL (calls.h). */
static inline __attribute__((always_inline)) CpjitCallResult
finish_call(_PyInterpreterFrame *frame, PyObject **slots, PyThreadState *tstate, _Py_CODEUNIT *done,
            PyObject *res, int serve_breaker)
{
    if (res == NULL) {
        /* prev_instr is where the interpreter reports the error. */
        return (CpjitCallResult){(uintptr_t)slots | 1, tstate};
    }
    slots[0] = res;
    if (__builtin_expect((serve_breaker & EVAL_BREAKER_IS_SET(tstate))
                             | CPJIT_INTERPRET_ONLY(tstate),
                         0)) {
        return (CpjitCallResult){after_call_slow(frame, slots, tstate, done, serve_breaker),
                                 tstate};
    }
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
    return (CpjitCallResult){(uintptr_t)(slots + 1), tstate};
}

/* Everything but cpjit_call's common case, with its signature: cpjit_call jumps here. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_general(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
             int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    PyObject *res;
    PyObject *meth = slots[0];
    if (kwnames == NULL && cc->warm && !tstate->cframe->use_tracing) {
        /* Built-in functions and method descriptors, once the site is warm (call_builtin). */
        PyObject *callable;
        PyObject **args;
        int total_args;
        if (meth != NULL) {
            callable = meth;
            args = slots + 1;
            total_args = oparg + 1;
        }
        else {
            callable = slots[1];
            args = slots + 2;
            total_args = oparg;
        }
        uint8_t kind = CPJIT_C_NONE;
        if (call_builtin(tstate, frame, callable, args, total_args, oparg, done, &res, &kind)) {
            cc->c_kind = kind; /* tried first next time (call_c_kind) */
            Py_DECREF(callable);
            for (int i = 0; i < total_args; i++) {
                Py_DECREF(args[i]);
            }
            return finish_call(frame, slots, tstate, done, res, c_kind_serves_breaker(kind));
        }
    }
    int serve_breaker;
    res = call_slow(frame, slots, tstate, oparg, cc, done, kwnames, &serve_breaker);
    return finish_call(frame, slots, tstate, done, res, serve_breaker);
}

/* cpjit_call's fast path for the class the site instantiated last (cc->init_type, filled by
 * call_init when its __init__ is a Python function), called with positional arguments: what the
 * general way (call_retarget, call_general, call_slow) reaches for it, without their tests of the
 * other kinds of callable on the way: the instance made and __init__ run by call_init, the
 * arguments released, the eval breaker served as after any call the interpreter does not
 * inline. When call_init turns the call down (the class changed, its metaclass's call is not
 * type's), nothing has been done and the general way takes it. Real programs make most of their
 * objects at such sites (dulwich's walk: five classes a commit). */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_class(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate, int oparg,
           CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    PyObject *callable = slots[1];
    PyObject **args = slots + 2;
    PyObject *res;
    _Py_CODEUNIT *at = frame->prev_instr;
    frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL; /* as call_slow has it for call_init */
    if (!call_init(tstate, frame, callable, args, oparg, cc, &res)) {
        frame->prev_instr = at;
        __attribute__((musttail)) return call_general(frame, stack_pointer, tstate, oparg, cc,
                                                      done, kwnames);
    }
    Py_DECREF(callable);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < oparg; i++) {
        Py_DECREF(args[i]);
    }
    return finish_call(frame, slots, tstate, done, res, 1);
}

/* The C call a site made last (cc->c_kind, recorded by call_general from call_builtin), tried
 * first at its next call: the same guards as call_builtin's case for that form (callable type,
 * flags, argument count, the descriptor's type check; len and list.append by identity), the
 * same call, the same releases, then finish_call, without the checks of the other forms on the
 * way. Any guard failing (another callable at the site, tracing) forgets the kind and starts
 * over at cpjit_call. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_c_kind(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
            int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    PyObject *meth = slots[0];
    PyObject *callable = meth != NULL ? meth : slots[1];
    PyObject **args = meth != NULL ? slots + 1 : slots + 2;
    int total = oparg + (meth != NULL);
    PyTypeObject *tp = Py_TYPE(callable);
    PyObject *res;
    if (__builtin_expect(tstate->cframe->use_tracing, 0)) {
        goto miss;
    }
    switch (cc->c_kind) {
    case CPJIT_C_LEN: {
        if (callable != tstate->interp->callable_cache.len || total != 1) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        Py_ssize_t n = PyObject_Length(args[0]);
        res = n < 0 ? NULL : PyLong_FromSsize_t(n);
        break;
    }
    case CPJIT_C_BUILTIN_O:
        if (tp != &PyCFunction_Type || total != 1
            || PyCFunction_GET_FLAGS(callable) != METH_O
            || callable == tstate->interp->callable_cache.len) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
            res = NULL;
            break;
        }
        res = PyCFunction_GET_FUNCTION(callable)(PyCFunction_GET_SELF(callable), args[0]);
        _Py_LeaveRecursiveCallTstate(tstate);
        res = check_result(tstate, callable, res);
        break;
    case CPJIT_C_BUILTIN_FAST:
        if (tp != &PyCFunction_Type
            || PyCFunction_GET_FLAGS(callable) != METH_FASTCALL) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        res = check_result(tstate, callable,
                           ((_PyCFunctionFast)(void (*)(void))PyCFunction_GET_FUNCTION(callable))(
                               PyCFunction_GET_SELF(callable), args, total));
        break;
    case CPJIT_C_LIST_APPEND: {
        /* The site's oparg (1) and the POP_TOP after it were checked when it was recorded. */
        if (callable != tstate->interp->callable_cache.list_append || total != 2
            || !PyList_Check(args[0])) {
            goto miss;
        }
        PyListObject *list = (PyListObject *)args[0];
        Py_ssize_t len = Py_SIZE(list);
        frame->prev_instr = precall_of(done, oparg);
        if (__builtin_expect(list->allocated > len, 1)) {
            PyList_SET_ITEM(list, len, Py_NewRef(args[1]));
            Py_SET_SIZE(list, len + 1);
            res = Py_NewRef(Py_None);
        }
        else {
            res = PyList_Append((PyObject *)list, args[1]) < 0 ? NULL : Py_NewRef(Py_None);
        }
        break;
    }
    case CPJIT_C_BUILTIN_FAST_KW:
        if (tp != &PyCFunction_Type
            || PyCFunction_GET_FLAGS(callable) != (METH_FASTCALL | METH_KEYWORDS)) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        res = check_result(tstate, callable,
                           ((_PyCFunctionFastWithKeywords)(void (*)(void))PyCFunction_GET_FUNCTION(
                               callable))(PyCFunction_GET_SELF(callable), args, total, NULL));
        break;
    case CPJIT_C_TYPE_1:
        if (callable != (PyObject *)&PyType_Type || total != 1 || oparg != 1) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        res = Py_NewRef(Py_TYPE(args[0]));
        break;
    case CPJIT_C_TUPLE_1:
        if (callable != (PyObject *)&PyTuple_Type || total != 1 || oparg != 1) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        res = PySequence_Tuple(args[0]);
        break;
    case CPJIT_C_ISINSTANCE: {
        if (callable != tstate->interp->callable_cache.isinstance || total != 2) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        int ok = PyObject_IsInstance(args[0], args[1]);
        res = ok < 0 ? NULL : PyBool_FromLong(ok);
        break;
    }
    case CPJIT_C_STR_1:
        if (callable != (PyObject *)&PyUnicode_Type || total != 1 || oparg != 1) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        res = PyObject_Str(args[0]);
        break;
    case CPJIT_C_CLASS: {
        /* call_other's call of a class that call_slow gives it straight away (str(x), type(x)
         * and tuple(x) excepted): prev_instr at the PRECALL where the interpreter specialises
         * it (PRECALL_BUILTIN_CLASS), else at the CALL; the call PyObject_Vectorcall's, which
         * is the class's tp_vectorcall when the metaclass is `type` and it has one. */
        PyTypeObject *type = (PyTypeObject *)callable;
        if (!PyType_Check(callable) || !class_call_skips_init(callable, meth != NULL)) {
            goto miss;
        }
        int immutable = (type->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) != 0;
        if (immutable && total == 1 && oparg == 1
            && (type == &PyUnicode_Type || type == &PyType_Type || type == &PyTuple_Type)) {
            goto miss;
        }
        vectorcallfunc vectorcall = type->tp_vectorcall;
        if (immutable && vectorcall != NULL && type->tp_new != PyBaseObject_Type.tp_new) {
            frame->prev_instr = precall_of(done, oparg);
            if (tp == &PyType_Type) {
                res = check_result(tstate, callable,
                                   vectorcall(callable, args,
                                              total | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL));
                break;
            }
        }
        else {
            frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
        }
        res = PyObject_Vectorcall(callable, args, total | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        break;
    }
    case CPJIT_C_OBJECT:
        if (tp != cc->init_type || tp->tp_version_tag != cc->init_version
            || cc->slot_kind != CPJIT_SLOT_OBJECT) {
            goto miss;
        }
        __attribute__((fallthrough)); /* the generic call, as for CPJIT_C_VARARGS */
    case CPJIT_C_VARARGS: {
        if (cc->c_kind == CPJIT_C_VARARGS && !c_varargs(callable)) {
            goto miss;
        }
        /* call_slow's generic call: prev_instr at the CALL. */
        frame->prev_instr = done - INLINE_CACHE_ENTRIES_CALL;
        Py_ssize_t nargs = total - (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
        res = PyObject_Vectorcall(callable, args, nargs | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
        break;
    }
    case CPJIT_C_DESCR_NOARGS:
    case CPJIT_C_DESCR_O:
    case CPJIT_C_DESCR_FAST:
    case CPJIT_C_DESCR_FAST_KW: {
        PyMethodDescrObject *descr = (PyMethodDescrObject *)callable;
        if (tp != &PyMethodDescr_Type || total < 1
            || !Py_IS_TYPE(args[0], descr->d_common.d_type)) {
            goto miss;
        }
        PyCFunction cfunc = descr->d_method->ml_meth;
        int flags = descr->d_method->ml_flags; /* whole: see METH_MASK */
        if (cc->c_kind == CPJIT_C_DESCR_FAST_KW) {
            if (flags != (METH_FASTCALL | METH_KEYWORDS)) {
                goto miss;
            }
            frame->prev_instr = precall_of(done, oparg);
            res = check_result(tstate, callable,
                               ((_PyCFunctionFastWithKeywords)(void (*)(void))cfunc)(
                                   args[0], args + 1, total - 1, NULL));
            break;
        }
        if (cc->c_kind == CPJIT_C_DESCR_FAST) {
            if (flags != METH_FASTCALL) {
                goto miss;
            }
            frame->prev_instr = precall_of(done, oparg);
            res = check_result(tstate, callable,
                               ((_PyCFunctionFast)(void (*)(void))cfunc)(args[0], args + 1,
                                                                         total - 1));
            break;
        }
        if (cc->c_kind == CPJIT_C_DESCR_NOARGS ? flags != METH_NOARGS || total != 1
                                               : flags != METH_O || total != 2
                                                     || callable == tstate->interp
                                                                        ->callable_cache.list_append) {
            goto miss;
        }
        frame->prev_instr = precall_of(done, oparg);
        if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
            res = NULL;
            break;
        }
        res = cfunc(args[0], total == 2 ? args[1] : NULL);
        _Py_LeaveRecursiveCallTstate(tstate);
        res = check_result(tstate, callable, res);
        break;
    }
    default:
        goto miss;
    }
    Py_DECREF(callable);
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < total; i++) {
        Py_DECREF(args[i]);
    }
    return finish_call(frame, slots, tstate, done, res, c_kind_serves_breaker(cc->c_kind));
miss:
    cc->c_kind = CPJIT_C_NONE;
    __attribute__((musttail)) return cpjit_call(frame, stack_pointer, tstate, oparg, cc, done,
                                                kwnames);
}

/* A callee pushed and linked for a direct call (cpjit_push_cached, push_varargs_frame,
 * enter_direct: the caller's stack pointer saved at `slots`), handed to the CALL stencil to jump
 * into at `entry` with its stack pointer `sp` (CPJIT_CALL_ENTER, see CpjitCallResult): no C
 * frame for the call; the callee's frame exit (cpjit_frame_exit) pops it and finishes the
 * call. */
static inline __attribute__((always_inline)) CpjitCallResult
jump_direct(PyObject **slots, PyThreadState *tstate, _PyInterpreterFrame *callee,
            cpjit_native_fn entry, PyObject **sp)
{
    callee->is_entry = false;
    sp[0] = (PyObject *)entry;
    slots[1] = (PyObject *)sp;
    return (CpjitCallResult){(uintptr_t)slots | CPJIT_CALL_ENTER, tstate};
}

CPJIT_HOT __attribute__((preserve_none)) PyObject *
cpjit_enter_callee(_PyInterpreterFrame *continuation, PyObject **tagged_slots,
                   PyThreadState *tstate)
{
    PyObject **slots = (PyObject **)((uintptr_t)tagged_slots & ~(uintptr_t)CPJIT_CALL_ENTER);
    PyObject **callee_sp = (PyObject **)slots[1];
    slots[0] = (PyObject *)continuation;
    __attribute__((musttail)) return ((cpjit_native_fn)callee_sp[0])(
        tstate->cframe->current_frame, callee_sp, tstate);
}

/* cpjit_frame_exit when the callee raised: the caller (`slots` its call's first slot, the
 * callee's frame popped) unwinds from its CALL. Apart, so that the common path computes nothing
 * for it. */
static __attribute__((preserve_none, noinline, cold)) PyObject *
frame_exit_raised(_PyInterpreterFrame *caller, PyObject **slots, PyThreadState *tstate)
{
    PyObject *caller_result;
    cpjit_native_fn handler =
        cpjit_unwind_error(caller, slots, tstate, CPJIT_R_EXCEPTION, &caller_result);
    if (handler == NULL) {
        __attribute__((musttail)) return cpjit_frame_exit(caller, (PyObject **)caller_result,
                                                          tstate);
    }
    PyObject **sp = _PyFrame_GetStackPointer(caller);
    caller->stacktop = -1;
    __attribute__((musttail)) return handler(caller, sp, tstate);
}

CPJIT_HOT __attribute__((preserve_none)) PyObject *
cpjit_frame_exit(_PyInterpreterFrame *frame, PyObject **result, PyThreadState *tstate)
{
    PyObject *res = (PyObject *)result;
    if (frame->is_entry) {
        return res;
    }
    cpjit_pop_direct(tstate, frame);
    /* Read after the pop (nothing a finalizer run by it may do changes them), so that fewer
     * values live across its releases. The popped frame's memory is intact: nothing has been
     * pushed over it. */
    _PyInterpreterFrame *caller = frame->previous;
    PyObject **slots = _PyFrame_GetStackPointer(caller);
    cpjit_native_fn cont = (cpjit_native_fn)slots[0];
    caller->stacktop = -1;
    if (__builtin_expect(res == NULL, 0)) {
        __attribute__((musttail)) return frame_exit_raised(caller, slots, tstate);
    }
    slots[0] = res;
    if (__builtin_expect(CPJIT_INTERPRET_ONLY(tstate), 0)) {
        /* prev_instr is at the CALL's last cache entry: the interpreter goes on after it (a
         * tail call, so that the common path computes nothing for it). */
        __attribute__((musttail)) return cpjit_handover_traced(caller, slots + 1, tstate);
    }
    caller->prev_instr -= INLINE_CACHE_ENTRIES_CALL;
    __attribute__((musttail)) return cont(caller, slots + 1, tstate);
}

__attribute__((preserve_none, cold)) PyObject *
cpjit_traced_after_release(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                           PyThreadState *tstate)
{
    frame->prev_instr = cpjit_instruction_last_unit(frame->prev_instr);
    __attribute__((musttail)) return cpjit_handover_traced(frame, stack_pointer, tstate);
}

__attribute__((preserve_none, cold)) PyObject *
cpjit_handover_traced(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate)
{
    PyObject *res = cpjit_handover(frame, stack_pointer, tstate, 0, CPJIT_R_TRACING_MIDFRAME);
    __attribute__((musttail)) return cpjit_frame_exit(frame, (PyObject **)res, tstate);
}

__attribute__((preserve_none, cold)) PyObject *
cpjit_truth_traced(_PyInterpreterFrame *frame, PyObject **tagged_sp, PyThreadState *tstate)
{
    int truth = (int)((uintptr_t)tagged_sp & 1);
    PyObject **stack_pointer = (PyObject **)((uintptr_t)tagged_sp & ~(uintptr_t)1);
    /* prev_instr is the jump's REDO: its code unit and oparg read forward from there (the unit
     * before a jump may be a cache entry, so reading backward is ambiguous). */
    _Py_CODEUNIT *redo = frame->prev_instr;
    int oparg;
    _Py_CODEUNIT *jump = cpjit_decode_redo(redo, &oparg); /* also its DONE: no cache entries */
    int opcode = _Py_OPCODE(*jump);
    int jump_when = opcode == POP_JUMP_FORWARD_IF_TRUE || opcode == POP_JUMP_BACKWARD_IF_TRUE;
    int backward = opcode == POP_JUMP_BACKWARD_IF_TRUE || opcode == POP_JUMP_BACKWARD_IF_FALSE;
    if (truth != jump_when) {
        frame->prev_instr = jump;
    }
    else if (backward || cpjit_same_line(frame->f_code, jump, redo)) {
        *stack_pointer++ = truth ? Py_NewRef(Py_True) : Py_NewRef(Py_False);
    }
    else {
        frame->prev_instr = jump + oparg; /* the code unit before the forward jump's target */
    }
    __attribute__((musttail)) return cpjit_handover_traced(frame, stack_pointer, tstate);
}

CPJIT_HOT __attribute__((preserve_none)) PyObject *
cpjit_return_value(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate)
{
    PyObject *retval = stack_pointer[-1];
    _PyFrame_SetStackPointer(frame, stack_pointer - 1);
    cpjit_leave_frame(frame, tstate);
    __attribute__((musttail)) return cpjit_frame_exit(frame, (PyObject **)retval, tstate);
}

CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_retarget(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
              int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames);

/* cpjit_call's fast path for a bound-method object called as `f(...)`, kept out of the common
 * path's registers, with its signature: cpjit_call jumps here. A method of a Python function
 * that is not the site's cached callee (a site that calls the methods of many classes, as a
 * visitor's `handler(node)` does) is split as PRECALL splits it and retargeted, as a plain
 * function's call is: the stencil jumps into the callee, no C frame on the way (call_slow,
 * which the general way reaches, would run it from C); anything else goes the general way. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_bound(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
           int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    _PyInterpreterFrame *callee = cpjit_push_cached(tstate, frame, slots, oparg, cc, done, 1);
    if (callee == NULL) {
        if (Py_TYPE(((PyMethodObject *)slots[1])->im_func) == &PyFunction_Type) {
            split_bound_method(frame, slots, done, oparg);
            __attribute__((musttail)) return call_retarget(frame, stack_pointer, tstate, oparg, cc,
                                                           done, kwnames);
        }
        __attribute__((musttail)) return call_general(frame, stack_pointer, tstate, oparg, cc,
                                                      done, kwnames);
    }
    return jump_direct(slots, tstate, callee, cc->entry, callee->localsplus + cc->nlocalsplus);
}

/* A call of a Python function the site's cache does not serve, as call_slow makes it (its
 * frame built whole by cpjit_call_function, with prev_instr at `done`), then finish_call;
 * anything but a Python function (in the callable slot or the method slot) goes the general
 * way. cpjit_call jumps here for keyword names (unless the site remembers a METH_VARARGS
 * callable), call_retarget when the direct call does not apply: neither makes the general
 * path's tests of every other kind of callable. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_python_whole(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
                  int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    PyObject *meth = slots[0];
    PyObject *callable = meth != NULL ? meth : slots[1];
    if (Py_TYPE(callable) != &PyFunction_Type) {
        __attribute__((musttail)) return call_general(frame, stack_pointer, tstate, oparg, cc,
                                                      done, kwnames);
    }
    if (kwnames == NULL) {
        PyFunctionObject *func = (PyFunctionObject *)callable;
        fill_varargs_cache(tstate, cc, (PyCodeObject *)func->func_code);
    }
    int total_args = oparg + (meth != NULL);
    PyObject **args = meth != NULL ? slots + 1 : slots + 2;
    Py_ssize_t npos = total_args - (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *res = call_as_inlined(tstate, frame, done, callable, args, npos, kwnames);
    /* The interpreter inlines this call: nothing serves the breaker when it returns. */
    return finish_call(frame, slots, tstate, done, res, 0);
}

/* Whether the function in the CALL's slots is one of the site's older callees: then it is
 * swapped with the entry's (which becomes the older one), for cpjit_push_cached. */
static inline __attribute__((always_inline)) int
promote_older_callee(CpjitCallCache *cc, PyObject **slots)
{
    PyObject *callable = slots[0] != NULL ? slots[0] : slots[1];
    PyCodeObject *code = (PyCodeObject *)((PyFunctionObject *)callable)->func_code;
    if (cc->epoch != cpjit_code_epoch || cc->argcount == CPJIT_ARGCOUNT_VARARGS) {
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        CpjitOlderCallee *o = &cc->older[i];
        if (o->code == code) {
            CpjitOlderCallee was = entry_callee(cc);
            cc->code = o->code;
            cc->entry = o->entry;
            cc->argcount = o->argcount;
            cc->nlocalsplus = o->nlocalsplus;
            cc->framesize = o->framesize;
            *o = was;
            cpjit_stats.calls_older_callee++;
            return 1;
        }
    }
    return 0;
}

/* cpjit_call when the site's cache does not name the callee and no other fast form applies
 * (no keyword names): a compiled Python function the call binds positionally (a site that
 * calls several, or a callee that was compiled since) is pushed and run here, the cache
 * refilled for it (enter_direct); another Python function has its frame built whole
 * (call_python_whole); anything else goes the general way. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_retarget(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
              int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    if (Py_TYPE(slots[0] != NULL ? slots[0] : slots[1]) != &PyFunction_Type) {
        __attribute__((musttail)) return call_general(frame, stack_pointer, tstate, oparg, cc,
                                                      done, kwnames);
    }
    _PyInterpreterFrame *callee;
    if (promote_older_callee(cc, slots)
        && (callee = cpjit_push_cached(tstate, frame, slots, oparg, cc, done, 0)) != NULL) {
        return jump_direct(slots, tstate, callee, cc->entry, callee->localsplus + cc->nlocalsplus);
    }
    PyObject **callee_sp;
    CpjitCodeState *cold_st;
    cpjit_native_fn entry = enter_direct(tstate, frame, stack_pointer, oparg, done, cc, &callee,
                                         &callee_sp, 1, &cold_st);
    if (entry == NULL) {
        if (cold_st != NULL) {
            /* The interpreter inlines this call: nothing serves the breaker when it returns. */
            return finish_call(frame, slots, tstate, done, run_cold_callee(tstate, callee, cold_st),
                               0);
        }
        __attribute__((musttail)) return call_python_whole(frame, stack_pointer, tstate, oparg,
                                                           cc, done, kwnames);
    }
    return jump_direct(slots, tstate, callee, entry, callee_sp);
}

/* cpjit_call for a site whose cache names a callee taking *args or **kwargs: its frame bound
 * and run natively when push_varargs_frame applies, else the general way. */
CPJIT_HOT static __attribute__((preserve_none, noinline)) CpjitCallResult
call_varargs(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
             int oparg, CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    _PyInterpreterFrame *callee = push_varargs_frame(tstate, frame, slots, oparg, cc, done);
    if (callee == NULL) {
        __attribute__((musttail)) return call_general(frame, stack_pointer, tstate, oparg, cc,
                                                      done, kwnames);
    }
    return jump_direct(slots, tstate, callee, cc->entry, callee->localsplus + cc->nlocalsplus);
}

CPJIT_HOT __attribute__((preserve_none)) CpjitCallResult
cpjit_call(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate, int oparg,
           CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames)
{
    PyObject **slots = stack_pointer - oparg - 2;
    _PyInterpreterFrame *callee;
    if (kwnames != NULL) {
        if (cc->c_kind == CPJIT_C_VARARGS || cc->c_kind == CPJIT_C_OBJECT) {
            __attribute__((musttail)) return call_c_kind(frame, stack_pointer, tstate, oparg, cc,
                                                         done, kwnames);
        }
        __attribute__((musttail)) return call_python_whole(frame, stack_pointer, tstate, oparg,
                                                           cc, done, kwnames);
    }
    if (cc->c_kind != CPJIT_C_NONE) {
        __attribute__((musttail)) return call_c_kind(frame, stack_pointer, tstate, oparg, cc,
                                                     done, kwnames);
    }
    if ((callee = cpjit_push_cached(tstate, frame, slots, oparg, cc, done, 0)) == NULL) {
        if (cc->argcount == CPJIT_ARGCOUNT_VARARGS) {
            __attribute__((musttail)) return call_varargs(frame, stack_pointer, tstate, oparg, cc,
                                                          done, kwnames);
        }
        if (slots[0] == NULL && slots[1] == (PyObject *)cc->init_type
            && cc->slot_kind == CPJIT_SLOT_INIT && PyType_Check(slots[1])) {
            __attribute__((musttail)) return call_class(frame, stack_pointer, tstate, oparg, cc,
                                                        done, kwnames);
        }
        if (slots[0] == NULL && Py_TYPE(slots[1]) == &PyMethod_Type) {
            __attribute__((musttail)) return call_bound(frame, stack_pointer, tstate, oparg, cc,
                                                        done, kwnames);
        }
        __attribute__((musttail)) return call_retarget(frame, stack_pointer, tstate, oparg, cc,
                                                       done, kwnames);
    }
    /* The stencil jumps into the callee: no C frame, no return address for this Python call. */
    return jump_direct(slots, tstate, callee, cc->entry, callee->localsplus + cc->nlocalsplus);
}
