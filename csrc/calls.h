/* calls.h: calling from native code. */
#ifndef CPJIT_CALLS_H
#define CPJIT_CALLS_H

#include "cold_regions.h"
#include "cpjit_rt.h"
#include "internal/pycore_interp.h"
#include "opcode.h"

/* Call the Python function `function` as the interpreter's inlined CALL does, consuming the
 * references to it and to every argument: when the arguments bind without error they move into
 * the callee's frame (so they are released with its locals, in their order, when it returns, as
 * in plain CPython), and the frame runs natively when compiled, else through the frame
 * evaluator; any other case is a generic call followed by releasing the references. */
PyObject *cpjit_call_function(PyThreadState *tstate, PyObject *function, PyObject *const *args,
                              Py_ssize_t npos, PyObject *kwnames);

/* The vectorcall of a Python function whose code cpjit has compiled (runtime.c installs it on
 * the function object at the first native entry of one of its frames; CPython 3.12 has
 * PyFunction_SetVectorcall for this): C code calling the function (a C function, a type slot
 * such as __init__, __eq__ or __hash__, functools) enters its native code directly, without
 * _PyFunction_Vectorcall -> _PyEval_Vector -> the frame-evaluation hook. Everything native code
 * may not run directly (cpjit_direct_frame_callee: another evaluator, tracing, the recursion
 * and C stack limits, code not compiled (a new __code__)) and arguments that do not bind here go
 * through _PyFunction_Vectorcall as before. A function that stays cold (calls.h's callee_state)
 * gets its frame pushed here and run by the interpreter, counted, as the hook would; the hook
 * sets this vectorcall on such functions at their first cold call. A call from an
 * interpreter-run CALL that plain CPython would have inlined is made to look inlined (calls.c's
 * run_as_inlined_call). */
PyObject *cpjit_function_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames);

/* Whether `op` is one of the forms of CALL the interpreter runs a Python-to-Python call from
 * (the hook makes those calls look inlined: runtime.c's as_inlined_call). */
static inline int cpjit_is_interpreter_call_op(int op)
{
    return op == CALL || op == CALL_ADAPTIVE || op == CALL_PY_EXACT_ARGS
           || op == CALL_PY_WITH_DEFAULTS;
}

/* Whether a call that looks like an interpreter-run CALL's own (its function just below its
 * arguments on the caller's value stack, the CALL's argument count) was made by the interpreter
 * itself, judged by how far the current C frame (`here`, its frame address) lies below the
 * interpreter running the caller (its `cframe`, a local of _PyEval_EvalFrameDefault).
 *
 * The slot below the arguments can hold the function for a call the CALL does not make: C code
 * that forwards its own arguments may write the function there for the length of its call
 * (functools.partial with one bound argument, as PEP 590's PY_VECTORCALL_ARGUMENTS_OFFSET allows:
 * `partial(operator.call, f)(x)` reaches f with x in place and f just below it), and puts back
 * what was there afterwards, so it calls from a C frame of its own beneath the interpreter's.
 * The interpreter's own calls come through one fixed chain of C frames, the shallowest; its
 * depth for each entry point (`direct_depth`: the hook's, the vectorcall's) is measured once, by
 * a call the interpreter makes when cpjit is enabled (runtime.c: calibrate_direct_depths). A
 * deeper call is a forwarded one. Unknown depths (0: not measured), and a depth that is no
 * distance within one stack (the call came onto a stack segment), tell nothing: such calls are
 * taken for the interpreter's, as before this test existed. */
#define CPJIT_DIRECT_DEPTH_MAX (64 * 1024)
extern uintptr_t cpjit_direct_depth_hook, cpjit_direct_depth_vectorcall;

/* How far `here` lies below the interpreter running the current frame, or 0 when that is no
 * distance within one stack. */
static inline __attribute__((always_inline)) uintptr_t
cpjit_depth_below_interpreter(PyThreadState *tstate, uintptr_t here)
{
    uintptr_t there = (uintptr_t)tstate->cframe;
    return there > here && there - here <= CPJIT_DIRECT_DEPTH_MAX ? there - here : 0;
}

static inline __attribute__((always_inline)) int
cpjit_made_by_the_interpreter(PyThreadState *tstate, uintptr_t here, uintptr_t direct_depth)
{
    uintptr_t depth = cpjit_depth_below_interpreter(tstate, here);
    return direct_depth == 0 || depth == 0 || depth <= direct_depth;
}

