/* frame.c: frame entry and exit, the error exit, and instructions that only mark places. */
#include "stencil.h"

/* Function entry (oparg 0) and resumption points: the eval breaker, as in RESUME_QUICK. */
STENCIL(RESUME)
{
    WARMUP();
    if (OPARG < 2 && EVAL_BREAKER_SET()) {
        SAVE_IP();
        if (cpjit_handle_pending(tstate) < 0) {
            ERROR();
        }
        CHECK_TRACING_AFTER();
    }
    CONTINUE();
}

STENCIL(NOP)
{
    CONTINUE();
}

/* KW_NAMES only records the names for the CALL that follows; the compiler passes them to that
 * CALL's _JIT_KWNAMES hole, so nothing happens here at run time. */
STENCIL(KW_NAMES)
{
    CONTINUE();
}

STENCIL(RETURN_VALUE)
{
    PyObject *retval = POP();
    frame->prev_instr = INSTR;
    _PyFrame_SetStackPointer(frame, stack_pointer);
    cpjit_leave_frame(frame, tstate);
    return retval;
}

/* The code object's error exit: the interpreter records the traceback entry and unwinds. */
STENCIL(EXIT_ERROR)
{
    return cpjit_handover(frame, stack_pointer, tstate, 1, CPJIT_R_EXCEPTION);
}

/* An instruction this build has no stencil for: the interpreter runs it and the rest of the
 * frame. */
STENCIL(UNSUPPORTED)
{
    HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
}
