/* names.c (stencils): the frame-locals and globals name opcodes -- LOAD_NAME, STORE_NAME,
 * DELETE_NAME, STORE_GLOBAL, DELETE_GLOBAL -- plus LOAD_BUILD_CLASS, SETUP_ANNOTATIONS and
 * LOAD_ASSERTION_ERROR. The lookups themselves live in csrc/names.c. */
#include "stencil.h"
#include "names.h"

STENCIL(LOAD_NAME)
{
    SAVE_IP();
    PyObject *v = cpjit_load_name(tstate, frame, NAME);
    if (UNLIKELY(v == NULL)) {
        ERROR();
    }
    PUSH(v);
    CONTINUE();
}

/* The value is popped before the store; on failure ceval.c has already dropped it. */
STENCIL(STORE_NAME)
{
    STACK_SHRINK(1);
    if (UNLIKELY(cpjit_store_name_at(frame, stack_pointer, REDO) != 0)) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(DELETE_NAME)
{
    SAVE_IP();
    if (UNLIKELY(cpjit_delete_name(tstate, frame, NAME) != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a namespace mapping's __delitem__ */
    CONTINUE();
}

STENCIL(STORE_GLOBAL)
{
    SAVE_IP();
    PyObject *v = POP();
    int err = PyDict_SetItem(GLOBALS(), NAME, v);
    Py_DECREF(v);
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(DELETE_GLOBAL)
{
    SAVE_IP();
    if (UNLIKELY(cpjit_delete_global(tstate, frame, NAME) != 0)) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(LOAD_BUILD_CLASS)
{
    SAVE_IP();
    PyObject *bc = cpjit_load_build_class(tstate, frame);
    if (UNLIKELY(bc == NULL)) {
        ERROR();
    }
    PUSH(bc);
    CHECK_TRACING_AFTER(); /* a builtins mapping's __getitem__ */
    CONTINUE();
}

STENCIL(SETUP_ANNOTATIONS)
{
    SAVE_IP();
    if (UNLIKELY(cpjit_setup_annotations(tstate, frame) != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a namespace mapping's methods */
    CONTINUE();
}

STENCIL(LOAD_ASSERTION_ERROR)
{
    PyObject *value = PyExc_AssertionError;
    Py_INCREF(value);
    PUSH(value);
    CONTINUE();
}