/* The run of a frame cpjit_function_vectorcall pushed for a call that stays in the interpreter
 * (runtime.c; counted, interpreted). */
PyObject *cpjit_rt_run_cold_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                  CpjitCodeState *st);

/* A call made to look inlined by the hook (runtime.c) has returned normally: the interpreter's
 * inlined return releases the callee's frame while the caller's prev_instr is still at the
 * CALL's last cache entry (a finalizer sees that f_lasti), but _PyEval_Vector pops it only after
 * the hook returned, so what it may release early goes here, in _PyFrame_Clear's order: a frame
 * object nothing else holds, the locals, a locals() dict. A frame object referenced elsewhere
 * takes the locals over instead: then _PyFrame_Clear does it all. (calls.c's
 * run_as_inlined_call pops its own frames whole before prev_instr goes back.) */
static inline __attribute__((always_inline)) void
cpjit_release_locals_as_inlined(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (frame->frame_obj != NULL && Py_REFCNT(frame->frame_obj) == 1
        && frame->owner == FRAME_OWNED_BY_THREAD) {
        /* A frame object nothing else holds dies here, as in _PyFrame_Clear (it does not own
         * the frame's data), and the locals go as without one. */
        PyFrameObject *f = frame->frame_obj;
        frame->frame_obj = NULL;
        Py_DECREF(f);
    }
    if (frame->frame_obj == NULL && frame->owner == FRAME_OWNED_BY_THREAD) {
        int n = frame->stacktop;
        frame->stacktop = 0;
        tstate->recursion_remaining--; /* as _PyEvalFrameClearAndPop counts it */
        for (int i = 0; i < n; i++) {
            Py_XDECREF(frame->localsplus[i]);
        }
        Py_CLEAR(frame->f_locals); /* a locals() dict, after the locals as _PyFrame_Clear */
        tstate->recursion_remaining++;
    }
}

/* The frame-eval function (runtime.c). */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
/* Whether the thread's C stack is too low for another native frame (runtime.c): below that,
 * calls go the generic way and the hook runs the frame in the interpreter, unhooked. */
int cpjit_rt_c_stack_low(PyThreadState *tstate);
/* Run fn(arg) on a C stack segment one level deeper (stack_segments.c), sized for this thread;
 * 0 when none can be had (fn has not run). */
int cpjit_rt_run_deeper(void (*fn)(void *), void *arg);

/* Where a frame for `code` would go on the thread's data stack, or NULL when the current chunk
 * has no room (the fast path of _PyThreadState_BumpFramePointer; its slow path is not exported,
 * so the generic call handles that case). Nothing is pushed: the caller moves
 * tstate->datastack_top to `*top` once it commits. */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
cpjit_frame_room(PyThreadState *tstate, PyCodeObject *code,
                 PyObject ***top)
{
    PyObject **base = tstate->datastack_top;
    size_t size = code->co_nlocalsplus + code->co_stacksize + FRAME_SPECIALS_SIZE;
    if (base == NULL || base + size >= tstate->datastack_limit
        || base == &tstate->datastack_chunk->data[0]) {
        return NULL;
    }
    *top = base + size;
    return (_PyInterpreterFrame *)base;
}
/* The C stack guard's one-entry cache (runtime.c): the thread state it was filled for (its
 * address, unique id and OS thread) and the usable part of that thread's stack above the soft
 * floor, [soft, soft + span). */
typedef struct {
    PyThreadState *tstate;
    uint64_t id;
    unsigned long thread_id;
    uintptr_t soft, span;
} CpjitStackCache;
extern CpjitStackCache cpjit_stack_cache;

/* Whether the C stack is known to have room for another native frame (the cached range holds
 * the stack pointer above its soft floor). 0 means "ask cpjit_rt_c_stack_low", not "low". */
static inline __attribute__((always_inline)) int cpjit_c_stack_ok_fast(PyThreadState *tstate)
{
    uintptr_t sp;
    __asm__("movq %%rsp, %0" : "=r"(sp));
    const CpjitStackCache *c = &cpjit_stack_cache;
    return tstate == c->tstate && tstate->id == c->id && tstate->thread_id == c->thread_id
           && sp - c->soft < c->span;
}

