/* runtime.c: the PEP 523 frame-eval function, native entry and exit, and the per-code state.
 *
 * Owns: deciding per frame whether it runs natively, counting calls toward the compile
 * threshold, entering native code with the same bookkeeping the interpreter does at frame entry
 * (frame linkage, recursion limit), handing a frame over to the interpreter, and the eval-breaker
 * work native code does at function entry and backward jumps. Leaves compiling to Rust and opcode
 * semantics to stencils.
 *
 * Tiering (stays_cold): code runs in the interpreter until it is warm. A code object compiles
 * after `threshold` interpreted calls (CPJIT_THRESHOLD / enable(threshold=N); the package's
 * default is 256), except a function whose bytecode has a loop, which compiles at its first call:
 * no on-stack replacement out of the interpreter exists, so a hot loop in a function called once
 * (a main()) is native only if that call starts native. Loop functions called while a module
 * other than __main__ initialises are start-up code and count like the rest. A module or class
 * body gets the loop rule only as the top level of a script (the module body of __main__ with a
 * loop); other bodies run once. Threshold 0 compiles everything at its first call (the test
 * suites). With a threshold of 8 or more the interpreter has quickened a loopless code object
 * before it compiles, so the quickening hand-over (WARMUP in stencils/stencil.h) never costs it a
 * further interpreted call. The cold path is a co_extra load, two compares and a counter
 * increment; the frame walk of initialising_a_module runs only for loop functions still counting.
 * The default, by measurement (child CPU time, median of 11 interleaved runs, shared 2-core
 * machine) of `python -c "import asyncio, json, email, http.client, decimal, argparse, logging,
 * typing, dataclasses, unittest"` against plain python: threshold 0 +37% (1,240 code objects,
 * 76.8k instructions compiled), 16 +13% (202, 15.4k), 64 +7..11% (126, 9.8k), 256 -3..+1%
 * (49, 2.4k), 1000 +1% (17, 1.3k), 1000000 -2%. Native code run a few dozen times at start-up
 * does not repay its compile (and its cold caches); loopless code that is hot runs millions of
 * times, so 256 interpreted calls cost it nothing measurable.
 */
#define _GNU_SOURCE 1
#include "cpjit_rt.h"
#include "exc.h"

#include <pthread.h>

#include "internal/pycore_atomic.h"
#include "internal/pycore_code.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_ceval.h"
#include "internal/pycore_pyerrors.h"

CpjitStats cpjit_stats;

Py_ssize_t cpjit_extra_index = -1;
static uint32_t threshold = 0;
static int installed = 0; /* enable() is in effect */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
static int unhooked = 0; /* frames running with the hook taken out (see run_unhooked) */
static _PyFrameEvalFunction previous_eval = NULL;

/* Set by cpjit_rt_init once reading co_extra directly is known to work (see cpjit_rt.h). */
int cpjit_direct_extra_ok = 0;

static void free_state(void *ptr)
{
    CpjitCodeState *st = (CpjitCodeState *)ptr;
    if (st == NULL) {
        return;
    }
    if (st->native != NULL) {
        cpjit_rust_release(st->native);
    }
    PyMem_RawFree(st);
}

int cpjit_rt_init(void)
{
    if (cpjit_extra_index >= 0) {
        return 0;
    }
    cpjit_extra_index = _PyEval_RequestCodeExtraIndex(free_state);
    if (cpjit_extra_index < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "cpjit: no co_extra slot left for the JIT");
        }
        return -1;
    }
    /* Check the private co_extra layout on a scratch code object before trusting it. */
    PyCodeObject *probe = PyCode_NewEmpty("cpjit", "probe", 1);
    if (probe == NULL) {
        return -1;
    }
    /* A real (empty) state: the probe's death frees it through free_state. */
    CpjitCodeState *marker = PyMem_RawCalloc(1, sizeof(CpjitCodeState));
    if (marker != NULL && _PyCode_SetExtra((PyObject *)probe, cpjit_extra_index, marker) == 0) {
        CodeExtraLayout *extra = (CodeExtraLayout *)probe->co_extra;
        cpjit_direct_extra_ok = extra != NULL && cpjit_extra_index < extra->ce_size
                          && extra->ce_extras[cpjit_extra_index] == marker;
    }
    else {
        PyMem_RawFree(marker);
        PyErr_Clear();
    }
    Py_DECREF(probe);
    return 0;
}

