/* osr.c: a loop function's long interpreted call goes on in native code (on-stack
 * replacement).
 *
 * Owns: the candidate (the innermost call of a loop function the hook is interpreting on the
 * main thread, or the loop frame the sampler found running inlined in a cold region), the
 * decision that it has run interpreted long enough, and moving the rest of its call into native
 * code at one of its instructions.
 *
 * Why: a library function with a loop compiles once its interpreted calls have taken its time
 * budget (runtime.c, loop_budget_ns per code unit), so the call that spends the budget runs
 * interpreted to its end. When that call is the whole job (a parser's main loop fed one big
 * document: html.parser's goahead; pickle's _Unpickler.load), it runs interpreted under the
 * hook, where the interpreter inlines none of its calls: each call of a Python function goes
 * through the function's vectorcall (calls.c) into native code and back, about 300 instructions
 * more than the interpreter's inlined call (benches/README.md, session 42). Such programs ran
 * 5-8% slower than without cpjit. A loop the interpreter runs inlined in a cold region
 * (cold_regions.c) is in the same state from the moment the sampler puts the hook back.
 *
 * How, for the hook's own call: the hook makes the call the candidate before interpreting it
 * (cpjit_osr_begin). When a call it made returns to it (cpjit_osr_after_call: the hook's return,
 * and the function vectorcall's paths back to an interpreted caller) and its budget is spent
 * (the clock read every CHECK_EVERY such returns), its code is compiled and a trace function of
 * cpjit's own is set on the thread (c_tracefunc, as sys.settrace sets a C one, without the audit
 * event), with opcode events switched on for the candidate's frame object alone, so that it is
 * called at the candidate's very next instruction, before anything else runs traced. There, if
 * the instruction has a native entry and the value stack a free slot, the trace function does
 * what a debugger's jump (frame.f_lineno = N) does, to one of the code object's RETURN_VALUE
 * instructions, after pushing cpjit's marker: the interpreter returns the marker to the hook,
 * leaving the frame whole (an entry frame's locals are released by its caller, _PyEval_Vector,
 * not by the interpreter's return), its value stack as it was under the marker. The hook then
 * enters the native code at that instruction (cpjit_osr_end gives the entry), as it enters a
 * resumed generator. Otherwise, or on any other event first (a signal handler's frames), the
 * trace function takes itself out and the candidate is armed again after a later call, at most
 * MAX_ARMINGS times.
 *
 * How, in a region: when the sampler puts the hook back (cold_regions.c, take_sample), the
 * outermost loop frame of a library function between the innermost frame and the region's root
 * becomes the candidate, its budget spent; its frame object's address (no reference kept: that
 * would keep its locals alive past its return) tells it from a later frame at the same address.
 * It is armed as above, but its RETURN_VALUE would hand the marker to its caller, whom the
 * interpreter runs in the same activation: so the trace function itself runs the rest of the
 * call natively (run_rest_here) and sends the interpreter to a RETURN_VALUE with the result, or,
 * when the rest raised, fails, so that the interpreter raises the exception from the
 * instruction it was at, which must be one no handler of the frame covers. Each region's
 * candidate lives within its root's call (cpjit_osr_region_begin / _end).
 *
 * How, for a script's own loop function (session 54): the hook's call of one on the main thread
 * is a candidate as a library's is, and `watched`: the sampler thread asks for a sample every
 * period while it waits (cold_regions.c), and the sample, served at its next eval-breaker check
 * (a backward jump), checks its budget when it is the frame running (cpjit_osr_watch_sample),
 * so that a loop that makes no Python call goes on natively too.
 *
 * How, for a loop of __main__ started without the hook (session 51): a loop function of the
 * script compiles at (or, on the main thread, goes native within) its first call the hook sees,
 * so an interpreter-run frame of one that makes a call reaching cpjit (the hook, a compiled
 * function's vectorcall) and is no candidate of the hook's started while the hook was out: in
 * a region (a program run by `python -m`, beneath runpy's loopless functions) or on a worker
 * thread started while the main thread waited in one (Thread.join). It becomes its thread's
 * candidate there (cpjit_osr_unhooked_caller), budget spent, and is moved as a region's
 * candidate is, after that call returns. A region's loop frame the sampler finds innermost, its
 * code never compiled, is armed at the sample: it may make no call.
 *
 * How, for the script's top level run as a region (session 56, cold_regions.c
 * cpjit_run_top_level): the hook made it its candidate before opening the region, so when the
 * sampler puts the hook back, the top level's own loop is armed as the hook's candidate is (a
 * call returning to it, a watch sample). A loop frame running beneath it then goes first: the top
 * level's candidacy is parked (`parked`, cpjit_osr_parked_frame) and taken up again at the first
 * call that returns to it after that loop frame is gone (unpark), so that both go on natively.
 *
 * Threads: the main thread's candidates nest with the hook's calls and regions (`cand`, saved
 * and restored by the C frames that run them); the other threads share one more (`other`, named
 * by thread state and id: one waits at a time, dropped when its region ends, when its frame is
 * found gone, or when its thread is), for another thread's region found hot by its sample or a
 * loop of __main__ started without the hook there. Never with a trace or profile function of
 * anyone else's set, nor unless cpjit's hook is the evaluator; never a generator or coroutine
 * (their return ends them), nor code without a RETURN_VALUE. What the program sees: nothing
 * (sys.gettrace() stays None; the frame object the event needs exists early). A trace function
 * set by the program meanwhile replaces cpjit's, which is then never called again.
 */
