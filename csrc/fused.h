/* Out-of-line paths of the superinstruction second halves (stencils/fused.c). */
#ifndef CPJIT_FUSED_H
#define CPJIT_FUSED_H

#include "cpjit_rt.h"

/* LOAD_FAST run as a second half found its local unbound; prev_instr is that LOAD_FAST. Raises
 * UnboundLocalError reported at the first half (when the pair runs fused) and unwinds with the
 * handler looked up at the LOAD_FAST: continues at the handler, or returns the frame's result.
 * Native calling convention: stencils tail-call it. */
__attribute__((preserve_none)) PyObject *
cpjit_tail_unbound_local(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                         PyThreadState *tstate);

/* LOAD_FAST / LOAD_CLOSURE (run alone) found its local unbound; prev_instr holds the
 * instruction's REDO value (see cpjit_decode_redo). Publish the instruction itself as
 * prev_instr, raise UnboundLocalError for its local and unwind as the error exit does. The
 * stencils' whole cold path is a store and a jump to here. Native calling convention: stencils
 * tail-call it. */
__attribute__((preserve_none)) PyObject *
cpjit_tail_unbound_local_redo(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate);

/* STORE_FAST run as a second half frees the local's old value `op`, then goes on at `next` (a
 * tail call, as cpjit_dealloc_then in names.h); prev_instr is that STORE_FAST, moved to where
 * plain CPython has it (the finalizer may look at the frame). */
__attribute__((preserve_none)) PyObject *
cpjit_tail_dealloc_then(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                        PyThreadState *tstate, PyObject *op, cpjit_native_fn next);

#endif