void cpjit_rt_set_threshold(uint32_t t) { threshold = t; }
uint32_t cpjit_rt_get_threshold(void) { return threshold; }

/* The tiering class of a code object (CpjitCodeState.tier), decided once when its state is
 * created. Only functions get the loop class: a module or class body runs once however many
 * loops it has, and without on-stack replacement compiling it could only pay off on a later run
 * of the same body. */
static uint32_t tier_of(PyCodeObject *code)
{
    if (!cpjit_rust_has_backward_jump(_PyCode_CODE(code), Py_SIZE(code))) {
        return 0;
    }
    return (code->co_flags & CO_OPTIMIZED) ? CPJIT_TIER_LOOP : CPJIT_TIER_BODY_LOOP;
}

/* Whether `globals` is the namespace of __main__ (by its __name__). */
static int is_main_namespace(PyObject *globals)
{
    PyObject *name = globals != NULL && PyDict_Check(globals)
                         ? PyDict_GetItemWithError(globals, &_Py_ID(__name__))
                         : NULL;
    if (name == NULL) {
        if (PyErr_Occurred()) {
            PyErr_Clear();
        }
        return 0;
    }
    return PyUnicode_Check(name) && _PyUnicode_EqualToASCIIString(name, "__main__");
}

/* Whether the thread is initialising a module other than __main__: the innermost module or
 * class body (or exec'd code) on the frame stack has globals whose __name__ is not "__main__".
 * Functions called from there are start-up code (run once per import, typically), so their
 * loops do not earn them a compile at the first call. A program's own main() is called from
 * __main__'s body (scripts, -m, -c, runpy) or from functions, and keeps the loop rule. */
static int initialising_a_module(PyThreadState *tstate)
{
    for (_PyInterpreterFrame *f = tstate->cframe->current_frame; f != NULL; f = f->previous) {
        if (f->f_code->co_flags & CO_OPTIMIZED) {
            continue;
        }
        return !is_main_namespace(f->f_globals);
    }
    return 0;
}

/* Whether this call of a not yet compiled code object still runs in the interpreter (and counts
 * toward the threshold). Loop functions compile at their first call (see CPJIT_TIER_LOOP) unless
 * a module is being initialised; anything else after `threshold` interpreted calls. */
static inline int stays_cold(PyThreadState *tstate, _PyInterpreterFrame *frame,
                             CpjitCodeState *st)
{
    if (st->calls >= threshold) {
        return 0;
    }
    if ((st->tier & CPJIT_TIER_LOOP) && !initialising_a_module(tstate)) {
        return 0;
    }
    /* The top level of a script (the module body of __main__, not a class body in it). */
    if ((st->tier & CPJIT_TIER_BODY_LOOP) && frame->f_locals == frame->f_globals
        && is_main_namespace(frame->f_globals)) {
        return 0;
    }
    st->calls++;
    return 1;
}

CpjitCodeState *cpjit_rt_state_for(PyCodeObject *code, int create)
{
    void *found = NULL;
    if (cpjit_direct_extra_ok) {
        found = cpjit_state_fast(code);
    }
    else if (code->co_extra != NULL) {
        (void)_PyCode_GetExtra((PyObject *)code, cpjit_extra_index, &found);
    }
    if (found != NULL) {
        return (CpjitCodeState *)found;
    }
    if (!create) {
        return NULL;
    }
    CpjitCodeState *st = PyMem_RawCalloc(1, sizeof(CpjitCodeState));
    if (st == NULL) {
        return NULL;
    }
    st->warmup = code->co_warmup; /* the interpreter's countdown so far (see cpjit_rt.h) */
    st->tier = tier_of(code);
    if (cpjit_direct_extra_ok && code->co_extra == NULL) {
        /* _PyCode_SetExtra would size the array for every co_extra user registered so far, and
         * code_dealloc calls every one of their free functions (with NULL) for every slot: users
         * registered after cpjit would see calls for code objects they never touched (a free
         * function written in Python can even be called while its own function dies). Sized
         * up to our slot only, later users' slots do not exist for our code objects, as when
         * cpjit is not loaded. code_dealloc frees the array with PyMem_Free. */
        CodeExtraLayout *extra = PyMem_Malloc(sizeof(CodeExtraLayout)
                                              + cpjit_extra_index * sizeof(void *));
        if (extra == NULL) {
            PyMem_RawFree(st);
            return NULL;
        }
        extra->ce_size = cpjit_extra_index + 1;
        for (Py_ssize_t i = 0; i < cpjit_extra_index; i++) {
            extra->ce_extras[i] = NULL;
        }
        extra->ce_extras[cpjit_extra_index] = st;
        code->co_extra = extra;
        return st;
    }
    if (_PyCode_SetExtra((PyObject *)code, cpjit_extra_index, st) < 0) {
        PyErr_Clear();
        PyMem_RawFree(st);
        return NULL;
    }
    return st;
}

