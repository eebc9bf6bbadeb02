/* attr_cache.h: monomorphic inline caches for attribute access, filled by native code itself.
 *
 * Each LOAD_ATTR / LOAD_METHOD / STORE_ATTR instruction owns one AttrCache (its JIT_CACHE). The
 * stencil tries the cached fast path; on a miss it runs the generic path and asks
 * cpjit_attr_cache_fill* to describe what it found. Guards mirror the interpreter's own
 * specialisations (LOAD_ATTR_INSTANCE_VALUE, LOAD_ATTR_MODULE, LOAD_METHOD_WITH_VALUES,
 * LOAD_METHOD_NO_DICT, STORE_ATTR_INSTANCE_VALUE): a type's version tag changes whenever the
 * type or its bases change; a dict's ma_version_tag changes on every mutation; shared keys only
 * grow, so an unchanged entry count means a name still absent is still absent.
 */
#ifndef CPJIT_ATTR_CACHE_H
#define CPJIT_ATTR_CACHE_H

#include "cpjit_rt.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#include "internal/pycore_moduleobject.h"

enum {
    CPJIT_ATTR_EMPTY = 0,
    CPJIT_ATTR_INSTANCE_VALUE,  /* owner's managed-dict values[index] */
    CPJIT_ATTR_MODULE,          /* module dict unchanged since: `value` */
    CPJIT_ATTR_METHOD_VALUES,   /* plain function on the type, name not in the instance values */
    CPJIT_ATTR_METHOD_NO_DICT,  /* plain function on the type, instances have no dict */
};

typedef struct {
    uint32_t kind;
    uint32_t type_version;
    Py_ssize_t index;
    PyObject *owner;            /* MODULE: the module (identity only, never dereferenced) */
    uint64_t dict_version;      /* MODULE: md_dict's ma_version_tag */
    PyObject *value;            /* borrowed: kept alive by the guarded dict or type */
    Py_ssize_t nentries;        /* METHOD_VALUES: shared keys' entry count at fill time */
} CpjitAttrCache;

_Static_assert(sizeof(CpjitAttrCache) <= 64, "an attribute cache must fit in JIT_CACHE");

/* LOAD_ATTR: a new reference to the attribute, or NULL for a miss (no error set). */
static inline __attribute__((always_inline)) PyObject *
cpjit_attr_cache_load(CpjitAttrCache *c, PyObject *owner)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (c->kind == CPJIT_ATTR_INSTANCE_VALUE) {
        if (tp->tp_version_tag != c->type_version) {
            return NULL;
        }
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values == NULL) {
            return NULL;
        }
        PyObject *res = values->values[c->index];
        if (res == NULL) {
            return NULL;
        }
        return Py_NewRef(res);
    }
    if (c->kind == CPJIT_ATTR_MODULE) {
        if (owner != c->owner
            || ((PyDictObject *)((PyModuleObject *)owner)->md_dict)->ma_version_tag != c->dict_version) {
            return NULL;
        }
        return Py_NewRef(c->value);
    }
    return NULL;
}

/* LOAD_METHOD: the unbound function (new reference) when `owner.name` is a plain method call on
 * owner's type; NULL for a miss. */
static inline __attribute__((always_inline)) PyObject *
cpjit_attr_cache_method(CpjitAttrCache *c, PyObject *owner)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (tp->tp_version_tag != c->type_version) {
        return NULL;
    }
    if (c->kind == CPJIT_ATTR_METHOD_VALUES) {
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values == NULL
            || ((PyHeapTypeObject *)tp)->ht_cached_keys->dk_nentries != c->nentries) {
            return NULL;
        }
        return Py_NewRef(c->value);
    }
    if (c->kind == CPJIT_ATTR_METHOD_NO_DICT) {
        return Py_NewRef(c->value);
    }
    return NULL;
}

/* STORE_ATTR: 1 when `value` was stored (the reference is stolen and the old value released),
 * 0 for a miss (nothing changed). */
static inline __attribute__((always_inline)) int
cpjit_attr_cache_store(CpjitAttrCache *c, PyObject *owner, PyObject *value)
{
    if (c->kind != CPJIT_ATTR_INSTANCE_VALUE || Py_TYPE(owner)->tp_version_tag != c->type_version) {
        return 0;
    }
    PyDictValues *values = *_PyObject_ValuesPointer(owner);
    if (values == NULL) {
        return 0;
    }
    PyObject *old = values->values[c->index];
    if (old == NULL) {
        return 0; /* a new attribute: the slow path keeps the insertion order */
    }
    values->values[c->index] = value;
    Py_DECREF(old);
    return 1;
}

/* After a generic lookup succeeded, remember how (or leave the cache empty). Never raises. */
void cpjit_attr_cache_fill_load(CpjitAttrCache *c, PyObject *owner, PyObject *name);
void cpjit_attr_cache_fill_method(CpjitAttrCache *c, PyObject *owner, PyObject *name);
void cpjit_attr_cache_fill_store(CpjitAttrCache *c, PyObject *owner, PyObject *name);

#endif
