/* hits.c: the fast paths of LOAD_GLOBAL, LOAD_ATTR, LOAD_METHOD, STORE_ATTR and COMPARE_OP, one
 * copy shared by every site (stencils/globals.c, attrs.c, binary.c).
 *
 * Each is what the interpreter's specialised forms do on a hit: for cpjit's per-site caches
 * (csrc/names.h: CpjitGlobalCache, CpjitAttrCache), and for comparisons of small ints, floats
 * and strs.
 * A site's code is a call here (and a call to the generic path when this misses): a few dozen
 * bytes where an in-line copy took 110 to 160, so code with many sites stays in the instruction
 * cache, and one copy of each fast path serves all of them. A cache miss changes nothing and
 * returns NULL (0), so the site's generic path starts from the same state.
 *
 * Measured, not assumed: the subscripts' list and tuple paths stay in line (stencils/subscr.c).
 * Shared, they cost fannkuch 3.8% more instructions (callgrind) for little code saved.
 *
 * Each first tier is a leaf on its common paths: whatever calls out (a deallocation, a str
 * comparison, a store into an instance's own dict, a dict at tp_dictoffset) is in a helper of
 * its own, reached by a tail call where it can be, so that a hit saves and restores no
 * registers (session 60: six to ten instructions of every hit; richards, go and deltablue ran
 * 1-2% fewer instructions). A helper the compiler keeps a register across (it knows what the
 * helper returns) pushes it on that rare path only. */
#include "arith.h"
#include "names.h"
#include "numeric.h"

#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"

/* LOAD_GLOBAL: the cached global or builtin (a new reference), or NULL. */
CPJIT_HOT
PyObject *cpjit_load_global_hit(_PyInterpreterFrame *frame, CpjitGlobalCache *cache)
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

/* The owner's reference given up by a first tier that was handed it (`owned`: it came from the
 * stack; a LOAD_FAST group's owner is borrowed from its local). */
#define OWNER_RELEASED(owner)                                                                  \
    do {                                                                                       \
        if (owned) {                                                                           \
            (owner)->ob_refcnt--;                                                              \
        }                                                                                      \
    } while (0)

/* The first tiers' answer from the kinds that fill the whole cache (no ways): a module
 * attribute (LOAD_ATTR_MODULE) or a class's value without __get__; borrowed, or NULL. */
static inline __attribute__((always_inline)) PyObject *
whole_cache_value(CpjitAttrCache *cache, PyObject *owner)
{
    PyObject *res = cpjit_module_attr_cached(cache, owner);
    return res != NULL ? res : cpjit_class_value_cached(cache, owner);
}

/* The kinds of LOAD_ATTR's first tier below other than its hot ones: a dict at tp_dictoffset,
 * and the data descriptors whose getters run no code (way `way`); apart, so that the hot
 * kinds' path is a leaf that saves no registers (6 instructions of every hit). `owned` as for
 * load_attr_hit. */
static __attribute__((noinline)) PyObject *
load_attr_hit_other(PyObject *owner, CpjitAttrCache *cache, int way, int owned)
{
    PyObject *res;
    uint8_t kind = cache->kind[way];
    if (kind == CPJIT_ATTR_OFFSET_DICT_HINT) {
        /* The dict at the type's (version-guarded) tp_dictoffset: ast nodes, exceptions. */
        PyDictObject *dict = cpjit_offset_dict(owner);
        if (dict == NULL) {
            return NULL;
        }
        res = cpjit_dict_hint_value(dict, cache->index[way], cache->descr[way]);
    }
    else if (kind == CPJIT_ATTR_DATA_DESCR && cache->index[way] == CPJIT_DESCR_OWNER_TYPE) {
        res = (PyObject *)Py_TYPE(owner); /* x.__class__ */
    }
    else if (kind == CPJIT_ATTR_DATA_DESCR && cache->index[way] == CPJIT_DESCR_TYPE_NAME
             && PyType_HasFeature((PyTypeObject *)owner, Py_TPFLAGS_HEAPTYPE)) {
        res = ((PyHeapTypeObject *)owner)->ht_name; /* cls.__name__ */
    }
    else if (kind == CPJIT_ATTR_DATA_DESCR && cache->index[way] == CPJIT_DESCR_TUPLE_ITEM) {
        /* point.x on a namedtuple (a tuple subclass, version-guarded). */
        Py_ssize_t i = cpjit_tuplegetter_index(cache->descr[way]);
        if ((size_t)i >= (size_t)PyTuple_GET_SIZE(owner)) {
            return NULL;
        }
        res = PyTuple_GET_ITEM(owner, i);
    }
    else {
        return NULL;
    }
    if (res == NULL) {
        return NULL;
    }
    Py_INCREF(res);
    OWNER_RELEASED(owner);
    return res;
}

