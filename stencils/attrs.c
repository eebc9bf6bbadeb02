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

/* In line: the first tier only, an attribute in the instance's inline values (for any of the
 * cache's ways) when the owner does not die here (a deallocation can run any code: that takes
 * the out-of-line path, which publishes prev_instr first). Everything else, the second-tier
 * kinds (a __slots__ member, a dict at the cached hint, a module or class attribute) included,
 * is served by cpjit_load_attr_slow, shared by all sites, so each site's cold part is one call.
 * On failure the owner stays on the stack (owned), as in ceval.c. */
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
    PyDictValues *values;
    if (LIKELY(kind - 1u < 2u && (values = *_PyObject_ValuesPointer(owner)) != NULL)) {
        PyObject *res = values->values[index]; /* VALUES or HINT, inline */
        if (LIKELY(res != NULL)) {
            Py_INCREF(res);
            owner->ob_refcnt--;
            SET_TOP(res);
            CONTINUE();
        }
    }
slow:
    ATTR_SLOW(cpjit_load_attr_slow, cache);
    CONTINUE();
}

/* In line: the first tier only, a store to inline values that frees nothing. Everything else
 * (a __slots__ member, a dict, a deallocation, the generic path) is cpjit_store_attr_slow's.
 * Both operands are consumed, whether or not the store worked. */
STENCIL(STORE_ATTR)
{
    PyObject *owner = TOP();
    PyObject *v = SECOND();
    CpjitAttrCache *cache = ATTR_CACHE;
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (UNLIKELY(way < 0) || UNLIKELY(owner->ob_refcnt <= 1)) {
        goto slow;
    }
    PyDictValues *values;
    if (LIKELY(cache->kind[way] == CPJIT_ATTR_VALUES
               && (values = *_PyObject_ValuesPointer(owner)) != NULL)) {
        Py_ssize_t index = cache->index[way];
        PyObject *old = values->values[index];
        if (old != NULL) {
            if (UNLIKELY(old->ob_refcnt <= 1)) {
                goto slow;
            }
            values->values[index] = v; /* the stack's reference moves into the object */
            old->ob_refcnt--;
        }
        else {
            values->values[index] = v;
            cpjit_values_add_to_order(values, index);
        }
        owner->ob_refcnt--;
        STACK_SHRINK(2);
        CONTINUE();
    }
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

/* meth | self  when an unbound method was found, else  NULL | attr. In line: the first tier
 * only, a plain method (instances without a dict, or whose attributes are inline and lack the
 * name). Everything else, module attributes (math.sqrt) and class attributes included, is served
 * by cpjit_load_method_slow, shared by all sites, which tests those cached kinds before anything
 * else. On failure the object stays on the stack (owned). */
STENCIL(LOAD_METHOD)
{
    PyObject *obj = TOP();
    CpjitAttrCache *cache = ATTR_CACHE;
    PyTypeObject *tp = Py_TYPE(obj);
    int way = cpjit_attr_way_hot(cache, tp);
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
    ATTR_SLOW(cpjit_load_method_slow, cache);
    STACK_GROW(1);
    CONTINUE();
}
