/* osr.h: a library loop function's long interpreted call goes on in native code
 * (csrc/osr.c). */
#ifndef CPJIT_OSR_H
#define CPJIT_OSR_H

#include "cpjit_rt.h"

/* The innermost loop-function call the hook is interpreting on the main thread (the candidate),
 * or NULL. Read on every return to the interpreter from a call the hook or a function's
 * vectorcall made (cpjit_osr_after_call), so kept apart. */
extern _PyInterpreterFrame *cpjit_osr_frame;

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
} CpjitOsrCandidate;

/* The hook is about to interpret `frame`, a new frame of a loop function that still counts
 * (runtime.c, eval_frame's loop case), started at `now`: it becomes the candidate when it may
 * (the main thread, no tracing, a function with a return). `saved` keeps the previous one;
 * returns whether the frame became the candidate. */
int cpjit_osr_begin(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                    uint64_t now, CpjitOsrCandidate *saved);

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

/* A call the candidate made has returned to it (its interpreter goes on next): past its budget,
 * the one-shot trace function is armed for its next line. */
void cpjit_osr_check(PyThreadState *tstate);

static inline __attribute__((always_inline)) void cpjit_osr_after_call(PyThreadState *tstate)
{
    if (__builtin_expect(cpjit_osr_frame != NULL, 0)
        && tstate->cframe->current_frame == cpjit_osr_frame) {
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