/* LOAD_ATTR's first tier: every cached kind served without running code (class attributes
 * only when the value has no __get__), the owner not dying here (its reference is released:
 * the caller replaces it on the stack by the result). Inline values (VALUES, HINT) first; the
 * instance's dict at the cached hint (VALUES and HINT when the values became a real dict,
 * DICT_HINT for a dict of its own), as LOAD_ATTR_WITH_HINT; a __slots__ member; a plain value on
 * the class (CLASS_VALUES, CLASS_NO_DICT); a module attribute; a class constant; then
 * load_attr_hit_other's kinds: a dict at tp_dictoffset (OFFSET_DICT_HINT), `x.__class__`, a heap
 * type's `__name__` and a namedtuple's field (data descriptors whose getters run no code and
 * allocate nothing, CPJIT_DESCR_*). Objects whose attributes outgrew their inline values, or
 * whose __dict__ was asked for, are common enough that a trip through the second tier
 * (cpjit_load_attr_slow) for each of their attributes showed (go: 8.8 million of them,
 * three-quarters of its LOAD_ATTRs). */
static inline __attribute__((always_inline)) PyObject *
load_attr_hit(PyObject *owner, CpjitAttrCache *cache, const int owned)
{
    PyObject *res;
    if (owned && __builtin_expect(owner->ob_refcnt <= 1, 0)) {
        return NULL;
    }
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (__builtin_expect(way < 0, 0)) {
        res = whole_cache_value(cache, owner);
        goto found;
    }
    uint8_t kind = cache->kind[way];
    PyDictValues *values;
    if (__builtin_expect(kind - 1u < 2u && (values = *_PyObject_ValuesPointer(owner)) != NULL, 1)) {
        res = values->values[cache->index[way]]; /* VALUES or HINT, inline */
    }
    else if (kind - 1u < 3u) {
        /* VALUES, HINT or DICT_HINT (all of managed-dict types), held in a real dict: tested
         * next, as common as inline values in some programs (go's squares). */
        PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
        if (dict == NULL) {
            return NULL;
        }
        res = cpjit_dict_hint_value(dict, cache->index[way], cache->descr[way]);
    }
    else if (kind == CPJIT_ATTR_SLOT) {
        res = *(PyObject **)((char *)owner + cache->index[way]); /* LOAD_ATTR_SLOT */
    }
    else if (kind == CPJIT_ATTR_CLASS_NO_DICT
             || (kind == CPJIT_ATTR_CLASS_VALUES && cpjit_method_not_shadowed(cache, way, owner))) {
        res = cache->descr[way]; /* a plain value on the class */
    }
    else {
        return load_attr_hit_other(owner, cache, way, owned);
    }
found:
    if (__builtin_expect(res != NULL, 1)) {
        Py_INCREF(res);
        OWNER_RELEASED(owner);
        return res;
    }
    return NULL;
}

CPJIT_HOT
PyObject *cpjit_load_attr_hit(PyObject *owner, CpjitAttrCache *cache)
{
    return load_attr_hit(owner, cache, 1);
}

/* The same for an owner read from a local (stencils/attrs.c, the LOAD_FAST groups): borrowed,
 * so neither released nor required to survive. */
CPJIT_HOT
PyObject *cpjit_load_attr_hit_local(PyObject *owner, CpjitAttrCache *cache)
{
    return load_attr_hit(owner, cache, 0);
}

/* LOAD_METHOD's [meth, obj] written at out[0] and out[1]: a new reference to the method, and
 * the object's (taken here when it was borrowed, `owned` 0). 1. */
static inline __attribute__((always_inline)) int
method_found(PyObject *obj, PyObject **out, PyObject *meth, int owned)
{
    Py_INCREF(meth);
    if (!owned) {
        Py_INCREF(obj);
    }
    out[0] = meth;
    out[1] = obj;
    return 1;
}

/* load_method_hit's CPJIT_METHOD_DICT entry (`meth` its method), apart so that the probe's
 * call does not make the other kinds' path save registers. */
static __attribute__((noinline)) int method_dict_hit(PyObject *obj, PyObject **out, PyObject *meth,
                                                     PyObject *name, int owned)
{
    return cpjit_own_dict_lacks(obj, name) ? method_found(obj, out, meth, owned) : 0;
}

/* LOAD_METHOD's first tier, writing the instruction's two results at sp[-1] and sp[0] (the
 * stencil grows the stack by one) and returning 1: [meth, obj] for a plain method (a new
 * reference) of an instance without a dict, or whose attributes (inline, or in a dict sharing
 * the class's keys) lack the name, or whose own dict lacks `name` (the instruction's, probed:
 * go's squares hold their attributes in dicts of their own, and the probe in the second tier
 * cost twice the probe itself); [NULL, attr] for a module attribute (math.sqrt) or a class
 * constant (a value without __get__) of an owner that survives, its reference released.
 * 0 on a miss, nothing changed. */
