/* names.h: helpers for the "names" family of stencils (name/global/attribute/import/cell/function
 * opcodes). Each re-implements a piece of CPython 3.11's ceval.c that is static there or too big
 * to copy into every stencil, with the same behaviour and error messages. Implemented in
 * csrc/names.c.
 *
 * Convention: functions returning PyObject* return a new reference, or NULL with an exception set.
 */
#ifndef CPJIT_NAMES_H
#define CPJIT_NAMES_H

#include "cpjit_rt.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"
#include "opcode.h"

/* The instruction a stencil's REDO hole designates (REDO + 1 is its first code unit, EXTENDED_ARG
 * prefixes included), and its oparg with the prefixes folded in: out-of-line paths get both
 * from one 64-bit hole. Reading forward from the first prefix is unambiguous (reading backward
 * from the instruction is not: the unit before it may be a cache entry). Specialisation keeps
 * opargs, and EXTENDED_ARG is quickened to EXTENDED_ARG_QUICK with its oparg. */
static inline _Py_CODEUNIT *cpjit_decode_redo(_Py_CODEUNIT *redo, int *oparg)
{
    _Py_CODEUNIT *p = redo + 1;
    int arg = 0;
    while (_Py_OPCODE(*p) == EXTENDED_ARG || _Py_OPCODE(*p) == EXTENDED_ARG_QUICK) {
        arg = (arg | _Py_OPARG(*p)) << 8;
        p++;
    }
    *oparg = arg | _Py_OPARG(*p);
    return p;
}

/* Cold paths of the fast-local stencils (stencils/locals.c), out of line so that each copy of
 * a stencil carries only a call: publish the instruction as prev_instr, then
 *   cpjit_unbound_local_at: raise UnboundLocalError for the local the instruction at `redo`
 *                           (see cpjit_decode_redo) loads;
 *   cpjit_dealloc_at:       deallocate `op` (its refcount just reached zero; a destructor can
 *                           run any code and look at the frame). */
void cpjit_unbound_local_at(_PyInterpreterFrame *frame, _Py_CODEUNIT *redo);
void cpjit_dealloc_at(PyObject *op, _PyInterpreterFrame *frame, _Py_CODEUNIT *instr);

/* A stencil's whole deallocation path as a tail call (stencil.h DEALLOC_THEN_CONTINUE): the
 * stencil published prev_instr; deallocate `op` (its refcount just reached zero), then go on
 * with the native code at `next` (the next instruction's), as a tail call. Because the path
 * never comes back into the stencil, clang leaves it out of the hot part. Native calling
 * convention. */
__attribute__((preserve_none)) PyObject *
cpjit_dealloc_then(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
                   PyObject *op, cpjit_native_fn next);

/* LOAD_NAME: frame locals, then globals, then builtins. */
PyObject *cpjit_load_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* STORE_NAME: stores `v` (borrowed) in the frame's locals. 0 or -1. */
int cpjit_store_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                     PyObject *v);
/* STORE_NAME as a whole, for the stencil: publish prev_instr, store sp[0] (just popped, then
 * released whether or not the store worked) under co_names[oparg] (the instruction and its
 * oparg from `redo`, see cpjit_decode_redo). 0 or -1. */
int cpjit_store_name_at(_PyInterpreterFrame *frame, PyObject **sp, _Py_CODEUNIT *redo);
/* DELETE_NAME. 0 or -1. */
int cpjit_delete_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* DELETE_GLOBAL. 0 or -1. */
int cpjit_delete_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name);
/* LOAD_BUILD_CLASS: builtins.__build_class__. */
PyObject *cpjit_load_build_class(PyThreadState *tstate, _PyInterpreterFrame *frame);
/* SETUP_ANNOTATIONS. 0 or -1. */
int cpjit_setup_annotations(PyThreadState *tstate, _PyInterpreterFrame *frame);

/* ceval.c's format_exc_unbound: UnboundLocalError for a cell variable, NameError for a free
 * one; does nothing if an exception is already set. */
void cpjit_format_exc_unbound(PyThreadState *tstate, PyCodeObject *co, int oparg);
/* LOAD_CLASSDEREF: the frame's locals mapping first, then the cell in slot `oparg`. */
PyObject *cpjit_load_classderef(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg);

/* ceval.c's import_name, import_from and import_all_from. */
PyObject *cpjit_import_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                            PyObject *fromlist, PyObject *level);
PyObject *cpjit_import_from(PyThreadState *tstate, PyObject *v, PyObject *name);
int cpjit_import_all_from(PyThreadState *tstate, PyObject *locals, PyObject *v);

