/* calls.c: PRECALL and CALL. */
#include "stencil.h"

/* Nothing: the interpreter's PRECALL splits a bound method into function and self, and so
 * does its CALL; nothing can run between the two, so here CALL alone does it
 * (cpjit_call), which leaves the same stack and the same references. */
STENCIL(PRECALL)
{
    CONTINUE();
}

/* Out of line (csrc/calls.c): the oparg + 2 slots are consumed, the result is pushed, the eval
 * breaker is served. A compiled Python callee the site's cache names is pushed there and jumped
 * into from here, as the interpreter's inlined call enters it: no C frame per Python call; its
 * frame exit pops it and comes back to the code after this stencil (csrc/calls.h:
 * cpjit_frame_exit). Other compiled callees run natively from cpjit_call. Only the frame is kept across the call (in
 * rbp, which preserve_none functions keep); the thread state comes back. KWNAMES_OR_NULL: the
 * names of a KW_NAMES before the CALL (CALL__KWNAMES), or NULL (CALL: the compiler picks it when
 * there is none, which saves a 10-byte constant). */
#define CALL_BODY(KWNAMES_OR_NULL)                                                             \
    {                                                                                          \
        CpjitCallResult r = cpjit_call(frame, stack_pointer, tstate, OPARG,                    \
                                       (CpjitCallCache *)JIT_CACHE, DONE, (KWNAMES_OR_NULL));  \
        tstate = r.tstate;                                                                     \
        if (r.sp & CPJIT_CALL_ENTER) {                                                         \
            /* Into the callee's native code, its return to the code after this stencil: the  \
             * jump is shared (cpjit_enter_callee), the continuation passed in the frame's     \
             * register. */                                                                    \
            __attribute__((musttail)) return cpjit_enter_callee(                               \
                (_PyInterpreterFrame *)&_JIT_CONTINUE, (PyObject **)r.sp, tstate);             \
        }                                                                                      \
        stack_pointer = (PyObject **)r.sp; /* exact unless the low bit (a hand-over) is set */ \
        if (__builtin_expect(r.sp & 1, 0)) {                                                   \
            stack_pointer = (PyObject **)(r.sp & ~(uintptr_t)1);                               \
            if (tstate->curexc_type == NULL) {                                                 \
                /* Tracing was switched on in the callee: the interpreter runs the rest. */    \
                FRAME_EXIT(cpjit_handover(frame, stack_pointer, tstate, 0,                     \
                                          CPJIT_R_TRACING_MIDFRAME));                          \
            }                                                                                  \
            /* prev_instr is where the interpreter has it: at the CALL (or its PRECALL), or at \
             * its last cache entry when the callee was a Python function (an inlined call). */ \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

STENCIL(CALL) CALL_BODY(NULL)
STENCIL(CALL__KWNAMES) CALL_BODY(KWNAMES)
