/* runtime.c: the PEP 523 frame-eval function, native entry and exit, and the per-code state.
 *
 * Owns: deciding per frame whether it runs natively, counting calls toward the compile
 * threshold, entering native code with the same bookkeeping the interpreter does at frame entry
 * (frame linkage, recursion limit), handing a frame over to the interpreter, and the eval-breaker
 * work native code does at function entry and backward jumps. Leaves compiling to Rust and opcode
 * semantics to stencils.
 *
 * Imports (CPJIT_R_IMPORT): with a threshold, the body of a module other than __main__ that the
 * import system runs (module-level code whose globals have a __spec__) runs with the hook taken
 * out, as deep recursion does (run_unhooked), and so does everything it calls: import-time code
 * runs as in plain python (inlined calls, no counting, no compiling, no hook per frame), and the
 * hook is back when the body returns or raises. Measured on the import-heavy program below
 * (callgrind, PYTHONHASHSEED=0): 17.3M instructions over plain python with the hook in every
 * import-time frame, 4.4M without (with CPJIT=1; what remains is loading cpjit itself). Other
 * threads run interpreted meanwhile (slower, never wrong). So does the import system's loading
 * of a module that is not in sys.modules yet (CPJIT_TIER_IMPORT: importlib's
 * _find_and_load_unlocked, which an import statement in a function or __main__ reaches), with
 * the finders and loaders beneath it: their loops call slow callees, so they spent their loop
 * budget and compiled (_find_spec, PathFinder._get_spec, FileFinder.find_spec: 1.0M of the 5.5M
 * instructions the import-heavy program ran over plain python). The entry points an import
 * of a loaded module takes again and again (_find_and_load's sys.modules hit, _gcd_import,
 * _handle_fromlist for `from package import name`) stay ordinary code that compiles when hot.
 * Threshold 0 keeps the hook, so the test suites still compile import-time code at its first
 * call.
 *
 * Tiering (stays_cold): code runs in the interpreter until it is warm. A code object compiles
 * after `threshold` interpreted calls (CPJIT_THRESHOLD / enable(threshold=N); the package's
 * default is 256), except a function whose bytecode has a loop: it compiles once its
 * interpreted calls have taken loop_budget_ns (default 1000) per code unit of wall time, callees
 * included, or at the threshold: a loop that runs long compiles then, and the call that spent
 * the budget goes on natively from one of its next instructions (on-stack replacement, osr.c),
 * and the many library functions that loop a few rounds a few times (sympy compiled 956 code
 * objects, 90.9k instructions, 6.3 MB, when every loop function compiled at its first call) stay
 * interpreted. A script's own loop functions (defined in __main__: its main()) follow the same
 * rule on the main thread, so that the interpreter quickens them before they compile and the
 * compiler has its evidence: compiled at their first call they ran generic paths where the
 * quickened interpreter runs specialised ones (a word count's `counts[w] = counts.get(w, 0) +
 * len(w)`: 0.88x of plain python; quickened first, 1.17x; benches/README.md, session 54). Such a
 * call is watched by the sampler (cold_regions.c), so that a loop that makes no Python call,
 * whose budget no returning call would check, goes on natively too, within about a sample
 * period of spending it. Without a sampler (CPJIT_SAMPLE_US=0) or on another thread, where no
 * call can move mid-call unless it started unhooked, they compile at their first call, as do
 * generator functions. Loop functions called while a module
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
 *
 * Cold regions (csrc/cold_regions.c): the cold calls the hook's cold case, eval_frame's and
 * cpjit_rt_run_cold_frame count go to cpjit_run_cold, which runs a loopless library function on
 * the main thread with the hook taken out and everything beneath it as plain python runs it,
 * while a sampler looks for hot or compiled code beneath (then the hook goes back in).
 *
 * Warm window (warm_window_ns, CPJIT_WARM_WINDOW_MS, default 20 ms from the package): loopless
 * code compiles only when its `threshold` counted calls came within the window; when they took
 * longer, the count starts again from this call (one clock read per `threshold` calls; the
 * state's creation starts the first window). What native code saves is dispatch, which pays
 * only while the code stays in the processor's caches between calls. Code called a few hundred
 * times a second, among megabytes of other native code, is fetched from L2 or L3 at every call:
 * 1,500 small classes and functions called round-robin (benches/README.md, seventeenth session)
 * ran 1.5-4x slower compiled than interpreted. Loop functions keep their own rules (a loop
 * repeats its own code while it runs).
 *
 * Hubs (csrc/hub_probe.c): a warm loopless library function that could run as a cold region
 * compiles only after a probe of its next calls finds that the calls it makes do not mostly go
 * to code that stays interpreted; one whose calls do (a hub) goes on as a cold region.
 */
#define _GNU_SOURCE 1
#include "cpjit_rt.h"
#include <stdlib.h>
#include "slowpaths.h"
#include "exc.h"
#include "gen.h"
#include "callsite.h"
#include "calls.h"
#include "cold_regions.h"
#include "stack_segments.h"
#include "tier_trials.h"
#include "marshal.h"
#include "calibration.h" /* generated by build.rs: the calibration snippet, source and code */
#include "osr.h"
#include "hub_probe.h"
#include "opcode.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal/pycore_atomic.h"
#include "internal/pycore_code.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_ceval.h"
#include "internal/pycore_pyerrors.h"

CpjitStats cpjit_stats;

Py_ssize_t cpjit_extra_index = -1;
/* Interpreted calls before a code object compiles (cpjit_rt.h: cpjit_threshold). */
uint32_t cpjit_threshold = 0;
/* Interpreted nanoseconds per code unit after which a loop function defined outside __main__
 * compiles (0: at its first call, as in __main__). See CPJIT_TIER_LOOP and the tiering notes. */
static uint32_t loop_budget_ns = 1000;
static uint64_t warm_window_ns = 0; /* 0: no window (the C default; the package sets its own) */
static int installed = 0; /* enable() is in effect */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
int cpjit_unhooked = 0; /* frames running with the hook taken out (run_unhooked, cold_regions.c) */
static _PyFrameEvalFunction previous_eval = NULL;

/* Set by cpjit_rt_init once reading co_extra directly is known to work (see cpjit_rt.h). */
int cpjit_direct_extra_ok = 0;

uint64_t cpjit_frames_started = 0;

static void free_state(void *ptr)
{
    CpjitCodeState *st = (CpjitCodeState *)ptr;
    if (st == NULL) {
        return;
    }
    if (st->state == CPJIT_COMPILED) {
        /* Call-site caches (calls.h) name compiled code objects by address: this one dies. */
        cpjit_code_epoch++;
    }
    if (st->native != NULL) {
        cpjit_rust_release(st->native);
    }
    cpjit_tier_trials_forget(st);
    cpjit_probe_forget(st);
    cpjit_call_sites_free(st->call_sites);
    cpjit_exc_table_free(st->exc_table);
    free(st->kw_defaults);
    free(st);
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
    CpjitCodeState *marker = calloc(1, sizeof(CpjitCodeState));
    if (marker != NULL && _PyCode_SetExtra((PyObject *)probe, cpjit_extra_index, marker) == 0) {
        CodeExtraLayout *extra = (CodeExtraLayout *)probe->co_extra;
        cpjit_direct_extra_ok = extra != NULL && cpjit_extra_index < extra->ce_size
                          && extra->ce_extras[cpjit_extra_index] == marker;
    }
    else {
        free(marker);
        PyErr_Clear();
    }
    Py_DECREF(probe);
    return cpjit_learn_slot_functions();
}

