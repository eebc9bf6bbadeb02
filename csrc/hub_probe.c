/* hub_probe.c: a warm loopless library function compiles only if its calls do not mostly lead
 * into code that stays interpreted.
 *
 * Owns: the probe a loopless function outside __main__ goes through when its calls become warm
 * (runtime.c's stays_cold: `threshold` calls within the warm window), and the decision it makes:
 * compile, or leave the function interpreted as a "hub" for a while.
 *
 * Why: a cold loopless library function runs as a cold region (cold_regions.c): the interpreter
 * inlines every call beneath it, as plain CPython does. Once compiled, its machine code calls
 * each callee on its own: a callee that stays interpreted is a trip out of native code into a
 * new interpreter activation and back (calls.c's cold-callee paths, ~500 instructions and an
 * instruction-cache footprint of its own), where the interpreter had an inlined call (~150). A
 * function whose own bytecode is short and whose calls mostly go to such callees gains a little
 * on its own instructions and pays a trip per call: argparse's `add_argument` and
 * os._Environ.__getitem__ call several functions per call that never get warm. Compiled, such
 * hubs made the standard library's argparse program run at 0.902x of plain python; left
 * interpreted, at 0.965x (9 interleaved rounds; benches/README.md, session 43).
 *
 * How: when the function is first found warm, its next PROBE_CALLS calls run interpreted under
 * the hook (not as regions, so the calls they make are seen), and each call it makes that plain
 * CPython would inline is counted when the callee stays interpreted: not compiled, not a loop
 * function (those compile on their time budget), not probing itself, and either a hub or less
 * than halfway to its threshold (a callee called as often as the function is about as warm, and
 * compiles as soon). More than HUB_CALLS_PER_CALL such calls per call make it a hub: it goes on
 * as a cold function (regions, counting), and is probed again after 2^k more warm windows (k
 * the probes that found it a hub, at most MAX_HUB_LEVEL): its callees may have compiled since.
 * Otherwise it compiles. A probe changes no behaviour: the calls run in the interpreter, as
 * every cold call does.
 */
#include "hub_probe.h"

#include "cold_regions.h"

int cpjit_probes_running;
CpjitHubProbeStats cpjit_hub_probe_stats;

/* Calls a probe watches. */
#define PROBE_CALLS 16u
/* Calls of code that stays interpreted per call, on average, above which the function is a hub. */
#define HUB_CALLS_PER_CALL 1u
/* The longest wait between probes of a hub, as a power of two of warm windows. */
#define MAX_HUB_LEVEL 6u

int cpjit_probe_warm(_PyInterpreterFrame *frame, CpjitCodeState *st, uint64_t now)
{
    if (!cpjit_cold_region_could_open(frame, st)) {
        return 0; /* interpreted, it would pay the hook on every call it makes anyway */
    }
    if ((st->tier & CPJIT_TIER_HUB) && ++st->hub_windows < (1u << st->hub_level)) {
        st->warm_since_ns = now; /* a new window, counted from this call */
        st->calls = 1;
        return 1;
    }
    st->hub_windows = 0;
    st->tier |= CPJIT_TIER_PROBING;
    st->probe_left = PROBE_CALLS - 1; /* this call is the first */
    st->probe_cold = 0;
    cpjit_probes_running++;
    return 1;
}

int cpjit_probe_step(CpjitCodeState *st)
{
    if (st->probe_left > 0) {
        st->probe_left--;
        return 1;
    }
    cpjit_probe_forget(st);
    cpjit_hub_probe_stats.probes++;
    if (st->probe_cold > PROBE_CALLS * HUB_CALLS_PER_CALL) {
        st->tier |= CPJIT_TIER_HUB;
        if (st->hub_level < MAX_HUB_LEVEL) {
            st->hub_level++;
        }
        st->calls = 0;
        cpjit_hub_probe_stats.hubs++;
        return 1;
    }
    st->tier &= ~CPJIT_TIER_HUB;
    return 0;
}

void cpjit_probe_forget(CpjitCodeState *st)
{
    if (st->tier & CPJIT_TIER_PROBING) {
        st->tier &= ~CPJIT_TIER_PROBING;
        cpjit_probes_running--;
    }
}

/* Whether a call of `callee` stays in the interpreter for the foreseeable future. */
static int stays_interpreted(PyCodeObject *callee)
{
    if (callee->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) {
        return 0; /* the call makes a generator: no frame runs */
    }
    CpjitCodeState *st = cpjit_rt_state_for(callee, 0);
    if (st == NULL) {
        return 1; /* never called under the hook yet */
    }
    if (st->state != CPJIT_COUNTING) {
        return st->state == CPJIT_FAILED;
    }
    if (st->tier & (CPJIT_TIER_NOT_PLAIN_COLD | CPJIT_TIER_PROBING)) {
        return 0;
    }
    return (st->tier & CPJIT_TIER_HUB) || st->calls * 2u < cpjit_rt_get_threshold();
}

void cpjit_probe_note_call_slow(_PyInterpreterFrame *caller, PyCodeObject *callee)
{
    CpjitCodeState *st = cpjit_rt_state_for(caller->f_code, 0);
    if (st != NULL && (st->tier & CPJIT_TIER_PROBING) && st->probe_cold < UINT16_MAX
        && stays_interpreted(callee)) {
        st->probe_cold++;
    }
}
