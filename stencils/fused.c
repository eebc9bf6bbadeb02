/* The second halves of 3.11's superinstructions, where they differ from the instruction alone.
 *
 * Once the interpreter has quickened a code object it runs some adjacent pairs as one
 * instruction (LOAD_FAST__LOAD_FAST, STORE_FAST__LOAD_FAST, LOAD_CONST__LOAD_FAST,
 * STORE_FAST__STORE_FAST, LOAD_FAST__LOAD_CONST) and never moves prev_instr to the second one.
 * What the second half raises is reported at the first: its traceback line and tb_lasti, while
 * the exception table is still searched at the second. A finalizer run by the second half's
 * STORE_FAST sees the first's f_lasti and line. The compiler picks these stencils for
 * instructions that plain CPython runs as a second half when control falls through
 * (src/superinstructions.rs); the pairs exist only once the code is warm and never under tracing
 * or profiling, which run every instruction alone (csrc/fused.c decides). */
#include "stencil.h"
#include "fused.h"

STENCIL(LOAD_FAST_TAIL)
{
    PyObject *value = GETLOCAL(OPARG);
    if (UNLIKELY(value == NULL)) { /* the cold part (build.rs splits it out) */
        SAVE_IP();
        __attribute__((musttail)) return cpjit_tail_unbound_local(frame, stack_pointer, tstate);
    }
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

STENCIL(STORE_FAST_TAIL)
{
    PyObject *value = POP();
    PyObject *old = GETLOCAL(OPARG);
    GETLOCAL(OPARG) = value;
    if (old != NULL && UNLIKELY(--old->ob_refcnt == 0)) {
        SAVE_IP();
        return cpjit_tail_dealloc_then(frame, stack_pointer, tstate, old,
                                       (cpjit_native_fn)&_JIT_CONTINUE);
    }
    CONTINUE_JOINED();
}