void cpjit_rt_set_threshold(uint32_t t) { cpjit_threshold = t; }
uint32_t cpjit_rt_get_threshold(void) { return cpjit_threshold; }
void cpjit_rt_set_loop_budget_ns(uint32_t ns_per_unit) { loop_budget_ns = ns_per_unit; }
uint32_t cpjit_rt_get_loop_budget_ns(void) { return loop_budget_ns; }
void cpjit_rt_set_warm_window_ms(uint32_t ms) { warm_window_ns = (uint64_t)ms * 1000000u; }
uint32_t cpjit_rt_get_warm_window_ms(void) { return (uint32_t)(warm_window_ns / 1000000u); }

/* The tiering class of a code object (CpjitCodeState.tier), decided once when its state is
 * created. Only functions get the loop class: a module or class body runs once however many
 * loops it has, and compiling it could only pay off on a later run of the same body (osr.c
 * moves only functions' calls). importlib's module loading (by name and file: the frozen bootstrap's code
 * objects are the interpreter's own) gets the import class. */
static uint32_t tier_of(PyCodeObject *code)
{
    uint32_t tier = 0;
    if ((code->co_flags & CO_OPTIMIZED) && PyUnicode_Check(code->co_filename)
        && PyUnicode_Check(code->co_name)
        && _PyUnicode_EqualToASCIIString(code->co_name, "_find_and_load_unlocked")
        && _PyUnicode_EqualToASCIIString(code->co_filename, "<frozen importlib._bootstrap>")) {
        tier |= CPJIT_TIER_IMPORT;
    }
    if (PyUnicode_Check(code->co_filename)
        && (_PyUnicode_EqualToASCIIString(code->co_filename, "<frozen importlib._bootstrap>")
            || _PyUnicode_EqualToASCIIString(code->co_filename,
                                             "<frozen importlib._bootstrap_external>"))) {
        tier |= CPJIT_TIER_NO_REGION; /* imports have their own rule (CPJIT_R_IMPORT) */
    }
    if (!cpjit_rust_has_backward_jump(_PyCode_CODE(code), Py_SIZE(code))) {
        return tier;
    }
    return tier | ((code->co_flags & CO_OPTIMIZED) ? CPJIT_TIER_LOOP : CPJIT_TIER_BODY_LOOP);
}

/* Whether `globals` is the namespace of __main__ (by its __name__). */
int cpjit_rt_is_main_namespace(PyObject *globals)
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

/* Whether `globals` is the namespace of a module other than __main__ that the import system
 * made (it has a __spec__): the body running in it is that module's import. (Code exec'd in a
 * plain dict, and the program's own __main__, do not count.) */
static int is_imported_module_namespace(PyObject *globals)
{
    if (globals == NULL || !PyDict_CheckExact(globals) || cpjit_rt_is_main_namespace(globals)) {
        return 0;
    }
    PyObject *spec = PyDict_GetItemWithError(globals, &_Py_ID(__spec__));
    if (spec == NULL) {
        if (PyErr_Occurred()) {
            PyErr_Clear();
        }
        return 0;
    }
    return spec != Py_None;
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
        return !cpjit_rt_is_main_namespace(f->f_globals);
    }
    return 0;
}

/* Whether a library loop function (CPJIT_TIER_LOOP, not defined in __main__) has spent its
 * budget of interpreted time: loop_budget_ns per code unit of its bytecode. */
static inline int loop_budget_spent(PyCodeObject *code, CpjitCodeState *st)
{
    return st->interpreted_ns >= (uint64_t)loop_budget_ns * (uint64_t)Py_SIZE(code);
}

/* Whether the frame runs module code in __main__'s namespace: the program's main code (or main
 * code exec'd there). */
static inline int is_main_module_body(_PyInterpreterFrame *frame)
{
    return !(frame->f_code->co_flags & CO_OPTIMIZED) && frame->f_locals == frame->f_globals
           && cpjit_rt_is_main_namespace(frame->f_globals);
}

/* Whether `frame` runs the top level of a script: the module body of __main__ (not a class body
 * in it), with a loop. */
static inline int is_script_top_level(_PyInterpreterFrame *frame, CpjitCodeState *st)
{
    return (st->tier & CPJIT_TIER_BODY_LOOP) && is_main_module_body(frame);
}

/* A new frame of the script's top level that stays cold: run as a cold region
 * (cold_regions.c, cpjit_run_top_level), counted as a cold hand-over. */
static PyObject *run_top_level(PyThreadState *tstate, _PyInterpreterFrame *frame,
                               CpjitCodeState *st)
{
    cpjit_stats.handovers[CPJIT_R_COLD]++;
    return cpjit_run_top_level(tstate, frame, st);
}

/* Whether this call of a not yet compiled code object still runs in the interpreter (and counts
 * toward the threshold). Loop functions of __main__ compile at their first call (see
 * CPJIT_TIER_LOOP) unless a module is being initialised; loop functions of other modules once
 * their interpreted calls have taken their time budget (the caller times those calls); anything
 * else after `threshold` interpreted calls. */
static inline int stays_cold(PyThreadState *tstate, _PyInterpreterFrame *frame,
                             CpjitCodeState *st)
{
    if (__builtin_expect(st->tier & CPJIT_TIER_PROBING, 0)) {
        return cpjit_probe_step(st); /* hub_probe.c */
    }
    if (st->calls >= cpjit_threshold) {
        if (warm_window_ns == 0 || cpjit_threshold == 0
            || (st->tier & (CPJIT_TIER_LOOP | CPJIT_TIER_BODY_LOOP))) {
            return 0;
        }
        /* Loopless code: warm only if these calls came within the window; else a new window
         * starts with this call. One clock read per `threshold` calls. */
        uint64_t now = cpjit_now_ns();
        if (now - st->warm_since_ns <= warm_window_ns) {
            /* Warm: it compiles, unless a probe of the calls it makes finds it a hub. */
            return cpjit_probe_warm(frame, st, now);
        }
        st->warm_since_ns = now;
        st->calls = 1;
        return 1;
    }
    if (st->tier & CPJIT_TIER_LOOP) {
        if (loop_budget_ns == 0
            || (cpjit_rt_is_main_namespace(frame->f_globals) && !cpjit_osr_may_watch(tstate, frame))) {
            if (!initialising_a_module(tstate)) {
                return 0;
            }
        }
        else if (loop_budget_spent(frame->f_code, st)) {
            return 0;
        }
    }
    /* The top level of a script (the module body of __main__, not a class body in it): as a
     * script's loop function, interpreted and watched until its budget is spent (osr.c), else
     * compiled at once. */
    if (is_script_top_level(frame, st)
        && (!cpjit_osr_may_watch(tstate, frame) || loop_budget_spent(frame->f_code, st))) {
        return 0;
    }
    st->calls++;
    return 1;
}

static CpjitCodeState *state_create(PyCodeObject *code);

/* cpjit_rt_state_for for the hook's own paths: the lookup in line, creation out of line. */
static inline __attribute__((always_inline)) CpjitCodeState *state_for(PyCodeObject *code,
                                                                       int create)
{
    if (cpjit_direct_extra_ok) {
        CpjitCodeState *st = cpjit_state_fast(code);
        if (st != NULL || !create) {
            return st;
        }
        return state_create(code);
    }
    return cpjit_rt_state_for(code, create);
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
    return state_create(code);
}

