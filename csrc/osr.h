/* osr.h: a library loop function's long interpreted call goes on in native code
 * (csrc/osr.c). */
#ifndef CPJIT_OSR_H
#define CPJIT_OSR_H

#include "cpjit_rt.h"

/* The innermost loop-function call the hook is interpreting on the main thread (the candidate),
 * or NULL. Read on every return to the interpreter from a call the hook or a function's
 * vectorcall made (cpjit_osr_after_call), so kept apart. */
extern _PyInterpreterFrame *cpjit_osr_frame;
/* The same for the candidate of a region another thread has open, or NULL. */
extern _PyInterpreterFrame *cpjit_osr_other_frame;
/* The script's top level while its candidacy is parked (osr.c: a loop frame beneath it went
 * first), or NULL. */
extern _PyInterpreterFrame *cpjit_osr_parked_frame;

/* A candidate: the one running, and the one before it, kept by the hook's C frame while it
 * interprets its own. */
typedef struct {
    _PyInterpreterFrame *frame;
    CpjitCodeState *st;
    uint64_t started_ns; /* when its interpreted call began */
    uint64_t spent_ns;   /* its code's interpreted time before this call */
    uint32_t calls;      /* returns to it seen since the last clock read */
    int armings;         /* times the trace function was set for it */
    int waiting;         /* the returns to it are checked (cpjit_osr_frame is it) */
    PyFrameObject *frame_object; /* while armed: its frame object, opcode events switched on */
    char trace_opcodes;  /* and their setting before */
    int armed;           /* the trace function is set for it */
    Py_ssize_t return_unit; /* while armed: the code unit of its code's first RETURN_VALUE */
    int fired;           /* the trace function sent its interpreter to a RETURN_VALUE */
    _Py_CODEUNIT *resume; /* then: the instruction native code goes on at */
    int in_region;       /* a frame the interpreter runs in a cold region (not the hook's) */
    PyCodeObject *code;  /* then: its code, and its frame object's address (no reference: */
    void *frame_object_id; /*   what tells the frame from a later one at the same address) */
    PyThreadState *tstate; /* a region's candidate: the region's thread (and its id: a thread */
    uint64_t tstate_id;    /*   state's address may be a later thread's), */
    _PyInterpreterFrame *root; /* and its root (the region's candidate lives within its call) */
    int watched;         /* the hook's candidate of a script's loop function: the sampler asks
                            for samples while it waits, so that a loop making no call is
                            checked too (cpjit_osr_watch_sample) */
} CpjitOsrCandidate;

/* The main thread's state while its candidate is a watched one that waits (set and cleared
 * under the GIL; the sampler thread reads it to know that samples are wanted), else NULL. */
extern PyThreadState *cpjit_osr_watch_tstate;

/* The hook is about to interpret `frame`, a new frame of a loop function that still counts
 * (runtime.c, eval_frame's loop case), started at `now`: it becomes the candidate when it may
 * (the main thread, no tracing, a function with a return). `watch`: the sampler checks it too
 * (a script's own loop function, which may make no call the check could follow: see
 * runtime.c's tiering notes). `saved` keeps the previous one; returns whether the frame became
 * the candidate. */
int cpjit_osr_begin(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                    uint64_t now, int watch, CpjitOsrCandidate *saved);

/* Whether the hook's candidate of the main thread (`tstate`) may be a watched one: what
 * cpjit_osr_begin would accept for `frame` with a sampler to watch it. */
