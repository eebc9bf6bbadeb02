/* cold_regions.h: cold calls run with the hook taken out, and the sampler that finds hot code
 * beneath them (csrc/cold_regions.c). */
#ifndef CPJIT_COLD_REGIONS_H
#define CPJIT_COLD_REGIONS_H

#include "cpjit_rt.h"

/* Run `frame` (a new frame of a cold function, already counted) in the interpreter: as a cold
 * region with the hook taken out when the rules allow one, else under the hook. */
PyObject *cpjit_run_cold(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st);
/* A new frame of the script's top level (a module body run in __main__'s namespace: the
 * program's main code, exec'd main code), counting `st`, on the main thread: run as a cold
 * region rooted at it when one may open (see cold_regions.c), else by the interpreter under the
 * hook. */
PyObject *cpjit_run_top_level(PyThreadState *tstate, _PyInterpreterFrame *frame,
                              CpjitCodeState *st);

/* Whether a call of `frame`'s function could be a cold region, by what its code and state say
 * (regions on, a function of a library's, not a generator, its regions not found to need the
 * hook): the rules that do not depend on the moment of the call. */
int cpjit_cold_region_could_open(_PyInterpreterFrame *frame, CpjitCodeState *st);

/* The sampling period in microseconds (0: no cold regions; every cold call keeps the hook). */
void cpjit_cold_regions_set_period_us(uint32_t us);
uint32_t cpjit_cold_regions_get_period_us(void);
/* How long a script's top level runs as a cold region at most, in ms (0: never one). */
void cpjit_cold_regions_set_top_level_ms(uint32_t ms);
uint32_t cpjit_cold_regions_get_top_level_ms(void);

/* Stop the sampler thread (cpjit.disable(), interpreter exit): no pending call is requested
 * after this returns. */
void cpjit_cold_regions_stop(void);

/* The sampler thread started (unless it runs) to watch the main thread's candidate of osr.c:
 * 0 when it runs, -1 when it cannot (no sampling: CPJIT_SAMPLE_US=0, or at exit). */
int cpjit_cold_regions_watch(void);

/* Frames running with the hook taken out (deep recursion, imports, cold regions). */
extern int cpjit_unhooked;
/* Whether the hook may be taken out: cpjit is enabled over the default evaluator. */
int cpjit_rt_may_unhook(void);
/* cpjit's frame evaluator, the hook (runtime.c). */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
/* Whether a thread of the main interpreter may open a cold region: cpjit's hook is the
 * evaluator and may be taken out. Other threads may live: the region takes nothing from them
 * that plain python gives them (cpjit_hooked_for). */
static inline int cpjit_may_unhook_for_region(PyThreadState *tstate)
{
    PyInterpreterState *interp = tstate->interp;
    return interp->eval_frame == cpjit_eval_frame && interp == _PyRuntime.interpreters.main
           && cpjit_rt_may_unhook();
}
/* Whether `tstate` may take the hook out for the length of a root's call run interpreted
 * (tier_trials.c): as for a region, and `tstate` is the main thread and its interpreter's only
 * thread with a Python thread state (a trial times its blocks, and other threads would run
 * meanwhile). */
static inline int cpjit_may_unhook_alone(PyThreadState *tstate)
{
    PyInterpreterState *interp = tstate->interp;
    return cpjit_may_unhook_for_region(tstate) && tstate->thread_id == _PyRuntime.main_thread
           && interp->threads.head == tstate && tstate->next == NULL;
}
/* Whether the hook is out only for a cold region of another thread's, `tstate` being a thread
 * of the main interpreter (cold_regions.c). */
int cpjit_region_of_another_thread(PyThreadState *tstate);
/* Whether a region is open and `tstate`'s thread opened it (cold_regions.c owns both; atomics
 * shared with the sampler thread): the hook is out for this thread's own calls. */
extern int cpjit_region_open;
extern PyThreadState *cpjit_region_tstate;
static inline __attribute__((always_inline)) int cpjit_in_own_region(PyThreadState *tstate)
{
    return __atomic_load_n(&cpjit_region_open, __ATOMIC_ACQUIRE)
           && __atomic_load_n(&cpjit_region_tstate, __ATOMIC_ACQUIRE) == tstate;
}
/* Whether calls that reach cpjit on `tstate` are cpjit's to run, as under its hook: the hook is
 * the evaluator, or it is out only for a cold region of another thread's. A region is its
 * thread's way of running its own cold calls; another thread that gets the GIL meanwhile keeps
 * entering native code where it reaches cpjit (calls from C, calls native code makes), and what
 * the interpreter runs for it without the hook runs as plain python runs it. */
static inline __attribute__((always_inline)) int cpjit_hooked_for(PyThreadState *tstate)
{
    _PyFrameEvalFunction eval = tstate->interp->eval_frame;
    return __builtin_expect(eval == cpjit_eval_frame, 1)
           || (eval == NULL && cpjit_region_of_another_thread(tstate));
}
/* A sample asked of a region of a thread other than the main one (its serial), or 0; and its
 * service at that thread's next call (cold_regions.c): 1 when the call is to go on in the
 * interpreter without the hook, as in the region. */
extern uint64_t cpjit_other_sample_serial;
int cpjit_serve_other_sample(PyThreadState *tstate);
static inline __attribute__((always_inline)) int cpjit_other_sample_due(void)
{
    return __builtin_expect(__atomic_load_n(&cpjit_other_sample_serial, __ATOMIC_RELAXED) != 0, 0);
}
/* Run `frame` with the hook taken out, put back when it returns; counted as `reason`
 * (runtime.c). */
PyObject *cpjit_rt_run_unhooked(PyThreadState *tstate, _PyInterpreterFrame *frame, int reason);
/* Whether `globals` is the namespace of __main__ (runtime.c). */
int cpjit_rt_is_main_namespace(PyObject *globals);

/* Statistics for cpjit.stats(). */
typedef struct {
    uint64_t regions;       /* cold regions run with the hook taken out */
    uint64_t samples;       /* samples taken inside a cold region */
    uint64_t hot_found;     /* samples that found hot code and put the hook back */
    uint64_t stalled;       /* regions the sampler thread put the hook back in, the main thread
                               being outside Python code for long */
    uint64_t late;          /* samples served late (the main thread was in C code): not counted
                               as evidence */
    uint64_t long_unsampled; /* regions of threads other than the main one the sampler thread put
                                the hook back in for making no call (where they are sampled) for
                                LONG_UNSAMPLED_NS */
    uint64_t top_level;     /* regions opened for a script's top level (cpjit_run_top_level) */
    uint64_t top_level_grace_ended; /* of those, the ones whose grace ran out: the hook back in
                                       with no hot code found */
} CpjitColdRegionStats;
extern CpjitColdRegionStats cpjit_cold_region_stats;

#endif
