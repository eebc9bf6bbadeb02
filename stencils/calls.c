/* calls.c: PRECALL and CALL. */
#include "stencil.h"

/* Bound methods are split into function and self so the CALL can use vectorcall's offset. */
STENCIL(PRECALL)
{
    int oparg = OPARG;
    int is_meth = PEEK(oparg + 2) != NULL;
    PyObject *callable = PEEK(oparg + 1);
    if (!is_meth && Py_TYPE(callable) == &PyMethod_Type) {
        PyObject *self = ((PyMethodObject *)callable)->im_self;
        PEEK(oparg + 1) = Py_NewRef(self);
        PyObject *meth = ((PyMethodObject *)callable)->im_func;
        PEEK(oparg + 2) = Py_NewRef(meth);
        SAVE_IP();
        Py_DECREF(callable);
    }
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
    int is_meth = PEEK(oparg + 2) != NULL;
    int total_args = oparg + is_meth;
    PyObject *function = PEEK(total_args + 1);
    PyObject *res;
    if (kwnames == NULL && Py_TYPE(function) == &PyFunction_Type) {
        /* CALL_PY_EXACT_ARGS / CALL_PY_WITH_DEFAULTS, natively: push the callee's frame, move
         * the arguments and the function reference into it, and call its native code here. */
        PyFunctionObject *func = (PyFunctionObject *)function;
        PyCodeObject *code = (PyCodeObject *)func->func_code;
        int argcount = code->co_argcount;
        PyObject *defaults = func->func_defaults;
        int ndefaults = defaults != NULL ? (int)PyTuple_GET_SIZE(defaults) : 0;
        CpjitCodeState *st;
        _PyInterpreterFrame *callee;
        PyObject **top;
        if (total_args <= argcount && total_args >= argcount - ndefaults
            && code->co_kwonlyargcount == 0 && (st = cpjit_direct_callee(tstate, code)) != NULL
            && (callee = cpjit_frame_room(tstate, code, &top)) != NULL) {
            PyObject **base = tstate->datastack_top;
            tstate->datastack_top = top;
            _PyFrame_InitializeSpecials(callee, func, NULL, code->co_nlocalsplus);
            STACK_SHRINK(total_args);
            for (int i = 0; i < total_args; i++) {
                callee->localsplus[i] = stack_pointer[i];
            }
            /* Missing trailing parameters from the defaults (CALL_PY_WITH_DEFAULTS). */
            for (int i = total_args; i < argcount; i++) {
                callee->localsplus[i] = Py_NewRef(PyTuple_GET_ITEM(defaults, i - (argcount - ndefaults)));
            }
            for (int i = argcount; i < code->co_nlocalsplus; i++) {
                callee->localsplus[i] = NULL;
            }
            STACK_SHRINK(2 - is_meth);
            frame->prev_instr = DONE;
            _PyFrame_SetStackPointer(frame, stack_pointer);
            callee->previous = frame;
            tstate->cframe->current_frame = callee;
            tstate->recursion_remaining--;
            cpjit_stats.frames_native++;
            callee->stacktop = -1;
            cpjit_native_fn entry = (cpjit_native_fn)(st->base + st->entries[0]);
            res = entry(callee, callee->localsplus + code->co_nlocalsplus, tstate);
            frame->stacktop = -1;
            cpjit_pop_frame(tstate, callee, base);
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