void cpjit_rt_code_info(PyCodeObject *code, CpjitCodeInfo *out)
{
    out->units = _PyCode_CODE(code);
    out->n_units = Py_SIZE(code);
    out->consts = &PyTuple_GET_ITEM(code->co_consts, 0);
    out->n_consts = PyTuple_GET_SIZE(code->co_consts);
    out->names = &PyTuple_GET_ITEM(code->co_names, 0);
    out->n_names = PyTuple_GET_SIZE(code->co_names);
    out->flags = code->co_flags;
}

/* C stack guard. CPython 3.11 runs Python-to-Python calls without C recursion, but with a
 * PEP 523 hook installed every Python call is a C call, so a program that raises the recursion
 * limit far enough could run out of C stack where plain CPython would not. Native frames are
 * refused with RecursionError once less than CPJIT_STACK_MARGIN bytes of the thread's stack are
 * left: an exception instead of a crash. */
#define CPJIT_STACK_MARGIN (256 * 1024)
/* Python call depth below which the C stack is certainly sufficient (a native Python call uses
 * well under 1 KiB of C stack; threads get at least 1 MiB here). */
#define CPJIT_STACK_CHECK_DEPTH 500
static _Thread_local char *stack_floor; /* lowest usable address + margin; NULL: unknown yet */
static _Thread_local int stack_floor_known;

static void find_stack_floor(void)
{
    stack_floor_known = 1;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return;
    }
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 2 * CPJIT_STACK_MARGIN) {
        stack_floor = (char *)addr + CPJIT_STACK_MARGIN;
    }
    pthread_attr_destroy(&attr);
}

/* Whether less than the margin (plus `extra` bytes) of C stack is left. The hook and direct
 * calls ask with extra room, so they divert to the interpreter before run_native's last-resort
 * check (no extra) would have to raise. */
static int c_stack_low(size_t extra)
{
    /* Only deep Python recursion uses much C stack: skip the (thread-local) check until the
     * Python depth says it could matter. */
    PyThreadState *tstate = _PyThreadState_GET();
    if (tstate->recursion_limit - tstate->recursion_remaining < CPJIT_STACK_CHECK_DEPTH) {
        return 0;
    }
    if (!stack_floor_known) {
        find_stack_floor();
    }
    char here;
    return stack_floor != NULL && &here < stack_floor + extra;
}

int cpjit_rt_c_stack_low(void)
{
    return c_stack_low(64 * 1024);
}

/* What _PyEval_EvalFrameDefault does on entry: link the frame as the thread's current one and
 * count it against the recursion limit. Returns 0, or -1 with an exception set (frame unlinked).
 * On success the frame's stack pointer is returned in *stack_pointer and its stack depth is -1,
 * as in the interpreter: the cycle GC must not look at stack slots native code keeps in flux. */
static int enter_native(PyThreadState *tstate, _PyInterpreterFrame *frame,
                        PyObject ***stack_pointer)
{
    _PyCFrame *cframe = tstate->cframe;
    frame->previous = cframe->current_frame;
    cframe->current_frame = frame;
    if (tstate->recursion_remaining-- <= 0 && _Py_CheckRecursiveCall(tstate, "")) {
        /* _Py_CheckRecursiveCall gave the count back; unlink and fail like the interpreter. */
        cframe->current_frame = frame->previous;
        return -1;
    }
    if (c_stack_low(0)) {
        tstate->recursion_remaining++;
        cframe->current_frame = frame->previous;
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded (C stack nearly exhausted; cpjit runs "
                        "each Python call on the C stack)");
        return -1;
    }
    cpjit_stats.frames_native++;
    *stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1;
    return 0;
}

/* Run `frame` natively from `target`. */
static PyObject *run_native(PyThreadState *tstate, _PyInterpreterFrame *frame, const char *target)
{
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer) < 0) {
        return NULL;
    }
    return ((cpjit_native_fn)target)(frame, stack_pointer, tstate);
}

/* generator.throw() (and the interpreter's other throwflag entries): the exception is set and
 * frame->prev_instr is where the frame was suspended. As ceval's `resume_with_error`: record the
 * traceback entry and unwind, then go on natively at the handler, if any. */
