/* cold_regions.c: cold calls run as plain CPython runs them, and a sampler that finds the hot
 * code beneath them.
 *
 * Owns: the decision to run a cold function's frame with the hook taken out (a "cold region"),
 * the sampler thread that asks the main thread for a sample of what runs inside one, and putting
 * the hook back when a sample finds hot code there.
 *
 * Why: with a PEP 523 hook installed, CPython 3.11's interpreter stops inlining Python-to-Python
 * calls, so every call made by interpreted code goes through _PyEval_Vector, the hook and a new
 * _PyEval_EvalFrameDefault activation (benches/README.md: 300 instructions more per call, and the
 * instruction-cache misses of cpjit's call paths on top). A program whose work is spread thin
 * over thousands of lukewarm functions (sympy's algebra: 600k such calls) loses 8-10% to that and
 * gains nothing from native code. Without the hook, the interpreter inlines every call beneath a
 * frame, compiled functions included (its CALL does not consult a function's vectorcall), and
 * counts nothing, so hot code beneath would stay interpreted for good.
 *
 * So: a loopless function that stays cold, defined outside __main__ and called while the hook
 * is in, runs with the hook taken out, and so does everything beneath it, until it returns (the
 * region). For a region of the main thread's, a thread of cpjit's asks it, every `period` (1 ms
 * by default, CPJIT_SAMPLE_US), for a sample through a pending call (served at the
 * interpreter's next eval-breaker check, or native code's): the code object innermost on the
 * frame stack, charged to the innermost open region. A sample served more than LATE_NS after it
 * was asked for is dropped: the main thread was in C code and serves it in the frame that called
 * that code (importlib's _compile_bytecode under marshal, ast.parse under compile()), whose
 * bytecode the time did not go to; so is a sample that finds importlib's own code innermost (an
 * import in progress: short C calls such as a small module's unmarshalling finish within
 * LATE_NS, and imports have their own rule). The hook goes back in at once, and the
 * region's function keeps it for good (CPJIT_TIER_KEEPS_HOOK), when
 *  - one code object not compiled yet is innermost in HOT_SAMPLES of a window of
 *    WINDOW_SAMPLES samples (an eighth of the time spent in regions): hot code, which compiles
 *    only under the hook (its calls must be counted), or
 *  - the region's samples found compiled code innermost COMPILED_SAMPLES times and in a third
 *    of them: compiled code runs interpreted in a region (the interpreter inlines it), and by
 *    the cost model below the hook pays once a third of the time goes to code that runs
 *    natively. Time in interpreted code beneath compiled code does not count: under the hook
 *    it stays interpreted, each call compiled code makes of it a trip out of native code
 *    (until session 43 it counted, and email's program kept the hook for twenty functions
 *    whose samples found compiled code two to eleven frames up: 0.949x of plain python, 0.975x
 *    since, in 9 interleaved rounds).
 * A compiled function CALLER_EVIDENCE of whose cold callees kept the hook the second way has all
 * of its cold callees keep it (CPJIT_TIER_CALLEES_KEEP_HOOK): sqlparse's grouping calls thirty
 * small group_* functions, each leading to the same compiled matchers, and finding each by
 * sampling cost a sample period apiece. Work spread thin over many functions never concentrates
 * enough to be found, and runs as in plain python.
 *
 * The cost model: interpreted code pays the hook's overhead (h, about 0.1-0.15 of its time in
 * call-heavy code) under the hook and nothing in a region; code that would run natively under
 * the hook runs 1/s of its time there (s about 1.3-1.5). Keeping the hook pays when the share f
 * of the region's time in such code exceeds h / (h + 1 - 1/s), about a third.
 *
 * A script's own functions (defined in __main__) never open a region: a loop function of
 * __main__ goes native within its first call (osr.c), and beneath a region its call would be
 * inlined by the interpreter, where on-stack replacement moves only library loops. The script's
 * top level itself is a region (session 56, cpjit_run_top_level at the end of this file) for at
 * most top_level_grace_ns, unless a sample finds hot code beneath it first: a short program's
 * main code runs as plain python runs it throughout.
 *
 * The sampler also watches the main thread's call of a script's loop function while it runs
 * interpreted toward its loop budget (osr.c, `watched`): outside regions it asks for a sample
 * every period then, and the sample checks that call's budget (take_sample), so that a loop that
 * makes no Python call still goes on natively. (A __main__ loop function reached through a library's loopless function, a
 * callback, has the same fate for the calls made inside a region: interpreted, as
 * in plain python. Its calls after the sampler put the hook back compile as usual.)
 *
 * Threads. Any thread opens regions while cpjit's is the evaluator (another thread's region
 * may still be open beneath, its hook put back by the sampler). The hook is the
 * interpreter's, so another thread that takes the GIL while the hook is out for a region runs
 * what the interpreter runs for it as plain python does (inlined, uncounted), and its calls that
 * reach cpjit (from C, from native code: cpjit_hooked_for) go on natively as under the hook.
 * Only the main thread serves pending calls. Another thread's region is sampled at the next
 * call it makes after the sampler asks: the sampler puts the hook back in for it, and the call
 * reaches cpjit_eval_frame or cpjit_function_vectorcall, which take the sample of the calling
 * frame (cpjit_serve_other_sample) and take the hook out again unless it found what the hook
 * pays for. A region whose thread makes no call for LONG_UNSAMPLED_NS gets the hook back, and
 * its function keeps it.
 * Until session 44 only the main thread opened regions, and only while no other thread lived:
 * a program with a thread pool (tornado's HTTP benchmark resolves names on executor threads)
 * paid the hook on every call of its main thread for good (0.89x of plain python, 1.02x since),
 * and the standard library's email program run on a worker thread ran at 0.86x. A thread
 * started inside a region runs interpreted until the call it starts with ends, as during
 * imports. A sample is asked for only while the main thread holds
 * the GIL, and one it left unserved when it let go is taken back: the eval breaker a sample sets
 * would otherwise stay set for the threads that run meanwhile, which cannot serve it (a traced
 * thread loops on it for good in 3.11). When a region's thread leaves Python code for long inside
 * it (a join, a long C call), after STALL_NS the sampler thread puts the hook back itself
 * (an atomic compare-and-swap of the interpreter's evaluator, from "none" to cpjit's), so other
 * threads are not kept from native code.
 *
 * The sampler thread (sampler_thread.c: a thread glibc does not know of, so a program that makes
 * no thread of its own keeps glibc's lock-free malloc) blocks every signal (they stay the main
 * thread's), starts at the first
 * region at a quarter of its pace, goes to its full pace at the first sample that finds a code
 * object a second time within a window (or hot code), slows down to a quarter again while samples find
 * nothing to act on, to an eighth while the regions it wakes for have all closed again, and
 * further while no region
 * opens; it stops at cpjit.disable() and at interpreter exit (atexit), and starts again
 * in a forked child at its first region (a region open at the fork gets the hook back in the
 * child); it ends by itself once no Python thread is left (a child forked from a thread other
 * than the main one ends when that thread does, by the thread's exit, which a native thread
 * left running would outlive). A program sees no Python object, descriptor or Python thread of
 * it; it sees the thread in /proc/self/task (ten nice levels below the process, and confined
 * to the system calls it makes when it holds privileges: sampler_thread.c), and atexit holds
 * one more callback.
 */