/* property.__get__ for an instance (or class) `obj` when the property is an exact `property`
 * whose getter is a Python function: the getter called as property_descr_get calls it
 * (PyObject_CallOneArg), through cpjit_call_function, so a compiled getter runs natively
 * without the frame-evaluation hook (what 3.12's LOAD_ATTR_PROPERTY does). Its result, or NULL
 * with an exception set; NULL without one when this is not such a property (the caller calls
 * __get__ itself). */
PyObject *cpjit_property_get(PyObject *prop, PyObject *obj);

/* CALL_FUNCTION_EX's call, PyObject_Call(callable, callargs, kwargs) (an exact tuple, an exact
 * dict or NULL, all borrowed): a Python function, or a bound method of one, gets its frame built
 * by cpjit_call_function (natively when compiled, without the frame-evaluation hook); anything
 * else, and keys that are not strs, PyObject_Call. */
PyObject *cpjit_call_ex(PyThreadState *tstate, PyObject *callable, PyObject *callargs,
                        PyObject *kwargs);

/* A Python function (an exact function object, borrowed) called from C with `nargs` positional
 * arguments whose references the call takes over, as PyObject_Vectorcall would call it: its
 * frame pushed with the arguments in place and run natively when they bind exactly and it may
 * be called directly (cpjit_direct_callee), else through cpjit_call_function (which binds
 * anything and enters the interpreter where it must). args[-1] must be writable
 * (PY_VECTORCALL_ARGUMENTS_OFFSET). The result, or NULL with an exception set. */
PyObject *cpjit_call_python(PyThreadState *tstate, PyObject *function, PyObject **args,
                            int nargs);

/* The state of `code` when native code may call it directly right now, else NULL (make a
 * generic call). Direct calls need: cpjit's evaluator to be the current one (a profiler or
 * another PEP 523 hook installed over it must see every call), no tracing, compiled code, an
 * optimised code object (its frame has no locals dict), and recursion depth and C stack to
 * spare (at the limits the generic path raises RecursionError, or runs the frame unhooked, as
 * runtime.c decides): cpjit_direct_frame_callee, for a frame its caller built whole
 * (cpjit_call_function binds *args and **kwargs too). cpjit_direct_callee, for the callers that
 * move positional arguments straight into the frame, also needs no varargs or varkeywords
 * parameters. A call native code jumps into (calls.c: enter_direct, jump_direct) takes no C
 * stack: callee_state with `uses_c_stack` 0. */
/* With `cold` non-NULL, also the state of code that is not compiled but whose call stays in the
 * interpreter with nothing for the hook to decide (*cold set to 1; 0 for compiled code): the
 * hook's cold case (runtime.c's cold_function_state), and not the call that reaches the
 * threshold (it goes through the hook, which compiles), never a generator or coroutine
 * (cpjit_function_vectorcall runs such frames cold itself). */
static inline __attribute__((always_inline)) CpjitCodeState *
callee_state(PyThreadState *tstate, PyCodeObject *code, const int uses_c_stack, int *cold)
{
    if (!(code->co_flags & CO_OPTIMIZED) || !cpjit_direct_extra_ok
        || !cpjit_hooked_for(tstate) || CPJIT_INTERPRET_ONLY(tstate)
        || tstate->recursion_remaining <= 1) {
        return NULL;
    }
    CpjitCodeState *st = cpjit_state_fast(code);
    if (st == NULL) {
        return NULL;
    }
    if (st->state == CPJIT_COMPILED) {
        if (cold != NULL) {
            *cold = 0;
        }
    }
    else if (cold != NULL && st->state == CPJIT_COUNTING && st->calls + 1 < cpjit_threshold
             && !(st->tier & CPJIT_TIER_NOT_PLAIN_COLD)
             && !(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))) {
        *cold = 1;
    }
    else {
        return NULL;
    }
    if (uses_c_stack && !cpjit_c_stack_ok_fast(tstate) && cpjit_rt_c_stack_low(tstate)) {
        return NULL;
    }
    return st;
}

static inline __attribute__((always_inline)) CpjitCodeState *
direct_callee_state(PyThreadState *tstate, PyCodeObject *code, const int uses_c_stack)
{
    return callee_state(tstate, code, uses_c_stack, NULL);
}

