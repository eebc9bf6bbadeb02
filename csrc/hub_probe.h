/* hub_probe.h: a warm loopless library function compiles only if its calls do not mostly lead
 * into code that stays interpreted (csrc/hub_probe.c). */
#ifndef CPJIT_HUB_PROBE_H
#define CPJIT_HUB_PROBE_H

#include "cpjit_rt.h"

/* Code objects whose probe is running (the calls they make are being counted). Read on every
 * call the hook or a function's vectorcall makes look inlined, so kept apart. */
extern int cpjit_probes_running;

/* Statistics for cpjit.stats(). */
typedef struct {
    uint64_t probes; /* probes run to their end */
    uint64_t hubs;   /* of them, found a hub: left interpreted */
} CpjitHubProbeStats;
extern CpjitHubProbeStats cpjit_hub_probe_stats;

/* `st`'s loopless function (not __main__'s, not a generator) has just had `threshold` calls
 * within the warm window (`now`), on `frame`'s call: whether this call and the function stay
 * interpreted for now (1: its probe starts, or a hub waits for its next one), or it compiles
 * (0: it could not be a cold region, so nothing is gained by leaving it interpreted). */
int cpjit_probe_warm(_PyInterpreterFrame *frame, CpjitCodeState *st, uint64_t now);

/* A call of the probed function: 1 while its probe runs (the call is interpreted and counted),
 * 0 once it has found a compile pays; a hub found stays interpreted (1). */
int cpjit_probe_step(CpjitCodeState *st);

/* `st` stops probing (its probe ended, or its code object is freed). */
void cpjit_probe_forget(CpjitCodeState *st);

/* cpjit_probe_note_call's work while a probe runs. */
void cpjit_probe_note_call_slow(_PyInterpreterFrame *caller, PyCodeObject *callee);

/* The interpreter, running `caller`, calls a Python function whose code is `callee` as plain
 * CPython would inline the call (the hook's as_inlined_call, calls.c's run_as_inlined_call). */
static inline __attribute__((always_inline)) void
cpjit_probe_note_call(_PyInterpreterFrame *caller, PyCodeObject *callee)
{
    if (__builtin_expect(cpjit_probes_running != 0, 0)) {
        cpjit_probe_note_call_slow(caller, callee);
    }
}

#endif