static PyObject *run_native_throw(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer) < 0) {
        return NULL;
    }
    PyObject *result;
    cpjit_native_fn handler =
        cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_THROW, &result);
    if (handler == NULL) {
        return result;
    }
    stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1;
    return handler(frame, stack_pointer, tstate);
}

/* A frame pushed by native code (calls.c) starts at its first instruction. */
PyObject *cpjit_rt_run_new_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 CpjitCodeState *st)
{
    return run_native(tstate, frame, st->base + st->entries[0]);
}

static inline PyObject *interpret(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag,
                                  int reason)
{
    cpjit_stats.handovers[reason]++;
    return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
}


/* Deep recursion: the C stack is nearly used up. The interpreter runs this frame with the hook
 * taken out, so it inlines the calls beneath it (no C recursion), as plain CPython does; the
 * hook goes back in when the frame returns, unless someone changed the evaluator meanwhile.
 * Other threads that get the GIL in between run interpreted until then: slower, never wrong. */
static PyObject *run_unhooked(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    PyInterpreterState *interp = tstate->interp;
    _PyInterpreterState_SetEvalFrameFunc(interp, _PyEval_EvalFrameDefault);
    unhooked++;
    PyObject *res = interpret(tstate, frame, throwflag, CPJIT_R_DEEP_RECURSION);
    unhooked--;
    if (installed && _PyInterpreterState_GetEvalFrameFunc(interp) == _PyEval_EvalFrameDefault) {
        _PyInterpreterState_SetEvalFrameFunc(interp, cpjit_eval_frame);
    }
    return res;
}

PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (cpjit_rt_c_stack_low()
        && (previous_eval == NULL || previous_eval == _PyEval_EvalFrameDefault)) {
        return run_unhooked(tstate, frame, throwflag);
    }
    if (tstate->cframe->use_tracing) {
        return interpret(tstate, frame, throwflag, throwflag ? CPJIT_R_THROW : CPJIT_R_TRACING);
    }
    PyCodeObject *code = frame->f_code;
    if (throwflag) {
        /* Thrown into: natively only if already compiled (a throw is not a call to count). */
        CpjitCodeState *st = cpjit_rt_state_for(code, 0);
        if (st == NULL || st->state != CPJIT_COMPILED) {
            return interpret(tstate, frame, throwflag, CPJIT_R_THROW);
        }
        return run_native_throw(tstate, frame);
    }
    CpjitCodeState *st = cpjit_rt_state_for(code, 1);
    if (st == NULL) {
        return interpret(tstate, frame, throwflag, CPJIT_R_COMPILE_FAILED);
    }
    if (st->state != CPJIT_COMPILED) {
        if (st->state == CPJIT_FAILED) {
            return interpret(tstate, frame, throwflag, CPJIT_R_COMPILE_FAILED);
        }
        if (stays_cold(tstate, frame, st)) {
            return interpret(tstate, frame, throwflag, CPJIT_R_COLD);
        }
        if (cpjit_rust_compile(code, st) < 0) { /* sets st->state either way */
            return interpret(tstate, frame, throwflag, CPJIT_R_COMPILE_FAILED);
        }
        /* Carry on from where the interpreter's own warm-up got while the code was cold. */
        if (code->co_warmup > st->warmup) {
            st->warmup = code->co_warmup;
        }
    }
    Py_ssize_t unit = (frame->prev_instr + 1) - _PyCode_CODE(code);
    if (unit < 0 || unit >= (Py_ssize_t)st->n_units || st->entries[unit] == CPJIT_NO_ENTRY) {
        return interpret(tstate, frame, throwflag, CPJIT_R_NO_ENTRY);
    }
    return run_native(tstate, frame, st->base + st->entries[unit]);
}

int cpjit_rt_install(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == cpjit_eval_frame) {
        return 1;
    }
    previous_eval = current;
    _PyInterpreterState_SetEvalFrameFunc(interp, cpjit_eval_frame);
    installed = 1;
    return 0;
}

void cpjit_rt_uninstall(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == cpjit_eval_frame || (unhooked > 0 && current == _PyEval_EvalFrameDefault)) {
        _PyInterpreterState_SetEvalFrameFunc(interp, previous_eval);
    }
    installed = 0;
}

int cpjit_rt_is_installed(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    return current == cpjit_eval_frame
           || (installed && unhooked > 0 && current == _PyEval_EvalFrameDefault);
}