#include "osr.h"

#include "cold_regions.h"
#include "calls.h"
#include "exc.h"
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

static CpjitOsrCandidate cand; /* the main thread's */
/* The script's top level, the hook's candidate, while a loop frame beneath it is the candidate
 * instead (cpjit_osr_region_candidate): it is the candidate again once a call returns to it
 * (cpjit_osr_check), so that its own loop goes on natively after the one beneath did. */
static CpjitOsrCandidate parked;
_PyInterpreterFrame *cpjit_osr_parked_frame;
PyThreadState *cpjit_osr_watch_tstate;
/* The candidate of a thread other than the main one (one at a time): a loop frame beneath a
 * region it has open (cold_regions.c), or one of __main__ it started while the hook was out
 * (cpjit_osr_unhooked_caller); for that thread (`other.tstate`, `other.tstate_id`) alone. */
static CpjitOsrCandidate other;
_PyInterpreterFrame *cpjit_osr_other_frame;
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

/* Whether the code can re-raise an exception (RERAISE, a bare `raise`): every except clause
 * and finally block can. A region's candidate whose rest, run natively, ends in such a re-raise
 * cannot go on there: run_rest_here hands the exception to the interpreter by failing the trace
 * function, and the interpreter adds a traceback entry for the frame where a re-raise adds none
 * (the fuzzer's seed 28802, program 42463: an except* clause's re-raise of the group's rest
 * showed the frame once more, at its RERAISE). */
