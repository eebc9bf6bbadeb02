/* calls.c: PRECALL and CALL. */
#include "stencil.h"

/* Nothing: the interpreter's PRECALL splits a bound method into function and self, and so
 * does its CALL; nothing can run between the two, so here CALL alone does it (cpjit_enter_direct
 * or cpjit_call_generic), which leaves the same stack and the same references. */
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
    PyObject *kwnames = KWNAMES;
    PyObject *res;
    PyObject **slots = stack_pointer - oparg - 2;
    PyObject *function = slots[0] != NULL ? slots[0] : slots[1];
    if (kwnames == NULL
        && (Py_TYPE(function) == &PyFunction_Type || Py_TYPE(function) == &PyMethod_Type)) {
        /* Compiled Python callee (or a bound method of one), positional arguments: its frame is
         * pushed out of line (the helper returns NULL for every other case, having split a bound
         * method as PRECALL would), and its native code is called here. */
        _PyInterpreterFrame *callee;
        cpjit_native_fn entry =
            cpjit_enter_direct(tstate, frame, stack_pointer, oparg, DONE, &callee);
        if (entry != NULL) {
            STACK_SHRINK(oparg + 2);
            res = entry(callee, callee->localsplus + callee->f_code->co_nlocalsplus, tstate);
            frame->stacktop = -1;
            cpjit_pop_frame(tstate, callee, (PyObject **)callee);
            goto done;
        }
    }
    /* Everything else, out of line: the call consumes the oparg + 2 stack slots. */
    SAVE_IP();
    res = cpjit_call_generic(tstate, frame, stack_pointer, oparg, kwnames, DONE, IS_WARM());
    STACK_SHRINK(oparg + 2);
done:
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