/* CALL_FUNCTION_EX's argument preparation.
 * cpjit_ex_kwargs: turn the **kwargs operand (owned, consumed) into an exact dict (new
 * reference), or NULL with ceval's format_kwargs_error message. `func` names the callee.
 * cpjit_ex_callargs: turn the *args operand (owned, consumed) into an exact tuple, or NULL with
 * ceval's check_args_iterable message. */
PyObject *cpjit_ex_kwargs(PyThreadState *tstate, PyObject *func, PyObject *kwargs);
PyObject *cpjit_ex_callargs(PyThreadState *tstate, PyObject *func, PyObject *callargs);

/* Entry index of `name` (an exact str) in unicode dict keys, split or combined, or -1 when it
 * is absent or the keys are general. A hash-table probe like dictobject.c's
 * unicodekeys_lookup_unicode: O(1), no Python code runs (str hash and equality). Filling a
 * cache costs one such probe per dict, whatever the dict's size. */
Py_ssize_t cpjit_keys_lookup(PyDictKeysObject *keys, PyObject *name);

/* LOAD_GLOBAL's cache (in JIT_CACHE), like 3.11's LOAD_GLOBAL_MODULE / LOAD_GLOBAL_BUILTIN.
 * Only *cacheable* dicts are cached: exact dicts, combined (values in the keys' entries, not
 * split), unicode keys. For those, a keys version identifies one key set and layout: CPython
 * resets dk_version whenever a key is added or removed, a dict that gains a non-str key or is
 * resized gets a new keys object, and split keys (whose values live outside the entries, so a
 * value can appear under an existing key without any keys change) are never cached. The value
 * itself is read from the current dict's entry on every use, so rebinding a global needs no
 * invalidation.
 *   dict_type != NULL:    (then &PyDict_Type, so one compare checks both that the cache is
 *                         filled and that globals are an exact dict) the frame's globals keys
 *                         had globals_version when the name was an entry
 *                         of them (builtins_version == 0), or was absent from them and an entry
 *                         of the builtins keys, which had builtins_version; the entry's value
 *                         is at byte `value_offset` of those keys (a version also fixes the
 *                         layout: a keys object never changes size, a copy is a byte copy).
 * Any other globals or builtins (a dict subclass, split or general keys, a different builtins
 * dict) fails the version check and takes the generic path. Versions are assigned as CPython's
 * specialiser does, from a separate range (see names.c). */
typedef struct {
    PyTypeObject *dict_type;    /* &PyDict_Type when filled, NULL when empty (never a type) */
    uint32_t globals_version;
    uint32_t builtins_version;  /* 0: the value lives in globals */
    uint32_t value_offset;      /* byte offset of the entry's me_value from the keys object */
    uint32_t cooldown;
} CpjitGlobalCache;

/* LOAD_GLOBAL's slow path: the lookup, then (re)fill `cache` when the dicts allow it. */
PyObject *cpjit_load_global_cached(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                   PyObject *name, CpjitGlobalCache *cache);

