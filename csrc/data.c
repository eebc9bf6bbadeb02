/* data.c: helpers for the "data" family of stencils (see data.h). Re-implementations of the
 * parts of CPython 3.11's ceval.c and dictobject.c that libpython does not export, with the same
 * behaviour and the same error messages.
 */
#define Py_BUILD_CORE 1
#include "Python.h"
#include <stdlib.h>
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_sysmodule.h"
#include "internal/pycore_global_strings.h"

#include "data.h"

int cpjit_unpack_iterable(PyThreadState *tstate, PyObject *v, int argcnt, int argcntafter,
                          PyObject **sp)
{
    int i = 0; /* values written below sp so far */
    PyObject *list = NULL;
    PyObject *it = PyObject_GetIter(v);
    if (it == NULL) {
        if (_PyErr_ExceptionMatches(tstate, PyExc_TypeError) && Py_TYPE(v)->tp_iter == NULL &&
            !PySequence_Check(v)) {
            _PyErr_Format(tstate, PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                          Py_TYPE(v)->tp_name);
        }
        return 0;
    }
    for (; i < argcnt; i++) {
        PyObject *w = PyIter_Next(it);
        if (w == NULL) {
            /* Exhausted (no error set) or failed. */
            if (!_PyErr_Occurred(tstate)) {
                if (argcntafter == -1) {
                    _PyErr_Format(tstate, PyExc_ValueError,
                                  "not enough values to unpack (expected %d, got %d)", argcnt, i);
                }
                else {
                    _PyErr_Format(tstate, PyExc_ValueError,
                                  "not enough values to unpack (expected at least %d, got %d)",
                                  argcnt + argcntafter, i);
                }
            }
            goto error;
        }
        *--sp = w;
    }
    if (argcntafter == -1) {
        /* The iterator must be exhausted now. */
        PyObject *w = PyIter_Next(it);
        if (w == NULL) {
            if (_PyErr_Occurred(tstate)) {
                goto error;
            }
            Py_DECREF(it);
            return 1;
        }
        Py_DECREF(w);
        _PyErr_Format(tstate, PyExc_ValueError, "too many values to unpack (expected %d)", argcnt);
        goto error;
    }
    list = PySequence_List(it);
    if (list == NULL) {
        goto error;
    }
    *--sp = list;
    i++;
    Py_ssize_t ll = PyList_GET_SIZE(list);
    if (ll < argcntafter) {
        _PyErr_Format(tstate, PyExc_ValueError,
                      "not enough values to unpack (expected at least %d, got %zd)",
                      argcnt + argcntafter, argcnt + ll);
        goto error;
    }
    /* The values after the starred target move from the list's tail to the stack (their
     * references move with them), and the list shrinks. */
    for (int j = argcntafter; j > 0; j--, i++) {
        *--sp = PyList_GET_ITEM(list, ll - j);
    }
    Py_SET_SIZE(list, ll - argcntafter);
    Py_DECREF(it);
    return 1;

error:
    for (; i > 0; i--, sp++) {
        Py_DECREF(*sp);
    }
    Py_XDECREF(it);
    return 0;
}

PyObject *cpjit_dict_from_pairs(PyObject *const *items, Py_ssize_t n)
{
    /* _PyDict_FromItems presizes with a str-only key table when every key is an exact str and
     * n > 5 (below that it is a plain PyDict_New). _PyStack_AsDict is the exported way to get
     * that table kind: it wants the keys as a tuple and the values as an array. */
    int all_str = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_CheckExact(items[2 * i])) {
            all_str = 0;
            break;
        }
    }
    if (all_str && n > 5) {
        PyObject *keys = PyTuple_New(n);
        if (keys == NULL) {
            return NULL;
        }
        PyObject *small[16];
        PyObject **values = small;
        if (n > 16) {
            values = malloc(n * sizeof(PyObject *));
            if (values == NULL) {
                Py_DECREF(keys);
                return PyErr_NoMemory();
            }
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyTuple_SET_ITEM(keys, i, Py_NewRef(items[2 * i]));
            values[i] = items[2 * i + 1]; /* borrowed */
        }
        PyObject *dict = _PyStack_AsDict(values, keys);
        if (values != small) {
            free(values);
        }
        Py_DECREF(keys);
        return dict;
    }
    PyObject *dict = _PyDict_NewPresized(n);
    if (dict == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyDict_SetItem(dict, items[2 * i], items[2 * i + 1]) < 0) {
            Py_DECREF(dict);
            return NULL;
        }
    }
    return dict;
}

void cpjit_list_extend_error(PyThreadState *tstate, PyObject *iterable)
{
    if (_PyErr_ExceptionMatches(tstate, PyExc_TypeError) && Py_TYPE(iterable)->tp_iter == NULL &&
        !PySequence_Check(iterable)) {
        _PyErr_Clear(tstate);
        _PyErr_Format(tstate, PyExc_TypeError, "Value after * must be an iterable, not %.200s",
                      Py_TYPE(iterable)->tp_name);
    }
}

void cpjit_dict_update_error(PyThreadState *tstate, PyObject *update)
{
    if (_PyErr_ExceptionMatches(tstate, PyExc_AttributeError)) {
        _PyErr_Format(tstate, PyExc_TypeError, "'%.200s' object is not a mapping",
                      Py_TYPE(update)->tp_name);
    }
}

void cpjit_format_kwargs_error(PyThreadState *tstate, PyObject *func, PyObject *kwargs)
{
    /* _PyDict_MergeEx raises AttributeError (from looking up 'keys') when kwargs is not a
     * mapping, and KeyError(key) for a duplicate key. */
    if (_PyErr_ExceptionMatches(tstate, PyExc_AttributeError)) {
        _PyErr_Clear(tstate);
        PyObject *funcstr = _PyObject_FunctionStr(func);
        if (funcstr != NULL) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "%U argument after ** must be a mapping, not %.200s", funcstr,
                          Py_TYPE(kwargs)->tp_name);
            Py_DECREF(funcstr);
        }
    }
    else if (_PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
        PyObject *exc, *val, *tb;
        _PyErr_Fetch(tstate, &exc, &val, &tb);
        if (val && PyTuple_Check(val) && PyTuple_GET_SIZE(val) == 1) {
            _PyErr_Clear(tstate);
            PyObject *funcstr = _PyObject_FunctionStr(func);
            if (funcstr != NULL) {
                PyObject *key = PyTuple_GET_ITEM(val, 0);
                _PyErr_Format(tstate, PyExc_TypeError,
                              "%U got multiple values for keyword argument '%S'", funcstr, key);
                Py_DECREF(funcstr);
            }
            Py_XDECREF(exc);
            Py_XDECREF(val);
            Py_XDECREF(tb);
        }
        else {
            _PyErr_Restore(tstate, exc, val, tb);
        }
    }
}

int cpjit_print_expr(PyThreadState *tstate, PyObject *value)
{
    PyObject *hook = _PySys_GetAttr(tstate, &_Py_ID(displayhook));
    if (hook == NULL) {
        _PyErr_SetString(tstate, PyExc_RuntimeError, "lost sys.displayhook");
        return -1;
    }
    PyObject *res = PyObject_CallOneArg(hook, value);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

PyObject *cpjit_build_string(PyObject *const *items, Py_ssize_t n)
{
    return _PyUnicode_JoinArray(&_Py_STR(empty), items, n);
}