/* A new state for a code object that has none. */
static __attribute__((noinline)) CpjitCodeState *state_create(PyCodeObject *code)
{
    CpjitCodeState *st = calloc(1, sizeof(CpjitCodeState));
    if (st == NULL) {
        return NULL;
    }
    st->warmup = code->co_warmup; /* the interpreter's countdown so far (see cpjit_rt.h) */
    st->tier = tier_of(code);
    if (warm_window_ns != 0) {
        st->warm_since_ns = cpjit_now_ns(); /* the first window starts at the first call */
    }
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
            free(st);
            return NULL;
        }
        if (_Py_tracemalloc_config.tracing) {
            /* cpjit's bookkeeping, not the program's memory: tracemalloc files it under no
             * line (the state itself and every other table of cpjit's come from malloc,
             * which it does not trace). */
            PyTraceMalloc_Untrack(0, (uintptr_t)extra);
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
        free(st);
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

/* C stack guard. CPython 3.11 runs Python-to-Python calls without C recursion, but native code
 * (and, with a PEP 523 hook installed, the interpreter too) calls each Python frame on the C
 * stack. Before a new frame runs natively the stack pointer is compared with the thread's stack:
 * below its soft floor, the hook and direct calls hand the frame to the interpreter with the hook
 * taken out (run_unhooked), which runs the calls beneath without C recursion as plain CPython
 * does; below the hard floor (only reachable when another evaluator was installed before cpjit,
 * so the hook cannot be taken out) native entry raises RecursionError. The floors scale with the
 * stack: small stacks (threading.stack_size, ulimit -s) keep most of theirs for the interpreter
 * and C code, large ones keep a fixed reserve. Whatever the size, every frame is checked.
 *
 * A thread's stack range comes from pthread_getattr_np (for the main thread glibc derives it
 * from RLIMIT_STACK and the mappings; the kernel keeps a guard gap below a growing stack, so
 * that is left out too). When the stack pointer is outside the known range (a coroutine library
 * switched stacks), the range is looked up again: the thread's own, else the mapping that holds
 * the stack pointer (/proc/self/maps); a stack that cannot be located counts as exhausted (the
 * interpreter runs it: slower, never wrong). */
typedef struct {
    uintptr_t lo, hi;     /* usable range [lo, hi); lo == hi: none */
    uintptr_t soft, hard; /* floors, lo < hard < soft < hi */
} StackRange;

static _Thread_local StackRange thread_range;  /* the thread's own stack */
static _Thread_local StackRange foreign_range; /* the last other stack seen on this thread */
static _Thread_local int thread_range_known;

/* A one-entry cache in front of the thread-locals, valid under the GIL: which thread (tstate
 * address, its unique id and its OS thread: a new thread never matches all three of a dead one)
 * and which of its ranges was used last. Global (calls.h): the CALL stencil's direct-call path
 * checks it in line (cpjit_c_stack_ok_fast). */
CpjitStackCache cpjit_stack_cache;
#define cached_tstate (cpjit_stack_cache.tstate)
#define cached_tstate_id (cpjit_stack_cache.id)
#define cached_thread_id (cpjit_stack_cache.thread_id)
static StackRange cached_range;
/* The range the cache held before, for the same thread: a second entry. */
static StackRange other_range;

/* What a stack is to the guard: the thread's own, one of cpjit's segments, or another
 * (a coroutine library's). */
enum { STACK_THREAD, STACK_SEGMENT, STACK_FOREIGN };

static void set_floors(StackRange *r, uintptr_t lo, uintptr_t hi, int kind)
{
    size_t size = hi - lo;
    /* The reserve kept below native frames: three quarters of a small stack, at least 384 KiB
     * of a larger one, an eighth of a large one. */
    size_t reserve = size * 3 / 4;
    if (reserve > 384 * 1024) {
        reserve = 384 * 1024;
    }
    if (reserve < size / 8) {
        reserve = size / 8;
    }
    r->lo = lo;
    r->hi = hi;
    r->soft = lo + reserve;
    r->hard = lo + reserve / 2;
    /* The soft floor is where the hook goes on on a stack segment (stack_segments.c). cpjit's
     * levels through C take more stack than the interpreter's, so by the time the soft floor
     * above would be reached plain CPython could have several MiB left for C code that
     * recurses on its own (a C encoder over a deep structure): on the thread's own stack the
     * move comes once an eighth of it is used, to a segment at least twice its size, where the
     * next move comes at the half, so C code beneath any native frame finds at least as much
     * stack as the thread has in all, less what cpjit's first eighth used beyond the
     * interpreter's (under 400 KiB of an 8 MiB stack). Without segments (see eval_frame) the
     * interpreter then runs the rest with the hook taken out, with seven eighths of the stack.
     * A crossing costs a call about 30 ns (the C stack guard's cache keeps both ranges). */
    if (kind == STACK_THREAD && size >= ((size_t)2 << 20)) {
        /* (On a stack under 2 MiB, from threading.stack_size, an eighth is a few frames below
         * the thread's start: every call made from above it would cross to a segment and back,
         * and a thread's loop calling a helper ran 2-4x slower at 32-128 KiB. Such a stack keeps
         * the reserve above, three quarters of it.) */
        r->soft = hi - size / 8;
    }
    else if (kind == STACK_SEGMENT) {
        r->soft = lo + size / 2;
    }
}

/* The main thread's stack without reading /proc/self/maps (which glibc's pthread_getattr_np
 * does for the main thread: 25-80 us, most of a short program's stack-guard cost). The kernel
 * copies the executable's name (AT_EXECFN) first, so it ends one pointer below the top of the
 * stack mapping; the stack may grow down from there by RLIMIT_STACK. With a limit of at most
 * 64 MiB no mapping lies in that range: the kernel keeps mmap_base at least 128 MiB (plus the
 * stack's randomisation and guard gap) below the highest possible stack top. 0 when this does not
 * apply (another limit, an odd layout): pthread_getattr_np decides. */
static int find_main_stack(uintptr_t sp)
{
    struct rlimit rl;
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn == NULL || getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur > 64 * 1024 * 1024 || rl.rlim_cur < 64 * 1024) {
        return 0;
    }
    uintptr_t hi = (uintptr_t)execfn + strlen(execfn) + 1 + sizeof(void *);
    uintptr_t lo = (hi - (uintptr_t)rl.rlim_cur + 4095) & ~(uintptr_t)4095;
    if ((hi & 4095) != 0 || sp >= hi || sp < lo) {
        return 0;
    }
    set_floors(&thread_range, lo, hi, STACK_THREAD);
    return 1;
}

static void find_thread_range(void)
{
    thread_range_known = 1;
    memset(&thread_range, 0, sizeof(thread_range));
    if (getpid() == (pid_t)syscall(SYS_gettid)
        && find_main_stack((uintptr_t)__builtin_frame_address(0))) {
        return;
    }
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return;
    }
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 0) {
        uintptr_t lo = (uintptr_t)addr, hi = lo + size;
        if (getpid() == (pid_t)syscall(SYS_gettid)) {
            /* The main thread: glibc caps the size at the gap to the next mapping below when
             * RLIMIT_STACK allows more; the kernel then stops the stack a guard gap (1 MiB by
             * default) short of that mapping. */
            struct rlimit rl;
            if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
                || rl.rlim_cur > size + 64 * 1024) {
                size_t gap = 1024 * 1024;
                lo += gap < size / 2 ? gap : size / 2;
            }
        }
        set_floors(&thread_range, lo, hi, STACK_THREAD);
    }
    pthread_attr_destroy(&attr);
}

