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
 * the hook (not as regions, so the calls they make are seen), and the calls it makes that plain
 * CPython would inline are counted per callee (up to PROBE_CALLEES distinct ones; calls of
 * further callees are judged one by one). At the probe's end a callee's calls count as leading
 * into code that stays interpreted when the callee is not compiled, not a loop function (those
 * compile on their time budget), not probing itself, and either a hub or less than halfway to
 * its threshold; unless it was called on every probed call, on average, and can still compile
 * (counting, not a hub): such a callee is called at least as often as the function, which has
 * just been found warm, so once the function compiles and its calls are counted, the callee
 * gets warm with it. More than HUB_CALLS_PER_CALL counted calls per call make the function a
 * hub: it goes on as a cold function (regions, counting), and is probed again after 2^k more
 * warm windows (k the probes that found it a hub, at most MAX_HUB_LEVEL): its callees may have
 * compiled since. Otherwise it compiles. A probe changes no behaviour: the calls run in the
 * interpreter, as every cold call does.
 *
 * Until session 45 every callee below its threshold counted, and a function whose callees run
 * only beneath it stayed a hub: beneath its region their calls are inlined and never counted,
 * so they stayed cold until a probe, spaced ever further apart, happened to find them warm.
 * logging's `Handler.handle` (calling `acquire`, `emit`, `release` on every call, and `emit`
 * its formatter the same way) and `LogRecord.__init__` stayed hubs for tens of thousands of
 * messages: pyperformance's logging_simple ran 55.5k instructions per message against plain
 * python's 58.8k, and 50.0k once the whole handler compiles (callgrind, benches/README.md,
 * session 45). A callee called on only some calls (a dispatcher's handlers) still counts:
 * compiled, the function would call it cold.
 */
#include "hub_probe.h"

#include "cold_regions.h"

#include <string.h>

int cpjit_probes_running;
CpjitHubProbeStats cpjit_hub_probe_stats;

/* Calls a probe watches. */
#define PROBE_CALLS 16u
/* Calls of code that stays interpreted per call, on average, above which the function is a hub. */
#define HUB_CALLS_PER_CALL 1u
/* The longest wait between probes of a hub, as a power of two of warm windows. */
#define MAX_HUB_LEVEL 6u

/* Distinct callees a probe tells apart; calls of further ones are judged one by one. */
#define PROBE_CALLEES 8u
/* Probes whose callees are told apart at once (nested probes); further ones judge call by call. */
#define PROBE_RECORDS 8u

/* What one running probe has seen of the calls its function made: each callee (a strong
 * reference, released when the probe ends) and how many of the probed calls called it. Calls of
 * callees beyond the table are judged one by one, into the probed state's probe_cold. */
typedef struct {
    CpjitCodeState *probed; /* NULL: the record is free */
    uint16_t callees;
    uint64_t started; /* records_started when the probe took it */
    PyCodeObject *callee[PROBE_CALLEES];
    uint16_t calls[PROBE_CALLEES];
} ProbeRecord;

static ProbeRecord probe_records[PROBE_RECORDS];
static uint64_t records_started;

static unsigned cold_calls(CpjitCodeState *st);
static void record_end(CpjitCodeState *st);

static ProbeRecord *record_of(CpjitCodeState *st)
{
    for (unsigned i = 0; i < PROBE_RECORDS; i++) {
        if (probe_records[i].probed == st) {
            return &probe_records[i];
        }
    }
    return NULL;
}

static void record_start(CpjitCodeState *st)
{
    ProbeRecord *r = record_of(NULL);
    if (r == NULL) {
        /* All taken: the probe of a function that is no longer called never ends. The oldest
         * probe goes on judging call by call, from what its record has seen (cold_calls). */
        r = &probe_records[0];
        for (unsigned i = 1; i < PROBE_RECORDS; i++) {
            if (probe_records[i].started < r->started) {
                r = &probe_records[i];
            }
        }
        CpjitCodeState *oldest = r->probed;
        unsigned cold = cold_calls(oldest);
        oldest->probe_cold = cold < UINT16_MAX ? (uint16_t)cold : UINT16_MAX;
        record_end(oldest);
    }
    r->probed = st;
    r->callees = 0;
    r->started = ++records_started;
}

/* Ends `st`'s record, if it has one, releasing its callees (a record's references keep at most
 * PROBE_RECORDS * PROBE_CALLEES code objects alive). */
static void record_end(CpjitCodeState *st)
{
    ProbeRecord *r = record_of(st);
    if (r == NULL) {
        return;
    }
    /* Detached before the references go: a code object freed here ends its own probe. */
    PyCodeObject *callee[PROBE_CALLEES];
    unsigned n = r->callees;
    memcpy(callee, r->callee, n * sizeof(callee[0]));
    r->probed = NULL;
    r->callees = 0;
    for (unsigned i = 0; i < n; i++) {
        Py_DECREF(callee[i]);
    }
}

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
    record_start(st);
    cpjit_probes_running++;
    return 1;
}

int cpjit_probe_step(CpjitCodeState *st)
{
    if (st->probe_left > 0) {
        st->probe_left--;
        return 1;
    }
    unsigned cold = cold_calls(st);
    cpjit_probe_forget(st);
    cpjit_hub_probe_stats.probes++;
    if (cold > PROBE_CALLS * HUB_CALLS_PER_CALL) {
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
        record_end(st);
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

/* Whether a callee called on every call of the probed function, on average, becomes warm once
 * that function compiles (its calls then counted, as often as the function's own). */
static int warms_with_caller(PyCodeObject *callee)
{
    CpjitCodeState *st = cpjit_rt_state_for(callee, 0);
    return st == NULL || (st->state == CPJIT_COUNTING && !(st->tier & CPJIT_TIER_HUB));
}

/* The calls the probe of `st` counts as leading into code that stays interpreted. */
static unsigned cold_calls(CpjitCodeState *st)
{
    unsigned cold = st->probe_cold;
    ProbeRecord *r = record_of(st);
    if (r == NULL) {
        return cold;
    }
    for (unsigned i = 0; i < r->callees; i++) {
        PyCodeObject *callee = r->callee[i];
        int stable = r->calls[i] >= PROBE_CALLS && warms_with_caller(callee);
        if (!stable && stays_interpreted(callee)) {
            cold += r->calls[i];
        }
    }
    return cold;
}

void cpjit_probe_note_call_slow(_PyInterpreterFrame *caller, PyCodeObject *callee)
{
    CpjitCodeState *st = cpjit_rt_state_for(caller->f_code, 0);
    if (st == NULL || !(st->tier & CPJIT_TIER_PROBING)) {
        return;
    }
    ProbeRecord *r = record_of(st);
    if (r != NULL) {
        for (unsigned i = 0; i < r->callees; i++) {
            if (r->callee[i] == callee) {
                if (r->calls[i] < UINT16_MAX) {
                    r->calls[i]++;
                }
                return;
            }
        }
        if (r->callees < PROBE_CALLEES) {
            r->callee[r->callees] = (PyCodeObject *)Py_NewRef(callee);
            r->calls[r->callees] = 1;
            r->callees++;
            return;
        }
    }
    /* Judged on its own: no record, or a full one. */
    if (st->probe_cold < UINT16_MAX && stays_interpreted(callee)) {
        st->probe_cold++;
    }
}