#define _GNU_SOURCE 1
#include "cold_regions.h"
#include "osr.h"
#include "sampler_thread.h"

#include <pthread.h> /* pthread_atfork */

#include "internal/pycore_atomic.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

CpjitColdRegionStats cpjit_cold_region_stats;

/* A code object innermost in this many samples of one window is hot. */
#define HOT_SAMPLES 8
#define WINDOW_SAMPLES 64
/* A region whose samples found compiled code (which runs interpreted in it) this many times,
 * and in a third of them at least, keeps the hook. */
#define COMPILED_SAMPLES 2
/* Cold callees of one compiled caller that kept the hook that way, before all of its cold
 * callees do. */
#define CALLER_EVIDENCE 2
/* How long a script's top level runs as a region (cpjit_run_top_level) before the hook goes
 * back in even though no sample found hot code beneath it (CPJIT_TOP_LEVEL_MS; 0: the top
 * level runs under the hook): a program that runs longer gets what the hook gives from then on
 * (its functions counted, warm ones compiled), at the cost of at most this long as plain python
 * runs it. */
static uint64_t top_level_grace_ns = 100u * 1000u * 1000u;
/* How long the main thread may leave a sample unserved before the sampler puts the hook back. */
#define STALL_NS (20u * 1000u * 1000u)
/* How long a region of a thread other than the main one may keep the hook out without making a
 * call a sample could be taken at (cpjit_serve_other_sample) before the sampler thread puts it
 * back; its root keeps the hook then. */
#define LONG_UNSAMPLED_NS (20u * 1000u * 1000u)
/* A sample served this long after it was asked for waited for C code to return (the interpreter
 * serves pending calls within microseconds while it runs bytecode). */
#define LATE_NS (100u * 1000u)
/* The sampler's longest sleep while a sample it asked for waits to be served, or while the main
 * thread is away from Python code inside a region; except right after asking, when it sleeps
 * its pace if that is at most MAX_PACE_UNWATCHED watch naps (the main thread serves a sample
 * within microseconds while it runs bytecode, so one wake-up per sample does, and a sample it
 * cannot serve is taken back at most that much later). */
#define WATCH_US 1000u
#define MAX_PACE_UNWATCHED 4u
/* Consecutive watch naps double, up to this many doublings (8 ms): a sample the main thread
 * leaves unserved for long is in C code for long (regex_dna's substitutions, a sqlite query),
 * where waking every millisecond found nothing but cost a wake-up each (benches/README.md,
 * session 53). A stall is then seen within 28 ms instead of 21, and an unserved sample taken
 * back within 8 ms of the main thread letting go of the GIL. */
#define WATCH_DOUBLINGS 3u
/* How much earlier than asked a sleep may end (the timer's slack) and still count as a pace. */
#define EARLY_NS (100u * 1000u)
/* Samples that found nothing to act on before the sampler halves its pace. */
#define QUIET_SAMPLES 32
/* Regions open at once on the main thread (nested through C code once the hook is back). */
#define MAX_ROOTS 32
/* The sampler's slowest pace, in periods. */
#define MAX_SLOWDOWN 4
/* The sampler's longest sleep while no region opens, in periods (an idle program: 4 wake-ups a
 * second). */
#define MAX_IDLE 256
/* Its longest sleep while regions open and close between its wake-ups, in periods: regions
 * shorter than a period are never sampled anyway, and a program making 50k of them (docutils)
 * paid a wake-up per period for nothing (0.5% of its CPU time); a region longer than this is
 * still sampled within this many periods of opening. */
#define MAX_SHORT_IDLE 8

static uint32_t period_us = 0; /* 0: no regions (the C default; the package sets its own) */

/* Main thread, under the GIL. */
static _PyInterpreterFrame *root_frames[MAX_ROOTS]; /* the frames whose regions are open on
                                                       the main thread (the ones sampled) */
/* The root of the main thread's open top-level region (always root_frames[0]), or NULL, and
 * when it opened. */
static _PyInterpreterFrame *top_level_root;
static uint64_t top_level_since;
static int depth;
static uint32_t window = 1, window_samples;

/* Shared with the sampler thread (atomics). */
int cpjit_region_open;           /* a thread runs inside a region, hook out */
static uint64_t region_serial; /* regions opened so far */
static int sample_pending;     /* a sample was asked for and not yet served */
static uint64_t sample_asked_at; /* when (cpjit_now_ns) */
PyThreadState *cpjit_region_tstate; /* the state of the thread that opened the last region */
static int region_on_main;     /* that thread is the main thread: samples can be served */
static uint64_t long_region_serial; /* the serial of the last region ended for lasting long */
/* A sample asked of a region of a thread other than the main one: that region's serial while
 * the request stands (the hook put back in for it, so that the thread's next call reaches
 * cpjit_serve_other_sample), else 0. */
uint64_t cpjit_other_sample_serial;
/* The root frame of the innermost region with the hook out of a thread other than the main one
 * (under the GIL). */
static _PyInterpreterFrame *other_root_frame;

/* The sampler runs on sampler_thread.c's thread (started and stopped under the GIL). */
static int shut_down; /* the interpreter is exiting: never start again */

static int register_hooks(void);

void cpjit_cold_regions_set_period_us(uint32_t us)
{
    period_us = us;
    if (us != 0) {
        (void)register_hooks(); /* (failing, the sampler never starts: no regions, no watch) */
    }
}