/* The mapping that holds `sp`, from /proc/self/maps; 0 when not found. */
static int find_mapping(uintptr_t sp, StackRange *out)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) {
        return 0;
    }
    char line[512];
    int found = 0;
    while (fgets(line, sizeof(line), maps) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= sp && sp < hi) {
            set_floors(out, lo, hi, STACK_FOREIGN);
            found = 1;
            break;
        }
    }
    fclose(maps);
    return found;
}

static inline int in_range(const StackRange *r, uintptr_t sp)
{
    return sp - r->lo < r->hi - r->lo;
}

/* The range holding `sp` (the thread's own stack, or a foreign one) when the one-entry cache
 * does not have it; NULL when unknown. */
static __attribute__((noinline)) const StackRange *range_for_slow(PyThreadState *tstate,
                                                                  uintptr_t sp)
{
    uintptr_t lo, hi;
    int same_thread = tstate == cached_tstate && tstate->id == cached_tstate_id
                      && tstate->thread_id == cached_thread_id;
    if (same_thread && in_range(&other_range, sp)) {
        /* Back on the stack the cache held before (a call crossing between the thread's own
         * stack and a segment, and back): the two swap, with no lookup. */
        StackRange t = cached_range;
        cached_range = other_range;
        other_range = t;
        cpjit_stack_cache.soft = cached_range.soft;
        cpjit_stack_cache.span = cached_range.hi - cached_range.soft;
        return &cached_range;
    }
    if (!thread_range_known) {
        find_thread_range();
    }
    const StackRange *r = NULL;
    if (in_range(&thread_range, sp)) {
        r = &thread_range;
    }
    else if (in_range(&foreign_range, sp)) {
        r = &foreign_range;
    }
    else if (cpjit_segment_range(sp, &lo, &hi)) {
        /* One of cpjit's own (stack_segments.c): its floors as any stack's. */
        set_floors(&foreign_range, lo, hi, STACK_SEGMENT);
        r = &foreign_range;
    }
    else if (find_mapping(sp, &foreign_range)) {
        r = &foreign_range;
    }
    else {
        return NULL;
    }
    if (same_thread) {
        other_range = cached_range;
    }
    else {
        memset(&other_range, 0, sizeof(other_range));
    }
    cached_tstate = tstate;
    cached_tstate_id = tstate->id;
    cached_thread_id = tstate->thread_id;
    cached_range = *r;
    cpjit_stack_cache.soft = r->soft;
    cpjit_stack_cache.span = r->hi - r->soft;
    return &cached_range;
}

/* Whether the stack pointer of the caller is below the soft (hard == 0) or hard floor. */
static inline __attribute__((always_inline)) int c_stack_low(PyThreadState *tstate, int hard)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    const StackRange *r = &cached_range;
    if (__builtin_expect(tstate != cached_tstate || tstate->id != cached_tstate_id
                         || tstate->thread_id != cached_thread_id || !in_range(r, sp), 0)) {
        r = range_for_slow(tstate, sp);
        if (r == NULL) {
            return 1;
        }
    }
    return sp < (hard ? r->hard : r->soft);
}

int cpjit_rt_c_stack_low(PyThreadState *tstate)
{
    return c_stack_low(tstate, 0);
}

int cpjit_rt_run_deeper(void (*fn)(void *), void *arg)
{
    return cpjit_run_on_new_segment(fn, arg, 2 * (thread_range.hi - thread_range.lo));
}

/* What _PyEval_EvalFrameDefault does on entry: link the frame as the thread's current one and
 * count it against the recursion limit. Returns 0, or -1 with an exception set (frame unlinked).
 * On success the frame's stack pointer is returned in *stack_pointer and its stack depth is -1,
 * as in the interpreter: the cycle GC must not look at stack slots native code keeps in flux.
 * `check_stack` is 0 when the caller has just found the C stack above its soft floor (which is
 * above the hard floor checked here), so the check would be a repeat. */
static inline __attribute__((always_inline)) int
enter_native(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject ***stack_pointer,
             int check_stack)
{
    _PyCFrame *cframe = tstate->cframe;
    frame->previous = cframe->current_frame;
    cframe->current_frame = frame;
    if (tstate->recursion_remaining-- <= 0 && _Py_CheckRecursiveCall(tstate, "")) {
        /* _Py_CheckRecursiveCall gave the count back; unlink and fail like the interpreter. */
        cframe->current_frame = frame->previous;
        return -1;
    }
    if (check_stack && c_stack_low(tstate, 1)) {
        tstate->recursion_remaining++;
        cframe->current_frame = frame->previous;
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded (C stack nearly exhausted; cpjit runs "
                        "each Python call on the C stack)");
        return -1;
    }
    cpjit_stats.frames_native++;
    frame->is_entry = true; /* its native code returns to this C caller */
    *stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1;
    return 0;
}

/* Run `frame` natively from `target`. */
CPJIT_HOT
static PyObject *run_native(PyThreadState *tstate, _PyInterpreterFrame *frame, const char *target)
{
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer, 1) < 0) {
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
    if (enter_native(tstate, frame, &stack_pointer, 1) < 0) {
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

/* The state of a function (not a module or class body) whose next call stays in the interpreter
 * with nothing else for the hook to decide (below the threshold by more than `ahead` calls, no
 * loop tier), entered without tracing and with C stack to spare; NULL otherwise: the hook's cold
 * case (run_if_cold, ahead 0). The function vectorcall's (calls.h: callee_state) asks the
 * same with ahead 1 (the call that reaches the threshold goes through the hook, which
 * compiles). */
static inline __attribute__((always_inline)) CpjitCodeState *
cold_function_state(PyThreadState *tstate, PyCodeObject *code, uint32_t ahead)
{
    CpjitCodeState *st;
    if (!cpjit_direct_extra_ok || !(code->co_flags & CO_OPTIMIZED)
        || (st = cpjit_state_fast(code)) == NULL || st->state != CPJIT_COUNTING
        || st->calls + ahead >= cpjit_threshold || (st->tier & CPJIT_TIER_NOT_PLAIN_COLD)
        || tstate->cframe->use_tracing || c_stack_low(tstate, 0)) {
        return NULL;
    }
    return st;
}

/* A frame pushed by native code (calls.c) starts at its first instruction. The caller has just
 * found the C stack above its soft floor (cpjit_direct_callee), above the hard one checked in
 * enter_native. */
PyObject *cpjit_rt_run_new_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 CpjitCodeState *st)
{
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer, 0) < 0) {
        return NULL;
    }
    return ((cpjit_native_fn)(st->base + st->entries[0]))(frame, stack_pointer, tstate);
}

/* A new frame of compiled code, entered through the hook: later calls of its function from C
 * enter native code without the hook (calls.h: cpjit_function_vectorcall). */
