/* match.c: structural pattern matching. MATCH_MAPPING, MATCH_SEQUENCE, MATCH_KEYS and
 * MATCH_CLASS (the last two through ceval's match_keys/match_class, re-implemented in
 * csrc/exc.c). */
#include "stencil.h"
#include "exc.h"

STENCIL(MATCH_MAPPING)
{
    PyObject *subject = TOP();
    int match = Py_TYPE(subject)->tp_flags & Py_TPFLAGS_MAPPING;
    PUSH(Py_NewRef(match ? Py_True : Py_False));
    CONTINUE();
}

STENCIL(MATCH_SEQUENCE)
{
    PyObject *subject = TOP();
    int match = Py_TYPE(subject)->tp_flags & Py_TPFLAGS_SEQUENCE;
    PUSH(Py_NewRef(match ? Py_True : Py_False));
    CONTINUE();
}

/* [subject, keys] -> [subject, keys, values tuple or None] */
STENCIL(MATCH_KEYS)
{
    SAVE_IP();
    PyObject *values_or_none = cpjit_match_keys(tstate, SECOND(), TOP());
    if (UNLIKELY(values_or_none == NULL)) {
        ERROR();
    }
    PUSH(values_or_none);
    CHECK_TRACING_AFTER();
    CONTINUE();
}

/* [subject, type, names] -> [attributes tuple or None] */
STENCIL(MATCH_CLASS)
{
    SAVE_IP();
    PyObject *names = POP();
    PyObject *type = POP();
    PyObject *subject = TOP();
    PyObject *attrs = cpjit_match_class(tstate, subject, type, OPARG, names);
    Py_DECREF(names);
    Py_DECREF(type);
    if (attrs != NULL) {
        SET_TOP(attrs);
    }
    else if (UNLIKELY(_PyErr_Occurred(tstate))) {
        ERROR(); /* the subject stays on the stack for the unwinder */
    }
    else {
        SET_TOP(Py_NewRef(Py_None));
    }
    Py_DECREF(subject);
    CHECK_TRACING_AFTER();
    CONTINUE();
}