uint32_t cpjit_cold_regions_get_period_us(void)
{
    return period_us;
}

void cpjit_cold_regions_set_top_level_ms(uint32_t ms)
{
    top_level_grace_ns = (uint64_t)ms * 1000000u;
}

uint32_t cpjit_cold_regions_get_top_level_ms(void)
{
    return (uint32_t)(top_level_grace_ns / 1000000u);
}

/* Whether the sampled frame is compiled code: where the time went would run natively under the
 * hook. (Time in interpreted code beneath compiled code does not: under the hook it stays
 * interpreted, and each call compiled code makes of it is a trip out of native code.) */
static int sampled_compiled_code(_PyInterpreterFrame *frame)
{
    CpjitCodeState *st = cpjit_direct_extra_ok ? cpjit_state_fast(frame->f_code)
                                               : cpjit_rt_state_for(frame->f_code, 0);
    return st != NULL && st->state == CPJIT_COMPILED;
}

static int charge_sample(_PyInterpreterFrame *frame, _PyInterpreterFrame *root_frame);

/* Set once a sample has found a code object for the second time in a window (main thread; the
 * sampler thread then goes to its full pace). */
static int promising_sample;

/* A sample found hot code beneath the region rooted at `root`: a loop running there interpreted
 * goes on natively (osr.c: `name` is the main thread's or another thread's candidate naming),
 * the thread's exception state (a sample may be taken while one is being raised) left as it
 * was. */
static void name_osr_candidate(void (*name)(PyThreadState *, _PyInterpreterFrame *,
                                            _PyInterpreterFrame *),
                               PyThreadState *tstate, _PyInterpreterFrame *innermost,
                               _PyInterpreterFrame *root)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    name(tstate, innermost, root);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
}

/* The pending call: runs on the main thread under the GIL, at an eval-breaker check of the
 * interpreter or of native code. Reads the innermost frame's code object; never runs Python
 * code and leaves any exception state as it was. */
static int take_sample(void *unused)
{
    (void)unused;
    __atomic_store_n(&sample_pending, 0, __ATOMIC_RELEASE);
    PyThreadState *tstate = _PyThreadState_GET();
    if (tstate != NULL && !__atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE)
        && __atomic_load_n(&cpjit_osr_watch_tstate, __ATOMIC_ACQUIRE) == tstate) {
        /* Asked for a script's loop function the hook interprets (osr.c): its budget checked
         * (not while an exception is being raised; arming clears what it sets). */
        cpjit_osr_watch_sample(tstate);
        return 0;
    }
    if (!__atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE) || depth == 0 || tstate == NULL
        || tstate != __atomic_load_n(&cpjit_region_tstate, __ATOMIC_ACQUIRE)
        || tstate->interp->eval_frame != NULL || !cpjit_rt_may_unhook()) {
        return 0;
    }
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;
    if (frame == NULL) {
        return 0;
    }
    _PyInterpreterFrame *root_frame = root_frames[depth - 1];
    if (!charge_sample(frame, root_frame)) {
        return 0;
    }
    _PyInterpreterState_SetEvalFrameFunc(tstate->interp, cpjit_eval_frame);
    __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
    cpjit_cold_region_stats.hot_found++;
    /* A loop running here interpreted, inlined, goes on natively once a call it makes returns
     * (or at once, making none): its calls would otherwise each go through the hook. */
    name_osr_candidate(cpjit_osr_region_candidate, tstate, frame, root_frame);
    return 0;
}

/* The call a region's thread makes after the sampler asked for a sample of it and put the hook
 * back in for it (cpjit_other_sample_serial): the sample, of the calling frame, under the GIL on
 * the region's own thread. 1 when the call goes on as in the region (the hook out again, for the
 * caller to run it in the interpreter), 0 when it goes on as under the hook: another thread's
 * call, a request that outlived its region (cleared here by whoever meets it), or a sample that
 * found what the hook pays for (the region's function keeps it from now on). */
int cpjit_serve_other_sample(PyThreadState *tstate)
{
    uint64_t serial = __atomic_load_n(&cpjit_other_sample_serial, __ATOMIC_ACQUIRE);
    int current = serial != 0 && serial == __atomic_load_n(&region_serial, __ATOMIC_ACQUIRE)
                  && __atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE) && other_root_frame != NULL;
    if (current && tstate != __atomic_load_n(&cpjit_region_tstate, __ATOMIC_ACQUIRE)) {
        return 0; /* the region's own thread serves it */
    }
    __atomic_store_n(&cpjit_other_sample_serial, 0, __ATOMIC_RELEASE);
    if (!current || tstate->interp->eval_frame != cpjit_eval_frame || !cpjit_rt_may_unhook()) {
        return 0;
    }
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;
    if (frame != NULL && charge_sample(frame, other_root_frame)) {
        __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
        cpjit_cold_region_stats.hot_found++;
        /* As on the main thread (a worker's loop ran slower than without cpjit until
         * session 51). */
        name_osr_candidate(cpjit_osr_other_region_candidate, tstate, frame, other_root_frame);
        return 0;
    }
    _PyInterpreterState_SetEvalFrameFunc(tstate->interp, _PyEval_EvalFrameDefault);
    return 1;
}

/* A sample of the region rooted at `root_frame` (the innermost open region of its thread),
 * `frame` innermost, taken under the GIL on the region's thread: counted, and 1 when it decides
 * that the region's function keeps the hook (CPJIT_TIER_KEEPS_HOOK set), for the caller to put
 * the hook back. */