static inline __attribute__((always_inline)) int
load_method_hit(PyObject *obj, PyObject **out, CpjitAttrCache *cache, PyObject *name,
                const int owned)
{
    int way = cpjit_attr_way_hot(cache, Py_TYPE(obj));
    if (way >= 0) {
        uint8_t kind = cache->kind[way];
        /* METHOD_VALUES: inline values, or a real dict still sharing the class's keys. */
        if (kind == CPJIT_METHOD_NO_DICT
            || (kind == CPJIT_METHOD_VALUES && cpjit_method_not_shadowed(cache, way, obj))) {
            return method_found(obj, out, cache->descr[way], owned);
        }
        if (kind == CPJIT_METHOD_DICT && name != NULL) {
            return method_dict_hit(obj, out, cache->descr[way], name, owned);
        }
        return 0;
    }
    PyObject *attr = whole_cache_value(cache, obj);
    if (attr == NULL || (owned && obj->ob_refcnt <= 1)) {
        return 0;
    }
    Py_INCREF(attr);
    OWNER_RELEASED(obj);
    out[0] = NULL;
    out[1] = attr;
    return 1;
}

CPJIT_HOT
int cpjit_load_method_hit(PyObject **sp, CpjitAttrCache *cache, PyObject *name)
{
    return load_method_hit(sp[-1], sp - 1, cache, name, 1);
}

/* The same for an object read from a local (the LOAD_FAST groups): borrowed, never released;
 * the two results are written at sp[0] and sp[1]. */
CPJIT_HOT
int cpjit_load_method_hit_local(PyObject *obj, PyObject **sp, CpjitAttrCache *cache,
                                PyObject *name)
{
    return load_method_hit(obj, sp, cache, name, 0);
}

/* The calls store_attr_hit makes, apart so that its common cases are a leaf that saves no
 * registers: the last reference to an old value that dies quietly (an exact int, float or
 * str) released, and a store into the instance's own dict at the way's hint (its version
 * bumped, the dict tracked by the GC when it must be, as insertdict does). 1, or (the dict's)
 * 0 when the hint does not apply: nothing changed. */
static __attribute__((noinline)) int release_last(PyObject *old)
{
    Py_DECREF(old);
    return 1;
}

static __attribute__((noinline)) int
store_attr_in_dict(PyObject *owner, PyObject *v, CpjitAttrCache *cache, int way, int owned)
{
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
    if (dict == NULL || !cpjit_dict_hint_store(dict, cache->index[way], cache->descr[way], v, 1)) {
        return 0;
    }
    OWNER_RELEASED(owner);
    return 1;
}

/* STORE_ATTR's first tier: a store to the instance's inline values (STORE_ATTR_INSTANCE_VALUE),
 * a __slots__ member (STORE_ATTR_SLOT) or the instance's dict at the cached hint
 * (STORE_ATTR_WITH_HINT), when releasing the old value runs
 * no code (it stays referenced elsewhere, or is an exact int, float or str: the common
 * `self.count += 1`, `self.x = x * 0.5` would otherwise take the generic path each time); both
 * references (the value's moves into the object, the owner's is released) consumed on success
 * (1), nothing changed otherwise (0). */
static inline __attribute__((always_inline)) int
store_attr_hit(PyObject *owner, PyObject *v, CpjitAttrCache *cache, const int owned)
{
    int way = cpjit_attr_way_hot(cache, Py_TYPE(owner));
    if (__builtin_expect(way < 0, 0) || (owned && __builtin_expect(owner->ob_refcnt <= 1, 0))) {
        return 0;
    }
    uint8_t kind = cache->kind[way];
    PyObject **place;
    PyDictValues *values;
    if (kind == CPJIT_ATTR_SLOT) {
        place = (PyObject **)((char *)owner + cache->index[way]); /* STORE_ATTR_SLOT */
    }
    else if (kind != CPJIT_ATTR_VALUES && kind != CPJIT_ATTR_DICT_HINT) {
        return 0;
    }
    else if (__builtin_expect(kind == CPJIT_ATTR_VALUES
                                  && (values = *_PyObject_ValuesPointer(owner)) != NULL,
                              1)) {
        place = &values->values[cache->index[way]];
        if (*place == NULL) {
            *place = v;
            cpjit_values_add_to_order(values, cache->index[way]);
            OWNER_RELEASED(owner);
            return 1;
        }
    }
    else {
        /* VALUES or DICT_HINT, the attributes in a real dict (managed-dict types only). */
        return store_attr_in_dict(owner, v, cache, way, owned);
    }
    PyObject *old = *place;
    if (__builtin_expect(old != NULL && old->ob_refcnt <= 1, 0)) {
        if (!cpjit_dies_quietly(old)) {
            return 0;
        }
        *place = v;
        OWNER_RELEASED(owner);
        return release_last(old); /* nothing else to do: no registers kept across it */
    }
    *place = v;
    if (old != NULL) {
        old->ob_refcnt--;
    }
    OWNER_RELEASED(owner);
    return 1;
}