static int has_reraise(PyCodeObject *code)
{
    _Py_CODEUNIT *units = _PyCode_CODE(code);
    Py_ssize_t n = Py_SIZE(code);
    for (Py_ssize_t i = 0; i < n; i += 1 + _PyOpcode_Caches[_PyOpcode_Deopt[_Py_OPCODE(units[i])]]) {
        int op = _PyOpcode_Deopt[_Py_OPCODE(units[i])];
        if (op == RERAISE || (op == RAISE_VARARGS && _Py_OPARG(units[i]) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* Whether the thread runs with no trace or profile function set. */
static inline int untraced(PyThreadState *tstate)
{
    return tstate->c_tracefunc == NULL && tstate->c_profilefunc == NULL && !tstate->tracing
           && !_Py_tracemalloc_config.tracing;
}

static int osr_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg);
static void drop_arming(PyThreadState *tstate, CpjitOsrCandidate *c);

/* Where the returns to candidate `c` are watched from (cpjit_osr_after_call). */
static inline void set_waiting_frame(CpjitOsrCandidate *c, _PyInterpreterFrame *frame)
{
    if (c == &other) {
        cpjit_osr_other_frame = frame;
    }
    else {
        cpjit_osr_frame = frame;
    }
}

/* The candidate of the thread `tstate`, or NULL: the main thread's, or another thread's own. */
static inline CpjitOsrCandidate *candidate_of(PyThreadState *tstate)
{
    if (other.frame != NULL && other.tstate == tstate && other.tstate_id == tstate->id) {
        return &other;
    }
    return tstate->thread_id == _PyRuntime.main_thread ? &cand : NULL;
}

/* The sampler watches the main thread's candidate while it is a watched one that waits
 * (`tstate`: the main thread's; called wherever that candidate changes). */
static inline void update_watch(PyThreadState *tstate)
{
    PyThreadState *watch = cand.watched && cand.waiting && cand.frame != NULL ? tstate : NULL;
    if (__atomic_load_n(&cpjit_osr_watch_tstate, __ATOMIC_RELAXED) != watch) {
        __atomic_store_n(&cpjit_osr_watch_tstate, watch, __ATOMIC_RELEASE);
    }
}

/* Another thread's candidate is done with (it went on natively, or its frame is gone). */
static void forget_other(void)
{
    if (other.frame_object != NULL) {
        other.frame_object->f_trace_opcodes = other.trace_opcodes;
        Py_CLEAR(other.frame_object);
    }
    other = (CpjitOsrCandidate){0};
    cpjit_osr_other_frame = NULL;
}

/* Whether candidate `c` of the thread `tstate` names a frame still on that thread's stack (a
 * candidate whose call ended without moving stays named until then). */
static int candidate_live(PyThreadState *tstate, const CpjitOsrCandidate *c)
{
    int n = 0;
    for (_PyInterpreterFrame *f = tstate->cframe->current_frame; f != NULL && n < 512;
         f = f->previous, n++) {
        if (f == c->frame) {
            return f->f_code == c->code;
        }
    }
    return n == 512; /* (too deep to tell: taken as live) */
}

/* The main thread's candidate is free for a new one: none is named, or the one named is no
 * longer on the stack (it is dropped, its arming with it). */
static int main_candidate_free(PyThreadState *tstate)
{
    if (cand.frame == NULL) {
        return 1;
    }
    if (candidate_live(tstate, &cand)) {
        return 0;
    }
    if (cand.armed) {
        drop_arming(tstate, &cand);
    }
    cand = (CpjitOsrCandidate){0};
    cpjit_osr_frame = NULL;
    update_watch(tstate);
    return 1;
}

/* Takes cpjit's trace function out, unless another replaced it. The caller sees that the
 * thread's tracing state (use_tracing of the current C frame) is recomputed. */
static void disarm(PyThreadState *tstate, CpjitOsrCandidate *c)
{
    if (tstate->c_tracefunc == osr_trace) {
        tstate->c_tracefunc = NULL;
        tstate->c_traceobj = NULL;
    }
    if (c->frame_object != NULL) {
        c->frame_object->f_trace_opcodes = c->trace_opcodes;
        Py_CLEAR(c->frame_object);
    }
    c->armed = 0;
}

/* An arming that ended with its frame (returned or raised before its next instruction ran):
 * the interpreter's return passed the armed state on to the C frame it returned to, whose
 * tracing state is recomputed. */
static void drop_arming(PyThreadState *tstate, CpjitOsrCandidate *c)
{
    disarm(tstate, c);
    cpjit_osr_stats.given_up++;
    _PyThreadState_UpdateTracingState(tstate);
}

/* Gives up this arming: the trace function out, the frame object's opcode events as they were;
 * armed again after further calls, up to MAX_ARMINGS times. */
static void give_up(PyThreadState *tstate, CpjitOsrCandidate *c)
{
    disarm(tstate, c);
    cpjit_osr_stats.given_up++;
    if (c->frame != NULL && c->armings < MAX_ARMINGS) {
        c->calls = 0;
        c->waiting = 1;
        set_waiting_frame(c, c->frame);
    }
    if (c == &cand) {
        update_watch(tstate);
    }
}

/* A region's candidate, which the interpreter runs inlined in a caller's activation (its
 * RETURN_VALUE would hand a marker to that caller): the rest of its call runs natively here,
 * inside the trace function, from the instruction at `unit`; then the interpreter is sent to a
 * RETURN_VALUE (`ret`) with the result on the value stack, or, when the call raised, the trace
 * function fails, so the interpreter raises the exception from the instruction at `unit`, where
 * no handler of the frame's catches it (the caller checked): the frame is left with the
 * exception as its native code left it, the traceback entry native code made for it replaced by
 * the interpreter's own, at the same instruction. */
static int run_rest_here(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                         Py_ssize_t unit, Py_ssize_t ret)
{
    PyCodeObject *code = frame->f_code;
    PyObject **stack_pointer = _PyFrame_GetStackPointer(frame);
    char was_entry = frame->is_entry;
    cpjit_osr_stats.entered++;
    /* What enter_native does, but for a frame that is the current one already (native code's
     * exit unlinks it, current_frame = previous, and gives the recursion count back), and that
     * the interpreter counted a recursion level for when it started: not counted again (the
     * rest of the call runs at the depth it has without cpjit), the level native code's exit
     * gives back taken again below. */
    frame->prev_instr = _PyCode_CODE(code) + unit - 1;
    frame->is_entry = true;
    frame->stacktop = -1;
    /* Undo what call_trace set for the trace function, while the rest runs as untraced code
     * does: the tracing count, the event's kind, and the frame object's line, which f_lineno
     * would report instead of the line prev_instr is on (call_trace zeroes it after). */
    tstate->tracing--;
    int what = tstate->tracing_what;
    tstate->tracing_what = 0;
    if (frame->frame_obj != NULL) {
        frame->frame_obj->f_lineno = 0;
    }
    PyObject *res = ((cpjit_native_fn)(st->base + st->entries[unit]))(frame, stack_pointer, tstate);
    tstate->recursion_remaining--;
    tstate->tracing_what = what;
    tstate->tracing++;
    tstate->cframe->current_frame = frame;
    frame->is_entry = was_entry;
    /* Native code left the value stack empty (its return, or its unwinding). */
    if (res != NULL) {
        frame->localsplus[code->co_nlocalsplus] = res;
        frame->stacktop = code->co_nlocalsplus + 1;
        frame->prev_instr = _PyCode_CODE(code) + ret;
        return 0;
    }
    frame->stacktop = code->co_nlocalsplus;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (tb != NULL && PyTraceBack_Check(tb)
        && ((PyTracebackObject *)tb)->tb_frame == frame->frame_obj) {
        PyTracebackObject *mine = (PyTracebackObject *)tb;
        frame->prev_instr = _PyCode_CODE(code) + mine->tb_lasti / (int)sizeof(_Py_CODEUNIT);
        tb = Py_XNewRef((PyObject *)mine->tb_next);
        Py_DECREF(mine);
    }
    PyErr_Restore(type, value, tb);
    return -1;
}

static int osr_trace(PyObject *obj, PyFrameObject *f, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    PyThreadState *tstate = _PyThreadState_GET();
    _PyInterpreterFrame *frame = f->f_frame;
    CpjitOsrCandidate *c = candidate_of(tstate);
    if (c == NULL) {
        /* (not reached: a thread's trace function is set only with its candidate) */
        tstate->c_tracefunc = NULL;
        tstate->c_traceobj = NULL;
        _PyThreadState_UpdateTracingState(tstate);
        return 0;
    }
    if (!c->armed) {
        return 0; /* the opcode event after the line event that fired (same instruction) */
    }
    if ((what != PyTrace_LINE && what != PyTrace_OPCODE) || frame != c->frame) {
        /* Other code runs first (a signal handler at the call's eval-breaker check): it must
         * not run as traced code, so the arming ends here. */
        give_up(tstate, c);
        return 0;
    }
    PyCodeObject *code = frame->f_code;
    CpjitCodeState *st = c->st;
    /* The interpreter's DO_TRACING: prev_instr is the instruction about to run, and the value
     * stack is saved in the frame. */
    _Py_CODEUNIT *at = frame->prev_instr;
    Py_ssize_t unit = at - _PyCode_CODE(code);
    Py_ssize_t ret = c->return_unit;
    if (st->state != CPJIT_COMPILED || unit <= 0 || unit >= (Py_ssize_t)st->n_units
        || st->entries[unit] == CPJIT_NO_ENTRY || frame->stacktop < code->co_nlocalsplus
        || frame->stacktop >= code->co_nlocalsplus + code->co_stacksize) {
        give_up(tstate, c); /* (no entry here, or no free slot for the marker) */
        return 0;
    }
    if (c->in_region) {
        if (cpjit_exc_handler_covers(code, (int)unit) || tstate->recursion_remaining < 50
            || has_reraise(code)) {
            give_up(tstate, c);
            return 0;
        }
        disarm(tstate, c);
        if (c == &other) {
            forget_other(); /* (nothing of it is read again) */
        }
        return run_rest_here(tstate, frame, st, unit, ret);
    }
    disarm(tstate, c);
    frame->localsplus[frame->stacktop++] = Py_NewRef(marker);
    frame->prev_instr = _PyCode_CODE(code) + ret;
    c->resume = at;
    c->fired = 1;
    cpjit_osr_stats.entered++;
    return 0;
}

/* Whether the hook's new frame may become the candidate: the main thread, no tracing, a new
 * frame of a function (its return ends the call), a budget to spend. */
static int may_begin(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyCodeObject *code = frame->f_code;
    return tstate->thread_id == _PyRuntime.main_thread
           && tstate->interp == _PyRuntime.interpreters.main && cpjit_rt_get_loop_budget_ns() != 0
           && !(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))
           && frame->prev_instr == _PyCode_CODE(code) - 1 && untraced(tstate);
}

int cpjit_osr_may_watch(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    return may_begin(tstate, frame) && cpjit_cold_regions_get_period_us() != 0;
}

int cpjit_osr_begin(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                    uint64_t now, int watch, CpjitOsrCandidate *saved)
{
    if (!may_begin(tstate, frame)) {
        return 0;
    }
    if (marker == NULL && (marker = PyType_GenericAlloc(&PyBaseObject_Type, 0)) == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (watch && cpjit_cold_regions_watch() < 0) {
        watch = 0; /* no sampler: only the calls it makes are followed */
    }
    *saved = cand;
    cand = (CpjitOsrCandidate){.frame = frame, .st = st, .started_ns = now,
                               .spent_ns = st->interpreted_ns, .waiting = 1, .watched = watch};
    cpjit_osr_frame = frame;
    update_watch(tstate);
    return 1;
}

cpjit_native_fn cpjit_osr_end(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *res,
                              CpjitOsrCandidate *saved)
{
    cpjit_native_fn entry = NULL;
    if (parked.frame == frame) {
        parked = (CpjitOsrCandidate){0}; /* (its call ended with the candidate beneath named) */
        cpjit_osr_parked_frame = NULL;
    }
    if (cand.armed) {
        drop_arming(tstate, &cand); /* (a call that raised and unwound it) */
    }
    if (cand.fired && res == marker) {
        CpjitCodeState *st = cand.st;
        Py_ssize_t unit = cand.resume - _PyCode_CODE(frame->f_code);
        Py_DECREF(res);
        frame->prev_instr = cand.resume - 1;
        entry = (cpjit_native_fn)(st->base + st->entries[unit]);
    }
    cand = *saved; /* never armed: an inner candidate began only where the trace was not set */
    cpjit_osr_frame = cand.waiting ? cand.frame : NULL;
    update_watch(tstate);
    return entry;
}

static void arm(PyThreadState *tstate, CpjitOsrCandidate *c);
static int budget_spent(const CpjitOsrCandidate *c);

void cpjit_osr_region_begin(CpjitOsrCandidate *saved)
{
    *saved = cand;
    cand = (CpjitOsrCandidate){0};
    cpjit_osr_frame = NULL;
    update_watch(_PyThreadState_GET());
}

void cpjit_osr_region_end(CpjitOsrCandidate *saved)
{
    if (cand.armed) {
        drop_arming(_PyThreadState_GET(), &cand); /* (the candidate died with the root's call) */
    }
    cand = *saved;
    cpjit_osr_frame = cand.waiting ? cand.frame : NULL;
    update_watch(_PyThreadState_GET());
}

/* The outermost frame between `innermost` and `root` (excluded) of a loop function the
 * interpreter runs, with its state in *st and the address of its frame object (made, for the
 * frames above it too, by walking back from the current frame, as f_back does; no reference is
 * kept) in *frame_object_id; NULL when there is none. The outermost: the loop that goes on
 * longest (an inner one, a helper's loop, returns soon, and its next calls go through the hook
 * anyway). */
static _PyInterpreterFrame *loop_frame_beneath(_PyInterpreterFrame *innermost,
                                               _PyInterpreterFrame *root, CpjitCodeState **st_out,
                                               void **frame_object_id)
{
    _PyInterpreterFrame *found = NULL;
    CpjitCodeState *found_st = NULL;
    int n = 0;
    for (_PyInterpreterFrame *f = innermost; f != NULL && f != root && n < 64;
         f = f->previous, n++) {
        PyCodeObject *code = f->f_code;
        if (_PyFrame_IsIncomplete(f) || !(code->co_flags & CO_OPTIMIZED)
            || (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))) {
            continue;
        }
        CpjitCodeState *st = cpjit_rt_state_for(code, 1);
        if (st == NULL) {
            PyErr_Clear();
            return NULL;
        }
        if ((st->tier & CPJIT_TIER_LOOP) && st->state != CPJIT_FAILED) {
            found = f;
            found_st = st;
        }
    }
    if (found == NULL) {
        return NULL;
    }
    PyFrameObject *fo = PyEval_GetFrame();
    Py_XINCREF(fo);
    while (fo != NULL && fo->f_frame != found) {
        PyFrameObject *back = PyFrame_GetBack(fo);
        Py_DECREF(fo);
        fo = back;
    }
    if (fo == NULL) {
        PyErr_Clear();
        return NULL;
    }
    Py_DECREF(fo);
    *st_out = found_st;
    *frame_object_id = fo;
    return found;
}

/* Names `c`, for the thread `tstate`, the loop frame beneath the region rooted at `root` that
 * the interpreter runs, its budget taken as spent; 0 when there is none. */
static int name_region_candidate(PyThreadState *tstate, CpjitOsrCandidate *c,
                                 _PyInterpreterFrame *innermost, _PyInterpreterFrame *root)
{
    CpjitCodeState *st;
    void *fo;
    _PyInterpreterFrame *found = loop_frame_beneath(innermost, root, &st, &fo);
    if (found == NULL) {
        return 0;
    }
    *c = (CpjitOsrCandidate){.frame = found, .st = st, .in_region = 1, .code = found->f_code,
                             .frame_object_id = fo, .waiting = 1, .tstate = tstate,
                             .tstate_id = tstate->id, .root = root};
    set_waiting_frame(c, found);
    return 1;
}

void cpjit_osr_region_candidate(PyThreadState *tstate, _PyInterpreterFrame *innermost,
                                _PyInterpreterFrame *root)
{
    if (tstate->thread_id != _PyRuntime.main_thread || cpjit_rt_get_loop_budget_ns() == 0
        || !untraced(tstate)) {
        return;
    }
    if (cand.frame == root && !cand.in_region) {
        /* The root is the script's top level, the hook's own candidate (cold_regions.c,
         * cpjit_run_top_level): its loop goes on natively once its budget is checked, now that
         * the hook is back (a call returning to it, a watch sample), unless a loop frame runs
         * beneath it, which is moved first (its call may be the rest of the program: main()). */
        CpjitOsrCandidate inner;
        if (innermost == root || !name_region_candidate(tstate, &inner, innermost, root)) {
            return;
        }
        parked = cand;
        cpjit_osr_parked_frame = root;
        cand = inner;
    }
    else if (!main_candidate_free(tstate) || !name_region_candidate(tstate, &cand, innermost, root)) {
        return;
    }
    update_watch(tstate);
    if (cand.frame == innermost && cand.st->state == CPJIT_COUNTING) {
        /* The loop itself is innermost, run by the interpreter (its code was never compiled):
         * it may make no call for the check to follow (`for i in range(n): t += i`), so it is
         * armed now, for its next instruction after this sample's eval-breaker check. */
        cpjit_osr_check(tstate);
    }
}

/* Whether another thread's candidate may be named (by the thread `tstate`): none is, the one
 * named is this thread's and no longer on its stack, or its thread is gone (its frame with it:
 * only the ids are compared). */
static int other_free(PyThreadState *tstate)
{
    if (other.frame == NULL) {
        return 1;
    }
    if (other.tstate == tstate && other.tstate_id == tstate->id) {
        if (candidate_live(tstate, &other)) {
            return 0;
        }
        if (other.armed) {
            drop_arming(tstate, &other);
        }
        forget_other();
        return 1;
    }
    PyInterpreterState *interp = _PyRuntime.interpreters.main;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
         t = PyThreadState_Next(t)) {
        if (t == other.tstate && t->id == other.tstate_id) {
            return 0;
        }
    }
    forget_other();
    return 1;
}

void cpjit_osr_other_region_candidate(PyThreadState *tstate, _PyInterpreterFrame *innermost,
                                      _PyInterpreterFrame *root)
{
    /* Armed after a call it makes returns (the sample is taken at one of its calls). */
    if (tstate->thread_id == _PyRuntime.main_thread
        || tstate->interp != _PyRuntime.interpreters.main || !other_free(tstate)
        || cpjit_rt_get_loop_budget_ns() == 0 || !untraced(tstate)) {
        return;
    }
    name_region_candidate(tstate, &other, innermost, root);
}

void cpjit_osr_other_region_end(PyThreadState *tstate, _PyInterpreterFrame *root)
{
    if (other.frame == NULL || other.root != root || other.tstate != tstate) {
        return;
    }
    if (other.armed) {
        drop_arming(tstate, &other); /* (the candidate died with the root's call) */
    }
    forget_other();
}

void cpjit_osr_unhooked_caller(PyThreadState *tstate, _PyInterpreterFrame *caller,
                               CpjitCodeState *st)
{
    if (st == NULL) {
        st = cpjit_rt_state_for(caller->f_code, 1);
        if (st == NULL) {
            PyErr_Clear();
            return;
        }
        if (!cpjit_osr_may_be_main_loop(st)) {
            return;
        }
    }
    if (!(st->tier & CPJIT_TIER_HOME_KNOWN)) {
        st->tier |= CPJIT_TIER_HOME_KNOWN
                    | (cpjit_rt_is_main_namespace(caller->f_globals) ? CPJIT_TIER_IN_MAIN : 0);
    }
    if (!(st->tier & CPJIT_TIER_IN_MAIN) || caller != tstate->cframe->current_frame
        || (caller->f_code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR))
        || cpjit_rt_get_loop_budget_ns() == 0 || !untraced(tstate)
        || tstate->interp != _PyRuntime.interpreters.main || cpjit_rt_c_stack_low(tstate)) {
        return;
    }
    int on_main = tstate->thread_id == _PyRuntime.main_thread;
    CpjitOsrCandidate *c = on_main ? &cand : &other;
    if (c->frame == caller || (on_main ? !main_candidate_free(tstate) : !other_free(tstate))) {
        return;
    }
    PyFrameObject *fo = PyEval_GetFrame(); /* the caller's, made if need be */
    if (fo == NULL || fo->f_frame != caller) {
        PyErr_Clear();
        return;
    }
    /* As a region's candidate: the interpreter runs it in a caller's activation, or called from
     * C without the hook, so the rest of its call runs within the trace function. */
    *c = (CpjitOsrCandidate){.frame = caller, .st = st, .in_region = 1, .code = caller->f_code,
                             .frame_object_id = fo, .waiting = 1, .tstate = tstate,
                             .tstate_id = tstate->id, .root = NULL};
    set_waiting_frame(c, caller);
    if (on_main) {
        update_watch(tstate);
    }
}