static inline __attribute__((always_inline)) void take_vectorcall(_PyInterpreterFrame *frame)
{
    PyFunctionObject *func = frame->f_func;
    if (func != NULL && func->vectorcall == _PyFunction_Vectorcall) {
        func->vectorcall = cpjit_function_vectorcall;
    }
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
static PyObject *run_unhooked(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag,
                              int reason)
{
    PyInterpreterState *interp = tstate->interp;
    _PyInterpreterState_SetEvalFrameFunc(interp, _PyEval_EvalFrameDefault);
    cpjit_unhooked++;
    PyObject *res = interpret(tstate, frame, throwflag, reason);
    cpjit_unhooked--;
    if (installed && _PyInterpreterState_GetEvalFrameFunc(interp) == _PyEval_EvalFrameDefault) {
        _PyInterpreterState_SetEvalFrameFunc(interp, cpjit_eval_frame);
    }
    return res;
}

/* A frame run with the hook taken out (tier_trials.c), counted as `reason`. */
PyObject *cpjit_rt_run_unhooked(PyThreadState *tstate, _PyInterpreterFrame *frame, int reason)
{
    return run_unhooked(tstate, frame, 0, reason);
}

int cpjit_rt_may_unhook(void)
{
    return installed && (previous_eval == NULL || previous_eval == _PyEval_EvalFrameDefault);
}

/* A new frame (pushed by cpjit_function_vectorcall) of code that callee_state said stays
 * cold: counted and run by the interpreter, as the hook would (as a cold region when it may
 * be one: cold_regions.c). */
PyObject *cpjit_rt_run_cold_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                  CpjitCodeState *st)
{
    st->calls++;
    return cpjit_run_cold(tstate, frame, st);
}

static PyObject *eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);

/* eval_frame's arguments and result, for a call on a stack segment. */
typedef struct {
    PyThreadState *tstate;
    _PyInterpreterFrame *frame;
    int throwflag;
    PyObject *result;
} DeeperCall;

static void eval_frame_deeper(void *arg)
{
    DeeperCall *c = arg;
    c->result = eval_frame(c->tstate, c->frame, c->throwflag);
}

static PyObject *eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (c_stack_low(tstate, 0)) {
        /* Deep recursion: the frame goes on on a fresh C stack (stack_segments.c), natively or
         * not as it would have, guarded there as here. Without a segment (the last one in use,
         * greenlet loaded, no memory) the interpreter runs it with the hook taken out
         * (run_unhooked): it makes the Python-to-Python calls beneath without C recursion, as
         * plain CPython does, with the rest of this stack (seven eighths of the thread's own,
         * half a segment) for the calls through C. When the hook cannot be taken out, the hard
         * floor ends the recursion with RecursionError. */
        DeeperCall call = {tstate, frame, throwflag, NULL};
        if (cpjit_rt_run_deeper(eval_frame_deeper, &call)) {
            return call.result;
        }
        if (previous_eval == NULL || previous_eval == _PyEval_EvalFrameDefault) {
            return run_unhooked(tstate, frame, throwflag, CPJIT_R_DEEP_RECURSION);
        }
        if (c_stack_low(tstate, 1)) {
            PyErr_SetString(PyExc_RecursionError,
                            "maximum recursion depth exceeded (C stack nearly exhausted; cpjit "
                            "runs each Python call on the C stack)");
            return NULL;
        }
    }
    if (CPJIT_INTERPRET_ONLY(tstate)) {
        if (!throwflag && cpjit_rt_may_unhook()) {
            /* Traced or profiled (sys.settrace, sys.setprofile: coverage, cProfile, debuggers;
             * or tracemalloc): the interpreter runs the frame anyway, so it runs it with the
             * hook taken out, as imports do, and inlines the calls beneath as plain CPython does
             * under a tracer, instead of one hook round trip and one C-level interpreter per
             * call (coverage's recursive fib: 0.90x of plain with the hook in). The hook is
             * back when the frame returns; code beneath stays interpreted until then even if
             * tracing stops meanwhile (plain CPython's speed, never wrong). */
            return run_unhooked(tstate, frame, 0, CPJIT_R_TRACING);
        }
        return interpret(tstate, frame, throwflag, throwflag ? CPJIT_R_THROW : CPJIT_R_TRACING);
    }
    PyCodeObject *code = frame->f_code;
    if (throwflag) {
        /* Thrown into: natively only if already compiled (a throw is not a call to count). */
        CpjitCodeState *st = state_for(code, 0);
        if (st == NULL || st->state != CPJIT_COMPILED) {
            return interpret(tstate, frame, throwflag, CPJIT_R_THROW);
        }
        return run_native_throw(tstate, frame);
    }
    if (!(code->co_flags & CO_OPTIMIZED) && frame->f_locals == frame->f_globals && cpjit_threshold > 0
        && (previous_eval == NULL || previous_eval == _PyEval_EvalFrameDefault)
        && is_imported_module_namespace(frame->f_globals)) {
        return run_unhooked(tstate, frame, throwflag, CPJIT_R_IMPORT);
    }
    CpjitCodeState *st = state_for(code, 1);
    if (st == NULL) {
        return interpret(tstate, frame, throwflag, CPJIT_R_COMPILE_FAILED);
    }
    if ((st->tier & CPJIT_TIER_IMPORT) && cpjit_threshold > 0 && st->state != CPJIT_COMPILED
        && (previous_eval == NULL || previous_eval == _PyEval_EvalFrameDefault)) {
        return run_unhooked(tstate, frame, throwflag, CPJIT_R_IMPORT);
    }
    if (st->state != CPJIT_COMPILED) {
        if (st->state == CPJIT_FAILED) {
            return interpret(tstate, frame, throwflag, CPJIT_R_COMPILE_FAILED);
        }
        if (stays_cold(tstate, frame, st)) {
            int top_level = is_script_top_level(frame, st);
            if ((st->tier & CPJIT_TIER_LOOP) || top_level) {
                /* Timed toward its budget (the state lives as long as the code, which the
                 * frame holds); a long call goes on natively once the budget is spent
                 * (osr.c). */
                uint64_t start = cpjit_now_ns();
                CpjitOsrCandidate outer;
                int candidate =
                    !throwflag && cpjit_osr_begin(tstate, frame, st, start,
                                                  cpjit_rt_is_main_namespace(frame->f_globals),
                                                  &outer);
                PyObject *res = !throwflag && top_level
                                    && frame->prev_instr == _PyCode_CODE(code) - 1
                                    ? run_top_level(tstate, frame, st)
                                    : interpret(tstate, frame, throwflag, CPJIT_R_COLD);
                st->interpreted_ns += cpjit_now_ns() - start;
                cpjit_native_fn rest = candidate ? cpjit_osr_end(tstate, frame, res, &outer) : NULL;
                if (rest != NULL) {
                    /* The frame as the interpreter left it before an instruction: entered
                     * there as a resumed generator is (frame->prev_instr just before it). Its
                     * function's later calls from C enter its native code directly, as after
                     * a compile at a call (a worker thread's call while the main thread has
                     * the hook out for a region runs natively). */
                    take_vectorcall(frame);
                    return CPJIT_INTERPRET_ONLY(tstate) || !installed
                               ? interpret(tstate, frame, 0, CPJIT_R_TRACING)
                               : run_native(tstate, frame, (const char *)rest);
                }
                return res;
            }
            if (throwflag || frame->prev_instr != _PyCode_CODE(code) - 1) {
                return interpret(tstate, frame, throwflag, CPJIT_R_COLD);
            }
            if (is_main_module_body(frame)) {
                return run_top_level(tstate, frame, st); /* (one without loops) */
            }
            return cpjit_run_cold(tstate, frame, st);
        }
        cpjit_compiles_seen++;
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
    if (unit == 0) {
        take_vectorcall(frame);
    }
    return run_native(tstate, frame, st->base + st->entries[unit]);
}

/* Whether the new frame (as _PyEval_Vector bound it) holds a reference to `arg`: in a parameter,
 * in the *args tuple or among the **kwargs values. */