static inline __attribute__((always_inline)) CpjitCodeState *
cpjit_direct_frame_callee(PyThreadState *tstate, PyCodeObject *code)
{
    return direct_callee_state(tstate, code, 1);
}

static inline __attribute__((always_inline)) CpjitCodeState *
cpjit_direct_callee(PyThreadState *tstate, PyCodeObject *code)
{
    if (code->co_flags & (CO_VARARGS | CO_VARKEYWORDS)) {
        return NULL;
    }
    return direct_callee_state(tstate, code, 1);
}

/* Bumped whenever a compiled code object dies (runtime.c's free_state): a call-site cache that
 * names a code object by address is valid only while the epoch it was filled in is current. */
extern uint64_t cpjit_code_epoch;

/* A callee a CALL site called directly before the one its cache's entry names (see
 * CpjitCallCache.older): what cpjit_push_cached reads of the entry. */
typedef struct {
    PyCodeObject *code;  /* borrowed; valid only while the cache's epoch is current; NULL: none */
    cpjit_native_fn entry;
    int32_t argcount;
    int32_t nlocalsplus;
    int32_t framesize;
    int32_t unused;
} CpjitOlderCallee;

/* A CALL site's cache (its _JIT_CACHE, two zeroed 64-byte slots): the compiled Python function last
 * called directly there (positional arguments only, the missing trailing ones from its
 * defaults; no keyword-only parameters, no varargs or varkeywords, optimised code), by code
 * object, and what pushing its frame needs. Filled by cpjit_call (calls.c's call_slow). The
 * class last instantiated there whose __init__ is a Python function (calls.c's call_init), or
 * the class of the instance last called there whose __call__ is a Python function (call_slot):
 * valid while the class's tp_version_tag is the one recorded (any change to the class or its
 * bases, including its __init__, __call__, __new__ or __abstractmethods__, changes it); that
 * function's code is then `code` when it runs directly. */
typedef struct {
    PyCodeObject *code;  /* borrowed; valid only while epoch == cpjit_code_epoch */
    cpjit_native_fn entry;
    uint64_t epoch;
    int32_t argcount;    /* co_argcount; CPJIT_ARGCOUNT_VARARGS for a callee taking *args or
                          * **kwargs (calls.c's call_varargs binds those) */
    int32_t nlocalsplus;
    int32_t framesize;   /* data-stack words of its frame */
    uint8_t warm;        /* the caller's code is past the interpreter's warm-up (WARMUP) */
    uint8_t c_kind;      /* CpjitCKind: the C call this site made last (calls.c's call_c_kind) */
    uint16_t unused;
    PyTypeObject *init_type;      /* borrowed: compared by address with the version below */
    PyFunctionObject *init_func;  /* borrowed: the class's __init__ (its dict holds it) */
    uint32_t init_version;        /* init_type's tp_version_tag when filled, never 0 */
    int32_t slot_kind;            /* CPJIT_SLOT_INIT: init_func is the class's __init__;
                                   * CPJIT_SLOT_CALL: the __call__ of the callable's class */
    /* The second slot: the two callees the entry named before, the latest first, filled in the
     * same epoch as the entry (calls.c: fill_callee_cache). A polymorphic site (one method
     * called on instances of several classes) finds its callee here and swaps it into the
     * entry instead of checking and binding it afresh (enter_direct). */
    CpjitOlderCallee older[2];
} CpjitCallCache;
_Static_assert(sizeof(CpjitCallCache) <= 128, "a CALL's cache must fit in its two JIT_CACHE slots "
                                              "(build.rs: WIDE_CACHE_HELPER)");
/* CpjitCallCache.argcount of an entry for a callee taking *args or **kwargs: below every
 * argument count, so cpjit_push_cached never takes it (calls.c's call_varargs does). */
#define CPJIT_ARGCOUNT_VARARGS (-1)
/* The forms of call_builtin's calls a site remembers (CpjitCallCache.c_kind), each tried first,
 * under its own guard, at the site's next call (calls.c's call_c_kind). */