/* A call returned to the parked top level (`frame`, current on the main thread): it is the
 * candidate again unless the one beneath it still lives. */
static void unpark(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (parked.frame != frame || tstate->thread_id != _PyRuntime.main_thread
        || cand.frame == frame || !main_candidate_free(tstate)) {
        return;
    }
    cand = parked;
    parked = (CpjitOsrCandidate){0};
    cpjit_osr_parked_frame = NULL;
    cpjit_osr_frame = cand.waiting ? cand.frame : NULL;
    update_watch(tstate);
}

void cpjit_osr_check(PyThreadState *tstate)
{
    if (cpjit_osr_parked_frame != NULL
        && tstate->cframe->current_frame == cpjit_osr_parked_frame) {
        unpark(tstate, cpjit_osr_parked_frame);
    }
    CpjitOsrCandidate *c = candidate_of(tstate);
    if (c == NULL || !c->waiting || c->frame != tstate->cframe->current_frame) {
        return; /* (another thread's frame at the same address) */
    }
    if (c->in_region) {
        if (PyErr_Occurred()) {
            return; /* (the call raised: the interpreter unwinds next, the check waits) */
        }
        /* Still the frame named (not a later one at its address), its budget taken as spent. */
        if (c->frame->frame_obj != c->frame_object_id || c->frame->f_code != c->code) {
            c->waiting = 0;
            set_waiting_frame(c, NULL);
            if (c == &cand) {
                update_watch(tstate);
            }
            if (c == &other) {
                forget_other();
            }
            return;
        }
        arm(tstate, c);
        return;
    }
    /* A budget of a few ns per unit (the tests' 1) is spent by any call: every return checks. */
    uint32_t per_unit = cpjit_rt_get_loop_budget_ns();
    if (++c->calls % (per_unit < CHECK_EVERY ? 1u : CHECK_EVERY) != 0 || PyErr_Occurred()) {
        return; /* (the call raised: the interpreter unwinds next, the check waits) */
    }
    if (budget_spent(c)) {
        arm(tstate, c);
    }
}