static int callee_holds(_PyInterpreterFrame *frame, PyObject *arg)
{
    PyCodeObject *code = frame->f_code;
    int n = code->co_argcount + code->co_kwonlyargcount;
    for (int i = 0; i < n; i++) {
        if (frame->localsplus[i] == arg) {
            return 1;
        }
    }
    if (code->co_flags & CO_VARARGS) {
        PyObject *t = frame->localsplus[n++];
        if (t != NULL && PyTuple_CheckExact(t)) {
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
                if (PyTuple_GET_ITEM(t, i) == arg) {
                    return 1;
                }
            }
        }
    }
    if (code->co_flags & CO_VARKEYWORDS) {
        PyObject *d = frame->localsplus[n];
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (d != NULL && PyDict_CheckExact(d) && PyDict_Next(d, &pos, &key, &value)) {
            if (value == arg) {
                return 1;
            }
        }
    }
    return 0;
}

/* A new frame called from an interpreter-run frame's CALL whose callable is exactly the new
 * frame's function: without a hook the interpreter would have inlined that call. It would then
 * have advanced the caller's prev_instr to the CALL's last cache entry (f_lasti while the callee
 * runs, and where an exception from it is seen to come from) and moved the arguments into the
 * callee's frame (the caller's stack no longer holds them, so they go with the callee's locals,
 * in their order). Under the hook the interpreter
 * calls through _PyEval_Vector instead, which gave the callee references of its own. Make the
 * caller look as plain CPython's would: prev_instr at the last cache entry (left there: see
 * cpjit_eval_frame), and the caller's argument slots holding None (released by the interpreter
 * after the call as it releases arguments), leaving the callee the only references. Returns the
 * caller, or NULL when nothing was changed. */
static _PyInterpreterFrame *as_inlined_call(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                            uintptr_t here)
{
    _PyInterpreterFrame *caller = tstate->cframe->current_frame;
    PyCodeObject *callee_code = frame->f_code;
    if (caller == NULL || frame->prev_instr != _PyCode_CODE(callee_code) - 1
        || _PyFrame_IsIncomplete(caller)) {
        return NULL;
    }
    _Py_CODEUNIT *instr = caller->prev_instr;
    if (!cpjit_is_interpreter_call_op(_Py_OPCODE(*instr))) {
        return NULL;
    }
    PyCodeObject *code = caller->f_code;
    CpjitCodeState *st = state_for(code, 1);
    int oparg, depth;
    if (st == NULL || !cpjit_call_site(code, st, instr, &oparg, &depth) || depth < oparg + 2) {
        return NULL;
    }
    PyObject **stack = caller->localsplus + code->co_nlocalsplus;
    int is_meth = stack[depth - oparg - 2] != NULL;
    int total = oparg + is_meth;
    if (stack[depth - total - 1] != (PyObject *)frame->f_func
        || !cpjit_made_by_the_interpreter(tstate, here, cpjit_direct_depth_hook)) {
        return NULL; /* another call, or one C code forwarded with the function in that slot */
    }
    for (int i = depth - total; i < depth; i++) {
        if (!callee_holds(frame, stack[i])) {
            goto prev_instr_only; /* not the call _PyEval_Vector bound: leave the slots */
        }
    }
    for (int i = depth - total; i < depth; i++) {
        PyObject *arg = stack[i];
        stack[i] = Py_NewRef(Py_None);
        Py_DECREF(arg); /* the callee's frame holds a reference of its own */
    }
prev_instr_only:
    caller->prev_instr = instr + INLINE_CACHE_ENTRIES_CALL;
    return caller;
}

/* Resume points of suspended generators and coroutines the hook entered lately, keyed by the
 * frame's prev_instr (an address in one live code object's bytecode): resuming reads one entry
 * of this table, which a program's busy resume points keep in the cache, instead of the chain
 * code -> co_extra -> state -> entry table, three dependent loads that a pipeline of
 * generators, each resumed once per item, missed (genshi's template rendering: cpjit_eval_frame
 * was 7.6% of its samples, most of them on those loads). An entry holds while cpjit_code_epoch
 * is the one recorded: the death of any compiled code object bumps it (free_state), before its
 * bytecode's memory can be another code object's; a compiled code object's entries never change
 * while it lives. */
#define RESUME_POINTS 256
typedef struct {
    const _Py_CODEUNIT *at;
    cpjit_native_fn entry;
    uint64_t epoch;
    uint64_t unused; /* 32 bytes: two to a cache line */
} ResumePoint;
static ResumePoint resume_points[RESUME_POINTS];

static inline ResumePoint *resume_point_for(const _Py_CODEUNIT *at)
{
    return &resume_points[((uintptr_t)at >> 1) % RESUME_POINTS];
}

/* The native code a frame suspended at `at` resumes at, if the table holds it; else NULL. */
static inline cpjit_native_fn known_resume_point(const _Py_CODEUNIT *at)
{
    ResumePoint *rp = resume_point_for(at);
    return rp->at == at && rp->epoch == cpjit_code_epoch ? rp->entry : NULL;
}

/* Forget every resume point: a generator's resumes were given another way
 * (cpjit.set_calls_from_c), and the table would resume it natively. */
void cpjit_rt_forget_resume_points(void)
{
    memset(resume_points, 0, sizeof resume_points);
}

/* Note a resume point (never a frame's start: unit 0 has no entry of its own here). */
static inline void remember_resume_point(const _Py_CODEUNIT *at, cpjit_native_fn entry)
{
    ResumePoint *rp = resume_point_for(at);
    rp->at = at;
    rp->entry = entry;
    rp->epoch = cpjit_code_epoch;
}

/* The hook's common case, kept to one function with nothing out of line: a compiled code object
 * entered or resumed (a generator or coroutine after a yield) without tracing, with C stack to
 * spare, not called from an interpreter-run CALL. Returns NULL with *handled = 0 when the
 * general path must decide. */
static inline __attribute__((always_inline)) PyObject *
enter_compiled(PyThreadState *tstate, _PyInterpreterFrame *frame, int *handled)
{
    *handled = 0;
    if (CPJIT_INTERPRET_ONLY(tstate) || !cpjit_direct_extra_ok) {
        return NULL;
    }
    PyObject **stack_pointer;
    cpjit_native_fn resume = known_resume_point(frame->prev_instr);
    if (resume != NULL) {
        if (c_stack_low(tstate, 0)) {
            return NULL;
        }
        *handled = 1;
        if (enter_native(tstate, frame, &stack_pointer, 0) < 0) {
            return NULL;
        }
        return resume(frame, stack_pointer, tstate);
    }
    PyCodeObject *code = frame->f_code;
    CpjitCodeState *st = cpjit_state_fast(code);
    if (st == NULL || st->state != CPJIT_COMPILED) {
        return NULL;
    }
    Py_ssize_t unit = (frame->prev_instr + 1) - _PyCode_CODE(code);
    if (unit < 0 || unit >= (Py_ssize_t)st->n_units || st->entries[unit] == CPJIT_NO_ENTRY
        || c_stack_low(tstate, 0)) {
        return NULL;
    }
    cpjit_native_fn entry = (cpjit_native_fn)(st->base + st->entries[unit]);
    if (unit == 0) {
        /* A new frame: one called from an interpreter-run CALL goes the general way, which
         * makes the call look inlined (as_inlined_call). Native callers leave prev_instr on a
         * cache entry, never on a CALL. */
        _PyInterpreterFrame *caller = tstate->cframe->current_frame;
        if (caller != NULL && !_PyFrame_IsIncomplete(caller)
            && cpjit_is_interpreter_call_op(_Py_OPCODE(*caller->prev_instr))) {
            return NULL;
        }
        take_vectorcall(frame);
    }
    else if (!(st->tier & CPJIT_TIER_ROOT_DONE)
             && (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))) {
        /* A resume of a generator whose resumes are not decided native (tier_trials.c): only
         * those that are go in the table above. */
        *handled = 1;
        return cpjit_root_resume(tstate, frame, st, entry);
    }
    else {
        remember_resume_point(frame->prev_instr, entry);
    }
    *handled = 1;
    if (enter_native(tstate, frame, &stack_pointer, 0) < 0) {
        return NULL;
    }
    return entry(frame, stack_pointer, tstate);
}

