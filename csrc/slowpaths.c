/* slowpaths.c: the out-of-line halves of stencils (see slowpaths.h). */
#include "slowpaths.h"
#include "helpers.h"
#include "opcode.h"

PyObject *cpjit_binary_op_consume(int oparg, PyObject **stack_pointer)
{
    PyObject *rhs = stack_pointer[-1], *lhs = stack_pointer[-2];
    PyObject *res;
    binaryfunc slot = NULL;
    if (PyLong_CheckExact(lhs) && PyLong_CheckExact(rhs)) {
        /* Big ints: int's own slot, skipping the generic binary_op1 dispatch (int has no
         * in-place slots, so the in-place operators end up there as well). */
        switch (oparg) {
        case NB_ADD:
        case NB_INPLACE_ADD:
            slot = PyLong_Type.tp_as_number->nb_add;
            break;
        case NB_SUBTRACT:
        case NB_INPLACE_SUBTRACT:
            slot = PyLong_Type.tp_as_number->nb_subtract;
            break;
        case NB_MULTIPLY:
        case NB_INPLACE_MULTIPLY:
            slot = PyLong_Type.tp_as_number->nb_multiply;
            break;
        default:
            break;
        }
    }
    res = slot != NULL ? slot(lhs, rhs) : cpjit_binary_op(oparg, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    stack_pointer[-2] = res;
    return res;
}

PyObject *cpjit_compare_consume(int oper, PyObject **stack_pointer)
{
    PyObject *right = stack_pointer[-1], *left = stack_pointer[-2];
    PyObject *res = PyObject_RichCompare(left, right, oper);
    stack_pointer[-2] = res;
    Py_DECREF(left);
    Py_DECREF(right);
    return res;
}

PyObject **cpjit_make_function(int oparg, PyObject **stack_pointer, PyObject *globals)
{
    PyObject *codeobj = *--stack_pointer;
    PyFunctionObject *func = (PyFunctionObject *)PyFunction_New(codeobj, globals);
    Py_DECREF(codeobj);
    if (func == NULL) {
        return NULL;
    }
    if (oparg & 0x08) {
        func->func_closure = *--stack_pointer;
    }
    if (oparg & 0x04) {
        func->func_annotations = *--stack_pointer;
    }
    if (oparg & 0x02) {
        func->func_kwdefaults = *--stack_pointer;
    }
    if (oparg & 0x01) {
        func->func_defaults = *--stack_pointer;
    }
    *stack_pointer++ = (PyObject *)func;
    return stack_pointer;
}

int cpjit_reraise_prepare(PyThreadState *tstate, _PyInterpreterFrame *frame,
                          PyObject **stack_pointer, int oparg)
{
    if (oparg) {
        /* Restore the lasti of the original raise, so f_lineno and a handler's pushed lasti
         * are those of the original exception. */
        PyObject *lasti = stack_pointer[-(oparg + 1)];
        if (!PyLong_Check(lasti)) {
            _PyErr_SetString(tstate, PyExc_SystemError, "lasti is not an int");
            return -1;
        }
        frame->prev_instr = _PyCode_CODE(frame->f_code) + PyLong_AsLong(lasti);
    }
    PyObject *val = stack_pointer[-1];
    PyObject *exc = Py_NewRef(PyExceptionInstance_Class(val));
    PyObject *tb = PyException_GetTraceback(val);
    _PyErr_Restore(tstate, exc, val, tb); /* steals all three */
    return 0;
}

PyObject *cpjit_binary_subscr_consume(PyThreadState *tstate, PyObject **stack_pointer)
{
    PyObject *sub = stack_pointer[-1];
    PyObject *container = stack_pointer[-2];
    PyObject *res;
    if (PyDict_CheckExact(container)) {
        res = PyDict_GetItemWithError(container, sub);
        if (res == NULL) {
            if (!_PyErr_Occurred(tstate)) {
                _PyErr_SetKeyError(sub);
            }
            Py_DECREF(sub);
            return NULL;
        }
        Py_INCREF(res);
        stack_pointer[-2] = res;
        Py_DECREF(sub);
        Py_DECREF(container);
        return res;
    }
    res = PyObject_GetItem(container, sub);
    Py_DECREF(container);
    Py_DECREF(sub);
    stack_pointer[-2] = res;
    return res;
}

int cpjit_store_subscr_consume(PyObject **stack_pointer)
{
    PyObject *sub = stack_pointer[-1];
    PyObject *container = stack_pointer[-2];
    PyObject *v = stack_pointer[-3];
    int err;
    if (PyDict_CheckExact(container)) {
        err = PyDict_SetItem(container, sub, v);
    }
    else {
        err = PyObject_SetItem(container, sub, v);
    }
    Py_DECREF(v);
    Py_DECREF(container);
    Py_DECREF(sub);
    return err != 0 ? -1 : 0;
}