static int charge_sample(_PyInterpreterFrame *frame, _PyInterpreterFrame *root_frame)
{
    cpjit_cold_region_stats.samples++;
    if (root_frame == top_level_root && root_frame != NULL
        && cpjit_now_ns() - top_level_since >= top_level_grace_ns) {
        /* The top level's grace is over, hot code found or not. */
        CpjitCodeState *top = cpjit_rt_state_for(root_frame->f_code, 0);
        if (top != NULL) {
            top->tier |= CPJIT_TIER_KEEPS_HOOK;
        }
        cpjit_cold_region_stats.top_level_grace_ended++;
        return 1;
    }
    if (cpjit_now_ns() - __atomic_load_n(&sample_asked_at, __ATOMIC_ACQUIRE) >= LATE_NS) {
        /* The main thread was in C code (marshal, compile(), a regex over a long text...) and
         * serves the sample in the frame that called it: that frame's bytecode is not where
         * the time went, and neither native code nor the hook changes time spent in C. */
        cpjit_cold_region_stats.late++;
        return 0;
    }
    if (++window_samples >= WINDOW_SAMPLES) {
        window++;
        window_samples = 0;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    CpjitCodeState *st = cpjit_rt_state_for(frame->f_code, 1);
    if (st == NULL) {
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
    if (st == NULL || (st->tier & CPJIT_TIER_NO_REGION)) {
        /* importlib's own code innermost: an import in progress (its time goes to reading,
         * unmarshalling and running a module's body, which imports run unhooked anyway), not
         * hot code the hook would make native. */
        return 0;
    }
    /* The region being sampled: the innermost open one (outer ones had the hook put back
     * before an inner one could open), if its frame is on the stack being run: a coroutine
     * library that switches stacks (greenlet) may have suspended it, or ended it while another
     * region stays open, and then the sample says nothing about it. */
    _PyInterpreterFrame *f = frame;
    while (f != NULL && f != root_frame) {
        f = f->previous;
    }
    if (f == NULL) {
        return 0;
    }
    CpjitCodeState *root = cpjit_rt_state_for(root_frame->f_code, 0);
    if (root == NULL) {
        return 0; /* not reached: a region opens with its code's state */
    }
    int compiled = sampled_compiled_code(frame);
    if (root->sample_window != window) {
        root->sample_window = window;
        root->root_samples = 0;
        root->root_compiled_samples = 0;
    }
    root->root_samples++;
    root->root_compiled_samples += compiled;
    int hot = 0;
    if (!compiled) {
        if (st->sample_window != window) {
            st->sample_window = window;
            st->samples = 0;
        }
        hot = ++st->samples >= HOT_SAMPLES;
        if (hot) {
            st->samples = 0;
        }
        else if (st->samples == 2) {
            /* Time concentrates somewhere: the sampler goes to its full pace (sampler_main). */
            __atomic_store_n(&promising_sample, 1, __ATOMIC_RELEASE);
        }
    }
    /* The region pays when its time goes to compiled code (which runs interpreted in it) or when
     * it holds hot code not compiled yet (which compiles only under the hook). */
    if (!hot && !(root->root_compiled_samples >= COMPILED_SAMPLES
                  && root->root_compiled_samples * 3 >= root->root_samples)) {
        return 0;
    }
    root->tier |= CPJIT_TIER_KEEPS_HOOK;
    if (!hot) {
        /* Compiled code beneath a cold callee of compiled code: after CALLER_EVIDENCE such
         * callees, the caller's other cold callees keep the hook too (the code a hot caller
         * calls tends to lead to the code that made it hot). */
        _PyInterpreterFrame *caller = root_frame->previous;
        CpjitCodeState *cst = caller != NULL ? cpjit_rt_state_for(caller->f_code, 0) : NULL;
        if (cst != NULL && cst->state == CPJIT_COMPILED && ++cst->hooked_callees >= CALLER_EVIDENCE) {
            cst->tier |= CPJIT_TIER_CALLEES_KEEP_HOOK;
        }
    }
    return 1;
}

/* Queue take_sample for the main thread: Py_AddPendingCall's own work without its eval-breaker
 * update. In 3.11 that update (COMPUTE_EVAL_BREAKER) asks whether the *calling* thread can serve
 * pending calls and signals, so from this thread it would leave the breaker unset, and could
 * even clear it while a signal is pending. Here the queue is filled under its lock, as
 * _PyEval_AddPendingCall does, and then the request and the breaker are set: the main thread
 * serves the call at its next eval-breaker check and recomputes the breaker itself. 0 when
 * queued; -1 when the queue is full. */
static int request_sample(PyInterpreterState *interp)
{
    struct _pending_calls *pending = &interp->ceval.pending;
    if (pending->lock == NULL) {
        return -1;
    }
    PyThread_acquire_lock(pending->lock, WAIT_LOCK);
    int i = pending->last;
    int j = (i + 1) % NPENDINGCALLS;
    int queued = j != pending->first;
    if (queued) {
        pending->calls[i].func = take_sample;
        pending->calls[i].arg = NULL;
        pending->last = j;
    }
    PyThread_release_lock(pending->lock);
    if (!queued) {
        return -1;
    }
    _Py_atomic_store_relaxed(&pending->calls_to_do, 1);
    _Py_atomic_store_relaxed(&interp->ceval.eval_breaker, 1);
    return 0;
}

/* A sample of the main thread asked for (sample_pending, the time in sample_asked_at and
 * *asked_at): 1 when queued, 0 when the queue was full. */
static int ask_for_sample(PyInterpreterState *interp, uint64_t *asked_at)
{
    __atomic_store_n(&sample_pending, 1, __ATOMIC_RELEASE);
    *asked_at = cpjit_now_ns();
    __atomic_store_n(&sample_asked_at, *asked_at, __ATOMIC_RELEASE);
    if (request_sample(interp) != 0) {
        __atomic_store_n(&sample_pending, 0, __ATOMIC_RELEASE);
        return 0;
    }
    return 1;
}

/* Whether anything but the pending calls asks the eval loop to break: a GIL drop request, a
 * signal, an asynchronous exception, or pending calls queued by others. (runtime.c's
 * recompute_eval_breaker asks what the *calling* thread can serve, which from this thread is no
 * signal and no pending call: it would clear the breaker under a pending signal.) */
static int other_breaker_requests(PyInterpreterState *interp)
{
    struct _ceval_state *ceval = &interp->ceval;
    return _Py_atomic_load(&ceval->gil_drop_request)
           | _Py_atomic_load(&_PyRuntime.ceval.signals_pending)
           | _Py_atomic_load(&ceval->pending.calls_to_do)
           | __atomic_load_n(&ceval->pending.async_exc, __ATOMIC_SEQ_CST);
}

/* Takes back a sample asked for and not served yet: 1 when it was still queued. Why: the eval
 * breaker it set stays set until the main thread serves it, and every other thread holding the
 * GIL meanwhile breaks at each check without being able to serve it. That costs a thread
 * running plain bytecode a detour per check; a thread being traced (sys.settrace) loops for
 * good, since 3.11's traced RESUME repeats its own breaker check until the breaker clears.
 * With the queue then empty, the breaker is cleared unless something else asks for it; a
 * request another thread makes meanwhile is seen by the second look (x86-64: the store of 0 is
 * ordered before those loads, and their flag before their own store of 1). */
static int withdraw_sample(PyInterpreterState *interp)
{
    struct _pending_calls *pending = &interp->ceval.pending;
    if (pending->lock == NULL) {
        return 0;
    }
    int found = 0;
    PyThread_acquire_lock(pending->lock, WAIT_LOCK);
    for (int i = pending->first; i != pending->last; i = (i + 1) % NPENDINGCALLS) {
        if (pending->calls[i].func == take_sample) {
            for (int j = i; (j + 1) % NPENDINGCALLS != pending->last; j = (j + 1) % NPENDINGCALLS) {
                pending->calls[j] = pending->calls[(j + 1) % NPENDINGCALLS];
            }
            pending->last = (pending->last + NPENDINGCALLS - 1) % NPENDINGCALLS;
            found = 1;
            break;
        }
    }
    int emptied = found && pending->first == pending->last;
    if (emptied) {
        _Py_atomic_store(&pending->calls_to_do, 0);
    }
    PyThread_release_lock(pending->lock);
    if (emptied && !other_breaker_requests(interp)) {
        _Py_atomic_store(&interp->ceval.eval_breaker, 0);
        if (other_breaker_requests(interp)) {
            _Py_atomic_store(&interp->ceval.eval_breaker, 1);
        }
    }
    return found;
}

/* Whether the thread that opened the last region holds the GIL (for the main thread: a sample
 * asked for is served within microseconds, or after the C call it is in). The holder's thread
 * state is compared, never read: another thread's may be freed at any moment. */
static int region_thread_holds_gil(void)
{
    PyThreadState *owner = __atomic_load_n(&cpjit_region_tstate, __ATOMIC_ACQUIRE);
    return owner != NULL
           && (PyThreadState *)_Py_atomic_load(&_PyRuntime.gilstate.tstate_current) == owner;
}

/* The hook back in from the sampler thread (no GIL): an atomic compare-and-swap of the
 * interpreter's evaluator, only over "none", never over a different one. 1 when it was out. */
static int put_hook_back(PyInterpreterState *interp)
{
    _PyFrameEvalFunction none = NULL;
    return __atomic_compare_exchange_n(&interp->eval_frame, &none, cpjit_eval_frame, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* The main thread has left Python code inside the region for STALL_NS (a join, a lock, a long C
 * call): put the hook back for the other threads (only over "no evaluator": never over a
 * different one) and stop sampling the region. */
static void end_stalled_region(PyInterpreterState *interp)
{
    if (interp != NULL && !_Py_IsFinalizing() && put_hook_back(interp)) {
        __atomic_add_fetch(&cpjit_cold_region_stats.stalled, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
}

/* A region of a thread other than the main one has kept the hook out for LONG_UNSAMPLED_NS
 * without a call to take a sample at: what runs that long may be hot, so the hook goes back in
 * (as for a stalled region) and, when the region ends, its root keeps the hook (cpjit_run_cold):
 * its callees count and compile, and their own cold calls open regions of their own. */
static void end_long_region(PyInterpreterState *interp, uint64_t serial)
{
    if (interp != NULL && !_Py_IsFinalizing()) {
        /* (The hook may be in already, put back for a sample request the thread has not met.) */
        put_hook_back(interp);
        __atomic_add_fetch(&cpjit_cold_region_stats.long_unsampled, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&long_region_serial, serial, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
}

/* Longest single sleep of the sampler, whatever its pace: how long a process whose last Python
 * thread has gone may be kept alive by the sampler. */
#define LONGEST_NAP_US (50u * 1000u)

/* Whether the main interpreter still has a Python thread (read without the GIL). */
static int python_threads_left(void)
{
    PyInterpreterState *main_interp = _PyRuntime.interpreters.main;
    return main_interp != NULL
        && __atomic_load_n(&main_interp->threads.head, __ATOMIC_ACQUIRE) != NULL;
}

/* Sleeps `us` microseconds, in naps of at most LONGEST_NAP_US; returns 0 as soon as no Python
 * thread is left or a stop was asked for (cpjit_cold_regions_stop: the nap ends at once). A
 * process forked from a thread other than the main one ends, once that thread's function
 * returns, by the thread's exit, not by exit(): a thread still running (or sleeping through a
 * long period, CPJIT_SAMPLE_US) would keep it alive. */
static int sleep_us(uint64_t us)
{
    while (us > 0) {
        if (!python_threads_left()) {
            return 0;
        }
        uint64_t nap = us < LONGEST_NAP_US ? us : LONGEST_NAP_US;
        if (!cpjit_sampler_thread_nap(nap)) {
            return 0;
        }
        us -= nap;
    }
    return python_threads_left();
}

/* The sampler thread: never takes the GIL and touches no Python object (what else it may and
 * may not do: sampler_thread.c, which made it). Its pace is `period_us`
 * while samples find something to act on; after QUIET_SAMPLES samples that found nothing it
 * halves, down to a MAX_SLOWDOWN-th (a program whose cold work is spread thin pays for few
 * wake-ups), and it sleeps longer still while no region opens. */
static int sampler_main(void *unused)
{
    (void)unused;
    uint64_t last_serial = 0, last_acted = 0, asked_at = 0, away_since = 0, open_since = 0;
    /* It starts at its slowest pace: the regions of a short program hold no hot code, and
     * wake-ups cost 15-20 us of CPU each in this VM (unittest's 1,500 tests: 40 of them,
     * 0.6 ms, at the full pace). The first sample that finds a code object a second time
     * within a window (or hot code) sets the full pace, and from then on the pace is as
     * before (slower after QUIET_SAMPLES samples finding nothing, full again at hot code): a
     * program whose time concentrates is found as soon, two samples at the slow pace aside.
     * (Reset to the full pace at every such sample, the sampler of the email program took
     * three times the samples, kept the hook for seven regions and ran 1-2% slower.) */
    uint32_t slowdown = MAX_SLOWDOWN, quiet = 0, idle = 1;
    int paced = 0; /* the full pace was set once */
    /* A sample was asked for at the last wake-up: the next nap is the whole pace, after which
     * the next sample is due anyway (one wake-up per sample, not a watch nap and then the rest
     * of the pace); one still unserved then is watched as below. */
    int just_asked = 0;
    uint32_t watches = 0; /* consecutive watch naps so far */
    for (;;) {
        uint64_t pace = (uint64_t)period_us * (slowdown > idle ? slowdown : idle);
        uint64_t nap = pace;
        if ((__atomic_load_n(&sample_pending, __ATOMIC_ACQUIRE)
             && !(just_asked && pace <= MAX_PACE_UNWATCHED * WATCH_US))
            || away_since != 0) {
            uint64_t watch = (uint64_t)WATCH_US
                             << (watches < WATCH_DOUBLINGS ? watches : WATCH_DOUBLINGS);
            watches++;
            if (nap > watch) {
                nap = watch; /* see whether it is served, or the main thread is back */
            }
        }
        else {
            watches = 0;
            if (asked_at != 0) {
                /* The last sample was served (a watch nap above saw to it): the next is asked
                 * for a whole pace after it, not a watch nap after it, or the pace would never
                 * slow. */
                uint64_t now = cpjit_now_ns();
                uint64_t due = asked_at + pace * 1000u;
                if (due > now && (due - now) / 1000u < nap) {
                    nap = (due - now) / 1000u;
                }
            }
        }
        just_asked = 0;
        if (!sleep_us(nap)) {
            return 0; /* stopped, or no Python thread is left */
        }
        uint64_t serial = __atomic_load_n(&region_serial, __ATOMIC_ACQUIRE);
        uint64_t acted = __atomic_load_n(&cpjit_cold_region_stats.hot_found, __ATOMIC_RELAXED);
        if (acted != last_acted
            || (!paced && __atomic_load_n(&promising_sample, __ATOMIC_ACQUIRE))) {
            last_acted = acted;
            paced = 1;
            slowdown = 1;
            quiet = 0;
        }
        PyInterpreterState *interp = _PyRuntime.interpreters.main;
        int region = __atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE);
        /* Outside regions: the main thread's watched candidate, if any (osr.c). */
        PyThreadState *watch =
            region ? NULL : __atomic_load_n(&cpjit_osr_watch_tstate, __ATOMIC_ACQUIRE);
        int owner_holds_gil =
            watch != NULL
                ? (PyThreadState *)_Py_atomic_load(&_PyRuntime.gilstate.tstate_current) == watch
                : region_thread_holds_gil();
        int on_main = watch != NULL || __atomic_load_n(&region_on_main, __ATOMIC_ACQUIRE);
        /* A sample the main thread cannot serve now is taken back, region or not (one may be
         * queued just as the region closed and the main thread let go of the GIL, after the
         * sampler saw it hold the GIL): the thread holding the GIL cannot serve it and would
         * keep meeting its eval breaker, a traced one for good while the main thread waits. */
        if (!(owner_holds_gil && on_main) && __atomic_load_n(&sample_pending, __ATOMIC_ACQUIRE)
            && interp != NULL && withdraw_sample(interp)) {
            __atomic_store_n(&sample_pending, 0, __ATOMIC_RELEASE);
        }
        if (watch != NULL) {
            /* A script's loop function the hook interprets until its budget is spent (osr.c):
             * a sample a period, served at its next eval-breaker check, checks the budget even
             * when the loop makes no call. Nothing else is decided here: a sample it cannot
             * serve (the main thread away from Python code) was taken back above. */
            idle = 1;
            away_since = 0;
            open_since = 0;
            if (__atomic_load_n(&sample_pending, __ATOMIC_ACQUIRE)) {
                if (owner_holds_gil && interp != NULL
                    && !_Py_atomic_load(&interp->ceval.eval_breaker)) {
                    _Py_atomic_store(&interp->ceval.eval_breaker, 1); /* (as below) */
                }
            }
            else if (owner_holds_gil && !_Py_IsFinalizing() && interp != NULL
                     && (asked_at == 0
                         || cpjit_now_ns() + EARLY_NS >= asked_at + (uint64_t)period_us * 1000u)) {
                just_asked = ask_for_sample(interp, &asked_at);
            }
        }
        else if (!region) {
            uint32_t longest = serial != last_serial ? MAX_SHORT_IDLE : MAX_IDLE;
            idle = idle * 2 < longest ? idle * 2 : longest;
            away_since = 0;
            open_since = 0;
        }
        else if (!owner_holds_gil) {
            /* The main thread waits outside Python code (a join, a lock, I/O), or another
             * thread runs meanwhile: no sample is asked for (the thread holding the GIL could
             * not serve it; one already asked for was taken back above), and after STALL_NS of
             * this inside the same region the hook goes back in for the other threads. */
            idle = 1;
            uint64_t now = cpjit_now_ns();
            if (away_since == 0 || serial != last_serial) {
                away_since = now;
            }
            else if (now - away_since >= STALL_NS) {
                end_stalled_region(interp);
                away_since = 0;
            }
        }
        else if (!on_main) {
            /* A region of another thread's, which runs with the GIL: sampled at its next call
             * (pending calls are the main thread's to serve), and given the hook back if it
             * makes none for LONG_UNSAMPLED_NS. */
            away_since = 0;
            uint64_t now = cpjit_now_ns();
            if (open_since == 0 || serial != last_serial) {
                open_since = now;
            }
            else if (now - open_since >= LONG_UNSAMPLED_NS) {
                end_long_region(interp, serial);
                open_since = 0;
            }
            if (__atomic_load_n(&cpjit_other_sample_serial, __ATOMIC_ACQUIRE) != 0) {
                idle = 1; /* a request stands: the thread has made no call since */
            }
            else if (__atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE) && interp != NULL
                     && !_Py_IsFinalizing()
                     && (asked_at == 0 || idle > 1
                         || now + EARLY_NS >= asked_at + (uint64_t)period_us * slowdown * 1000u)) {
                /* A sample, taken at the thread's next call (cpjit_serve_other_sample): the
                 * hook goes back in until then. */
                idle = 1;
                asked_at = now;
                __atomic_store_n(&sample_asked_at, now, __ATOMIC_RELEASE);
                __atomic_store_n(&cpjit_other_sample_serial, serial, __ATOMIC_RELEASE);
                if (!put_hook_back(interp)) {
                    __atomic_store_n(&cpjit_other_sample_serial, 0, __ATOMIC_RELEASE);
                }
                else if (++quiet >= QUIET_SAMPLES && slowdown < MAX_SLOWDOWN) {
                    slowdown *= 2;
                    quiet = 0;
                }
            }
        }
        else if (__atomic_load_n(&sample_pending, __ATOMIC_ACQUIRE)) {
            idle = 1;
            away_since = 0;
            if (interp != NULL && !_Py_atomic_load(&interp->ceval.eval_breaker)) {
                /* Another thread recomputed the breaker for itself (pending calls are not its
                 * to serve) while the request waited: the main thread is back, set it again. */
                _Py_atomic_store(&interp->ceval.eval_breaker, 1);
            }
            if (serial == last_serial && cpjit_now_ns() - asked_at >= STALL_NS) {
                /* The main thread holds the GIL in one C call (a long computation that may
                 * release it later). */
                if (withdraw_sample(interp)) {
                    __atomic_store_n(&sample_pending, 0, __ATOMIC_RELEASE);
                }
                end_stalled_region(interp);
            }
        }
        else if (!_Py_IsFinalizing() && interp != NULL
                 && (asked_at == 0 || idle > 1
                     || cpjit_now_ns() + EARLY_NS
                            >= asked_at + (uint64_t)period_us * slowdown * 1000u)) {
            /* Asked for a pace after the last sample (the watch nap after a request wakes the
             * sampler before that: the nap above then sleeps the rest). */
            idle = 1;
            away_since = 0;
            just_asked = ask_for_sample(interp, &asked_at);
            if (just_asked && ++quiet >= QUIET_SAMPLES && slowdown < MAX_SLOWDOWN) {
                slowdown *= 2;
                quiet = 0;
            }
        }
        last_serial = serial;
    }
}

/* In a forked child only the forking thread exists: the sampler starts again at the next
 * region, and a region open at the fork ends its sampling here, so the hook goes back in (a
 * child whose work runs beneath that region, as a forked worker's does, gets native code). */
static void sampler_after_fork_child(void)
{
    cpjit_sampler_thread_after_fork_child();
    sample_pending = 0;
    if (cpjit_region_open) {
        cpjit_region_open = 0;
        PyInterpreterState *interp = _PyRuntime.interpreters.main;
        if (interp != NULL && interp->eval_frame == NULL) {
            interp->eval_frame = cpjit_eval_frame;
        }
    }
}

static PyObject *stop_at_exit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    shut_down = 1;
    cpjit_cold_regions_stop();
    Py_RETURN_NONE;
}

static PyMethodDef stop_at_exit_def = {"_cpjit_stop_sampler", stop_at_exit, METH_NOARGS, NULL};

/* Register stop_at_exit with atexit, so the thread is gone before the interpreter finalises
 * (its pending-call queue among the rest). Returns 0 or -1 (nothing raised). */
static int register_exit_stop(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    int ok = 0;
    PyObject *fn = PyCFunction_New(&stop_at_exit_def, NULL);
    PyObject *atexit = fn != NULL ? PyImport_ImportModule("atexit") : NULL;
    if (atexit != NULL) {
        PyObject *r = PyObject_CallMethod(atexit, "register", "O", fn);
        ok = r != NULL;
        Py_XDECREF(r);
    }
    Py_XDECREF(atexit);
    Py_XDECREF(fn);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return ok ? 0 : -1;
}

/* The sampler's fork and exit hooks, registered once. Done when sampling is switched on
 * (cpjit.enable), not at the first region or watch: registering allocates Python objects, and
 * a garbage collection they set off in the middle of the program would be seen by gc.callbacks
 * where plain python runs none. 0 when registered. */
static int register_hooks(void)
{
    static int hooks_registered;
    if (!hooks_registered) {
        if (pthread_atfork(NULL, NULL, sampler_after_fork_child) != 0
            || register_exit_stop() < 0) {
            return -1;
        }
        hooks_registered = 1;
    }
    return 0;
}

/* Start the sampler thread unless it runs; 0 when it runs. */
static int ensure_sampler(void)
{
    if (cpjit_sampler_thread_running()) {
        return 0;
    }
    if (shut_down || register_hooks() < 0) {
        return -1;
    }
    return cpjit_sampler_thread_start(sampler_main);
}

int cpjit_cold_regions_watch(void)
{
    return period_us == 0 ? -1 : ensure_sampler();
}

void cpjit_cold_regions_stop(void)
{
    if (!cpjit_sampler_thread_running()) {
        return;
    }
    /* It sees the request only while it sleeps, so it never stops holding the pending-call
     * lock. It never takes the GIL: waiting for it under the GIL cannot deadlock. */
    cpjit_sampler_thread_stop();
    __atomic_store_n(&sample_pending, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
}

/* Whether the function runs in __main__'s namespace, learnt at its first region. */
static int in_main(_PyInterpreterFrame *frame, CpjitCodeState *st)
{
    if (!(st->tier & CPJIT_TIER_HOME_KNOWN)) {
        st->tier |= CPJIT_TIER_HOME_KNOWN
                    | (cpjit_rt_is_main_namespace(frame->f_globals) ? CPJIT_TIER_IN_MAIN : 0);
    }
    return (st->tier & CPJIT_TIER_IN_MAIN) != 0;
}

/* Whether the caller's cold callees keep the hook (CPJIT_TIER_CALLEES_KEEP_HOOK). */
static inline int caller_keeps_hook(PyThreadState *tstate)
{
    _PyInterpreterFrame *caller = tstate->cframe->current_frame;
    CpjitCodeState *cst;
    return caller != NULL && cpjit_direct_extra_ok && (cst = cpjit_state_fast(caller->f_code)) != NULL
           && (cst->tier & CPJIT_TIER_CALLEES_KEEP_HOOK);
}

int cpjit_region_of_another_thread(PyThreadState *tstate)
{
    return __atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE)
           && __atomic_load_n(&cpjit_region_tstate, __ATOMIC_ACQUIRE) != tstate
           && tstate->interp == _PyRuntime.interpreters.main && cpjit_rt_may_unhook();
}

int cpjit_cold_region_could_open(_PyInterpreterFrame *frame, CpjitCodeState *st)
{
    PyCodeObject *code = frame->f_code;
    return period_us != 0
           && !(st->tier & (CPJIT_TIER_NOT_PLAIN_COLD | CPJIT_TIER_KEEPS_HOOK | CPJIT_TIER_NO_REGION))
           && (code->co_flags & CO_OPTIMIZED)
           && !(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))
           && !in_main(frame, st);
}

/* Whether this call may open a region: see the file comment. A function whose calls are being
 * probed (hub_probe.c) runs under the hook, where the calls it makes are seen. */
static inline int may_open_region(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                  CpjitCodeState *st)
{
    return (depth < MAX_ROOTS || tstate->thread_id != _PyRuntime.main_thread)
           && !(st->tier & CPJIT_TIER_PROBING)
           && cpjit_cold_region_could_open(frame, st)
           && cpjit_may_unhook_for_region(tstate)
           && !caller_keeps_hook(tstate);
}

/* A region of the main thread's has ended: its frame leaves root_frames. The innermost one, but
 * for a coroutine library that switches stacks (greenlet), which may end an outer region while
 * an inner one, on another stack, stays open. */
static void forget_root(_PyInterpreterFrame *frame)
{
    int i = depth - 1;
    while (i >= 0 && root_frames[i] != frame) {
        i--;
    }
    if (i < 0) {
        return; /* (not reached) */
    }
    for (; i < depth - 1; i++) {
        root_frames[i] = root_frames[i + 1];
    }
    depth--;
}

/* A region opens for `frame` on `tstate` (`on_main`: the main thread, whose regions are
 * sampled): the hook goes out and the sampler is told. Returns the region's serial. */
static uint64_t open_region(PyThreadState *tstate, _PyInterpreterFrame *frame, int on_main)
{
    if (on_main) {
        root_frames[depth++] = frame;
    }
    cpjit_unhooked++;
    cpjit_cold_region_stats.regions++;
    _PyInterpreterState_SetEvalFrameFunc(tstate->interp, _PyEval_EvalFrameDefault);
    __atomic_store_n(&cpjit_region_tstate, tstate, __ATOMIC_RELEASE);
    __atomic_store_n(&region_on_main, on_main, __ATOMIC_RELEASE);
    uint64_t serial = __atomic_add_fetch(&region_serial, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&cpjit_region_open, 1, __ATOMIC_RELEASE);
    return serial;
}

/* The region's root returned. A region opens only while the hook is in: leaving it, the hook is
 * back in (hook_back_in, once the caller has done its own bookkeeping). */
static void leave_region(void)
{
    __atomic_store_n(&cpjit_region_open, 0, __ATOMIC_RELEASE);
    cpjit_unhooked--;
}

static void hook_back_in(PyInterpreterState *interp)
{
    if (interp->eval_frame == NULL && cpjit_rt_may_unhook()) {
        _PyInterpreterState_SetEvalFrameFunc(interp, cpjit_eval_frame);
    }
}

PyObject *cpjit_run_cold(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st)
{
    cpjit_stats.handovers[CPJIT_R_COLD]++;
    if (!may_open_region(tstate, frame, st) || ensure_sampler() < 0) {
        return _PyEval_EvalFrameDefault(tstate, frame, 0);
    }
    PyInterpreterState *interp = tstate->interp;
    /* Samples, on-stack replacement (osr.c) and its candidates are the main thread's. */
    int on_main = tstate->thread_id == _PyRuntime.main_thread;
    uint64_t serial = open_region(tstate, frame, on_main);
    CpjitOsrCandidate outside;
    _PyInterpreterFrame *outer_root = other_root_frame;
    if (on_main) {
        cpjit_osr_region_begin(&outside);
    }
    else {
        other_root_frame = frame;
    }
    PyObject *res = _PyEval_EvalFrameDefault(tstate, frame, 0);
    if (on_main) {
        cpjit_osr_region_end(&outside);
    }
    leave_region();
    if (on_main) {
        forget_root(frame);
    }
    else {
        cpjit_osr_other_region_end(tstate, frame);
        other_root_frame = outer_root;
        uint64_t asked = serial;
        __atomic_compare_exchange_n(&cpjit_other_sample_serial, &asked, 0, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST); /* a request it did not meet */
        if (__atomic_load_n(&long_region_serial, __ATOMIC_ACQUIRE) == serial) {
            st->tier |= CPJIT_TIER_KEEPS_HOOK; /* (end_long_region) */
        }
    }
    hook_back_in(interp);
    return res;
}

/* The script's top level as a region. A program's main code (`python -m cpjit script.py`,
 * CPJIT=1, -c, stdin) runs with the hook taken out, as plain python runs it, and so does
 * everything it calls (its own functions too), until a sample finds hot code beneath it or the
 * top level has run for top_level_grace_ns; then the hook goes back in, as for any region (the
 * loop running then, its own or a function's, goes on natively: osr.c). Until session 56 the
 * top level ran under the hook: each call it made went through the hook (and opened a region,
 * for a cold library function), and its loop compiled once its budget was spent (pathlib's
 * walk: 17.6 KB of code for its module), though a short program's calls hold no hot code; a
 * `python -m module` program's code already ran beneath runpy's region. Measured (41
 * interleaved rounds, median paired CPU differences against plain python, benches/ab_paired.py),
 * session 55's build against this one: pathlib_walk +3.29 -> +1.95 ms, unittest_run +3.42 ->
 * +2.54, fractions_decimal +2.39 -> +1.88 (re_tokenize, which finds hot code, +3.35 -> +3.60:
 * noise). Only as the outermost region (the hook in, no region open) and on the main
 * thread; the root is the hook's candidate for on-stack replacement (runtime.c) while it has a
 * loop, so that a top-level loop goes on natively once the hook is back. */
PyObject *cpjit_run_top_level(PyThreadState *tstate, _PyInterpreterFrame *frame,
                              CpjitCodeState *st)
{
    if (period_us == 0 || top_level_grace_ns == 0 || depth != 0
        || tstate->thread_id != _PyRuntime.main_thread
        || (st->tier & (CPJIT_TIER_KEEPS_HOOK | CPJIT_TIER_NO_REGION))
        || !cpjit_may_unhook_for_region(tstate) || ensure_sampler() < 0) {
        return _PyEval_EvalFrameDefault(tstate, frame, 0);
    }
    top_level_root = frame;
    top_level_since = cpjit_now_ns();
    cpjit_cold_region_stats.top_level++;
    (void)open_region(tstate, frame, 1);
    PyObject *res = _PyEval_EvalFrameDefault(tstate, frame, 0);
    leave_region();
    forget_root(frame);
    top_level_root = NULL;
    hook_back_in(tstate->interp);
    return res;
}