/* Attribute caches (in an instruction's JIT_CACHE): up to CPJIT_ATTR_WAYS entries ("ways") per
 * site, so a site that sees instances of a few classes (a polymorphic site) is served natively
 * for each of them. Way i is valid only while the owner's type still has tp_version_tag ==
 * version[i] (non-zero); any change to the type or its bases (attribute assignment, __bases__,
 * a base's change) resets the tag (PyType_Modified), tags are never reused, and a new __class__
 * is a different type, so the borrowed `descr[i]` is never used after it could have died. The
 * kinds, each keyed on what changes whenever its answer can change:
 *   CPJIT_ATTR_VALUES:  (LOAD_ATTR, STORE_ATTR) the attribute lives in the instance's inline
 *                       values at `index` and no data descriptor on the type overrides it (a
 *                       descriptor whose own type is mutable is never trusted: it could grow a
 *                       __set__ without the owner's type changing).
 *   CPJIT_METHOD_VALUES: (LOAD_METHOD) `descr` is a method descriptor on the type and the name
 *                       was absent from the type's shared instance keys when they had
 *                       `index` entries (keys are only ever appended to); the instance keeps
 *                       its attributes inline or in a dict sharing those keys.
 *   CPJIT_METHOD_NO_DICT: (LOAD_METHOD) `descr` is a method descriptor, instances have no dict.
 *   CPJIT_METHOD_DICT:  (LOAD_METHOD) `descr` is a method descriptor on the type and the
 *                       instance keeps its attributes in a dict of its own (no inline values;
 *                       managed, or at the type's tp_dictoffset), or has neither yet (a
 *                       subclass of str starts so): served when a probe of that dict (unicode
 *                       keys only) finds no value under the name (cpjit_own_dict_lacks). 3.11
 *                       does not specialise this case (SPEC_FAIL_LOAD_METHOD_HAS_MANAGED_DICT,
 *                       _HAS_DICT).
 *                       The three METHOD kinds also serve LOAD_ATTR (out of line: a method read
 *                       as a value, `key=self.method`), which binds `descr` with its __get__
 *                       (owner, type(owner)) as the generic lookup does; 3.11 does not
 *                       specialise that (SPEC_FAIL_ATTR_METHOD).
 *   CPJIT_ATTR_SLOT:    (LOAD_ATTR, STORE_ATTR) a __slots__ member (T_OBJECT_EX) stored at byte
 *                       offset `index` in the object; a member descriptor is a data
 *                       descriptor, so no instance dict can shadow it.
 *   CPJIT_ATTR_HINT:    (LOAD_ATTR) the instance's values were turned into a real dict that
 *                       still shares the class's keys; the name is entry `index` of them.
 *                       Served from inline values or such a dict, like CPJIT_ATTR_VALUES.
 *   CPJIT_ATTR_DICT_HINT: (LOAD_ATTR) the name was entry `index` of an instance's own
 *                       (combined) dict; only other dicts are checked against the hint.
 *                       (STORE_ATTR) the instance keeps its attributes in a dict of its own:
 *                       the store replaces the value at entry `index` of it when that entry
 *                       holds the name and a value (STORE_ATTR_WITH_HINT: GC tracking and a new
 *                       ma_version_tag as insertdict), else is PyDict_SetItem on it, as the
 *                       generic path does.
 *                       STORE_ATTR serves a CPJIT_ATTR_VALUES way that way too when the
 *                       instance has a dict instead of inline values.
 *   CPJIT_ATTR_CLASS_VALUES, CPJIT_ATTR_CLASS_NO_DICT: (LOAD_ATTR) `descr` is a plain value on
 *                       the class (found by the type's MRO lookup; its own type is immutable and
 *                       has no __get__, so no descriptor protocol applies), read through an
 *                       instance that does not shadow it: one whose attributes are inline or in
 *                       a dict sharing the class's keys, which lacked the name when they had
 *                       `index` entries (as CPJIT_METHOD_VALUES), or one with no dict at all (as
 *                       CPJIT_METHOD_NO_DICT). What 3.12 calls LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES
 *                       and _NO_DICT; 3.11 does not specialise it (class-level defaults and
 *                       constants read through self).
 *   CPJIT_ATTR_OFFSET_DICT_HINT: (LOAD_ATTR, out of line) as CPJIT_ATTR_DICT_HINT for instances
 *                       whose dict is not managed but at the type's positive tp_dictoffset
 *                       (subclasses of C types with a __dict__: ast nodes, exceptions,
 *                       SimpleNamespace); `descr` is the name, `index` its entry in the dict
 *                       the fill saw, re-checked on every use.
 *   CPJIT_ATTR_CLASS_DICT: (LOAD_ATTR, out of line) as CPJIT_ATTR_CLASS_VALUES, read through an
 *                       instance whose attributes are in a dict of its own, or which has none
 *                       yet, as CPJIT_METHOD_DICT: the dict is probed for the name on every use
 *                       (cpjit_own_dict_lacks). Text leaves of a tree of node classes that
 *                       subclass str read their class's `children = ()` this way.
 *   CPJIT_ATTR_DATA_DESCR: (LOAD_ATTR, out of line) `descr` is a data descriptor on the class
 *                       (a property, a getset or member descriptor: its own type immutable, with
 *                       both __get__ and __set__, so no instance dict can shadow it): the answer
 *                       is its __get__(owner, type(owner)), called as the generic lookup calls
 *                       it, without the lookup. 3.11 does not specialise it (3.12's
 *                       LOAD_ATTR_PROPERTY does for properties). `index` names the getset
 *                       descriptors whose getter the first tier runs itself, since it runs no
 *                       code and allocates nothing (CPJIT_DESCR_*): object's __class__ (the
 *                       owner's type) and type's __name__ (a heap type's ht_name; a static
 *                       type's name is made afresh, so that one takes the generic call), and a
 *                       namedtuple's field (a _tuplegetter on a tuple subclass: the item at its
 *                       index, when the tuple has one).
 *                       For a class owner (metaclass looking attributes up with type_getattro)
 *                       the way is keyed on the metaclass and `descr` is the metaclass's data
 *                       descriptor, which type_getattro consults first (cls.__name__); the
 *                       answer is __get__(cls, metaclass), as type_getattro calls it.
 * Dict entries are re-checked on every use (key identity at the entry, unicode keys), so a hint
 * may go stale but never wrong (LOAD_ATTR_WITH_HINT).
 * Two kinds are not guarded by the owner type's version and fill the whole cache (kind[0], no ways):
 *   CPJIT_ATTR_MODULE:  (LOAD_ATTR, LOAD_METHOD) `module` is the module object (compared by
 *                       identity), still of exact type ModuleType (a static, immutable type:
 *                       setting __class__ to a subclass with properties fails this check),
 *                       whose md_dict had ma_version_tag `dict_version` when it held `value`
 *                       (borrowed) under the name; any change to the dict changes the tag, and
 *                       tags are never reused (a global counter), so a dead module's entry can
 *                       never match a new one.
 *   CPJIT_ATTR_CLASS:   (LOAD_ATTR, LOAD_METHOD, out of line) `module` is a class (compared by
 *                       identity) whose metaclass looks attributes up with type_getattro
 *                       (`type`, ABCMeta, EnumMeta...: no __getattribute__ or __getattr__ of
 *                       its own); `dict_version` holds the metaclass's tp_version_tag (high 32
 *                       bits) and the class's (low 32 bits) from when `value` (borrowed) was
 *                       what looking the name up along the class's MRO found and no data
 *                       descriptor of the metaclass had the name. A tag changes whenever any
 *                       attribute of its type or a base changes and is never reused, so the
 *                       metaclass's also catches a __class__ assignment to another metaclass.
 *                       The answer is `value`, or, if its type (read at each use) has __get__,
 *                       what __get__(value, None, class) returns, as type_getattro does.
 * Filling costs a type lookup and a keys probe. A fill goes to the way of the same type, else an
 * empty way, else evicts one (round robin). A site whose fills keep failing or evicting backs
 * off exponentially: after the n-th such fill, the next 2**n (at most 4096) misses go straight
 * to the generic path. Every fill also files its entry in the process-wide table of
 * attr_table.h, keyed on (type version tag, name, access); a miss in the ways first takes the
 * table's entry for the owner's type, if any, into a way (names.c's adopt_entry). */