/* A generator's or coroutine's frame resumed natively at `entry` (enter_compiled's way), for
 * tier_trials.c. */
PyObject *cpjit_rt_resume_native(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 cpjit_native_fn entry)
{
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer, 0) < 0) {
        return NULL;
    }
    return entry(frame, stack_pointer, tstate);
}

/* SEND to a generator or coroutine whose frame has native code at its resume point, without the
 * PyIter_Send -> gen_send_ex2 -> _PyEval_EvalFrame -> hook round trip: Objects/genobject.c's
 * gen_send_ex2 (exc = 0, closing = 0) with the hook's enter_compiled in the middle, for the two
 * states a send can resume (suspended; just created with None). Anything else (other receivers,
 * other states and their errors, tracing, another frame evaluator, no native entry, little C
 * stack) goes through PyIter_Send, which does the same via the hook. */
CPJIT_HOT
PySendResult cpjit_gen_send(PyThreadState *tstate, PyObject *receiver, PyObject *arg,
                            PyObject **presult)
{
    PyTypeObject *type = Py_TYPE(receiver);
    if ((type != &PyGen_Type && type != &PyCoro_Type) || CPJIT_INTERPRET_ONLY(tstate)
        || !cpjit_direct_extra_ok || !cpjit_hooked_for(tstate)) {
        return PyIter_Send(receiver, arg, presult);
    }
    PyGenObject *gen = (PyGenObject *)receiver;
    int8_t state = gen->gi_frame_state;
    if (state != FRAME_SUSPENDED && !(state == FRAME_CREATED && Py_IsNone(arg))) {
        return PyIter_Send(receiver, arg, presult);
    }
    _PyInterpreterFrame *frame = (_PyInterpreterFrame *)gen->gi_iframe;
    cpjit_native_fn entry = known_resume_point(frame->prev_instr);
    if (entry == NULL) {
        PyCodeObject *code = frame->f_code;
        CpjitCodeState *st = cpjit_state_fast(code);
        if (st == NULL || st->state != CPJIT_COMPILED) {
            return PyIter_Send(receiver, arg, presult);
        }
        Py_ssize_t unit = (frame->prev_instr + 1) - _PyCode_CODE(code);
        if (unit <= 0 || unit >= (Py_ssize_t)st->n_units || st->entries[unit] == CPJIT_NO_ENTRY) {
            return PyIter_Send(receiver, arg, presult);
        }
        if (st->tier & CPJIT_TIER_ROOT_COLD) {
            /* Its resumes run as plain python runs them (tier_trials.c): the hook decides. */
            return PyIter_Send(receiver, arg, presult);
        }
        entry = (cpjit_native_fn)(st->base + st->entries[unit]);
        if (st->tier & CPJIT_TIER_ROOT_DONE) {
            remember_resume_point(frame->prev_instr, entry);
        }
    }
    if (c_stack_low(tstate, 0)) {
        return PyIter_Send(receiver, arg, presult);
    }
    /* gen_send_ex2 up to _PyEval_EvalFrame. */
    _PyFrame_StackPush(frame, Py_NewRef(arg));
    frame->previous = tstate->cframe->current_frame;
    gen->gi_exc_state.previous_item = tstate->exc_info;
    tstate->exc_info = &gen->gi_exc_state;
    gen->gi_frame_state = FRAME_EXECUTING;
    /* The hook's enter_compiled. */
    PyObject *result;
    PyObject **stack_pointer;
    if (enter_native(tstate, frame, &stack_pointer, 0) < 0) {
        result = NULL;
    }
    else {
        result = entry(frame, stack_pointer, tstate);
    }
    /* gen_send_ex2 after it. */
    if (gen->gi_frame_state == FRAME_EXECUTING) {
        gen->gi_frame_state = FRAME_COMPLETED;
    }
    tstate->exc_info = gen->gi_exc_state.previous_item;
    gen->gi_exc_state.previous_item = NULL;
    frame->previous = NULL;
    if (result != NULL) {
        if (gen->gi_frame_state == FRAME_SUSPENDED) {
            *presult = result;
            return PYGEN_NEXT;
        }
    }
    else if (_PyErr_ExceptionMatches(tstate, PyExc_StopIteration)) {
        _PyErr_FormatFromCause(PyExc_RuntimeError, "%s",
                               type == &PyCoro_Type ? "coroutine raised StopIteration"
                                                    : "generator raised StopIteration");
    }
    cpjit_gen_release_frame(gen);
    *presult = result;
    return result != NULL ? PYGEN_RETURN : PYGEN_ERROR;
}

/* The hook's cold case, decided in line: a function (not a module or class body) that stays in
 * the interpreter (below the threshold, no loop tier), entered without tracing and with C stack
 * to spare, is counted and interpreted, as eval_frame would decide (stays_cold), without its
 * other tests. *handled = 0 when eval_frame must decide. */
static inline __attribute__((always_inline)) PyObject *
run_if_cold(PyThreadState *tstate, _PyInterpreterFrame *frame, int *handled)
{
    PyCodeObject *code = frame->f_code;
    CpjitCodeState *st = cold_function_state(tstate, code, 0);
    *handled = 0;
    if (st == NULL) {
        return NULL;
    }
    *handled = 1;
    st->calls++;
    if (frame->prev_instr == _PyCode_CODE(code) - 1
        && !(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))) {
        take_vectorcall(frame); /* its next cold calls skip _PyEval_Vector and the hook */
        return cpjit_run_cold(tstate, frame, st);
    }
    return interpret(tstate, frame, 0, CPJIT_R_COLD);
}

CPJIT_HOT
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag)
{
    if (cpjit_other_sample_due() && cpjit_serve_other_sample(tstate)) {
        /* A call inside another thread's region, sampled: it goes on as the region runs it. */
        return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    }
    cpjit_frames_started++;
    int handled = 0;
    if (!throwflag) {
        PyObject *res = enter_compiled(tstate, frame, &handled);
        if (handled) {
            return res;
        }
    }
    _PyInterpreterFrame *caller =
        throwflag ? NULL : as_inlined_call(tstate, frame, (uintptr_t)__builtin_frame_address(0));
    if (caller != NULL) {
        cpjit_probe_note_call(caller, frame->f_code);
        cpjit_osr_note_caller(tstate, caller); /* a loop of __main__ started unhooked */
    }
    PyObject *res = throwflag ? NULL : run_if_cold(tstate, frame, &handled);
    if (!handled) {
        res = eval_frame(tstate, frame, throwflag);
    }
    if (caller != NULL && res != NULL) {
        /* _PyEval_Vector would release the locals after this returns: too late (calls.h). */
        cpjit_release_locals_as_inlined(tstate, frame);
    }
    cpjit_osr_after_call(tstate);
    /* prev_instr stays at the CALL's last cache entry, where the interpreter's inlined call
     * leaves it: the interpreter's CALL releases its reference to the function after this
     * returns (a function that dies with its first call, and whatever it holds, is seen by a
     * finalizer at that f_lasti, as plain CPython's callee frame releases it), and on an
     * exception the caller's traceback entry (tb_lasti) and a handler's lasti say so. Nothing
     * else reads it before the interpreter's next instruction sets it: the interpreter goes on
     * from its own instruction pointer and looks handlers up from it. */
    return res;
}

