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
    CpjitCallStart out;
    /* Out of line: a compiled Python callee's frame is pushed (its native code runs here), any
     * other call is made. Either way the oparg + 2 slots are consumed. */
    cpjit_native_fn entry = cpjit_call_start(tstate, frame, stack_pointer, oparg, KWNAMES, DONE, &out);
    STACK_SHRINK(oparg + 2);
    PyObject *res = out.result;
    if (entry != NULL) {
        res = entry(out.callee, out.stack_pointer, tstate);
        frame->stacktop = -1;
        cpjit_pop_frame(tstate, out.callee, (PyObject **)out.callee);
    }
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