/* Numbered so that the stencils test ranges: 1-2 may be in inline values, 1-3 in a dict. */
enum {
    CPJIT_ATTR_NONE = 0,
    CPJIT_ATTR_VALUES = 1,
    CPJIT_ATTR_HINT = 2,
    CPJIT_ATTR_DICT_HINT = 3,
    CPJIT_ATTR_SLOT = 4,
    CPJIT_METHOD_VALUES = 5,
    CPJIT_METHOD_NO_DICT = 6,
    CPJIT_METHOD_DICT = 7,
    CPJIT_ATTR_MODULE = 8,
    CPJIT_ATTR_CLASS = 9,
    CPJIT_ATTR_CLASS_VALUES = 10,
    CPJIT_ATTR_CLASS_NO_DICT = 11,
    CPJIT_ATTR_DATA_DESCR = 12,
    CPJIT_ATTR_OFFSET_DICT_HINT = 13,
    CPJIT_ATTR_CLASS_DICT = 14,
};
#define CPJIT_ATTR_WAYS 4
/* CPJIT_ATTR_DATA_DESCR's `index`: the descriptor's __get__ is called (GENERIC), or it is one of
 * the getters the first tier answers for (slowpaths.h: cpjit_object_class_getter,
 * cpjit_type_name_getter). */
enum {
    CPJIT_DESCR_GENERIC = 0,
    CPJIT_DESCR_OWNER_TYPE = 1, /* object.__class__: Py_TYPE(owner) */
    CPJIT_DESCR_TYPE_NAME = 2,  /* type.__name__: a heap type's ht_name */
    CPJIT_DESCR_TUPLE_ITEM = 3, /* a namedtuple field (_tuplegetter): the owner's item */
};

/* The index a _tuplegetter holds right after its object header (its layout checked at start-up:
 * slowpaths.h, cpjit_tuplegetter_type). */
