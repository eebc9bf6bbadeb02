/* frame.c: frame entry and exit, the error exit, and instructions that only mark places. */
#include "stencil.h"
#include "exc.h"

/* Function entry (oparg 0) and resumption points: the eval breaker, as in RESUME_QUICK.
 *
 * The interpreter quickens a code object at the RESUME or backward jump that ends its warm-up
 * countdown, and specialises each instruction the first time it runs after that; dis(adaptive=
 * True) and later interpreted frames see the result. When that point is a RESUME run natively,
 * the rest of this call (or of this generator step) is the interpreter's: it quickens and
 * specialises the code exactly as it would have, once per code object, after which native
 * calls resume. (When a native loop ends the countdown, the loop stays native and the code
 * stays unquickened.) */
STENCIL(RESUME)
{
    CpjitCodeState *st = STATE;
    if (st->warmup < 0 && ++st->warmup == 0) {
        PyCodeObject *code = CODE;
        if (code->co_warmup != 0) {
            code->co_warmup = -1; /* the interpreter's RESUME takes it to 0 and quickens */
            HANDOVER_BEFORE(CPJIT_R_QUICKENING);
        }
    }
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

/* The code object's error exit: record the traceback entry and unwind to the handler, natively
 * when there is one (and no tracer needs to see it), else leave the frame with the exception. */
STENCIL(EXIT_ERROR)
{
    PyObject *result;
    cpjit_native_fn handler =
        cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_EXCEPTION, &result);
    if (handler == NULL) {
        return result;
    }
    stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1; /* running again: keep the GC off the stack */
    __attribute__((musttail)) return handler(frame, stack_pointer, tstate);
}

/* An instruction this build has no stencil for: the interpreter runs it and the rest of the
 * frame. */
STENCIL(UNSUPPORTED)
{
    HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
}
