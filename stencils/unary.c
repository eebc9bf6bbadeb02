/* unary.c: UNARY_POSITIVE, UNARY_NEGATIVE, UNARY_NOT, UNARY_INVERT, IS_OP, CONTAINS_OP, GET_LEN. */
#include "stencil.h"

#define UNARY_NUMBER(NAME, FUNC)                                                               \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        SAVE_IP();                                                                             \
        PyObject *value = TOP();                                                               \
        PyObject *res = FUNC(value);                                                           \
        Py_DECREF(value);                                                                      \
        SET_TOP(res);                                                                          \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CHECK_TRACING_AFTER(); /* a __neg__, __pos__ or __invert__ */                          \
        CONTINUE();                                                                            \
    }

UNARY_NUMBER(UNARY_POSITIVE, PyNumber_Positive)
UNARY_NUMBER(UNARY_NEGATIVE, PyNumber_Negative)
UNARY_NUMBER(UNARY_INVERT, PyNumber_Invert)

STENCIL(UNARY_NOT)
{
    SAVE_IP();
    PyObject *value = TOP();
    int err = PyObject_IsTrue(value);
    Py_DECREF(value);
    if (err < 0) {
        /* The operand is gone (released above); ceval pops its slot before `goto error`. */
        STACK_SHRINK(1);
        ERROR();
    }
    PyObject *res = err ? Py_False : Py_True;
    Py_INCREF(res);
    SET_TOP(res);
    CHECK_TRACING_AFTER(); /* a __bool__ or __len__ */
    CONTINUE();
}

/* `is` / `is not` (oparg 1): one variant each, so the xor folds away. */
#define IS_BODY(INVERT)                                                                        \
    do {                                                                                       \
        PyObject *right = POP();                                                               \
        PyObject *left = TOP();                                                                \
        PyObject *b = (Py_Is(left, right) ^ (INVERT)) ? Py_True : Py_False;                    \
        Py_INCREF(b);                                                                          \
        SET_TOP(b);                                                                            \
        /* Only a deallocation may run code (__del__): it publishes prev_instr. */            \
        DECREF_SAVING_IP(left);                                                                \
        DECREF_SAVING_IP(right);                                                               \
        CONTINUE();                                                                            \
    } while (0)

STENCIL(IS_OP__0)
{
    IS_BODY(0);
}

STENCIL(IS_OP__1)
{
    IS_BODY(1);
}

STENCIL(IS_OP)
{
    IS_BODY(OPARG);
}

/* `in` / `not in` (oparg 1). On error both operands are popped and released. PySequence_Contains
 * through cpjit_contains (csrc/slowpaths.c), which calls a subclass's C __contains__ directly. */
#define CONTAINS_BODY(INVERT)                                                                  \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        PyObject *right = POP();                                                               \
        PyObject *left = POP();                                                                \
        int res = cpjit_contains(right, left);                                                 \
        Py_DECREF(left);                                                                       \
        Py_DECREF(right);                                                                      \
        if (UNLIKELY(res < 0)) {                                                               \
            ERROR();                                                                           \
        }                                                                                      \
        PyObject *b = (res ^ (INVERT)) ? Py_True : Py_False;                                   \
        Py_INCREF(b);                                                                          \
        PUSH(b);                                                                               \
        CHECK_TRACING_AFTER(); /* a __contains__, __iter__, __eq__ or __hash__ */              \
        CONTINUE();                                                                            \
    } while (0)

STENCIL(CONTAINS_OP__0)
{
    CONTAINS_BODY(0);
}

STENCIL(CONTAINS_OP__1)
{
    CONTAINS_BODY(1);
}

STENCIL(CONTAINS_OP)
{
    CONTAINS_BODY(OPARG);
}

/* len(TOS) pushed on top of it (match statements); TOS stays. */
STENCIL(GET_LEN)
{
    SAVE_IP();
    Py_ssize_t len_i = PyObject_Length(TOP());
    if (UNLIKELY(len_i < 0)) {
        ERROR();
    }
    PyObject *len_o = PyLong_FromSsize_t(len_i);
    if (UNLIKELY(len_o == NULL)) {
        ERROR();
    }
    PUSH(len_o);
    CHECK_TRACING_AFTER(); /* a __len__ */
    CONTINUE();
}
