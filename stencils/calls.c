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
    /* Out of line (csrc/calls.c): the oparg + 2 slots are consumed. A compiled Python callee
     * runs natively from there, its frame pushed and popped as the interpreter's inlined call
     * does it. */
    PyObject *res = cpjit_call(frame, slots, tstate, oparg, (CpjitCallCache *)JIT_CACHE, DONE,
                               KWNAMES);
    stack_pointer = slots;
    PUSH(res);
    if (res == NULL) {
        /* prev_instr is where the interpreter has it: at the CALL (or its PRECALL), or at its
         * last cache entry when the callee was a Python function (an inlined call there). */
        ERROR();
    }
    SAVE_IP();
    AFTER_CALL();
    CONTINUE();
}