void cpjit_osr_watch_sample(PyThreadState *tstate)
{
    /* Only the hook's own call of a script's loop function, running (not a callee of it, whose
     * return the check follows), at an eval-breaker check of the interpreter: a backward jump,
     * a call's end, a function's start (a sample served in native code finds a native frame
     * current). Never while an exception is being raised, nor in anything traced. */
    if (tstate != cpjit_osr_watch_tstate || !cand.watched || !cand.waiting || cand.in_region
        || cand.frame != tstate->cframe->current_frame || PyErr_Occurred()
        || !untraced(tstate)) {
        return;
    }
    if (budget_spent(&cand)) {
        arm(tstate, &cand);
    }
}

/* Whether the hook's candidate `c` has run interpreted for its budget: loop_budget_ns per code
 * unit of its code, this call and its code's earlier interpreted calls together. */
static int budget_spent(const CpjitOsrCandidate *c)
{
    uint64_t budget = (uint64_t)cpjit_rt_get_loop_budget_ns() * (uint64_t)Py_SIZE(c->frame->f_code);
    return c->spent_ns + (cpjit_now_ns() - c->started_ns) >= budget;
}

/* The candidate's budget is spent: its code compiled, and the trace function armed for its next
 * instruction when nothing stands in the way. */
static void arm(PyThreadState *tstate, CpjitOsrCandidate *c)
{
    PyCodeObject *code = c->frame->f_code;
    CpjitCodeState *st = c->st;
    c->waiting = 0; /* armed now, or never for this call */
    set_waiting_frame(c, NULL);
    if (c == &cand) {
        update_watch(tstate);
    }
    if (PyErr_Occurred() || !untraced(tstate) || tstate->interp->eval_frame != cpjit_eval_frame
        || (c->return_unit = return_unit(code)) < 0) {
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
    PyFrameObject *f = tstate->cframe->current_frame == c->frame ? PyEval_GetFrame() : NULL;
    if (f == NULL) {
        PyErr_Clear();
        return;
    }
    c->frame_object = (PyFrameObject *)Py_NewRef(f);
    c->trace_opcodes = f->f_trace_opcodes;
    f->f_trace_opcodes = 1;
    c->armings++;
    c->armed = 1;
    c->fired = 0;
    tstate->c_tracefunc = osr_trace;
    tstate->c_traceobj = NULL;
    _PyThreadState_UpdateTracingState(tstate);
    cpjit_osr_stats.armed++;
}