/* Handing over an exception (throwflag=1) makes the interpreter report a 'call' event to the
 * trace and profile functions, as if the frame were starting, when tracing is on. The frame is
 * not starting: it has run natively and the tracer already saw its entry (or was switched on
 * inside it). So for that one event the trace and profile functions are wrapped by ones that
 * drop exactly that 'call' for exactly this frame, then put the real ones back. Thread-local:
 * each thread has its own trace functions. */
static _Thread_local Py_tracefunc saved_trace, saved_profile;
static _Thread_local _PyInterpreterFrame *quiet_frame;

static int quiet_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
{
    PyThreadState *tstate = PyThreadState_Get();
    tstate->c_tracefunc = saved_trace;
    if (what == PyTrace_CALL && f->f_frame == quiet_frame) {
        return 0;
    }
    return saved_trace(obj, f, what, arg);
}

static int quiet_profile(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
{
    PyThreadState *tstate = PyThreadState_Get();
    tstate->c_profilefunc = saved_profile;
    if (what == PyTrace_CALL && f->f_frame == quiet_frame) {
        return 0;
    }
    return saved_profile(obj, f, what, arg);
}

PyObject *cpjit_handover(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                         PyThreadState *tstate, int throwflag, int reason)
{
    _PyFrame_SetStackPointer(frame, stack_pointer);
    cpjit_leave_frame(frame, tstate);
    if (!throwflag || !tstate->cframe->use_tracing || tstate->tracing) {
        return interpret(tstate, frame, throwflag, reason);
    }
    quiet_frame = frame;
    saved_trace = tstate->c_tracefunc;
    saved_profile = tstate->c_profilefunc;
    if (saved_trace != NULL) {
        tstate->c_tracefunc = quiet_trace;
    }
    if (saved_profile != NULL) {
        tstate->c_profilefunc = quiet_profile;
    }
    PyObject *res = interpret(tstate, frame, throwflag, reason);
    /* If the interpreter never called them (recursion error at entry), unwrap them now. */
    if (tstate->c_tracefunc == quiet_trace) {
        tstate->c_tracefunc = saved_trace;
    }
    if (tstate->c_profilefunc == quiet_profile) {
        tstate->c_profilefunc = saved_profile;
    }
    return res;
}

/* Recompute the eval breaker the way ceval.c's COMPUTE_EVAL_BREAKER does (it is static there). */
static void recompute_eval_breaker(PyInterpreterState *interp)
{
    struct _ceval_runtime_state *ceval = &_PyRuntime.ceval;
    struct _ceval_state *ceval2 = &interp->ceval;
    _Py_atomic_store_relaxed(&ceval2->eval_breaker,
        _Py_atomic_load_relaxed(&ceval2->gil_drop_request)
        | (_Py_atomic_load_relaxed(&ceval->signals_pending)
           && _Py_ThreadCanHandleSignals(interp))
        | (_Py_atomic_load_relaxed(&ceval2->pending.calls_to_do)
           && _Py_ThreadCanHandlePendingCalls())
        | ceval2->pending.async_exc);
}

int cpjit_handle_pending(PyThreadState *tstate)
{
    PyInterpreterState *interp = tstate->interp;
    struct _ceval_state *ceval2 = &interp->ceval;
    /* Signals and pending calls: Py_MakePendingCalls runs both and clears their breaker bits. */
    if (_Py_atomic_load_relaxed(&_PyRuntime.ceval.signals_pending)
        || _Py_atomic_load_relaxed(&ceval2->pending.calls_to_do)) {
        if (Py_MakePendingCalls() < 0) {
            return -1;
        }
    }
    /* Another thread wants the GIL: give it up and take it back. */
    if (_Py_atomic_load_relaxed(&ceval2->gil_drop_request)) {
        PyThreadState *saved = PyEval_SaveThread();
        PyEval_RestoreThread(saved);
    }
    /* Asynchronous exception (PyThreadState_SetAsyncExc). */
    if (tstate->async_exc != NULL) {
        PyObject *exc = tstate->async_exc;
        tstate->async_exc = NULL;
        ceval2->pending.async_exc = 0;
        recompute_eval_breaker(interp);
        _PyErr_SetNone(tstate, exc);
        Py_DECREF(exc);
        return -1;
    }
    /* Bits that this thread cannot serve (signals outside the main thread) must not keep the
     * breaker set for every backward jump. */
    recompute_eval_breaker(interp);
    return 0;
}
