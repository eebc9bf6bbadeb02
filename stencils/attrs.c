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

/* The out-of-line path (csrc/names.c): everything the in-line path below does not serve. */
#define ATTR_SLOW(FN, CACHE)                                                                   \
    do {                                                                                       \
        if (UNLIKELY(FN(frame, stack_pointer, (CACHE), REDO) != 0)) {                  \
            ERROR();                                                                           \
        }                                                                                      \
    } while (0)

/* In line: an attribute in the instance's inline values or a __slots__ member, or (a leaf
 * call) in its dict at the cached hint, for any of the cache's ways, when the owner does not
 * die here (a deallocation can run any code: that takes
 * the out-of-line path, which publishes prev_instr first). On failure the owner stays on the
 * stack (owned), as in ceval.c. */
STENCIL(LOAD_ATTR)
{
    PyObject *owner = TOP();
    CpjitAttrCache *cache = ATTR_CACHE;
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (UNLIKELY(way < 0) || UNLIKELY(owner->ob_refcnt <= 1)) {
        goto slow;
    }
    uint8_t kind = cache->kind[way];
    Py_ssize_t index = cache->index[way];
    PyObject *res;
    PyDictValues *values;
    if (LIKELY(kind - 1u < 2u && (values = *_PyObject_ValuesPointer(owner)) != NULL)) {
        res = values->values[index]; /* VALUES or HINT, inline */
    }
    else if (kind == CPJIT_ATTR_SLOT) {
        res = *(PyObject **)((char *)owner + index);
    }
    else if (UNLIKELY(kind - 1u < 3u)) {
        res = cpjit_attr_hint_load(owner, cache, way); /* the same, from a dict */
    }
    else {
        goto slow;
    }
    if (LIKELY(res != NULL)) {
        Py_INCREF(res);
        owner->ob_refcnt--;
        SET_TOP(res);
        CONTINUE();
    }
slow:
    ATTR_SLOW(cpjit_load_attr_slow, cache);
    CONTINUE();
}

/* In line: a store to inline values or a __slots__ member that frees nothing. Both operands are
 * consumed, whether or not the store worked. */
STENCIL(STORE_ATTR)
{
    PyObject *owner = TOP();
    PyObject *v = SECOND();
    CpjitAttrCache *cache = ATTR_CACHE;
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (UNLIKELY(way < 0) || UNLIKELY(owner->ob_refcnt <= 1)) {
        goto slow;
    }
    uint8_t kind = cache->kind[way];
    Py_ssize_t index = cache->index[way];
    PyObject **slot;
    PyDictValues *values = NULL;
    if (LIKELY(kind == CPJIT_ATTR_VALUES)) {
        values = *_PyObject_ValuesPointer(owner);
        if (UNLIKELY(values == NULL)) {
            goto slow;
        }
        slot = &values->values[index];
    }
    else if (kind == CPJIT_ATTR_SLOT) {
        slot = (PyObject **)((char *)owner + index);
    }
    else {
        goto slow;
    }
    PyObject *old = *slot;
    if (old != NULL) {
        if (UNLIKELY(old->ob_refcnt <= 1)) {
            goto slow;
        }
        *slot = v; /* the stack's reference moves into the object */
        old->ob_refcnt--;
    }
    else {
        *slot = v;
        if (values != NULL) {
            cpjit_values_add_to_order(values, index);
        }
    }
    owner->ob_refcnt--;
    STACK_SHRINK(2);
    CONTINUE();
slow:
    STACK_SHRINK(2);
    ATTR_SLOW(cpjit_store_attr_slow, cache);
    CONTINUE();
}

STENCIL(DELETE_ATTR)
{
    SAVE_IP();
    PyObject *owner = POP();
    int err = PyObject_SetAttr(owner, NAME, NULL);
    Py_DECREF(owner);
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CONTINUE();
}

/* meth | self  when an unbound method was found, else  NULL | attr. In line: a plain method
 * (instances without a dict, or whose attributes are inline and lack the name) and a module
 * attribute. On failure the object stays on the stack (owned). */
STENCIL(LOAD_METHOD)
{
    PyObject *obj = TOP();
    CpjitAttrCache *cache = ATTR_CACHE;
    PyTypeObject *tp = Py_TYPE(obj);
    int way = cpjit_attr_way_hot(cache, tp);
    /* Not marked: a module's function (math.sqrt) is as common as an instance's method. */
    if (way >= 0) {
        uint8_t kind = cache->kind[way];
        if (kind == CPJIT_METHOD_NO_DICT
            || (kind == CPJIT_METHOD_VALUES
                && ((PyHeapTypeObject *)tp)->ht_cached_keys->dk_nentries == cache->index[way]
                && *_PyObject_ValuesPointer(obj) != NULL)) {
            PyObject *meth = cache->descr[way];
            Py_INCREF(meth);
            SET_TOP(meth);
            PUSH(obj);
            CONTINUE();
        }
    }
    else if (cache->kind[0] == CPJIT_ATTR_MODULE && obj == cache->mod.module
             && obj->ob_refcnt > 1 && tp == &PyModule_Type
             && ((PyDictObject *)((PyModuleObject *)obj)->md_dict)->ma_version_tag
                    == cache->mod.dict_version) {
        PyObject *attr = cache->mod.value;
        Py_INCREF(attr);
        obj->ob_refcnt--;
        SET_TOP(NULL);
        PUSH(attr);
        CONTINUE();
    }
    ATTR_SLOW(cpjit_load_method_slow, cache);
    STACK_GROW(1);
    CONTINUE();
}