static inline Py_ssize_t cpjit_tuplegetter_index(PyObject *descr)
{
    return *(Py_ssize_t *)((char *)descr + sizeof(PyObject));
}

typedef struct {
    uint32_t version[CPJIT_ATTR_WAYS];  /* 0: an empty way */
    uint16_t index[CPJIT_ATTR_WAYS];
    uint8_t kind[CPJIT_ATTR_WAYS];
    uint8_t refills;            /* fill attempts that failed or evicted a valid entry */
    uint8_t next;               /* the way the next eviction replaces */
    uint16_t cooldown;          /* generic lookups left before the next fill attempt */
    union {
        PyObject *descr[CPJIT_ATTR_WAYS];     /* the method kinds; the name (borrowed from
                                                 co_names) for CPJIT_ATTR_VALUES, _HINT and
                                                 _DICT_HINT */
        struct {
            PyObject *module;
            PyObject *value;
            uint64_t dict_version;
        } mod;                                /* CPJIT_ATTR_MODULE (kind[0]) */
    };
} CpjitAttrCache;
_Static_assert(sizeof(CpjitAttrCache) <= 64, "attribute cache must fit in JIT_CACHE");

/* Where entry `hint` of `dict` keeps its value (the split values, or the entry itself) if that
 * entry holds `name`, else NULL. */
static inline __attribute__((always_inline)) PyObject **
cpjit_dict_hint_place(PyDictObject *dict, Py_ssize_t hint, PyObject *name)
{
    PyDictKeysObject *keys = dict->ma_keys;
    if (hint >= keys->dk_nentries || !DK_IS_UNICODE(keys)) {
        return NULL;
    }
    PyDictUnicodeEntry *ep = DK_UNICODE_ENTRIES(keys) + hint;
    if (ep->me_key != name) {
        return NULL;
    }
    return dict->ma_values != NULL ? &dict->ma_values->values[hint] : &ep->me_value;
}

/* The value at entry `hint` of `dict` if that entry holds `name`, else NULL (borrowed). */
static inline __attribute__((always_inline)) PyObject *
cpjit_dict_hint_value(PyDictObject *dict, Py_ssize_t hint, PyObject *name)
{
    PyObject **place = cpjit_dict_hint_place(dict, hint, name);
    return place != NULL ? *place : NULL;
}

/* Whether releasing the last reference to `op` runs none of the program's code: exact ints,
 * floats and strs, whose deallocation only frees memory. */
static inline __attribute__((always_inline)) int cpjit_dies_quietly(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    return tp == &PyLong_Type || tp == &PyFloat_Type || tp == &PyUnicode_Type;
}

/* STORE_ATTR_WITH_HINT: replace the value at entry `hint` of an instance's exact dict when that
 * entry holds `name` and a value, as insertdict would (same entry, GC tracking, new version),
 * then release the old value. Takes the reference to `v`. 1 when done, 0 when the hint does not
 * apply or (`quiet_only`) releasing the old value could run code: nothing changed. */
static inline __attribute__((always_inline)) int
cpjit_dict_hint_store(PyDictObject *dict, Py_ssize_t hint, PyObject *name, PyObject *v,
                      const int quiet_only)
{
    PyObject **slot;
    if (!PyDict_CheckExact(dict) || (slot = cpjit_dict_hint_place(dict, hint, name)) == NULL) {
        return 0;
    }
    PyObject *old = *slot;
    if (old == NULL || (quiet_only && Py_REFCNT(old) == 1 && !cpjit_dies_quietly(old))) {
        return 0;
    }
    *slot = v;
    cpjit_dict_new_version(dict);
    if (!_PyObject_GC_IS_TRACKED(dict) && PyObject_IS_GC(v)
        && (!PyTuple_CheckExact(v) || _PyObject_GC_IS_TRACKED(v))) {
        PyObject_GC_Track(dict);
    }
    Py_DECREF(old);
    return 1;
}

/* The way whose version is the owner type's tag, or -1. Unrolled: a monomorphic site pays one
 * compare. */
static inline __attribute__((always_inline)) int
cpjit_attr_way(CpjitAttrCache *cache, PyTypeObject *tp)
{
    uint32_t tag = tp->tp_version_tag;
    if (tag == 0) {
        return -1;
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < CPJIT_ATTR_WAYS; i++) {
        /* Likely: the hit is the hot path, laid out straight after the search. */
        if (__builtin_expect(cache->version[i] == tag, 1)) {
            return i;
        }
    }
    return -1;
}