enum {
    CPJIT_C_NONE = 0,
    CPJIT_C_LEN,           /* len(x) (PRECALL_NO_KW_LEN) */
    CPJIT_C_BUILTIN_O,     /* a METH_O built-in function, one argument (..._BUILTIN_O) */
    CPJIT_C_BUILTIN_FAST,  /* a METH_FASTCALL built-in function (PRECALL_NO_KW_BUILTIN_FAST) */
    CPJIT_C_LIST_APPEND,   /* lst.append(x) as a statement (PRECALL_NO_KW_LIST_APPEND) */
    CPJIT_C_DESCR_NOARGS,  /* obj.m() of a METH_NOARGS method descriptor */
    CPJIT_C_DESCR_O,       /* obj.m(x) of a METH_O method descriptor */
    CPJIT_C_DESCR_FAST,    /* obj.m(...) of a METH_FASTCALL method descriptor */
    CPJIT_C_VARARGS,       /* a METH_VARARGS built-in or method descriptor, or a METH_NOARGS
                            * built-in function: the generic call, keyword names or not (no
                            * 3.11 specialisation takes them) */
    CPJIT_C_BUILTIN_FAST_KW, /* a METH_FASTCALL | METH_KEYWORDS built-in function, no keyword
                              * names (PRECALL_BUILTIN_FAST_WITH_KEYWORDS) */
    CPJIT_C_DESCR_FAST_KW, /* the same as a method descriptor
                            * (PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS) */
    CPJIT_C_TYPE_1,        /* type(x) (PRECALL_NO_KW_TYPE_1) */
    CPJIT_C_TUPLE_1,       /* tuple(x) (PRECALL_NO_KW_TUPLE_1) */
    CPJIT_C_ISINSTANCE,    /* isinstance(x, cls) (PRECALL_NO_KW_ISINSTANCE) */
    CPJIT_C_STR_1,         /* str(x) (PRECALL_NO_KW_STR_1) */
    CPJIT_C_CLASS,         /* a class whose call does not go to a Python __init__ directly
                            * (calls.c's class_call_skips_init), no keyword names
                            * (PRECALL_BUILTIN_CLASS, or the generic call) */
    CPJIT_C_OBJECT,        /* an object of a type no case of the general path serves (no
                            * function, bound method, class, built-in function or method
                            * descriptor, no Python __call__: an lru_cache wrapper, a partial,
                            * an itemgetter): the generic call, keyword names or not, guarded
                            * by the type and its version (init_type, init_version, slot_kind
                            * CPJIT_SLOT_OBJECT) */
};
/* CpjitCallCache.slot_kind: what init_type's entry says. CPJIT_SLOT_OBJECT: the type's instances
 * are called the generic way (CPJIT_C_OBJECT); init_func is unused. */
enum { CPJIT_SLOT_INIT = 1, CPJIT_SLOT_CALL = 2, CPJIT_SLOT_OBJECT = 3 };

/* The defaults of `func` that a call with `total_args` positional arguments takes for its
 * missing trailing parameters (CALL_PY_WITH_DEFAULTS): *defaults is indexed by parameter, valid
 * from total_args to argcount (NULL when none is missing). 0 when the defaults do not cover
 * them. */
static inline __attribute__((always_inline)) int
cpjit_trailing_defaults(PyFunctionObject *func, int total_args, int argcount,
                        PyObject *const **defaults)
{
    *defaults = NULL;
    if (total_args < argcount) {
        PyObject *defs = func->func_defaults;
        if (defs == NULL || total_args < argcount - (int)PyTuple_GET_SIZE(defs)) {
            return 0;
        }
        *defaults = &PyTuple_GET_ITEM(defs, PyTuple_GET_SIZE(defs) - argcount);
    }
    return 1;
}

/* Room for the frame of the callee `cc` names (cc->framesize words) in the data stack's current
 * chunk, not yet taken (the caller moves datastack_top past it once it commits), or NULL. */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
cpjit_cached_room(PyThreadState *tstate, const CpjitCallCache *cc)
{
    PyObject **base = tstate->datastack_top;
    if (base + cc->framesize >= tstate->datastack_limit
        || base == &tstate->datastack_chunk->data[0]) {
        return NULL;
    }
    return (_PyInterpreterFrame *)base;
}

/* _PyFrame_InitializeSpecials for a frame native code runs at once (stacktop -1: the cycle GC
 * does not look at its slots), the function's reference moved in from the caller's slot. */
