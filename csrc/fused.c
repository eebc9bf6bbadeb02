/* The out-of-line paths of stencils/fused.c: what the second half of a 3.11 superinstruction
 * raises or frees is seen at the first half (see that file). Kept here so the stencils stay as
 * small as the instructions alone. */
#include "fused.h"
#include "calls.h"

#include "exc.h"
#include "helpers.h"
#include "names.h"

/* prev_instr as plain CPython has it while it runs `instr` as the second half of a pair: the
 * pairs exist once the code is warm (cpjit's emulation of the interpreter's warm-up, see
 * cpjit_rt.h), and never under tracing or profiling. */
static _Py_CODEUNIT *fused_ip(_PyInterpreterFrame *frame, PyThreadState *tstate,
                              _Py_CODEUNIT *instr)
{
    if (cpjit_code_is_warm(frame->f_code) && tstate->cframe->use_tracing == 0
        && tstate->c_tracefunc == NULL) {
        return instr - 1;
    }
    return instr;
}

__attribute__((preserve_none)) PyObject *
cpjit_tail_unbound_local(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                         PyThreadState *tstate)
{
    _Py_CODEUNIT *instr = frame->prev_instr;
    frame->prev_instr = fused_ip(frame, tstate, instr);
    /* A second half has no EXTENDED_ARG (it would break the pair): its oparg is its own. */
    cpjit_unbound_local_error(tstate, frame, _Py_OPARG(*instr));
    PyObject *result;
    cpjit_native_fn handler = cpjit_unwind_error_at(frame, stack_pointer, tstate,
                                                    CPJIT_R_EXCEPTION, instr, &result);
    if (handler == NULL) {
        __attribute__((musttail)) return cpjit_frame_exit(frame, (PyObject **)result, tstate);
    }
    stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1;
    __attribute__((musttail)) return handler(frame, stack_pointer, tstate);
}

__attribute__((preserve_none)) PyObject *
cpjit_tail_unbound_local_redo(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate)
{
    int oparg;
    frame->prev_instr = cpjit_decode_redo(frame->prev_instr, &oparg);
    cpjit_unbound_local_error(tstate, frame, oparg);
    PyObject *result;
    cpjit_native_fn handler =
        cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_EXCEPTION, &result);
    if (handler == NULL) {
        __attribute__((musttail)) return cpjit_frame_exit(frame, (PyObject **)result, tstate);
    }
    stack_pointer = _PyFrame_GetStackPointer(frame);
    frame->stacktop = -1;
    __attribute__((musttail)) return handler(frame, stack_pointer, tstate);
}

__attribute__((preserve_none)) PyObject *
cpjit_tail_dealloc_then(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                        PyThreadState *tstate, PyObject *op, cpjit_native_fn next)
{
    frame->prev_instr = fused_ip(frame, tstate, frame->prev_instr);
    return cpjit_dealloc_then(frame, stack_pointer, tstate, op, next); /* a sibling call */
}
