/* hits.c: the cache hits of LOAD_GLOBAL, LOAD_ATTR, LOAD_METHOD and STORE_ATTR, shared by every
 * site (stencils/globals.c, stencils/attrs.c).
 *
 * Each is what the interpreter's specialised forms do on a hit, for cpjit's per-site caches
 * (csrc/names.h: CpjitGlobalCache, CpjitAttrCache). A site's code is a call here and, on a
 * miss, a call to the generic path: a few dozen bytes instead of a hundred, so code with many
 * sites stays in the instruction cache, and one copy of each hit path serves all of them. A miss
 * changes nothing and returns NULL (0), so the site's generic path starts from the same state. */
#include "names.h"

#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"

/* LOAD_GLOBAL: the cached global or builtin (a new reference), or NULL. */
__attribute__((hot)) PyObject *cpjit_load_global_hit(_PyInterpreterFrame *frame,
                                                     CpjitGlobalCache *cache)
{
    PyDictObject *d = (PyDictObject *)frame->f_globals;
    if (__builtin_expect(Py_TYPE(d) != cache->dict_type
                             || d->ma_keys->dk_version != cache->globals_version,
                         0)) {
        return NULL;
    }
    if (cache->builtins_version != 0) {
        d = (PyDictObject *)frame->f_builtins;
        if (__builtin_expect(Py_TYPE(d) != cache->dict_type
                                 || d->ma_keys->dk_version != cache->builtins_version,
                             0)) {
            return NULL;
        }
    }
    PyObject *v = *(PyObject **)((char *)d->ma_keys + cache->value_offset);
    if (__builtin_expect(v == NULL, 0)) {
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

/* LOAD_ATTR's first tier: an attribute in the instance's inline values, the owner not dying
 * here (its reference is released: the caller replaces it on the stack by the result). */
__attribute__((hot)) PyObject *cpjit_load_attr_hit(PyObject *owner, CpjitAttrCache *cache)
{
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (__builtin_expect(way < 0, 0) || __builtin_expect(owner->ob_refcnt <= 1, 0)) {
        return NULL;
    }
    uint8_t kind = cache->kind[way];
    PyDictValues *values;
    if (__builtin_expect(kind - 1u < 2u && (values = *_PyObject_ValuesPointer(owner)) != NULL, 1)) {
        PyObject *res = values->values[cache->index[way]]; /* VALUES or HINT, inline */
        if (__builtin_expect(res != NULL, 1)) {
            Py_INCREF(res);
            owner->ob_refcnt--;
            return res;
        }
    }
    return NULL;
}

/* LOAD_METHOD's first tier: a plain method (a new reference) of an instance without a dict, or
 * whose attributes are inline and lack the name; the caller pushes it below the object. */
__attribute__((hot)) PyObject *cpjit_load_method_hit(PyObject *obj, CpjitAttrCache *cache)
{
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
            return meth;
        }
    }
    return NULL;
}

/* STORE_ATTR's first tier: a store to inline values that frees nothing; both references (the
 * value's moves into the object, the owner's is released) consumed on success (1). */
__attribute__((hot)) int cpjit_store_attr_hit(PyObject *owner, PyObject *v, CpjitAttrCache *cache)
{
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (__builtin_expect(way < 0, 0) || __builtin_expect(owner->ob_refcnt <= 1, 0)) {
        return 0;
    }
    PyDictValues *values;
    if (__builtin_expect(cache->kind[way] == CPJIT_ATTR_VALUES
                             && (values = *_PyObject_ValuesPointer(owner)) != NULL,
                         1)) {
        Py_ssize_t index = cache->index[way];
        PyObject *old = values->values[index];
        if (old != NULL) {
            if (__builtin_expect(old->ob_refcnt <= 1, 0)) {
                return 0;
            }
            values->values[index] = v;
            old->ob_refcnt--;
        }
        else {
            values->values[index] = v;
            cpjit_values_add_to_order(values, index);
        }
        owner->ob_refcnt--;
        return 1;
    }
    return 0;
}
