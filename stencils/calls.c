/* calls.c: PRECALL and CALL. */
#include "stencil.h"

/* Nothing: the interpreter's PRECALL splits a bound method into function and self, and so
 * does its CALL; nothing can run between the two, so here CALL alone does it
 * (cpjit_call_start), which leaves the same stack and the same references. */
STENCIL(PRECALL)
{
    CONTINUE();
}

/* After a call: serve the eval breaker and notice tracing switched on inside the callee. */
#define AFTER_CALL()                                                                           \
    do {                                                                                       \
        if (EVAL_BREAKER_SET()) {                                                              \
            if (cpjit_handle_pending(tstate) < 0) {                                            \
                ERROR();                                                                       \
            }                                                                                  \
        }                                                                                      \
        CHECK_TRACING_AFTER();                                                                 \
    } while (0)

STENCIL(CALL)
{
    int oparg = OPARG;
    PyObject **slots = stack_pointer - oparg - 2;
    CpjitCallCache *cc = (CpjitCallCache *)JIT_CACHE;
    PyObject *res;
    if (KWNAMES == NULL) {
        /* The compiled Python function this site called last, positional arguments only: as
         * the interpreter's CALL_PY_EXACT_ARGS / CALL_PY_WITH_DEFAULTS, frame pushed, run and
         * popped. */
        res = cpjit_call_cached(frame, slots, tstate, oparg, cc, DONE);
        if (res != CPJIT_NOT_HANDLED) {
            stack_pointer = slots;
            PUSH(res);
            if (res == NULL) {
                /* prev_instr at the CALL's last cache entry, as after the interpreter's
                 * inlined call: the traceback entry points there. */
                ERROR();
            }
            SAVE_IP();
            /* No eval-breaker check: the callee's RESUME made it, as in the interpreter. */
            CHECK_TRACING_AFTER();
            CONTINUE();
        }
    }
    /* Out of line, any other call; the oparg + 2 slots are consumed. */
    res = cpjit_call_slow(tstate, frame, stack_pointer, oparg, KWNAMES, DONE, cc);
    stack_pointer = slots;
    PUSH(res);
    if (res == NULL) {
        /* prev_instr is where the interpreter has it: at the CALL, or at its last cache entry
         * when the callee was a Python function (an inlined call there). */
        ERROR();
    }
    SAVE_IP();
    AFTER_CALL();
    CONTINUE();
}
