/* cells.c (stencils): cell and free variables -- MAKE_CELL, COPY_FREE_VARS, LOAD_DEREF,
 * STORE_DEREF, DELETE_DEREF and LOAD_CLASSDEREF (class bodies look in their locals first). */
#include "stencil.h"
#include "names.h"

/* The slot may already hold a value (an argument that is also a cell variable). */
STENCIL(MAKE_CELL)
{
    SAVE_IP();
    int oparg = OPARG;
    PyObject *cell = PyCell_New(GETLOCAL(oparg));
    if (UNLIKELY(cell == NULL)) {
        ERROR();
    }
    SETLOCAL(oparg, cell);
    CONTINUE();
}

/* The free-variable slots follow locals and plain cells; fill them from the function's
 * closure (3.11: frame->f_func). */
STENCIL(COPY_FREE_VARS)
{
    int oparg = OPARG;
    PyCodeObject *co = CODE;
    PyObject *closure = frame->f_func->func_closure;
    PyObject **slots = &frame->localsplus[co->co_nlocals + co->co_nplaincellvars];
    for (int i = 0; i < oparg; i++) {
        PyObject *o = PyTuple_GET_ITEM(closure, i);
        Py_INCREF(o);
        slots[i] = o;
    }
    CONTINUE();
}

STENCIL(LOAD_DEREF)
{
    PyObject *value = PyCell_GET(GETLOCAL(OPARG));
    if (value == NULL) {
        SAVE_IP();
        cpjit_format_exc_unbound(tstate, frame->f_code, OPARG);
        ERROR();
    }
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}

STENCIL(STORE_DEREF)
{
    SAVE_IP();
    PyObject *v = POP();
    PyObject *cell = GETLOCAL(OPARG);
    PyObject *oldobj = PyCell_GET(cell);
    PyCell_SET(cell, v);
    Py_XDECREF(oldobj);
    CONTINUE();
}

STENCIL(DELETE_DEREF)
{
    SAVE_IP();
    PyObject *cell = GETLOCAL(OPARG);
    PyObject *oldobj = PyCell_GET(cell);
    if (oldobj != NULL) {
        PyCell_SET(cell, NULL);
        Py_DECREF(oldobj);
        CONTINUE();
    }
    cpjit_format_exc_unbound(tstate, frame->f_code, OPARG);
    ERROR();
}

STENCIL(LOAD_CLASSDEREF)
{
    SAVE_IP();
    PyObject *value = cpjit_load_classderef(tstate, frame, OPARG);
    if (UNLIKELY(value == NULL)) {
        ERROR();
    }
    PUSH(value);
    CHECK_TRACING_AFTER(); /* a class namespace's __getitem__ */
    CONTINUE();
}
