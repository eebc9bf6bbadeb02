/* format.c: FORMAT_VALUE (f-string fields) and PRINT_EXPR (expression statements in 'single'
 * mode, i.e. the interactive interpreter: sys.displayhook). */
#include "stencil.h"
#include "data.h"

/* oparg & FVC_MASK: conversion (none, !s, !r, !a); oparg & FVS_MASK: a format spec is on top of
 * the value. One stencil per oparg 0..7, so the conversion is a direct call. On error both the
 * value and the spec have been popped and released. */
#define FORMAT_VALUE_BODY(ARG)                                                                 \
    do {                                                                                       \
        int which_ = (ARG) & FVC_MASK;                                                         \
        int have_spec_ = ((ARG) & FVS_MASK) == FVS_HAVE_SPEC;                                  \
        SAVE_IP();                                                                             \
        PyObject *fmt_spec = have_spec_ ? POP() : NULL;                                        \
        PyObject *value = POP();                                                               \
        PyObject *result;                                                                      \
        if (which_ != FVC_NONE) {                                                              \
            if (which_ == FVC_STR) {                                                           \
                result = PyObject_Str(value);                                                  \
            }                                                                                  \
            else if (which_ == FVC_REPR) {                                                     \
                result = PyObject_Repr(value);                                                 \
            }                                                                                  \
            else {                                                                             \
                result = PyObject_ASCII(value);                                                \
            }                                                                                  \
            Py_DECREF(value);                                                                  \
            if (result == NULL) {                                                              \
                Py_XDECREF(fmt_spec);                                                          \
                ERROR();                                                                       \
            }                                                                                  \
            value = result;                                                                    \
        }                                                                                      \
        if (PyUnicode_CheckExact(value) && fmt_spec == NULL) {                                 \
            result = value; /* format(str) is the str itself */                                \
            PUSH(result);                                                                      \
            if (which_ != FVC_NONE) {                                                          \
                CHECK_TRACING_AFTER(); /* a __str__ or __repr__ */                             \
            }                                                                                  \
            CONTINUE();                                                                        \
        }                                                                                      \
        result = PyObject_Format(value, fmt_spec);                                             \
        Py_DECREF(value);                                                                      \
        Py_XDECREF(fmt_spec);                                                                  \
        if (UNLIKELY(result == NULL)) {                                                        \
            ERROR();                                                                           \
        }                                                                                      \
        PUSH(result);                                                                          \
        CHECK_TRACING_AFTER(); /* a __format__, __str__ or __repr__ */                         \
        CONTINUE();                                                                            \
    } while (0)

#define FORMAT_VALUE_VARIANT(ARG)                                                              \
    STENCIL_FN(cpjit_op_FORMAT_VALUE__##ARG)                                                   \
    {                                                                                          \
        FORMAT_VALUE_BODY(ARG);                                                                \
    }

FORMAT_VALUE_VARIANT(0)
FORMAT_VALUE_VARIANT(1)
FORMAT_VALUE_VARIANT(2)
FORMAT_VALUE_VARIANT(3)
FORMAT_VALUE_VARIANT(4)
FORMAT_VALUE_VARIANT(5)
FORMAT_VALUE_VARIANT(6)
FORMAT_VALUE_VARIANT(7)

/* Higher oparg bits are ignored, as in ceval (every conversion value 0..3 is valid). */
STENCIL(FORMAT_VALUE)
{
    FORMAT_VALUE_BODY(OPARG);
}

STENCIL(PRINT_EXPR)
{
    SAVE_IP();
    PyObject *value = POP();
    int err = cpjit_print_expr(tstate, value);
    Py_DECREF(value);
    if (UNLIKELY(err < 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER();
    CONTINUE();
}