/* The first tier's (csrc/hits.c) version of cpjit_attr_way, without the check for a type with
 * no valid tag (0): a way whose version is 0 is empty (kind CPJIT_ATTR_NONE) or way 0 of a
 * module cache (CPJIT_ATTR_MODULE), and the first tier serves neither kind, so a tag-0 type that
 * matches one just misses. */
static inline __attribute__((always_inline)) int
cpjit_attr_way_hot(CpjitAttrCache *cache, PyTypeObject *tp)
{
    uint32_t tag = tp->tp_version_tag;
#pragma clang loop unroll(full)
    for (int i = 0; i < CPJIT_ATTR_WAYS; i++) {
        /* Likely: the hit is the hot path, laid out straight after the search. */
        if (__builtin_expect(cache->version[i] == tag, 1)) {
            return i;
        }
    }
    return -1;
}

/* 3.11's _PyDictValues_AddToInsertionOrder (pycore_dict.h), for the stencils: a value appears
 * at index `ix` of inline values that had none there. */
static inline __attribute__((always_inline)) void
cpjit_values_add_to_order(PyDictValues *values, Py_ssize_t ix)
{
    uint8_t *size_ptr = ((uint8_t *)values) - 2;
    int size = *size_ptr + 1;
    size_ptr[-size] = (uint8_t)ix;
    *size_ptr = (uint8_t)size;
}

/* The cache hits, shared by every site (csrc/hits.c): NULL (0) on a miss, which changes
 * nothing. */
PyObject *cpjit_load_global_hit(_PyInterpreterFrame *frame, CpjitGlobalCache *cache);
PyObject *cpjit_load_attr_hit(PyObject *owner, CpjitAttrCache *cache);
int cpjit_load_method_hit(PyObject **sp, CpjitAttrCache *cache, PyObject *name);
/* The same for an owner read from a local, borrowed (stencils/attrs.c, the LOAD_FAST groups):
 * never released; LOAD_METHOD's two results at sp[0] and sp[1]. */
PyObject *cpjit_load_attr_hit_local(PyObject *owner, CpjitAttrCache *cache);
int cpjit_load_method_hit_local(PyObject *obj, PyObject **sp, CpjitAttrCache *cache,
                                PyObject *name);
int cpjit_store_attr_hit_local(PyObject *owner, PyObject *v, CpjitAttrCache *cache);
int cpjit_store_attr_hit(PyObject *owner, PyObject *v, CpjitAttrCache *cache);

/* The dict at the tp_dictoffset of `obj`'s type (not a managed dict; a negative offset counts
 * from the end of a variable-size object, as CPython's _PyObject_GetDictPtr computes), or NULL
 * when the instance has none yet. */
static inline PyDictObject *cpjit_offset_dict(PyObject *obj)
{
    Py_ssize_t offset = Py_TYPE(obj)->tp_dictoffset;
    PyObject **p = offset > 0 ? (PyObject **)((char *)obj + offset) : _PyObject_GetDictPtr(obj);
    return p != NULL ? (PyDictObject *)*p : NULL;
}

static inline int cpjit_own_dict_lacks(PyObject *obj, PyObject *name);

/* LOAD_ATTR's cached lookup for the type-version-guarded kinds: a borrowed value or NULL.
 * `way`: cpjit_attr_way(cache, Py_TYPE(owner)). */
static inline __attribute__((always_inline)) PyObject *
cpjit_attr_cached_load(CpjitAttrCache *cache, int way, PyObject *owner, PyObject *name)
{
    if (way < 0) {
        return NULL;
    }
    uint8_t kind = cache->kind[way];
    Py_ssize_t index = cache->index[way];
    if (kind == CPJIT_ATTR_VALUES || kind == CPJIT_ATTR_HINT) {
        /* Instances of one class may hold their attributes inline or in a real dict (made
         * from the inline values, so the same entry index): serve both. */
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values != NULL) {
            return values->values[index];
        }
        PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
        return dict != NULL ? cpjit_dict_hint_value(dict, index, name) : NULL;
    }
    if (kind == CPJIT_ATTR_DICT_HINT) {
        PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
        return dict != NULL ? cpjit_dict_hint_value(dict, index, name) : NULL;
    }
    if (kind == CPJIT_ATTR_SLOT) {
        return *(PyObject **)((char *)owner + index);
    }
    if (kind == CPJIT_ATTR_OFFSET_DICT_HINT) {
        /* The type's (version-guarded, so unchanged) positive tp_dictoffset. */
        PyDictObject *dict = cpjit_offset_dict(owner);
        return dict != NULL ? cpjit_dict_hint_value(dict, index, name) : NULL;
    }
    if (kind == CPJIT_ATTR_CLASS_DICT && cpjit_own_dict_lacks(owner, name)) {
        return cache->descr[way]; /* the class's plain value */
    }
    return NULL;
}

