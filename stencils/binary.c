/* binary.c: BINARY_OP (one variant per operator) and COMPARE_OP. */
#include "stencil.h"

/* Each operator gets its own stencil (BINARY_OP__<oparg>), so the call is direct. */
#define BINARY_VARIANT(ARG, FUNC)                                                              \
    STENCIL(BINARY_OP__##ARG)                                                                  \
    {                                                                                          \
        SAVE_IP();                                                                             \
        PyObject *rhs = POP();                                                                 \
        PyObject *lhs = TOP();                                                                 \
        PyObject *res = FUNC(lhs, rhs);                                                        \
        Py_DECREF(lhs);                                                                        \
        Py_DECREF(rhs);                                                                        \
        SET_TOP(res);                                                                          \
        if (res == NULL) {                                                                     \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

BINARY_VARIANT(0, PyNumber_Add)
BINARY_VARIANT(1, PyNumber_And)
BINARY_VARIANT(2, PyNumber_FloorDivide)
BINARY_VARIANT(3, PyNumber_Lshift)
BINARY_VARIANT(4, PyNumber_MatrixMultiply)
BINARY_VARIANT(5, PyNumber_Multiply)
BINARY_VARIANT(6, PyNumber_Remainder)
BINARY_VARIANT(7, PyNumber_Or)
BINARY_VARIANT(8, cpjit_power)
BINARY_VARIANT(9, PyNumber_Rshift)
BINARY_VARIANT(10, PyNumber_Subtract)
BINARY_VARIANT(11, PyNumber_TrueDivide)
BINARY_VARIANT(12, PyNumber_Xor)
BINARY_VARIANT(13, PyNumber_InPlaceAdd)
BINARY_VARIANT(14, PyNumber_InPlaceAnd)
BINARY_VARIANT(15, PyNumber_InPlaceFloorDivide)
BINARY_VARIANT(16, PyNumber_InPlaceLshift)
BINARY_VARIANT(17, PyNumber_InPlaceMatrixMultiply)
BINARY_VARIANT(18, PyNumber_InPlaceMultiply)
BINARY_VARIANT(19, PyNumber_InPlaceRemainder)
BINARY_VARIANT(20, PyNumber_InPlaceOr)
BINARY_VARIANT(21, cpjit_inplace_power)
BINARY_VARIANT(22, PyNumber_InPlaceRshift)
BINARY_VARIANT(23, PyNumber_InPlaceSubtract)
BINARY_VARIANT(24, PyNumber_InPlaceTrueDivide)
BINARY_VARIANT(25, PyNumber_InPlaceXor)

/* Any other oparg (none exist in 3.11): the helper raises SystemError. */
STENCIL(BINARY_OP)
{
    SAVE_IP();
    PyObject *rhs = POP();
    PyObject *lhs = TOP();
    PyObject *res = cpjit_binary_op(OPARG, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    SET_TOP(res);
    if (res == NULL) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(COMPARE_OP)
{
    SAVE_IP();
    PyObject *right = POP();
    PyObject *left = TOP();
    PyObject *res = PyObject_RichCompare(left, right, OPARG);
    SET_TOP(res);
    Py_DECREF(left);
    Py_DECREF(right);
    if (res == NULL) {
        ERROR();
    }
    CONTINUE();
}