CPJIT_HOT
int cpjit_store_attr_hit(PyObject *owner, PyObject *v, CpjitAttrCache *cache)
{
    return store_attr_hit(owner, v, cache, 1);
}

/* The same for an owner read from a local (the LOAD_FAST groups): borrowed, never released;
 * only the value's reference is consumed on success. */
CPJIT_HOT
int cpjit_store_attr_hit_local(PyObject *owner, PyObject *v, CpjitAttrCache *cache)
{
    return store_attr_hit(owner, v, cache, 0);
}

/* COMPARE_OP's fast path, one function per operator (the operator a constant in each): the
 * truth of `l OPER r` for two small ints or two floats neither of them a NaN (as
 * COMPARE_OP_INT_JUMP and _FLOAT_JUMP decide; a NaN makes the latter deoptimise, so the
 * interpreter compares generically and serves the eval breaker at the jump), or for == and !=
 * two exact strs (as COMPARE_OP_STR_JUMP), with both references released (their deallocation
 * runs no code); -1, nothing changed, for anything else. Only
 * while recursion budget is left: the generic comparison counts a level, which is then not
 * observable (with none left, the generic path counts exactly as the interpreter does).
 * COMPARE_TRUTH is arith.h's. */

/* A comparison's operands released when one of them dies (a call: apart, so that the common
 * case is a leaf that saves no registers); `truth` returned. */
static __attribute__((noinline)) int compare_released(PyObject *l, PyObject *r, int truth)
{
    Py_DECREF(l);
    Py_DECREF(r);
    return truth;
}

/* Two exact strs compared for == (`eq`) or !=, both released: a call (apart, for the same
 * reason). */
static __attribute__((noinline)) int compare_strs(PyObject *l, PyObject *r, int eq)
{
    int truth = _PyUnicode_Equal(l, r) == eq;
    Py_DECREF(l);
    Py_DECREF(r);
    return truth;
}

#define COMPARE_HIT(NAME, OPER)                                                                \
    CPJIT_HOT int NAME(PyObject *l, PyObject *r, PyThreadState *tstate)                    \
    {                                                                                          \
        int truth;                                                                             \
        if (__builtin_expect(tstate->recursion_remaining <= 0, 0)) {                           \
            return -1;                                                                         \
        }                                                                                      \
        if (is_medium(l) && is_medium(r)) {                                                    \
            truth = COMPARE_TRUTH(OPER, medium_value(l), medium_value(r));                     \
        }                                                                                      \
        else if (PyFloat_CheckExact(l) && PyFloat_CheckExact(r)) {                             \
            double a = PyFloat_AS_DOUBLE(l), b = PyFloat_AS_DOUBLE(r);                         \
            if (__builtin_isunordered(a, b)) {                                                 \
                return -1; /* COMPARE_OP_FLOAT_JUMP deoptimises: the generic pair */           \
            }                                                                                  \
            truth = COMPARE_TRUTH(OPER, a, b);                                                 \
        }                                                                                      \
        else if (((OPER) == Py_EQ || (OPER) == Py_NE) && PyUnicode_CheckExact(l)               \
                 && PyUnicode_CheckExact(r)) {                                                 \
            return compare_strs(l, r, (OPER) == Py_EQ);                                        \
        }                                                                                      \
        else {                                                                                 \
            return -1;                                                                         \
        }                                                                                      \
        if (__builtin_expect(l->ob_refcnt <= 1 || r->ob_refcnt <= 1, 0)) {                     \
            return compare_released(l, r, truth);                                              \
        }                                                                                      \
        l->ob_refcnt--;                                                                        \
        r->ob_refcnt--;                                                                        \
        return truth;                                                                          \
    }

COMPARE_HIT(cpjit_compare_hit_lt, Py_LT)
COMPARE_HIT(cpjit_compare_hit_le, Py_LE)
COMPARE_HIT(cpjit_compare_hit_eq, Py_EQ)
COMPARE_HIT(cpjit_compare_hit_ne, Py_NE)
COMPARE_HIT(cpjit_compare_hit_gt, Py_GT)
COMPARE_HIT(cpjit_compare_hit_ge, Py_GE)