/* CPJIT_METHOD_VALUES's guard for way `way` (type version already checked): the instance keeps
 * its attributes inline or in a dict sharing the class's keys, and those keys still lack the
 * name (they only grow, so an unchanged count means unchanged). */
static inline __attribute__((always_inline)) int
cpjit_method_not_shadowed(CpjitAttrCache *cache, int way, PyObject *obj)
{
    PyDictKeysObject *keys = ((PyHeapTypeObject *)Py_TYPE(obj))->ht_cached_keys;
    if (keys->dk_nentries != cache->index[way]) {
        return 0;
    }
    if (*_PyObject_ValuesPointer(obj) != NULL) {
        return 1;
    }
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(obj);
    return dict != NULL && dict->ma_keys == keys;
}

/* The value of `name` in `dict` (an instance's own), known without running code: 1 with *value
 * set (borrowed; NULL: absent) for unicode keys, probed by hash (combined or split); 0 for
 * general keys, whose probe may run __eq__. */
static inline int cpjit_dict_value(PyDictObject *dict, PyObject *name, PyObject **value)
{
    PyDictKeysObject *keys = dict->ma_keys;
    if (!DK_IS_UNICODE(keys)) {
        return 0;
    }
    Py_ssize_t ix = cpjit_keys_lookup(keys, name);
    *value = ix < 0 ? NULL
             : dict->ma_values != NULL ? dict->ma_values->values[ix]
                                       : DK_UNICODE_ENTRIES(keys)[ix].me_value;
    return 1;
}

/* Whether `dict` (an instance's own) has no value under `name`, known without running code
 * (else 0). */
static inline int cpjit_dict_lacks(PyDictObject *dict, PyObject *name)
{
    PyObject *value;
    return cpjit_dict_value(dict, name, &value) && value == NULL;
}

/* Whether instance `obj` holds no value under `name` in a dict of its own, or has no dict and no
 * inline values at all, known without running code (else 0: also for inline values, which
 * CPJIT_METHOD_VALUES and CPJIT_ATTR_CLASS_VALUES serve). Its type's dict is managed, or at a
 * tp_dictoffset. */
static inline int cpjit_own_dict_lacks(PyObject *obj, PyObject *name)
{
    PyDictObject *dict;
    if (Py_TYPE(obj)->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        if (*_PyObject_ValuesPointer(obj) != NULL) {
            return 0;
        }
        dict = (PyDictObject *)*_PyObject_ManagedDictPointer(obj);
    }
    else {
        dict = cpjit_offset_dict(obj);
    }
    return dict == NULL || cpjit_dict_lacks(dict, name);
}

/* LOAD_METHOD's cached lookup: the borrowed method descriptor for `obj`'s type, or NULL. */
static inline __attribute__((always_inline)) PyObject *
cpjit_method_cached(CpjitAttrCache *cache, PyObject *obj, PyObject *name)
{
    int way = cpjit_attr_way(cache, Py_TYPE(obj));
    if (way < 0) {
        return NULL;
    }
    uint8_t kind = cache->kind[way];
    if (kind == CPJIT_METHOD_NO_DICT
        || (kind == CPJIT_METHOD_VALUES && cpjit_method_not_shadowed(cache, way, obj))) {
        return cache->descr[way];
    }
    if (kind == CPJIT_METHOD_DICT && cpjit_own_dict_lacks(obj, name)) {
        return cache->descr[way];
    }
    return NULL;
}

/* Module attribute fast path (CPJIT_ATTR_MODULE): a borrowed value, or NULL on a miss. */
static inline __attribute__((always_inline)) PyObject *
cpjit_module_attr_cached(CpjitAttrCache *cache, PyObject *owner)
{
    if (cache->kind[0] != CPJIT_ATTR_MODULE || owner != cache->mod.module
        || !Py_IS_TYPE(owner, &PyModule_Type)) {
        return NULL;
    }
    PyObject *dict = ((PyModuleObject *)owner)->md_dict;
    if (((PyDictObject *)dict)->ma_version_tag != cache->mod.dict_version) {
        return NULL;
    }
    return cache->mod.value;
}

