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
    PyObject *function = PEEK(oparg + 1);
    if (!is_meth && Py_TYPE(function) == &PyMethod_Type) {
        PyObject *self = ((PyMethodObject *)function)->im_self;
        PEEK(oparg + 1) = Py_NewRef(self);
        PyObject *meth = ((PyMethodObject *)function)->im_func;
        PEEK(oparg + 2) = Py_NewRef(meth);
        SAVE_IP();
        Py_DECREF(function);
        is_meth = 1;
    }
    int total_args = oparg + is_meth;
    function = PEEK(total_args + 1);
    Py_ssize_t positional_args = total_args - (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    /* Where the interpreter would leave prev_instr: at the CALL for C callables, at its last
     * cache entry for Python functions (which it inlines). f_lasti and tracebacks agree. */
    frame->prev_instr = PyFunction_Check(function) ? DONE : INSTR;
    PyObject *res = cpjit_call(tstate, function, stack_pointer - total_args, positional_args,
                               kwnames);
    SAVE_IP();
    Py_DECREF(function);
    STACK_SHRINK(total_args);
    for (int i = 0; i < total_args; i++) {
        Py_DECREF(stack_pointer[i]);
    }
    STACK_SHRINK(2 - is_meth);
    PUSH(res);
    if (res == NULL) {
        ERROR();
    }
    AFTER_CALL();
    CONTINUE();
}