/* How deep below the interpreter running an interpreted caller its own calls of a Python
 * function reach the hook and a function's vectorcall (calls.h: cpjit_made_by_the_interpreter);
 * 0 until measured. */
uintptr_t cpjit_direct_depth_hook = 0, cpjit_direct_depth_vectorcall = 0;
static PyObject *calibration_code; /* the callee the calibration's interpreter calls */

static inline void note_least(uintptr_t *slot, uintptr_t depth)
{
    if (depth != 0 && (*slot == 0 || depth < *slot)) {
        *slot = depth;
    }
}

/* The frame evaluator and the vectorcall of the calibration: each notes how deep it was
 * entered for a call of the calibration's callee. Both stand where cpjit_eval_frame and
 * cpjit_function_vectorcall stand, called from the same places, and their frame addresses are
 * where the callers' calls left the stack pointer, whatever each function keeps in its frame. */
static PyObject *calibration_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                        int throwflag)
{
    if ((PyObject *)frame->f_code == calibration_code) {
        note_least(&cpjit_direct_depth_hook,
                   cpjit_depth_below_interpreter(tstate, (uintptr_t)__builtin_frame_address(0)));
    }
    return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
}

static PyObject *calibration_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                        PyObject *kwnames)
{
    note_least(&cpjit_direct_depth_vectorcall,
               cpjit_depth_below_interpreter(_PyThreadState_GET(),
                                             (uintptr_t)__builtin_frame_address(0)));
    return _PyFunction_Vectorcall(callable, args, nargsf, kwnames);
}

/* The calibration snippet's module code: build.rs compiled it with the target Python and
 * embedded it marshalled (3.11's bytecode and marshal format hold for every 3.11 release), so
 * start-up neither parses nor compiles it; should the bytes not load, the source is compiled. */
static PyObject *calibration_module_code(void)
{
    PyObject *code = PyMarshal_ReadObjectFromString((const char *)calibration_snippet_code,
                                                    (Py_ssize_t)calibration_snippet_size);
    if (code != NULL && PyCode_Check(code)) {
        return code;
    }
    Py_XDECREF(code);
    PyErr_Clear();
    return Py_CompileString(calibration_snippet_source, "<cpjit calibration>", Py_file_input);
}

/* Once, before the hook goes in: an interpreted frame calls a Python function the way the
 * interpreter calls one under a frame evaluator (through PyObject_Vectorcall, since it inlines
 * no call then), once into the evaluator and once into a function's own vectorcall, and the
 * depths are noted. Nothing of it stays: its namespace is dropped and the evaluator put back.
 * Skipped under a tracer or profiler (the interpreter's call takes another way there); a
 * failure leaves the depths unknown, which keeps the test out. The snippet's bytecode serves
 * the eval breaker: what a signal handler raises there that is no Exception (Ctrl-C's
 * KeyboardInterrupt, SystemExit) stays set, -1 returned, for enable() to raise. */
static int calibrate_direct_depths(PyInterpreterState *interp)
{
    PyThreadState *tstate = _PyThreadState_GET();
    if (cpjit_direct_depth_hook != 0 || tstate->cframe->use_tracing || PyErr_Occurred()) {
        return 0;
    }
    PyObject *ns = PyDict_New();
    PyObject *module_code = NULL, *run = NULL, *twin = NULL, *res = NULL;
    if (ns == NULL || PyDict_SetItemString(ns, "__builtins__", PyEval_GetBuiltins()) < 0
        || (module_code = calibration_module_code()) == NULL
        || (run = PyEval_EvalCode(module_code, ns, ns)) == NULL) {
        goto done;
    }
    PyObject *callee = PyDict_GetItemString(ns, "callee"); /* borrowed */
    PyObject *caller = PyDict_GetItemString(ns, "caller");
    if (callee == NULL || caller == NULL || !PyFunction_Check(callee)
        || (twin = PyFunction_New(PyFunction_GET_CODE(callee), ns)) == NULL) {
        goto done;
    }
    ((PyFunctionObject *)twin)->vectorcall = calibration_vectorcall;
    calibration_code = PyFunction_GET_CODE(callee);
    _PyFrameEvalFunction before = _PyInterpreterState_GetEvalFrameFunc(interp);
    _PyInterpreterState_SetEvalFrameFunc(interp, calibration_eval_frame);
    res = PyObject_CallFunctionObjArgs(caller, callee, twin, NULL);
    _PyInterpreterState_SetEvalFrameFunc(interp, before);
    calibration_code = NULL;
done:
    if (res == NULL || cpjit_direct_depth_hook == 0 || cpjit_direct_depth_vectorcall == 0) {
        cpjit_direct_depth_hook = cpjit_direct_depth_vectorcall = 0;
    }
    Py_XDECREF(res);
    Py_XDECREF(twin);
    Py_XDECREF(run);
    Py_XDECREF(module_code);
    if (ns != NULL) {
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        PyDict_Clear(ns); /* the functions' globals: the cycle goes now */
        Py_DECREF(ns);
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    if (PyErr_Occurred() && PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear(); /* the calibration's own trouble (an audit hook, no memory): no test */
    }
    return PyErr_Occurred() ? -1 : 0;
}

int cpjit_rt_install(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == cpjit_eval_frame) {
        return 1;
    }
    int calibrated = calibrate_direct_depths(interp);
    previous_eval = current;
    _PyInterpreterState_SetEvalFrameFunc(interp, cpjit_eval_frame);
    installed = 1;
    return calibrated < 0 ? -1 : 0; /* installed either way; -1: an exception to raise */
}

void cpjit_rt_uninstall(void)
{
    cpjit_cold_regions_stop(); /* before the evaluator changes: the sampler may put the hook back */
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    if (current == cpjit_eval_frame || (cpjit_unhooked > 0 && current == _PyEval_EvalFrameDefault)) {
        _PyInterpreterState_SetEvalFrameFunc(interp, previous_eval);
    }
    installed = 0;
}

int cpjit_rt_is_installed(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    _PyFrameEvalFunction current = _PyInterpreterState_GetEvalFrameFunc(interp);
    return current == cpjit_eval_frame
           || (installed && cpjit_unhooked > 0 && current == _PyEval_EvalFrameDefault);
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

/* The interpreter marks the frame it is given as its entry frame; a frame cpjit_call jumped into
 * must stay marked as such for its frame exit (cpjit_frame_exit). */
static PyObject *interpret_keeping_entry(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                         int throwflag, int reason)
{
    bool is_entry = frame->is_entry;
    PyObject *res = interpret(tstate, frame, throwflag, reason);
    frame->is_entry = is_entry;
    return res;
}

PyObject *cpjit_handover(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                         PyThreadState *tstate, int throwflag, int reason)
{
    _PyFrame_SetStackPointer(frame, stack_pointer);
    cpjit_leave_frame(frame, tstate);
    if (!throwflag || !tstate->cframe->use_tracing || tstate->tracing) {
        return interpret_keeping_entry(tstate, frame, throwflag, reason);
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
    PyObject *res = interpret_keeping_entry(tstate, frame, throwflag, reason);
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
