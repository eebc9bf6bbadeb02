/* osr.c: a library loop function's long interpreted call goes on in native code (on-stack
 * replacement).
 *
 * Owns: the candidate (the innermost call of a loop function the hook is interpreting on the
 * main thread), the decision that it has run interpreted long enough, and moving the rest of its
 * call into native code at the start of one of its lines.
 *
 * Why: a library function with a loop compiles once its interpreted calls have taken its time
 * budget (runtime.c, loop_budget_ns per code unit), so the call that spends the budget runs
 * interpreted to its end. When that call is the whole job (a parser's main loop fed one big
 * document: html.parser's goahead; pickle's _Unpickler.load), it runs interpreted under the
 * hook, where the interpreter inlines none of its calls: each call of a Python function goes
 * through the function's vectorcall (calls.c) into native code and back, about 300 instructions
 * more than the interpreter's inlined call (benches/README.md, session 42). Such programs ran
 * 5-8% slower than without cpjit.
 *
 * How: the hook makes the call the candidate before interpreting it (cpjit_osr_begin). When a
 * call it made returns to it (cpjit_osr_after_call, from the hook and from the function
 * vectorcall) and its budget is spent (the clock read every CHECK_EVERY such returns), its code
 * is compiled and a trace function of cpjit's own is set on the thread (c_tracefunc, as
 * sys.settrace sets a C one, without the audit event). At the candidate's next line event whose
 * instruction has a native entry and whose value stack has a free slot, the trace function does
 * what a debugger's jump (frame.f_lineno = N) does, to one of the code object's RETURN_VALUE
 * instructions, after pushing cpjit's marker: the interpreter's next instruction returns the
 * marker to the hook, leaving the frame whole (an entry frame's locals are released by its
 * caller, _PyEval_Vector, not by the interpreter's return), its value stack as it was under the
 * marker. The hook then enters the native code at the line's instruction (cpjit_osr_end gives
 * the entry), as it enters a resumed generator. The trace function takes itself out at its first
 * call for the candidate's line; events of other frames (callees run while it is set, which the
 * hook interprets as it does under tracing) are ignored, and after MAX_EVENTS of them it gives
 * up (armed again later, at most MAX_ARMINGS times per call).
 *
 * Only the main thread, with no trace or profile function of anyone else's set and cpjit's hook
 * the evaluator; never a generator or coroutine (their return ends them), nor code without a
 * RETURN_VALUE. What the program sees: nothing (sys.gettrace() stays None; the frame object the
 * line event needs exists early; the frames the hook starts while the trace function is set run
 * interpreted, as frames do under tracing). A trace function set by the program meanwhile
 * replaces cpjit's, which is then never called again.
 */
#include "osr.h"

#include "cold_regions.h"
#include "tier_trials.h"

#include "internal/pycore_frame.h"
#include "internal/pycore_opcode.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

#include "opcode.h"

CpjitOsrStats cpjit_osr_stats;
_PyInterpreterFrame *cpjit_osr_frame;

/* Returns to the candidate between clock reads. */
#define CHECK_EVERY 32u
/* Armings of one call (each ends at the candidate's next instruction, fired or not). */
#define MAX_ARMINGS 64

static CpjitOsrCandidate cand;
static PyObject *marker; /* never seen by Python code: it only passes the candidate's stack */

/* The first RETURN_VALUE of the code object, or -1. */
static Py_ssize_t return_unit(PyCodeObject *code)
{
    _Py_CODEUNIT *units = _PyCode_CODE(code);
    Py_ssize_t n = Py_SIZE(code);
    for (Py_ssize_t i = 0; i < n; i += 1 + _PyOpcode_Caches[_PyOpcode_Deopt[_Py_OPCODE(units[i])]]) {
        if (_PyOpcode_Deopt[_Py_OPCODE(units[i])] == RETURN_VALUE) {
            return i;
        }
    }
    return -1;
}

/* Whether the thread runs with nobody's trace or profile function but maybe cpjit's. */
static inline int untraced(PyThreadState *tstate, int allow_ours);

static int osr_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg);

static inline int untraced(PyThreadState *tstate, int allow_ours)
{
    return (tstate->c_tracefunc == NULL || (allow_ours && tstate->c_tracefunc == osr_trace))
           && tstate->c_profilefunc == NULL && !tstate->tracing && !_Py_tracemalloc_config.tracing;
}

/* Takes cpjit's trace function out, unless another replaced it. The caller sees that the
 * thread's tracing state (use_tracing of the current C frame) is recomputed. */
static void disarm(PyThreadState *tstate)
{
    if (tstate->c_tracefunc == osr_trace) {
        tstate->c_tracefunc = NULL;
        tstate->c_traceobj = NULL;
    }
    if (cand.frame_object != NULL) {
        cand.frame_object->f_trace_opcodes = cand.trace_opcodes;
        Py_CLEAR(cand.frame_object);
    }
    cand.armed = 0;
}

/* Gives up this arming: the trace function out, the frame object's opcode events as they were;
 * armed again after further calls, up to MAX_ARMINGS times. */
static void give_up(PyThreadState *tstate)
{
    disarm(tstate);
    cpjit_osr_stats.given_up++;
    if (cand.frame != NULL && cand.armings < MAX_ARMINGS) {
        cand.calls = 0;
        cpjit_osr_frame = cand.frame;
    }
}