static inline __attribute__((always_inline)) void
cpjit_init_running_frame(_PyInterpreterFrame *callee, PyFunctionObject *func, PyCodeObject *code)
{
    callee->f_func = func;
    Py_INCREF(code);
    callee->f_code = code;
    callee->f_builtins = func->func_builtins;
    callee->f_globals = func->func_globals;
    callee->f_locals = NULL;
    callee->frame_obj = NULL;
    callee->prev_instr = _PyCode_CODE(code) - 1;
    callee->is_entry = true; /* entered by a C call unless cpjit_call jumps into it */
    callee->owner = FRAME_OWNED_BY_THREAD;
    callee->stacktop = -1;
}

/* A pushed callee made the thread's current frame, as the interpreter's inlined CALL links it:
 * the caller's prev_instr at `done` and its stack pointer saved without the call's slots, one
 * recursion level counted. */
static inline __attribute__((always_inline)) void
cpjit_link_callee(PyThreadState *tstate, _PyInterpreterFrame *frame, _PyInterpreterFrame *callee,
                  PyObject **slots, _Py_CODEUNIT *done)
{
    frame->prev_instr = done;
    _PyFrame_SetStackPointer(frame, slots);
    callee->previous = frame;
    tstate->cframe->current_frame = callee;
    tstate->recursion_remaining--;
    cpjit_stats.frames_native++;
}

/* CALL's fast path, in line in the stencil: the oparg + 2 value-stack slots at `slots` hold
 * [NULL or function, callable or self, args...]; when the callable is a Python function whose
 * code is the one `cc` names (or a bound method of one), its positional arguments bind (the missing ones from its defaults,
 * as CALL_PY_WITH_DEFAULTS), and the call may go directly
 * (cpjit_direct_callee's conditions, checked from the cache, but for the C stack: the call is a
 * jump and takes none), push its frame on the data stack with the function and arguments moved
 * in, link it as the current frame (the caller's prev_instr at `done`, its stack pointer saved
 * without the slots), count the recursion level, and return it: the caller jumps into it at
 * cc->entry (calls.c: jump_direct) and its frame exit pops it. Otherwise NULL, changing
 * nothing. `with_bound` (a constant) says whether a bound method is looked at:
 * cpjit_call keeps that case out of its common path. */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
cpjit_push_cached(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **slots, int oparg,
                  const CpjitCallCache *cc, _Py_CODEUNIT *done, const int with_bound)
{
    PyObject *meth = slots[0];
    PyObject *callable = meth != NULL ? meth : slots[1];
    PyObject *bound = NULL; /* a bound method called as `f(...)` */
    if (Py_TYPE(callable) != &PyFunction_Type) {
        /* PRECALL's split, when releasing the method cannot run code (it stays referenced
         * elsewhere): else the general path splits it, publishing prev_instr first. */
        if (!with_bound || meth != NULL || Py_TYPE(callable) != &PyMethod_Type
            || Py_REFCNT(callable) == 1) {
            return NULL;
        }
        bound = callable;
        callable = ((PyMethodObject *)bound)->im_func;
        if (Py_TYPE(callable) != &PyFunction_Type) {
            return NULL;
        }
    }
    PyFunctionObject *func = (PyFunctionObject *)callable;
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int is_meth = meth != NULL || bound != NULL;
    int total_args = oparg + is_meth;
    int argcount = cc->argcount;
    /* The hook itself the evaluator (cpjit_hooked_for's common case, which calls nothing: the
     * rest, another thread's cold region, goes the slower ways, which test it whole). */
    if (code != cc->code || cc->epoch != cpjit_code_epoch || total_args > argcount
        || tstate->interp->eval_frame != cpjit_eval_frame || CPJIT_INTERPRET_ONLY(tstate)
        || tstate->recursion_remaining <= 1) {
        return NULL;
    }
    PyObject *const *defaults;
    _PyInterpreterFrame *callee;
    if (!cpjit_trailing_defaults(func, total_args, argcount, &defaults)
        || (callee = cpjit_cached_room(tstate, cc)) == NULL) {
        return NULL;
    }
    tstate->datastack_top = (PyObject **)callee + cc->framesize;
    PyObject **args = slots + 2 - is_meth;
    if (bound != NULL) {
        /* [NULL, method, args...] as PRECALL leaves it: [function, self, args...]. */
        slots[0] = Py_NewRef(callable);
        slots[1] = Py_NewRef(((PyMethodObject *)bound)->im_self);
        Py_DECREF(bound); /* not the last reference */
    }
    cpjit_init_running_frame(callee, func, code);
    int nlocalsplus = cc->nlocalsplus;
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < total_args; i++) {
        callee->localsplus[i] = args[i];
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = total_args; i < argcount; i++) {
        callee->localsplus[i] = Py_NewRef(defaults[i]);
    }
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = argcount; i < nlocalsplus; i++) {
        callee->localsplus[i] = NULL;
        __asm__("" ::: "memory"); /* a few slots: no call to memset */
    }
    cpjit_link_callee(tstate, frame, callee, slots, done);
    return callee;
}

