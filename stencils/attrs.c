/* attrs.c (stencils): attribute access -- LOAD_ATTR, STORE_ATTR, DELETE_ATTR and LOAD_METHOD
 * (which pushes [meth, self] or [NULL, attr] for the PRECALL/CALL that follows).
 *
 * LOAD_ATTR, STORE_ATTR and LOAD_METHOD keep a per-instruction cache (CpjitAttrCache in the
 * instruction's JIT_CACHE, filled by csrc/names.c's generic paths) of up to four entries, one
 * per owner type, each guarded by a type version, that serves instance attributes (inline
 * values, dicts by hint, __slots__), plain methods and module attributes like 3.11's
 * LOAD_ATTR_INSTANCE_VALUE / _WITH_HINT / _SLOT / _MODULE, STORE_ATTR_INSTANCE_VALUE / _SLOT,
 * LOAD_METHOD_WITH_VALUES / _NO_DICT / _MODULE, but for polymorphic sites too. Everything else
 * goes through the generic C-API path. */
#include "stencil.h"
#include "names.h"

#define ATTR_CACHE ((CpjitAttrCache *)JIT_CACHE)

/* On failure the owner stays on the stack (owned), as in ceval.c. */
STENCIL(LOAD_ATTR)
{
    PyObject *owner = TOP();
    CpjitAttrCache *cache = ATTR_CACHE;
    PyObject *res;
    res = cpjit_attr_cached_load(cache, owner, NAME);
    if (res == NULL) {
        res = cpjit_module_attr_cached(cache, owner);
    }
    if (res != NULL) {
        Py_INCREF(res);
        SET_TOP(res);
        SAVE_IP();
        Py_DECREF(owner);
        CONTINUE();
    }
    SAVE_IP();
    res = cpjit_load_attr_fill(owner, NAME, cache);
    if (res == NULL) {
        ERROR();
    }
    Py_DECREF(owner);
    SET_TOP(res);
    CONTINUE();
}

/* Both operands are popped first; they are released whether or not the store worked. */
STENCIL(STORE_ATTR)
{
    SAVE_IP();
    PyObject *owner = TOP();
    PyObject *v = SECOND();
    STACK_SHRINK(2);
    CpjitAttrCache *cache = ATTR_CACHE;
    int way = cpjit_attr_way(cache, Py_TYPE(owner));
    if (way >= 0 && cache->kind[way] == CPJIT_ATTR_SLOT) {
        PyObject **slot = (PyObject **)((char *)owner + cache->index[way]);
        PyObject *old_value = *slot;
        *slot = v; /* the stack's reference moves into the object */
        Py_XDECREF(old_value);
        Py_DECREF(owner);
        CONTINUE();
    }
    if (way >= 0 && (cache->kind[way] == CPJIT_ATTR_VALUES
                     || cache->kind[way] == CPJIT_ATTR_DICT_HINT)) {
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values == NULL) {
            /* Attributes in a dict of the instance's own: the generic path's PyDict_SetItem. */
            PyObject *dict = *_PyObject_ManagedDictPointer(owner);
            if (dict != NULL) {
                int err = PyDict_SetItem(dict, NAME, v);
                Py_DECREF(v);
                Py_DECREF(owner);
                if (err != 0) {
                    ERROR();
                }
                CONTINUE();
            }
        }
        else if (cache->kind[way] == CPJIT_ATTR_VALUES) {
            Py_ssize_t index = cache->index[way];
            PyObject *old_value = values->values[index];
            values->values[index] = v; /* the stack's reference moves into the object */
            if (old_value == NULL) {
                _PyDictValues_AddToInsertionOrder(values, index);
            }
            else {
                Py_DECREF(old_value);
            }
            Py_DECREF(owner);
            CONTINUE();
        }
    }
    int err = cpjit_store_attr_fill(owner, NAME, v, cache);
    Py_DECREF(v);
    Py_DECREF(owner);
    if (err != 0) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(DELETE_ATTR)
{
    SAVE_IP();
    PyObject *owner = POP();
    int err = PyObject_SetAttr(owner, NAME, NULL);
    Py_DECREF(owner);
    if (err != 0) {
        ERROR();
    }
    CONTINUE();
}

/* meth | self  when an unbound method was found, else  NULL | attr. On failure the object stays
 * on the stack (owned). */
STENCIL(LOAD_METHOD)
{
    PyObject *obj = TOP();
    CpjitAttrCache *cache = ATTR_CACHE;
    PyObject *attr = cpjit_module_attr_cached(cache, obj);
    if (attr != NULL) {
        Py_INCREF(attr);
        SET_TOP(NULL);
        PUSH(attr);
        SAVE_IP();
        Py_DECREF(obj);
        CONTINUE();
    }
    PyObject *cached = cpjit_method_cached(cache, obj);
    if (cached != NULL) {
        Py_INCREF(cached);
        SET_TOP(cached);
        PUSH(obj);
        CONTINUE();
    }
    SAVE_IP();
    PyObject *meth = NULL;
    int meth_found = cpjit_load_method_fill(obj, NAME, &meth, cache);
    if (meth == NULL) {
        ERROR();
    }
    if (meth_found) {
        SET_TOP(meth);
        PUSH(obj);
    }
    else {
        SET_TOP(NULL);
        Py_DECREF(obj);
        PUSH(meth);
    }
    CONTINUE();
}
