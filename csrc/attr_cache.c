/* attr_cache.c: filling the attribute caches of attr_cache.h after a generic lookup. */
#include "attr_cache.h"

/* Index of `name` in shared keys, or -1. Names in code objects are interned, so identity is
 * the test the interpreter's own specialiser uses too. */
static Py_ssize_t shared_index(PyDictKeysObject *keys, PyObject *name)
{
    if (keys == NULL || !DK_IS_UNICODE(keys)) {
        return -1;
    }
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++) {
        if (entries[i].me_key == name) {
            return i;
        }
    }
    return -1;
}

/* The type's version tag, if valid, else 0. _PyType_Lookup assigns one when it can. */
static uint32_t type_version(PyTypeObject *tp)
{
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG)) {
        return 0;
    }
    return tp->tp_version_tag;
}

void cpjit_attr_cache_fill_load(CpjitAttrCache *c, PyObject *owner, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(owner);
    c->kind = CPJIT_ATTR_EMPTY;
    if (!PyUnicode_CheckExact(name)) {
        return;
    }
    if (PyModule_CheckExact(owner)) {
        PyObject *dict = ((PyModuleObject *)owner)->md_dict;
        if (dict == NULL || !PyDict_CheckExact(dict) || tp->tp_getattro != PyModule_Type.tp_getattro) {
            return;
        }
        PyObject *value = PyDict_GetItemWithError(dict, name);
        if (value == NULL) {
            PyErr_Clear();
            return;
        }
        c->owner = owner;
        c->dict_version = ((PyDictObject *)dict)->ma_version_tag;
        c->value = value;
        c->kind = CPJIT_ATTR_MODULE;
        return;
    }
    if (tp->tp_getattro != PyObject_GenericGetAttr || !(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return;
    }
    if (_PyType_Lookup(tp, name) != NULL) {
        return; /* a descriptor or class attribute may take part: stay generic */
    }
    uint32_t version = type_version(tp);
    if (version == 0 || *_PyObject_ValuesPointer(owner) == NULL) {
        return;
    }
    Py_ssize_t index = shared_index(((PyHeapTypeObject *)tp)->ht_cached_keys, name);
    if (index < 0) {
        return;
    }
    c->type_version = version;
    c->index = index;
    c->kind = CPJIT_ATTR_INSTANCE_VALUE;
}

void cpjit_attr_cache_fill_method(CpjitAttrCache *c, PyObject *owner, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(owner);
    c->kind = CPJIT_ATTR_EMPTY;
    if (!PyUnicode_CheckExact(name) || tp->tp_getattro != PyObject_GenericGetAttr) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL || Py_TYPE(descr) != &PyFunction_Type) {
        return;
    }
    uint32_t version = type_version(tp);
    if (version == 0) {
        return;
    }
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        if (*_PyObject_ValuesPointer(owner) == NULL || keys == NULL
            || shared_index(keys, name) >= 0) {
            return;
        }
        c->nentries = keys->dk_nentries;
        c->kind = CPJIT_ATTR_METHOD_VALUES;
    }
    else if (tp->tp_dictoffset == 0) {
        c->kind = CPJIT_ATTR_METHOD_NO_DICT;
    }
    else {
        return;
    }
    c->type_version = version;
    c->value = descr;
}

void cpjit_attr_cache_fill_store(CpjitAttrCache *c, PyObject *owner, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(owner);
    c->kind = CPJIT_ATTR_EMPTY;
    if (!PyUnicode_CheckExact(name) || tp->tp_setattro != PyObject_GenericSetAttr
        || !(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return;
    }
    if (_PyType_Lookup(tp, name) != NULL) {
        return;
    }
    uint32_t version = type_version(tp);
    if (version == 0 || *_PyObject_ValuesPointer(owner) == NULL) {
        return;
    }
    Py_ssize_t index = shared_index(((PyHeapTypeObject *)tp)->ht_cached_keys, name);
    if (index < 0) {
        return;
    }
    c->type_version = version;
    c->index = index;
    c->kind = CPJIT_ATTR_INSTANCE_VALUE;
}