/* After a directly called frame returned (its RETURN_VALUE or error exit unlinked it): clear it
 * and pop it off the data stack, as _PyEvalFrameClearAndPop does; the common case (no frame
 * object) in line. */
void cpjit_pop_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **base);

/* Python/frame.c's _PyFrame_Clear for a frame that is no longer current (a popped thread-owned
 * frame, or a finished generator's): a frame object still referenced elsewhere takes a copy of
 * it (f_back linked when the frame still had a previous one). */
void cpjit_clear_frame(PyThreadState *tstate, _PyInterpreterFrame *frame);
static inline __attribute__((always_inline)) void
cpjit_pop_direct(PyThreadState *tstate, _PyInterpreterFrame *callee)
{
    if (callee->frame_obj != NULL) {
        cpjit_pop_frame(tstate, callee, (PyObject **)callee);
        return;
    }
    tstate->recursion_remaining--;
    int n = callee->stacktop;
#pragma clang loop vectorize(disable) interleave(disable) unroll(disable)
    for (int i = 0; i < n; i++) {
        Py_XDECREF(callee->localsplus[i]);
    }
    Py_XDECREF(callee->f_locals);
    Py_DECREF(callee->f_func);
    Py_DECREF(callee->f_code);
    tstate->recursion_remaining++;
    tstate->datastack_top = (PyObject **)callee;
}

/* What cpjit_call returns (in rax:rdx, so the stencil need not keep the thread state across
 * the call): the CALL's stack pointer after it, tagged in bit 0 when the stencil must leave, and
 * the thread state. Tagged CPJIT_CALL_ENTER instead, it is the call's first slot: the callee's
 * frame is pushed and current, slots[1] holds its stack pointer and that stack's first slot its
 * entry; the stencil stores its continuation (the code after the CALL) in slots[0] and jumps
 * into the callee, which returns there through cpjit_frame_exit. */
typedef struct {
    uintptr_t sp;
    PyThreadState *tstate;
} CpjitCallResult;
#define CPJIT_CALL_ENTER 2

/* The CALL stencil's jump into a callee cpjit_call pushed (its result tagged CPJIT_CALL_ENTER,
 * passed here as `tagged_slots`): the continuation (the code after the CALL, passed in the frame
 * argument's register, which the callee's frame replaces) stored in the call's first slot, then
 * a jump to the callee's entry with its frame and stack pointer. One copy for every CALL, where
 * each had its own. */
__attribute__((preserve_none)) PyObject *
cpjit_enter_callee(_PyInterpreterFrame *continuation, PyObject **tagged_slots,
                   PyThreadState *tstate);

/* How a native frame ends, from its frame-exit points (RETURN_VALUE, RETURN_GENERATOR, the
 * error exit with no handler, hand-overs after the interpreter finished the frame): `result`
 * (cast: passed where a stack pointer goes, so stencils can tail-call this) is its result, or
 * NULL with an exception set; the frame is unlinked and not yet popped. An entry frame (its
 * native code entered by a C call: is_entry) returns `result` to that caller. A frame cpjit_call
 * jumped into is popped here, as the interpreter's inlined return pops it, and its caller goes
 * on natively: at the continuation its CALL left in its first slot, with the result pushed and
 * prev_instr at the CALL; with NULL, the caller raises at the CALL's last cache entry, as after
 * a failed inlined call; if tracing was switched on meanwhile, the interpreter runs the rest of
 * the caller. No C stack grows. */
__attribute__((preserve_none)) PyObject *
cpjit_frame_exit(_PyInterpreterFrame *frame, PyObject **result, PyThreadState *tstate);