static int osr_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    PyThreadState *tstate = _PyThreadState_GET();
    _PyInterpreterFrame *frame = f->f_frame;
    if (!cand.armed) {
        return 0; /* the opcode event after the line event that fired (same instruction) */
    }
    if ((what != PyTrace_LINE && what != PyTrace_OPCODE) || frame != cand.frame) {
        /* Other code runs first (a signal handler at the call's eval-breaker check): it must
         * not run as traced code, so the arming ends here. */
        give_up(tstate);
        return 0;
    }
    PyCodeObject *code = frame->f_code;
    CpjitCodeState *st = cand.st;
    /* The interpreter's DO_TRACING: prev_instr is the instruction about to run, and the value
     * stack is saved in the frame. */
    _Py_CODEUNIT *at = frame->prev_instr;
    Py_ssize_t unit = at - _PyCode_CODE(code);
    Py_ssize_t ret = return_unit(code);
    if (st->state != CPJIT_COMPILED || unit <= 0 || unit >= (Py_ssize_t)st->n_units
        || st->entries[unit] == CPJIT_NO_ENTRY || ret < 0
        || frame->stacktop < code->co_nlocalsplus
        || frame->stacktop >= code->co_nlocalsplus + code->co_stacksize) {
        give_up(tstate); /* (no entry here, or no free slot for the marker) */
        return 0;
    }
    disarm(tstate);
    frame->localsplus[frame->stacktop++] = Py_NewRef(marker);
    frame->prev_instr = _PyCode_CODE(code) + ret;
    cand.resume = at;
    cand.fired = 1;
    cpjit_osr_stats.entered++;
    return 0;
}

int cpjit_osr_begin(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                    uint64_t now, CpjitOsrCandidate *saved)
{
    PyCodeObject *code = frame->f_code;
    if (tstate->thread_id != _PyRuntime.main_thread
        || tstate->interp != _PyRuntime.interpreters.main || cpjit_rt_get_loop_budget_ns() == 0
        || (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))
        || frame->prev_instr != _PyCode_CODE(code) - 1 || !untraced(tstate, 0)) {
        return 0;
    }
    if (marker == NULL && (marker = PyType_GenericAlloc(&PyBaseObject_Type, 0)) == NULL) {
        PyErr_Clear();
        return 0;
    }
    *saved = cand;
    cand = (CpjitOsrCandidate){.frame = frame, .st = st, .started_ns = now,
                               .spent_ns = st->interpreted_ns};
    cpjit_osr_frame = frame;
    return 1;
}

cpjit_native_fn cpjit_osr_end(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *res,
                              CpjitOsrCandidate *saved)
{
    cpjit_native_fn entry = NULL;
    if (cand.armed) {
        /* Returned (or raised) before its next instruction ran (a call that raised and
         * unwound it): the interpreter's return passed the armed state on to the caller's C
         * frame. */
        disarm(tstate);
        cpjit_osr_stats.given_up++;
        _PyThreadState_UpdateTracingState(tstate);
    }
    if (cand.fired && res == marker) {
        CpjitCodeState *st = cand.st;
        Py_ssize_t unit = cand.resume - _PyCode_CODE(frame->f_code);
        Py_DECREF(res);
        frame->prev_instr = cand.resume - 1;
        entry = (cpjit_native_fn)(st->base + st->entries[unit]);
    }
    cand = *saved; /* never armed: an inner candidate began only where the trace was not set */
    cpjit_osr_frame = cand.frame != NULL && cand.armings < MAX_ARMINGS ? cand.frame : NULL;
    return entry;
}

void cpjit_osr_check(PyThreadState *tstate)
{
    /* A budget of a few ns per unit (the tests' 1) is spent by any call: every return checks. */
    uint32_t per_unit = cpjit_rt_get_loop_budget_ns();
    if (++cand.calls % (per_unit < CHECK_EVERY ? 1u : CHECK_EVERY) != 0 || PyErr_Occurred()) {
        return; /* (the call raised: the interpreter unwinds next, the check waits) */
    }
    PyCodeObject *code = cand.frame->f_code;
    CpjitCodeState *st = cand.st;
    uint64_t budget = (uint64_t)per_unit * (uint64_t)Py_SIZE(code);
    if (cand.spent_ns + (cpjit_now_ns() - cand.started_ns) < budget) {
        return;
    }
    cpjit_osr_frame = NULL; /* armed now, or never for this call */
    if (!untraced(tstate, 0) || tstate->interp->eval_frame != cpjit_eval_frame
        || return_unit(code) < 0) {
        return;
    }
    if (st->state == CPJIT_COUNTING) {
        /* What the hook does at the call after the budget is spent (runtime.c, eval_frame). */
        cpjit_compiles_seen++;
        if (cpjit_rust_compile(code, st) == 0 && code->co_warmup > st->warmup) {
            st->warmup = code->co_warmup;
        }
        PyErr_Clear(); /* a failed compile's error is in the stats, as at the hook's */
    }
    if (st->state != CPJIT_COMPILED) {
        return;
    }
    /* An opcode event at the candidate's very next instruction: nothing else runs traced. */
    /* (_PyFrame_GetFrameObject is not exported; PyEval_GetFrame makes it for the current
     * frame, the candidate here.) */
    PyFrameObject *f = tstate->cframe->current_frame == cand.frame ? PyEval_GetFrame() : NULL;
    if (f == NULL) {
        PyErr_Clear();
        return;
    }
    cand.frame_object = (PyFrameObject *)Py_NewRef(f);
    cand.trace_opcodes = f->f_trace_opcodes;
    f->f_trace_opcodes = 1;
    cand.armings++;
    cand.armed = 1;
    cand.fired = 0;
    tstate->c_tracefunc = osr_trace;
    tstate->c_traceobj = NULL;
    _PyThreadState_UpdateTracingState(tstate);
    cpjit_osr_stats.armed++;
}
