/* build.c: building containers. BUILD_TUPLE, BUILD_LIST, BUILD_SET, BUILD_MAP,
 * BUILD_CONST_KEY_MAP, BUILD_STRING, LIST_TO_TUPLE, and the comprehension / display helpers
 * LIST_APPEND, SET_ADD, MAP_ADD, LIST_EXTEND, SET_UPDATE, DICT_UPDATE, DICT_MERGE.
 *
 * Error paths leave the stack exactly as ceval.c's do at `goto error`: the BUILD_* opcodes that
 * fail to allocate keep their items on the stack (the unwinder releases them); the *_APPEND /
 * *_ADD / *_EXTEND / *_UPDATE / *_MERGE opcodes have popped and released their operand.
 */
#include "stencil.h"
#include "data.h"

STENCIL(BUILD_TUPLE)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *tup = PyTuple_New(oparg);
    if (UNLIKELY(tup == NULL)) {
        ERROR();
    }
    while (--oparg >= 0) {
        PyTuple_SET_ITEM(tup, oparg, POP()); /* the tuple takes the stack's references */
    }
    PUSH(tup);
    CONTINUE();
}

STENCIL(BUILD_LIST)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *list = PyList_New(oparg);
    if (UNLIKELY(list == NULL)) {
        ERROR();
    }
    while (--oparg >= 0) {
        PyList_SET_ITEM(list, oparg, POP());
    }
    PUSH(list);
    CONTINUE();
}

STENCIL(BUILD_SET)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *set = PySet_New(NULL);
    if (UNLIKELY(set == NULL)) {
        ERROR();
    }
    /* Every item is released even after a failed add (like ceval); the items are popped. */
    int err = 0;
    for (int i = oparg; i > 0; i--) {
        PyObject *item = PEEK(i);
        if (err == 0) {
            err = PySet_Add(set, item);
        }
        Py_DECREF(item);
    }
    STACK_SHRINK(oparg);
    if (err != 0) {
        Py_DECREF(set);
        ERROR();
    }
    PUSH(set);
    CHECK_TRACING_AFTER(); /* a __hash__ or __eq__ */
    CONTINUE();
}

STENCIL(BUILD_MAP__0)
{
    SAVE_IP();
    PyObject *map = PyDict_New();
    if (UNLIKELY(map == NULL)) {
        ERROR();
    }
    PUSH(map);
    CONTINUE();
}

STENCIL(BUILD_MAP)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *map = cpjit_dict_from_pairs(&PEEK(2 * oparg), oparg);
    if (UNLIKELY(map == NULL)) {
        ERROR();
    }
    while (oparg--) {
        Py_DECREF(POP());
        Py_DECREF(POP());
    }
    PUSH(map);
    CHECK_TRACING_AFTER(); /* a __hash__ or __eq__ */
    CONTINUE();
}

/* Values on the stack, then the tuple of constant keys on top. */
STENCIL(BUILD_CONST_KEY_MAP)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *keys = TOP();
    if (!PyTuple_CheckExact(keys) || PyTuple_GET_SIZE(keys) != (Py_ssize_t)oparg) {
        _PyErr_SetString(tstate, PyExc_SystemError, "bad BUILD_CONST_KEY_MAP keys argument");
        ERROR();
    }
    /* _PyStack_AsDict is _PyDict_FromItems over (keys tuple, values array). */
    PyObject *map = _PyStack_AsDict(&PEEK(oparg + 1), keys);
    if (UNLIKELY(map == NULL)) {
        ERROR();
    }
    Py_DECREF(POP());
    while (oparg--) {
        Py_DECREF(POP());
    }
    PUSH(map);
    CONTINUE();
}

STENCIL(BUILD_STRING)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *str = cpjit_build_string(stack_pointer - oparg, oparg);
    if (UNLIKELY(str == NULL)) {
        ERROR();
    }
    while (--oparg >= 0) {
        Py_DECREF(POP());
    }
    PUSH(str);
    CONTINUE();
}

STENCIL(LIST_TO_TUPLE)
{
    SAVE_IP();
    PyObject *list = POP();
    PyObject *tuple = PyList_AsTuple(list);
    Py_DECREF(list);
    if (UNLIKELY(tuple == NULL)) {
        ERROR();
    }
    PUSH(tuple);
    CONTINUE();
}

/* _PyList_AppendTakeRef: the list takes the popped reference, also when the append fails. */
STENCIL(LIST_APPEND)
{
    PyObject *v = POP();
    PyListObject *list = (PyListObject *)PEEK(OPARG);
    Py_ssize_t len = Py_SIZE(list);
    if (__builtin_expect(list->allocated > len, 1)) {
        PyList_SET_ITEM(list, len, v);
        Py_SET_SIZE(list, len + 1);
        CONTINUE();
    }
    SAVE_IP();
    int err = PyList_Append((PyObject *)list, v);
    Py_DECREF(v);
    if (UNLIKELY(err < 0)) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(SET_ADD)
{
    SAVE_IP();
    PyObject *v = POP();
    PyObject *set = PEEK(OPARG);
    int err = PySet_Add(set, v);
    Py_DECREF(v);
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a __hash__ or __eq__ */
    CONTINUE();
}

/* map[key] = value with key, value on top; both popped and released (_PyDict_SetItem_Take2). */
STENCIL(MAP_ADD)
{
    SAVE_IP();
    PyObject *value = TOP();
    PyObject *key = SECOND();
    STACK_SHRINK(2);
    PyObject *map = PEEK(OPARG);
    int err = PyDict_SetItem(map, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a __hash__ or __eq__ */
    CONTINUE();
}

STENCIL(LIST_EXTEND)
{
    SAVE_IP();
    PyObject *iterable = POP();
    PyObject *list = PEEK(OPARG);
    PyObject *none_val = _PyList_Extend((PyListObject *)list, iterable);
    if (none_val == NULL) {
        cpjit_list_extend_error(tstate, iterable);
        Py_DECREF(iterable);
        ERROR();
    }
    Py_DECREF(none_val);
    Py_DECREF(iterable);
    CHECK_TRACING_AFTER(); /* an __iter__ or __next__ */
    CONTINUE();
}

STENCIL(SET_UPDATE)
{
    SAVE_IP();
    PyObject *iterable = POP();
    PyObject *set = PEEK(OPARG);
    int err = _PySet_Update(set, iterable);
    Py_DECREF(iterable);
    if (UNLIKELY(err < 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* an __iter__, __next__, __hash__ or __eq__ */
    CONTINUE();
}

STENCIL(DICT_UPDATE)
{
    SAVE_IP();
    PyObject *update = POP();
    PyObject *dict = PEEK(OPARG);
    if (PyDict_Update(dict, update) < 0) {
        cpjit_dict_update_error(tstate, update);
        Py_DECREF(update);
        ERROR();
    }
    Py_DECREF(update);
    CHECK_TRACING_AFTER(); /* keys() and __getitem__ of a mapping */
    CONTINUE();
}

/* f(**a, **b): merge into the kwargs dict; duplicates are an error (override=2). The callable
 * sits two slots below the dict (under its NULL/self slot). */
STENCIL(DICT_MERGE)
{
    int oparg = OPARG;
    SAVE_IP();
    PyObject *update = POP();
    PyObject *dict = PEEK(oparg);
    if (_PyDict_MergeEx(dict, update, 2) < 0) {
        cpjit_format_kwargs_error(tstate, PEEK(2 + oparg), update);
        Py_DECREF(update);
        ERROR();
    }
    Py_DECREF(update);
    CHECK_TRACING_AFTER(); /* keys() and __getitem__ of a mapping */
    CONTINUE();
}
