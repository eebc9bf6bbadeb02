/* frame.c: frame entry and exit, the error exit, and instructions that only mark places. */
#include "stencil.h"
#include "exc.h"

/* Function entry (oparg 0) and resumption points: the eval breaker, as in RESUME_QUICK. While
 * the code counts its warm-up down (COUNTING), the RESUME that ends the count hands the rest of
 * this call (or generator step) to the interpreter, which quickens the code (see WARMUP). In
 * line: two tests; the work out of line (cpjit_loop_slow). RESUME 0 (function entry) and 1
 * (after a yield) serve the breaker; 2 and 3 (after yield from / await) do not. */
#define RESUME_BODY(KIND, BREAKER, COUNTING)                                                   \
    {                                                                                          \
        if (((COUNTING) && UNLIKELY(STATE->warmup < 0)) || ((BREAKER) && EVAL_BREAKER_SET())) { \
            LOOP_SLOW(STATE, (KIND));                                                          \
        }                                                                                      \
        CONTINUE();                                                                            \
    }
STENCIL(RESUME__0) RESUME_BODY(CPJIT_LOOP_RESUME, 1, 1)
STENCIL(RESUME__1) RESUME_BODY(CPJIT_LOOP_RESUME, 1, 1)
STENCIL(RESUME) RESUME_BODY(CPJIT_LOOP_RESUME_NO_BREAKER, 0, 1)

/* Code compiled after the interpreter quickened it (its RESUMEs became RESUME_QUICK,
 * src/compiler.rs: hinted): the count is over for good, and the compile brought cpjit's copy of
 * it to 0 (src/runtime.rs), so only the eval breaker is tested; RESUME 2 and 3 have nothing left
 * to do. */
STENCIL(RESUME_QUICK__0) RESUME_BODY(CPJIT_LOOP_RESUME, 1, 0)
STENCIL(RESUME_QUICK__1) RESUME_BODY(CPJIT_LOOP_RESUME, 1, 0)
STENCIL(RESUME_QUICK) RESUME_BODY(CPJIT_LOOP_RESUME_NO_BREAKER, 0, 0)

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

/* Only the instruction's own address in line: the rest (pop the result, unlink, leave) is one
 * shared helper (csrc/calls.h: cpjit_return_value), 20 bytes per site instead of 66. */
STENCIL(RETURN_VALUE)
{
    frame->prev_instr = INSTR;
    __attribute__((musttail)) return cpjit_return_value(frame, stack_pointer, tstate);
}

/* The code object's error exit: record the traceback entry and unwind to the handler, natively
 * when there is one (and no tracer needs to see it), else leave the frame with the exception. */
STENCIL(EXIT_ERROR)
{
    PyObject *result;
    cpjit_native_fn handler =
        cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_EXCEPTION, &result);
    CONTINUE_AT_HANDLER(handler, result);
}

/* An instruction this build has no stencil for: the interpreter runs it and the rest of the
 * frame. */
STENCIL(UNSUPPORTED)
{
    HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
}