/* Tracing was switched on while the frame ran natively (stencils/stencil.h: TRACED_FROM): the
 * interpreter runs the rest of the frame from prev_instr, then the frame exits. */
__attribute__((preserve_none)) PyObject *
cpjit_handover_traced(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate);

/* A release of a reference in native code (a STORE_FAST's old value, a POP_TOP's operand, a
 * run's store; csrc/names.c: cpjit_dealloc_then) ran a finalizer or weakref callback that
 * switched tracing or profiling on: prev_instr is the instruction that released it, whose
 * effect is complete; the interpreter runs the rest of the frame from the next instruction,
 * tracing, as plain python goes on after the release (cpjit_handover_traced). */
__attribute__((preserve_none)) PyObject *
cpjit_traced_after_release(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                           PyThreadState *tstate);

/* A conditional jump (POP_JUMP_{FORWARD,BACKWARD}_IF_{TRUE,FALSE}) whose truth test ran Python
 * code that switched tracing on (stencils/stencil.h: CHECK_TRACING_AFTER_TRUTH): the operand
 * is gone, frame->prev_instr is the jump's REDO (names.h: cpjit_decode_redo), and `tagged_sp`
 * the stack pointer with the truth in bit 0. The interpreter's dispatch would notice tracing at the instruction the jump
 * reaches, with this jump as the previous instruction (that decides its `line` event): not
 * taken, on after the jump, exact; taken, the interpreter runs the jump again on the bool (it
 * serves the eval breaker of a backward jump where ceval does), which is exact when the jump is
 * on its predecessor's line; otherwise a forward jump goes on at its target. */
__attribute__((preserve_none)) PyObject *
cpjit_truth_traced(_PyInterpreterFrame *frame, PyObject **tagged_sp, PyThreadState *tstate);

/* RETURN_VALUE after its stencil stored prev_instr: the result popped off `stack_pointer`, the
 * frame unlinked (cpjit_leave_frame), then cpjit_frame_exit. Shared by every return site, so
 * the work is one copy in the instruction cache rather than one per compiled return. */
__attribute__((preserve_none)) PyObject *
cpjit_return_value(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate);

/* CALL (preserve_none: the stencil's registers pass straight through). `stack_pointer` is the
 * CALL's; its oparg + 2 top slots are the callable's; `kwnames` is the KW_NAMES tuple or NULL.
 * When cpjit_push_cached applies (no keyword names), return the callee's frame pushed, tagged
 * CPJIT_CALL_ENTER, for the stencil to jump into (see CpjitCallResult; the callee's frame exit
 * pops it and goes on after the CALL). Otherwise, out of the way (calls.c's call_slow): a bound method is first split into function
 * and self, as PRECALL does. When the call has no keyword names and the callee is a Python
 * function that takes these positional arguments (missing trailing ones from its defaults), may
 * be called directly (cpjit_direct_callee) and its frame fits in the data stack's current chunk
 * (CALL_PY_EXACT_ARGS / CALL_PY_WITH_DEFAULTS): push its frame, move the function and the
 * arguments into it, run it natively with the caller's prev_instr at `done` (the CALL's last
 * cache entry; the CALL itself is done - INLINE_CACHE_ENTRIES_CALL) and its stack pointer saved
 * without the slots, pop it, and fill `cc` for cpjit_push_cached. Any other Python function:
 * cpjit_call_function, with prev_instr at `done`. Anything else: as the warm interpreter's
 * specialised PRECALL or its generic CALL would call it (calls.c's call_other), with prev_instr
 * at the PRECALL or the CALL. Either way the slots are consumed and the caller's stacktop is -1
 * again.
 *
 * Then what the interpreter does after CALL: the result pushed at the first slot, prev_instr at
 * the CALL, the eval breaker served. Returns the stack pointer after the result. Tagged (bit 0)
 * when the stencil must leave with the (untagged) stack pointer: with an exception set, raise
 * (prev_instr where the interpreter reports it: the CALL, its PRECALL, or its last cache entry
 * after a Python callee; the result stays on the stack when the eval breaker raised); without
 * one, tracing was switched on during the call: prev_instr is at `done`, hand the frame over
 * after the CALL. */
__attribute__((preserve_none)) CpjitCallResult
cpjit_call(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate, int oparg,
           CpjitCallCache *cc, _Py_CODEUNIT *done, PyObject *kwnames);

#endif
