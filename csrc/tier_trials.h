/* tier_trials.h: compiled roots entered from C, measured native and interpreted, and run the
 * faster way (csrc/tier_trials.c). */
#ifndef CPJIT_TIER_TRIALS_H
#define CPJIT_TIER_TRIALS_H

#include "cpjit_rt.h"

/* Run a new frame of compiled code entered from C (calls.c: run_pushed_frame) whose tier lacks
 * CPJIT_TIER_ROOT_DONE: natively, or as plain python runs it when its trial says so or while the
 * trial measures that way. */
PyObject *cpjit_root_call(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st);

/* Resume a generator's or coroutine's frame that came through the hook (runtime.c:
 * enter_compiled) whose code's tier lacks CPJIT_TIER_ROOT_DONE: natively at `entry` (its native
 * resume point), or as plain python runs it when its trial says so or while the trial measures
 * that way. */
PyObject *cpjit_root_resume(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                            cpjit_native_fn entry);

/* The least mean time per call, in microseconds, of a root worth a trial (0: no trials). */
void cpjit_tier_trials_set_min_us(uint32_t us);
uint32_t cpjit_tier_trials_get_min_us(void);

/* A trial of this code object ends unfinished: its state is being freed (runtime.c: free_state)
 * or its way was set. */
void cpjit_tier_trials_forget(CpjitCodeState *st);

/* Set the way of a code object's calls from C, in place of its trial's decision
 * (cpjit.set_calls_from_c): CPJIT_TIER_ROOT_COLD (interpreted), CPJIT_TIER_ROOT_DONE (native)
 * or 0 (undecided, judged afresh). A trial of it ends. */
void cpjit_tier_trials_set_way(CpjitCodeState *st, uint32_t way);

/* A code object was compiled (runtime.c): a trial's block in progress is not measured. */
extern uint64_t cpjit_compiles_seen;

/* The verdict of a trial's first `blocks` blocks (their times in `ns`, in the order they ran:
 * pairs of one native and one interpreted block, which goes first alternating by pair), the
 * same rule whenever it is asked: CPJIT_VERDICT_INTERPRETED once the native way has lost (was
 * not faster in) more pairs than it may; CPJIT_VERDICT_NATIVE after the first EARLY_PAIRS pairs
 * when it won each of them and their median by a clear margin; else CPJIT_VERDICT_OPEN until all
 * pairs are measured, then CPJIT_VERDICT_NATIVE when it won enough pairs and its median pair by
 * enough. */
enum { CPJIT_VERDICT_OPEN = -1, CPJIT_VERDICT_INTERPRETED = 0, CPJIT_VERDICT_NATIVE = 1 };
int cpjit_tier_trial_verdict(const uint64_t *ns, uint32_t blocks);

/* Statistics for cpjit.stats(). */
typedef struct {
    uint64_t trials;      /* trials started */
    uint64_t tiered_down; /* trials that found the root faster interpreted */
    uint64_t decided_early; /* trials settled before their last pair, either way */
    uint64_t kept_native; /* trials that did not find it */
    uint64_t abandoned;   /* trials whose root stopped being called before they ended */
    uint64_t blocks_void; /* blocks measured again: code compiled during them */
} CpjitTierTrialStats;
extern CpjitTierTrialStats cpjit_tier_trial_stats;

#endif