/* The two version tags CPJIT_ATTR_CLASS is keyed on: the metaclass's (high) and the class's. */
static inline uint64_t cpjit_class_versions(PyTypeObject *cls)
{
    return (uint64_t)Py_TYPE(cls)->tp_version_tag << 32 | cls->tp_version_tag;
}

/* Whether the cache's CPJIT_ATTR_CLASS entry answers for `owner`. PyType_Check before the
 * version tags: the cached class may have died and its address gone to an object that is no
 * class (version tags are never reused, so a new class there misses). */
static inline __attribute__((always_inline)) int
cpjit_class_entry_holds(CpjitAttrCache *cache, PyObject *owner)
{
    return cache->kind[0] == CPJIT_ATTR_CLASS && owner == cache->mod.module
           && PyType_Check(owner)
           && cpjit_class_versions((PyTypeObject *)owner) == cache->mod.dict_version;
}

/* CPJIT_ATTR_CLASS when the value has no __get__ (a class constant, ParserElement.packrat_cache,
 * Token.M_OPEN) or is a plain function, whose __get__ with no instance returns it (`Base.method`
 * read to call it as `Base.method(self)`): borrowed, or NULL on a miss or when its type (read
 * now) has another __get__, which cpjit_class_attr_cached calls out of line. */
static inline __attribute__((always_inline)) PyObject *
cpjit_class_value_cached(CpjitAttrCache *cache, PyObject *owner)
{
    if (!cpjit_class_entry_holds(cache, owner)) {
        return NULL;
    }
    PyObject *value = cache->mod.value;
    if (Py_TYPE(value)->tp_descr_get != NULL && !Py_IS_TYPE(value, &PyFunction_Type)) {
        return NULL;
    }
    return value;
}

/* The stencils' out-of-line paths. Each gets the frame, the stack pointer, the instruction's
 * cache and its REDO value (cpjit_decode_redo: the instruction, stored as prev_instr first as
 * everything here may raise or run code, and its oparg: the name is co_names[oparg]); it serves whatever the stencil's in-line path did not
 * (the second-tier cached kinds: __slots__ members, dicts probed at a hint, module and class
 * attributes; deallocations, the generic path, and refilling the cache), leaves the stack as the instruction does, and returns 0, or -1 with an exception set
 * and the stack as ceval.c's `goto error` has it.
 *   LOAD_ATTR:   sp[-1] owner -> attribute (owner stays on failure).
 *   LOAD_METHOD: sp[-1] obj -> [meth, self] or [NULL, attr] at sp[-1], sp[0] (the stencil
 *                grows the stack by one after success; obj stays on failure).
 *   STORE_ATTR:  sp[1] owner, sp[0] value, just popped (the stencil shrinks the stack by two
 *                first): both consumed, success or not.
 *   LOAD_GLOBAL: returns the number of values pushed at sp[0] (1 or 2: NULL first when
 *                oparg & 1), or -1. */
int cpjit_load_attr_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo);
int cpjit_load_method_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo);
int cpjit_store_attr_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo);
int cpjit_load_global_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitGlobalCache *cache,
                         _Py_CODEUNIT *redo);

/* Whether the cache holds one of the kinds that fill it whole (kind[0], no ways). */
static inline int cpjit_attr_whole_cache(CpjitAttrCache *cache)
{
    return cache->kind[0] == CPJIT_ATTR_MODULE || cache->kind[0] == CPJIT_ATTR_CLASS;
}

/* CPJIT_ATTR_CLASS: a new reference, or NULL on a miss (or NULL with an exception raised by
 * the value's __get__). */
PyObject *cpjit_class_attr_cached(CpjitAttrCache *cache, PyObject *owner);

/* LOAD_ATTR's generic path: PyObject_GetAttr, then (on success) fill `cache` if the access can
 * be served from the instance's inline values next time. */
PyObject *cpjit_load_attr_fill(PyObject *owner, PyObject *name, CpjitAttrCache *cache);
/* STORE_ATTR's generic path (borrowed owner and value), filling `cache` likewise. 0 or -1. */
int cpjit_store_attr_fill(PyObject *owner, PyObject *name, PyObject *v, CpjitAttrCache *cache);
/* LOAD_METHOD's generic path: _PyObject_GetMethod, then fill `cache` for a plain method. */
int cpjit_load_method_fill(PyObject *obj, PyObject *name, PyObject **meth,
                           CpjitAttrCache *cache);

#endif