int cpjit_osr_may_watch(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* A sample the sampler asked for while a watched candidate waited (cold_regions.c,
 * take_sample), served on the main thread at an eval-breaker check: when the candidate is the
 * frame running and its budget is spent, it is armed for its next instruction, as after a call
 * it made returns. */
void cpjit_osr_watch_sample(PyThreadState *tstate);

/* The interpreter returned `res` for the candidate begun with `saved`, which is restored.
 * Returns the native entry to go on at when the trace function redirected the frame (`res` is
 * then cpjit's marker, released here, and frame->prev_instr is set for the entry), else NULL. */
cpjit_native_fn cpjit_osr_end(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *res,
                              CpjitOsrCandidate *saved);

/* A cold region opens (cold_regions.c, cpjit_run_cold): no candidate inside it until the
 * sampler names one; `saved` keeps the one outside. */
void cpjit_osr_region_begin(CpjitOsrCandidate *saved);
/* The region's root returned: the candidate outside it again. */
void cpjit_osr_region_end(CpjitOsrCandidate *saved);
/* The sampler puts the hook back in the innermost region, rooted at `root`, while `innermost`
 * runs: the innermost frame between them of a library loop function becomes the candidate, its
 * budget taken as spent (the interpreter runs it, inlined, and its calls now go through the
 * hook). */
void cpjit_osr_region_candidate(PyThreadState *tstate, _PyInterpreterFrame *innermost,
                                _PyInterpreterFrame *root);

/* The same for a region another thread has open (cold_regions.c: cpjit_serve_other_sample found
 * hot code beneath it at one of its calls): that thread's candidate, armed after a call it makes
 * returns; one at a time. */
void cpjit_osr_other_region_candidate(PyThreadState *tstate, _PyInterpreterFrame *innermost,
                                      _PyInterpreterFrame *root);
/* That region's root returned (on its thread): its candidate, if any, is dropped. */
void cpjit_osr_other_region_end(PyThreadState *tstate, _PyInterpreterFrame *root);

/* `caller`, an interpreter-run frame of a loop function (`st`, counting or compiled), is making a
 * call that reached cpjit (the hook, a compiled function's vectorcall). A loop function of
 * __main__ compiles at its first call and runs natively, so such a frame started while the hook
 * was out (a region of this thread or another's: a worker thread started while the main thread
 * waited in a region), or was handed to the interpreter: it becomes its thread's candidate, its
 * budget taken as spent, and goes on natively once the call returns, as a region's candidate
 * does; its calls would otherwise each go through the hook (a worker's loop ran slower than
 * without cpjit until session 51). */
void cpjit_osr_unhooked_caller(PyThreadState *tstate, _PyInterpreterFrame *caller,
                               CpjitCodeState *st /* NULL: not made yet */);
/* Whether code in state `st` may be such a loop: counting or compiled, with a loop, and of
 * __main__ or not known yet to be elsewhere. */
static inline __attribute__((always_inline)) int cpjit_osr_may_be_main_loop(CpjitCodeState *st)
{
    return (st->state == CPJIT_COUNTING || st->state == CPJIT_COMPILED)
           && (st->tier & CPJIT_TIER_LOOP)
           && (st->tier & (CPJIT_TIER_HOME_KNOWN | CPJIT_TIER_IN_MAIN)) != CPJIT_TIER_HOME_KNOWN;
}
static inline __attribute__((always_inline)) void
cpjit_osr_note_caller(PyThreadState *tstate, _PyInterpreterFrame *caller)
{
    if (caller == cpjit_osr_frame || caller == cpjit_osr_other_frame || !cpjit_direct_extra_ok) {
        return;
    }
    CpjitCodeState *st = cpjit_state_fast(caller->f_code);
    if (st == NULL || cpjit_osr_may_be_main_loop(st)) {
        /* (no state: code the hook has never seen, made there) */
        cpjit_osr_unhooked_caller(tstate, caller, st);
    }
}

/* A call the candidate made has returned to it (its interpreter goes on next): past its budget,
 * the one-shot trace function is armed for its next line. */
void cpjit_osr_check(PyThreadState *tstate);

static inline __attribute__((always_inline)) void cpjit_osr_after_call(PyThreadState *tstate)
{
    _PyInterpreterFrame *current = tstate->cframe->current_frame;
    if (__builtin_expect(current == cpjit_osr_frame || current == cpjit_osr_other_frame
                             || current == cpjit_osr_parked_frame, 0)
        && current != NULL) {
        cpjit_osr_check(tstate);
    }
}

/* Statistics for cpjit.stats(). */
typedef struct {
    uint64_t armed;    /* candidates past their budget, the trace function armed for them */
    uint64_t entered;  /* candidates that went on in native code */
    uint64_t given_up; /* armings that ended without it: no line of the frame came where native
                          code has an entry, the frame returned first, or tracing began */
} CpjitOsrStats;
extern CpjitOsrStats cpjit_osr_stats;

#endif
