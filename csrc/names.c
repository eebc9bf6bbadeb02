/* names.c: the helpers of names.h. Each function mirrors the named part of CPython 3.11's
 * ceval.c (Python/ceval.c), including the exact error messages and the order of lookups. */
#include "names.h"
#include "attr_table.h"
#include "calls.h"
#include "data.h"
#include "helpers.h"
#include "slowpaths.h"

#include "structmember.h"
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"

/* Look `name` up in a mapping the ceval.c way: exact dicts without raising KeyError, other
 * mappings through __getitem__ with KeyError swallowed. Returns a new reference; NULL with no
 * error when missing, NULL with an error on failure. */
static PyObject *lookup_in_mapping(PyThreadState *tstate, PyObject *ns, PyObject *name)
{
    if (PyDict_CheckExact(ns)) {
        PyObject *v = PyDict_GetItemWithError(ns, name);
        Py_XINCREF(v);
        return v;
    }
    PyObject *v = PyObject_GetItem(ns, name);
    if (v == NULL && _PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
        _PyErr_Clear(tstate);
    }
    return v;
}

PyObject *cpjit_load_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name)
{
    PyObject *locals = frame->f_locals;
    if (locals == NULL) {
        _PyErr_Format(tstate, PyExc_SystemError, "no locals when loading %R", name);
        return NULL;
    }
    PyObject *v = lookup_in_mapping(tstate, locals, name);
    if (v != NULL || _PyErr_Occurred(tstate)) {
        return v;
    }
    /* Globals are always read with PyDict_GetItemWithError, as ceval.c does. */
    v = PyDict_GetItemWithError(frame->f_globals, name);
    if (v != NULL) {
        return Py_NewRef(v);
    }
    if (_PyErr_Occurred(tstate)) {
        return NULL;
    }
    PyObject *builtins = frame->f_builtins;
    if (PyDict_CheckExact(builtins)) {
        v = PyDict_GetItemWithError(builtins, name);
        if (v == NULL) {
            if (!_PyErr_Occurred(tstate)) {
                cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
            }
            return NULL;
        }
        return Py_NewRef(v);
    }
    v = PyObject_GetItem(builtins, name);
    if (v == NULL && _PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
        cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
    }
    return v;
}

int cpjit_store_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                     PyObject *v)
{
    PyObject *ns = frame->f_locals;
    if (ns == NULL) {
        _PyErr_Format(tstate, PyExc_SystemError, "no locals found when storing %R", name);
        return -1;
    }
    if (PyDict_CheckExact(ns)) {
        return PyDict_SetItem(ns, name, v);
    }
    return PyObject_SetItem(ns, name, v);
}

int cpjit_store_name_at(_PyInterpreterFrame *frame, PyObject **sp, _Py_CODEUNIT *redo)
{
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    PyObject *v = sp[0];
    int err = cpjit_store_name(_PyThreadState_GET(), frame,
                               PyTuple_GET_ITEM(frame->f_code->co_names, oparg), v);
    Py_DECREF(v);
    return err;
}

int cpjit_delete_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name)
{
    PyObject *ns = frame->f_locals;
    if (ns == NULL) {
        _PyErr_Format(tstate, PyExc_SystemError, "no locals when deleting %R", name);
        return -1;
    }
    if (PyObject_DelItem(ns, name) != 0) {
        /* ceval.c replaces whatever the deletion raised with NameError. */
        cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
        return -1;
    }
    return 0;
}

int cpjit_delete_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name)
{
    if (PyDict_DelItem(frame->f_globals, name) != 0) {
        if (_PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
            cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
        }
        return -1;
    }
    return 0;
}

PyObject *cpjit_load_build_class(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyObject *builtins = frame->f_builtins;
    PyObject *bc;
    if (PyDict_CheckExact(builtins)) {
        bc = _PyDict_GetItemWithError(builtins, &_Py_ID(__build_class__));
        if (bc == NULL) {
            if (!_PyErr_Occurred(tstate)) {
                _PyErr_SetString(tstate, PyExc_NameError, "__build_class__ not found");
            }
            return NULL;
        }
        return Py_NewRef(bc);
    }
    bc = PyObject_GetItem(builtins, &_Py_ID(__build_class__));
    if (bc == NULL && _PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
        _PyErr_SetString(tstate, PyExc_NameError, "__build_class__ not found");
    }
    return bc;
}

int cpjit_setup_annotations(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyObject *locals = frame->f_locals;
    if (locals == NULL) {
        _PyErr_Format(tstate, PyExc_SystemError, "no locals found when setting up annotations");
        return -1;
    }
    PyObject *key = &_Py_ID(__annotations__);
    PyObject *ann_dict;
    if (PyDict_CheckExact(locals)) {
        ann_dict = _PyDict_GetItemWithError(locals, key);
        if (ann_dict != NULL) {
            return 0;
        }
        if (_PyErr_Occurred(tstate)) {
            return -1;
        }
        ann_dict = PyDict_New();
        if (ann_dict == NULL) {
            return -1;
        }
        int err = PyDict_SetItem(locals, key, ann_dict);
        Py_DECREF(ann_dict);
        return err != 0 ? -1 : 0;
    }
    ann_dict = PyObject_GetItem(locals, key);
    if (ann_dict != NULL) {
        Py_DECREF(ann_dict);
        return 0;
    }
    if (!_PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
        return -1;
    }
    _PyErr_Clear(tstate);
    ann_dict = PyDict_New();
    if (ann_dict == NULL) {
        return -1;
    }
    int err = PyObject_SetItem(locals, key, ann_dict);
    Py_DECREF(ann_dict);
    return err != 0 ? -1 : 0;
}

void cpjit_format_exc_unbound(PyThreadState *tstate, PyCodeObject *co, int oparg)
{
    if (_PyErr_Occurred(tstate)) {
        return; /* don't stomp an existing exception */
    }
    PyObject *name = PyTuple_GET_ITEM(co->co_localsplusnames, oparg);
    if (oparg < co->co_nplaincellvars + co->co_nlocals) {
        cpjit_format_exc_check_arg(tstate, PyExc_UnboundLocalError,
                                   CPJIT_UNBOUNDLOCAL_ERROR_MSG, name);
    }
    else {
        cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_UNBOUNDFREE_ERROR_MSG, name);
    }
}

PyObject *cpjit_load_classderef(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg)
{
    PyCodeObject *co = frame->f_code;
    PyObject *name = PyTuple_GET_ITEM(co->co_localsplusnames, oparg);
    PyObject *value = lookup_in_mapping(tstate, frame->f_locals, name);
    if (value != NULL || _PyErr_Occurred(tstate)) {
        return value;
    }
    value = PyCell_GET(frame->localsplus[oparg]);
    if (value == NULL) {
        cpjit_format_exc_unbound(tstate, co, oparg);
        return NULL;
    }
    return Py_NewRef(value);
}

PyObject *cpjit_import_name(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                            PyObject *fromlist, PyObject *level)
{
    PyObject *import_func = _PyDict_GetItemWithError(frame->f_builtins, &_Py_ID(__import__));
    if (import_func == NULL) {
        if (!_PyErr_Occurred(tstate)) {
            _PyErr_SetString(tstate, PyExc_ImportError, "__import__ not found");
        }
        return NULL;
    }
    PyObject *locals = frame->f_locals == NULL ? Py_None : frame->f_locals;
    /* builtins.__import__ not replaced: go straight to the import machinery. */
    if (import_func == tstate->interp->import_func) {
        int ilevel = _PyLong_AsInt(level);
        if (ilevel == -1 && _PyErr_Occurred(tstate)) {
            return NULL;
        }
        return PyImport_ImportModuleLevelObject(name, frame->f_globals, locals, fromlist,
                                                ilevel);
    }
    Py_INCREF(import_func);
    PyObject *stack[5] = {name, frame->f_globals, locals, fromlist, level};
    PyObject *res = _PyObject_FastCall(import_func, stack, 5);
    Py_DECREF(import_func);
    return res;
}

PyObject *cpjit_import_from(PyThreadState *tstate, PyObject *v, PyObject *name)
{
    PyObject *x;
    if (_PyObject_LookupAttr(v, name, &x) != 0) {
        return x;
    }
    /* A circular relative import may have left the submodule only in sys.modules (bpo-17636). */
    PyObject *pkgname = PyObject_GetAttr(v, &_Py_ID(__name__));
    if (pkgname != NULL && !PyUnicode_Check(pkgname)) {
        Py_CLEAR(pkgname);
    }
    if (pkgname != NULL) {
        PyObject *fullmodname = PyUnicode_FromFormat("%U.%U", pkgname, name);
        if (fullmodname == NULL) {
            Py_DECREF(pkgname);
            return NULL;
        }
        x = PyImport_GetModule(fullmodname);
        Py_DECREF(fullmodname);
        if (x != NULL || _PyErr_Occurred(tstate)) {
            Py_DECREF(pkgname);
            return x;
        }
    }

    /* Not found: ImportError naming the module and where it lives. From here pkgname is
     * owned (or NULL) and handed to pkgname_or_unknown. */
    PyObject *pkgpath = PyModule_GetFilenameObject(v);
    PyObject *pkgname_or_unknown = pkgname;
    if (pkgname == NULL) {
        pkgname_or_unknown = PyUnicode_FromString("<unknown module name>");
        if (pkgname_or_unknown == NULL) {
            Py_XDECREF(pkgpath);
            return NULL;
        }
    }
    PyObject *errmsg;
    if (pkgpath == NULL || !PyUnicode_Check(pkgpath)) {
        _PyErr_Clear(tstate);
        errmsg = PyUnicode_FromFormat("cannot import name %R from %R (unknown location)", name,
                                      pkgname_or_unknown);
        /* NULL errmsg / pkgname are handled by PyErr_SetImportError. */
        PyErr_SetImportError(errmsg, pkgname, NULL);
    }
    else {
        PyObject *spec = PyObject_GetAttr(v, &_Py_ID(__spec__));
        const char *fmt = _PyModuleSpec_IsInitializing(spec)
                              ? "cannot import name %R from partially initialized module %R "
                                "(most likely due to a circular import) (%S)"
                              : "cannot import name %R from %R (%S)";
        Py_XDECREF(spec);
        errmsg = PyUnicode_FromFormat(fmt, name, pkgname_or_unknown, pkgpath);
        PyErr_SetImportError(errmsg, pkgname, pkgpath);
    }
    Py_XDECREF(errmsg);
    Py_XDECREF(pkgname_or_unknown);
    Py_XDECREF(pkgpath);
    return NULL;
}

int cpjit_import_all_from(PyThreadState *tstate, PyObject *locals, PyObject *v)
{
    PyObject *all, *dict;
    int skip_leading_underscores = 0;
    if (_PyObject_LookupAttr(v, &_Py_ID(__all__), &all) < 0) {
        return -1;
    }
    if (all == NULL) {
        if (_PyObject_LookupAttr(v, &_Py_ID(__dict__), &dict) < 0) {
            return -1;
        }
        if (dict == NULL) {
            _PyErr_SetString(tstate, PyExc_ImportError,
                             "from-import-* object has no __dict__ and no __all__");
            return -1;
        }
        all = PyMapping_Keys(dict);
        Py_DECREF(dict);
        if (all == NULL) {
            return -1;
        }
        skip_leading_underscores = 1;
    }

    int err = 0;
    for (Py_ssize_t pos = 0;; pos++) {
        PyObject *name = PySequence_GetItem(all, pos);
        if (name == NULL) {
            if (!_PyErr_ExceptionMatches(tstate, PyExc_IndexError)) {
                err = -1;
            }
            else {
                _PyErr_Clear(tstate);
            }
            break;
        }
        if (!PyUnicode_Check(name)) {
            PyObject *modname = PyObject_GetAttr(v, &_Py_ID(__name__));
            if (modname == NULL) {
                Py_DECREF(name);
                err = -1;
                break;
            }
            if (!PyUnicode_Check(modname)) {
                _PyErr_Format(tstate, PyExc_TypeError,
                              "module __name__ must be a string, not %.100s",
                              Py_TYPE(modname)->tp_name);
            }
            else {
                _PyErr_Format(tstate, PyExc_TypeError, "%s in %U.%s must be str, not %.100s",
                              skip_leading_underscores ? "Key" : "Item", modname,
                              skip_leading_underscores ? "__dict__" : "__all__",
                              Py_TYPE(name)->tp_name);
            }
            Py_DECREF(modname);
            Py_DECREF(name);
            err = -1;
            break;
        }
        if (skip_leading_underscores) {
            if (PyUnicode_READY(name) == -1) {
                Py_DECREF(name);
                err = -1;
                break;
            }
            if (PyUnicode_READ_CHAR(name, 0) == '_') {
                Py_DECREF(name);
                continue;
            }
        }
        PyObject *value = PyObject_GetAttr(v, name);
        if (value == NULL) {
            err = -1;
        }
        else if (PyDict_CheckExact(locals)) {
            err = PyDict_SetItem(locals, name, value);
        }
        else {
            err = PyObject_SetItem(locals, name, value);
        }
        Py_DECREF(name);
        Py_XDECREF(value);
        if (err != 0) {
            break;
        }
    }
    Py_DECREF(all);
    return err;
}


PyObject *cpjit_ex_kwargs(PyThreadState *tstate, PyObject *func, PyObject *kwargs)
{
    if (PyDict_CheckExact(kwargs)) {
        return kwargs;
    }
    PyObject *d = PyDict_New();
    if (d == NULL) {
        Py_DECREF(kwargs);
        return NULL;
    }
    if (_PyDict_MergeEx(d, kwargs, 2) < 0) {
        Py_DECREF(d);
        cpjit_format_kwargs_error(tstate, func, kwargs);
        Py_DECREF(kwargs);
        return NULL;
    }
    Py_DECREF(kwargs);
    return d;
}

PyObject *cpjit_ex_callargs(PyThreadState *tstate, PyObject *func, PyObject *callargs)
{
    if (PyTuple_CheckExact(callargs)) {
        return callargs;
    }
    /* ceval.c's check_args_iterable. */
    if (Py_TYPE(callargs)->tp_iter == NULL && !PySequence_Check(callargs)) {
        _PyErr_Clear(tstate);
        PyObject *funcstr = _PyObject_FunctionStr(func);
        if (funcstr != NULL) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "%U argument after * must be an iterable, not %.200s", funcstr,
                          Py_TYPE(callargs)->tp_name);
            Py_DECREF(funcstr);
        }
        Py_DECREF(callargs);
        return NULL;
    }
    PyObject *t = PySequence_Tuple(callargs);
    Py_DECREF(callargs);
    return t;
}

/* ---- dict keys lookup and LOAD_GLOBAL's cache (see names.h) ---- */

/* Slot `i` of the keys' hash index: an entry index, DKIX_EMPTY or DKIX_DUMMY (dictobject.c's
 * dictkeys_get_index; the index width grows with the table). */
static inline Py_ssize_t keys_slot(PyDictKeysObject *keys, size_t i)
{
    uint8_t log2size = DK_LOG_SIZE(keys);
    if (log2size < 8) {
        return ((const int8_t *)keys->dk_indices)[i];
    }
    if (log2size < 16) {
        return ((const int16_t *)keys->dk_indices)[i];
    }
    if (log2size >= 32) {
        return ((const int64_t *)keys->dk_indices)[i];
    }
    return ((const int32_t *)keys->dk_indices)[i];
}

CPJIT_HOT
Py_ssize_t cpjit_keys_lookup(PyDictKeysObject *keys, PyObject *name)
{
    if (keys == NULL || !DK_IS_UNICODE(keys) || !PyUnicode_CheckExact(name)) {
        return -1;
    }
    Py_hash_t hash = ((PyASCIIObject *)name)->hash;
    if (hash == -1) {
        hash = PyObject_Hash(name);
        if (hash == -1) {
            PyErr_Clear();
            return -1;
        }
    }
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    size_t mask = (size_t)DK_SIZE(keys) - 1;
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    /* The same probe sequence as dictobject.c (PERTURB_SHIFT 5); the table always has an empty
     * slot, so the loop ends. */
    for (;;) {
        Py_ssize_t ix = keys_slot(keys, i);
        if (ix >= 0) {
            PyObject *key = entries[ix].me_key;
            if (key == name
                || (((PyASCIIObject *)key)->hash == hash && _PyUnicode_EQ(key, name))) {
                return ix;
            }
        }
        else if (ix == DKIX_EMPTY) {
            return -1;
        }
        perturb >>= 5;
        i = (i * 5 + perturb + 1) & mask;
    }
}

/* Keys versions. CPython 3.11 hands out dk_version values from a private counter that starts at
 * 2 (_PyDictKeys_GetVersionForCurrentState, not exported) and resets a keys object's version to
 * 0 whenever a key is added or removed. cpjit assigns versions to keys that have none from a
 * counter of its own starting at 2**31, so the two never hand out the same number (CPython's
 * would have to count past two billion keys changes). Either side's version identifies the same
 * thing: this set of keys, unchanged. (A combined dict's copy may clone its keys, version
 * included: same keys, same layout, each read from its own entries, so still the same answer.) */
static uint32_t next_keys_version = 0x80000000u;

static uint32_t keys_version(PyDictKeysObject *keys)
{
    if (keys->dk_version == 0 && next_keys_version != 0) {
        keys->dk_version = next_keys_version++;
    }
    return keys->dk_version;
}

/* Whether LOAD_GLOBAL may cache lookups in `d` (see CpjitGlobalCache). */
static int global_dict_cacheable(PyObject *d)
{
    return PyDict_CheckExact(d) && ((PyDictObject *)d)->ma_values == NULL
           && DK_IS_UNICODE(((PyDictObject *)d)->ma_keys);
}

PyObject *cpjit_load_global_cached(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                   PyObject *name, CpjitGlobalCache *cache)
{
    PyObject *v = cpjit_load_global(tstate, frame, name);
    if (v == NULL) {
        return NULL;
    }
    if (cache->cooldown > 0) {
        cache->cooldown--;
        return v;
    }
    cache->dict_type = NULL;
    cache->globals_version = 0;
    if (!global_dict_cacheable(frame->f_globals) || !global_dict_cacheable(frame->f_builtins)
        || !PyUnicode_CheckExact(name)) {
        cache->cooldown = 1024;
        return v;
    }
    PyDictKeysObject *gkeys = ((PyDictObject *)frame->f_globals)->ma_keys;
    PyDictKeysObject *bkeys = ((PyDictObject *)frame->f_builtins)->ma_keys;
    PyDictKeysObject *home = gkeys;
    Py_ssize_t ix = cpjit_keys_lookup(gkeys, name);
    cache->builtins_version = 0;
    if (ix < 0) {
        home = bkeys;
        ix = cpjit_keys_lookup(bkeys, name);
    }
    /* The entry found must hold what the generic lookup just returned (nothing ran between). */
    if (ix < 0 || ((char *)&DK_UNICODE_ENTRIES(home)[ix].me_value - (char *)home) > UINT32_MAX
        || DK_UNICODE_ENTRIES(home)[ix].me_value != v) {
        cache->cooldown = 1024;
        return v;
    }
    if (home == bkeys && (cache->builtins_version = keys_version(bkeys)) == 0) {
        cache->cooldown = 1024;
        return v;
    }
    cache->value_offset =
        (uint32_t)((char *)&DK_UNICODE_ENTRIES(home)[ix].me_value - (char *)home);
    cache->globals_version = keys_version(gkeys);
    if (cache->globals_version != 0) {
        cache->dict_type = &PyDict_Type;
    }
    /* A site that keeps missing (globals being added/removed all the time) backs off. */
    cache->cooldown = 16;
    return v;
}

/* ---- attribute caches (see CpjitAttrCache in names.h) ---- */

/* One way's worth of cache (attr_table.h). */
typedef CpjitAttrEntry AttrEntry;

/* Whether reading an attribute of `tp`'s instances starts with the generic lookup: its
 * tp_getattro is PyObject_GenericGetAttr, or it is a class whose __getattribute__ is object's
 * (the wrapper of PyObject_GenericGetAttr) with a __getattr__ hook, which typeobject.c's
 * slot_tp_getattr_hook calls only when that lookup raises AttributeError. Whatever the lookup
 * finds is then the answer, so the kinds that serve only what it would find (inline values,
 * dicts by hint, slots, plain class values; a miss goes the generic way) apply. Not for data
 * descriptors, whose __get__ raising AttributeError must reach the hook. 3.11's specialiser
 * takes only the first case; the hook is common (pyparsing's ParseResults). A change to
 * __getattribute__ or __getattr__ on the class or a base changes its version tag. */
static int generic_lookup_first(PyTypeObject *tp)
{
    if (tp->tp_getattro == PyObject_GenericGetAttr) {
        return 1;
    }
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        return 0;
    }
    PyObject *ga = _PyType_Lookup(tp, &_Py_ID(__getattribute__));
    return ga != NULL && Py_IS_TYPE(ga, &PyWrapperDescr_Type)
           && ((PyWrapperDescrObject *)ga)->d_wrapped == (void *)PyObject_GenericGetAttr;
}

/* The type attribute `name` resolves to, classified as specialize.c's analyze_descriptor does.
 * Returns 1 when instance values may be used for it (no attribute on the type, or one whose type
 * is immutable and has no __set__), 0 otherwise. Also leaves the type with a valid version tag
 * when it can have one (_PyType_Lookup assigns it). */
static int instance_may_shadow(PyTypeObject *tp, PyObject *name, int store)
{
    if (store ? tp->tp_setattro != PyObject_GenericSetAttr : !generic_lookup_first(tp)) {
        return 0;
    }
    PyObject *d = _PyType_Lookup(tp, name);
    if (d == NULL) {
        return 1;
    }
    PyTypeObject *dt = Py_TYPE(d);
    return (dt->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) && dt->tp_descr_set == NULL;
}

static int has_version(PyTypeObject *tp)
{
    return (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) && tp->tp_version_tag != 0;
}

static void set_entry(AttrEntry *e, PyTypeObject *tp, uint8_t kind, Py_ssize_t index)
{
    e->kind = kind;
    e->index = (uint16_t)index;
    e->version = tp->tp_version_tag;
}

/* An attribute in the instance's inline values (LOAD_ATTR_INSTANCE_VALUE). */
static void values_entry(PyObject *owner, PyObject *name, int store, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || !instance_may_shadow(tp, name, store)
        || !has_version(tp)) {
        return;
    }
    Py_ssize_t index = cpjit_keys_lookup(((PyHeapTypeObject *)tp)->ht_cached_keys, name);
    if (index < 0 || index != (uint16_t)index) {
        return;
    }
    set_entry(e, tp, CPJIT_ATTR_VALUES, index);
    e->descr = name;
}

/* A __slots__ member of `owner`'s type holding an object (what LOAD_ATTR_SLOT handles). */
static void slot_entry(PyObject *owner, PyObject *name, int store, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    /* A load needs the generic lookup first (generic_lookup_first), a store only the generic
     * __setattr__ (as 3.11's analyze_descriptor decides for stores). */
    if (store ? tp->tp_setattro != PyObject_GenericSetAttr : !generic_lookup_first(tp)) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL || Py_TYPE(descr) != &PyMemberDescr_Type || !has_version(tp)) {
        return;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != T_OBJECT_EX || (store && (m->flags & READONLY)) || m->offset <= 0
        || m->offset != (uint16_t)m->offset) {
        return;
    }
    set_entry(e, tp, CPJIT_ATTR_SLOT, m->offset);
}

/* STORE_ATTR to an instance that keeps its attributes in a dict of its own (the name need not be
 * in the class's shared keys yet): what _PyObject_GenericSetAttrWithDict does then is
 * PyDict_SetItem on that dict, given a generic __setattr__ and no data descriptor (both guarded
 * by the type version). */
static void store_dict_entry(PyObject *owner, PyObject *name, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || *_PyObject_ValuesPointer(owner) != NULL
        || *_PyObject_ManagedDictPointer(owner) == NULL || !instance_may_shadow(tp, name, 1)
        || !has_version(tp)) {
        return;
    }
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
    Py_ssize_t index = cpjit_keys_lookup(dict->ma_keys, name);
    set_entry(e, tp, CPJIT_ATTR_DICT_HINT, index >= 0 && index == (uint16_t)index ? index : 0);
    e->descr = name;
}

/* A `kind` entry for `name` at its entry in `dict` (an exact dict, else none), the instance
 * dict of an instance of `tp`. */
static void dict_hint_entry(PyTypeObject *tp, PyDictObject *dict, PyObject *name, uint8_t kind,
                            AttrEntry *e)
{
    if (dict == NULL || !PyDict_CheckExact(dict)) {
        return;
    }
    Py_ssize_t index = cpjit_keys_lookup(dict->ma_keys, name);
    if (index < 0 || index != (uint16_t)index || cpjit_dict_hint_value(dict, index, name) == NULL) {
        return;
    }
    set_entry(e, tp, kind, index);
    e->descr = name;
}

/* An instance whose inline values became a real dict (LOAD_ATTR_WITH_HINT). */
static void hint_entry(PyObject *owner, PyObject *name, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || *_PyObject_ValuesPointer(owner) != NULL
        || !instance_may_shadow(tp, name, 0) || !has_version(tp)) {
        return;
    }
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
    dict_hint_entry(tp, dict, name,
                    dict != NULL && dict->ma_keys == ((PyHeapTypeObject *)tp)->ht_cached_keys
                        ? CPJIT_ATTR_HINT
                        : CPJIT_ATTR_DICT_HINT,
                    e);
}

/* An attribute in an instance dict at the type's tp_dictoffset (CPJIT_ATTR_OFFSET_DICT_HINT):
 * hint_entry for types whose dict is not managed. */
static void offset_dict_entry(PyObject *owner, PyObject *name, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if ((tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) || tp->tp_dictoffset <= 0
        || !instance_may_shadow(tp, name, 0) || !has_version(tp)) {
        return;
    }
    dict_hint_entry(tp, *(PyDictObject **)((char *)owner + tp->tp_dictoffset), name,
                    CPJIT_ATTR_OFFSET_DICT_HINT, e);
}

/* What is known of whether instance `obj` holds `name` itself, for the kinds that serve a class
 * attribute when it does not (CPJIT_METHOD_* and CPJIT_ATTR_CLASS_*). */
enum {
    LACKS_UNKNOWN,  /* cannot be cached */
    LACKS_BY_KEYS,  /* attributes inline or in a dict sharing the class's keys, which lack the
                     * name while they have *nentries entries (keys are only appended to) */
    LACKS_NO_DICT,  /* instances have no dict at all */
    OWN_DICT,       /* a dict of its own, or none at all yet: managed without inline values
                     * (a subclass of str starts without either), or at the type's
                     * tp_dictoffset (subclasses of int, Exception, ast nodes); only a probe of
                     * it can tell (cpjit_own_dict_lacks) */
};
static int instance_lacks(PyObject *obj, PyObject *name, Py_ssize_t *nentries)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) {
        return tp->tp_dictoffset == 0 ? LACKS_NO_DICT : OWN_DICT;
    }
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (*_PyObject_ValuesPointer(obj) == NULL) {
        PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(obj);
        if (dict == NULL || dict->ma_keys != keys) {
            return OWN_DICT;
        }
    }
    if (keys == NULL || cpjit_keys_lookup(keys, name) >= 0
        || keys->dk_nentries != (uint16_t)keys->dk_nentries) {
        return LACKS_UNKNOWN;
    }
    *nentries = keys->dk_nentries;
    return LACKS_BY_KEYS;
}

/* A plain method (LOAD_METHOD_WITH_VALUES, LOAD_METHOD_NO_DICT) that _PyObject_GetMethod just
 * returned as `meth`. */
static void method_entry(PyObject *obj, PyObject *name, PyObject *meth, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp->tp_getattro != PyObject_GenericGetAttr) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    /* Only the descriptor _PyObject_GetMethod itself returned, and only if it is a method
     * descriptor of an immutable type (so it cannot grow a __set__ behind our back). */
    if (descr != meth || !has_version(tp)
        || !(Py_TYPE(descr)->tp_flags & Py_TPFLAGS_METHOD_DESCRIPTOR)
        || !(Py_TYPE(descr)->tp_flags & Py_TPFLAGS_IMMUTABLETYPE)) {
        return;
    }
    Py_ssize_t nentries;
    switch (instance_lacks(obj, name, &nentries)) {
    case LACKS_BY_KEYS:
        set_entry(e, tp, CPJIT_METHOD_VALUES, nentries);
        break;
    case LACKS_NO_DICT:
        set_entry(e, tp, CPJIT_METHOD_NO_DICT, 0);
        break;
    case OWN_DICT:
        /* An instance dict of its own (or none yet): probed on every use. */
        if (!cpjit_own_dict_lacks(obj, name)) {
            return;
        }
        set_entry(e, tp, CPJIT_METHOD_DICT, 0);
        break;
    default:
        return;
    }
    e->descr = descr;
}

/* Whether this miss may try to fill the cache (see the back-off in names.h). */
static int fill_allowed(CpjitAttrCache *cache)
{
    if (cache->cooldown > 0) {
        cache->cooldown--;
        return 0;
    }
    return 1;
}

/* A fill that failed, or evicted a valid entry, or found exactly the entry that just missed:
 * back off. */
static void fill_backoff(CpjitAttrCache *cache)
{
    if (cache->refills < 12) {
        cache->refills++;
    }
    cache->cooldown = (uint16_t)(1u << cache->refills);
}

static void clear_ways(CpjitAttrCache *cache)
{
    for (int i = 0; i < CPJIT_ATTR_WAYS; i++) {
        cache->version[i] = 0;
        cache->kind[i] = CPJIT_ATTR_NONE;
        cache->descr[i] = NULL;
    }
}

/* An empty way of `cache`, else the next one round robin (*evicted set): where a new entry
 * goes. */
static int free_or_next_way(CpjitAttrCache *cache, int *evicted)
{
    *evicted = 0;
    for (int i = 0; i < CPJIT_ATTR_WAYS; i++) {
        if (cache->version[i] == 0) {
            return i;
        }
    }
    int way = cache->next;
    cache->next = (uint8_t)((cache->next + 1) % CPJIT_ATTR_WAYS);
    *evicted = 1;
    return way;
}

/* Write `e` into way `way`. The version goes last: a way is never valid with a half-written
 * entry (the GIL makes this moot today, but it costs nothing). */
static inline void write_way(CpjitAttrCache *cache, int way, const AttrEntry *e)
{
    cache->version[way] = 0;
    cache->kind[way] = e->kind;
    cache->index[way] = e->index;
    cache->descr[way] = e->descr;
    cache->version[way] = e->version;
}

/* Put `e` in the way of its type, else an empty way, else evict one. */
static void install_entry(CpjitAttrCache *cache, AttrEntry *e)
{
    if (e->kind == CPJIT_ATTR_NONE) {
        fill_backoff(cache);
        return;
    }
    if (cpjit_attr_whole_cache(cache)) {
        clear_ways(cache);
        fill_backoff(cache);
    }
    int way = -1;
    for (int i = 0; i < CPJIT_ATTR_WAYS && way < 0; i++) {
        if (cache->version[i] == e->version) {
            /* This type's way missed: the same entry would miss again, and a different one
             * (instances of one class laid out differently) may thrash. */
            way = i;
            fill_backoff(cache);
            if (cache->kind[i] == e->kind && cache->index[i] == e->index
                && cache->descr[i] == e->descr) {
                return;
            }
        }
    }
    if (way < 0) {
        int evicted;
        way = free_or_next_way(cache, &evicted);
        if (evicted) {
            fill_backoff(cache);
        }
    }
    write_way(cache, way, e);
}

/* An attribute of a plain module, looked up in its dict (what LOAD_ATTR_MODULE handles), when
 * the generic lookup just returned `res`. Only for an exact ModuleType (immutable, so its own
 * attributes never change; a module whose __class__ is set to a subclass fails the type check
 * on use) and only when no data descriptor of ModuleType (__class__, __dict__, __annotations__)
 * takes precedence over the dict. 3.11's specialiser skips that last check, so plain CPython
 * serves `m.__dict__['__class__']` for `m.__class__` once the site is specialised; cpjit gives
 * the unspecialised (documented) answer. */
static void fill_module_cache(PyObject *owner, PyObject *name, PyObject *res,
                              CpjitAttrCache *cache)
{
    PyObject *dict = ((PyModuleObject *)owner)->md_dict;
    if (!Py_IS_TYPE(owner, &PyModule_Type) || dict == NULL || !PyDict_CheckExact(dict)) {
        fill_backoff(cache);
        return;
    }
    PyObject *descr = _PyType_Lookup(&PyModule_Type, name);
    if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL) {
        fill_backoff(cache);
        return;
    }
    PyObject *value = PyDict_GetItemWithError(dict, name);
    if (value == NULL) {
        PyErr_Clear();
    }
    if (value == NULL || value != res) {
        fill_backoff(cache);
        return;
    }
    if (cpjit_attr_whole_cache(cache) || cache->version[0] != 0) {
        fill_backoff(cache); /* replaces a valid entry */
    }
    clear_ways(cache);
    cache->kind[0] = CPJIT_ATTR_MODULE;
    cache->mod.module = owner;
    cache->mod.value = value;
    cache->mod.dict_version = ((PyDictObject *)dict)->ma_version_tag;
}

/* Whether attribute lookups on `owner` are type_getattro's: a class whose metaclass (`type`, or
 * a subclass such as ABCMeta or EnumMeta) defines neither __getattribute__ nor __getattr__. */
static int looked_up_as_a_class(PyObject *owner)
{
    return PyType_Check(owner) && Py_TYPE(owner)->tp_getattro == PyType_Type.tp_getattro;
}

/* Whether a class's metaclass defines __getattr__ in Python and leaves __getattribute__ to type
 * (3.11's EnumType, so `Color.RED`): typeobject.c's slot_tp_getattr_hook then calls type's
 * __getattribute__ (type_getattro) first and __getattr__ only after an AttributeError. A value
 * found on the class that has no __get__ raises none, so the answer for it is type_getattro's;
 * a descriptor's __get__ may raise one, so only such values are cached for these classes (and
 * served only while their type still has no __get__: cpjit_class_attr_cached). Both lookups
 * here depend on the metaclass's version, which CPJIT_ATTR_CLASS is keyed on. */
static int looked_up_through_getattr_hook(PyObject *owner)
{
    PyTypeObject *metatype = Py_TYPE(owner);
    return PyType_Check(owner) && cpjit_python_getattr_hook != NULL
           && metatype->tp_getattro == cpjit_python_getattr_hook
           && _PyType_Lookup(metatype, &_Py_ID(__getattribute__)) == cpjit_type_getattribute;
}

/* A class owner whose attribute reads go to fill_class_cache (one of the two above). */
static int class_owner(PyObject *owner)
{
    return looked_up_as_a_class(owner) || looked_up_through_getattr_hook(owner);
}

/* CPJIT_ATTR_DATA_DESCR's `index` for data descriptor `descr` found on type `tp` (names.h):
 * one of the getters the first tier answers for, when getset_get's own check (the owner an
 * instance of the descriptor's class) holds for every instance of `tp`; else GENERIC. */
static uint16_t data_descr_form(PyObject *descr, PyTypeObject *tp)
{
    if (cpjit_tuplegetter_type != NULL && Py_IS_TYPE(descr, cpjit_tuplegetter_type)) {
        /* tuplegetter_descr_get's own check: a tuple owner. */
        return PyType_IsSubtype(tp, &PyTuple_Type) ? CPJIT_DESCR_TUPLE_ITEM : CPJIT_DESCR_GENERIC;
    }
    if (!Py_IS_TYPE(descr, &PyGetSetDescr_Type)) {
        return CPJIT_DESCR_GENERIC;
    }
    PyGetSetDescrObject *gs = (PyGetSetDescrObject *)descr;
    getter get = gs->d_getset->get;
    if (get == NULL || !PyType_IsSubtype(tp, PyDescr_TYPE(gs))) {
        return CPJIT_DESCR_GENERIC;
    }
    if (get == cpjit_object_class_getter) {
        return CPJIT_DESCR_OWNER_TYPE;
    }
    if (get == cpjit_type_name_getter) {
        return CPJIT_DESCR_TYPE_NAME;
    }
    return CPJIT_DESCR_GENERIC;
}

/* An attribute of a class (CPJIT_ATTR_CLASS), when the generic lookup just returned `res`: what
 * type_getattro finds on the class itself, when no data descriptor of the metaclass takes
 * precedence. */
static void fill_class_cache(PyObject *owner, PyObject *name, PyObject *res, int for_method,
                             CpjitAttrCache *cache)
{
    PyTypeObject *cls = (PyTypeObject *)owner;
    PyTypeObject *metatype = Py_TYPE(owner);
    PyObject *meta = _PyType_Lookup(metatype, name);
    if (meta != NULL && Py_TYPE(meta)->tp_descr_set != NULL && !for_method) {
        /* A data descriptor of the metaclass comes first in type_getattro (cls.__name__,
         * __qualname__, __doc__, __dict__...): served as an instance's data descriptor is
         * (CPJIT_ATTR_DATA_DESCR, keyed on the metaclass's version, __get__(cls, metaclass)),
         * when its own type is immutable and has __get__. */
        PyTypeObject *dt = Py_TYPE(meta);
        AttrEntry e = {0};
        if (looked_up_as_a_class(owner) && has_version(metatype)
            && (dt->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) && dt->tp_descr_get != NULL) {
            set_entry(&e, metatype, CPJIT_ATTR_DATA_DESCR, data_descr_form(meta, metatype));
            e.descr = meta;
        }
        install_entry(cache, &e);
        return;
    }
    PyObject *value = _PyType_Lookup(cls, name);
    /* The metaclass's attribute of that name, if any, must never become a data descriptor
     * behind the versions this entry is keyed on: its type could gain __set__ (or the object
     * a new __class__ that has one) without the metaclass's or the class's version changing, and
     * type_getattro would then return its __get__ instead of the class's value. Only an
     * attribute of an immutable type (which neither can happen to) is left to the key. */
    if (!(looked_up_as_a_class(owner)
          || (value != NULL && Py_TYPE(value)->tp_descr_get == NULL
              && looked_up_through_getattr_hook(owner)))
        || (meta != NULL
            && (Py_TYPE(meta)->tp_descr_set != NULL
                || !(Py_TYPE(meta)->tp_flags & Py_TPFLAGS_IMMUTABLETYPE)))
        || value == NULL || !has_version(cls) || !has_version(metatype)
        || (Py_TYPE(value)->tp_descr_get == NULL && value != res)) {
        fill_backoff(cache);
        return;
    }
    if (cpjit_attr_whole_cache(cache) || cache->version[0] != 0) {
        fill_backoff(cache); /* replaces a valid entry */
    }
    clear_ways(cache);
    cache->kind[0] = CPJIT_ATTR_CLASS;
    cache->mod.module = owner;
    cache->mod.value = value;
    cache->mod.dict_version = cpjit_class_versions(cls);
}

/* What a descriptor's __get__(obj, type) returns (a new reference, or NULL with an exception),
 * the descriptor held across the call: __get__ can run code that drops the last reference the
 * type held. */
static PyObject *get_holding(PyObject *descr, PyObject *obj, PyObject *type)
{
    if (Py_IS_TYPE(descr, &PyProperty_Type)) {
        /* Its getter, held by the frame that runs it. */
        PyObject *res = cpjit_property_get(descr, obj);
        if (res != NULL || PyErr_Occurred()) {
            return res;
        }
    }
    Py_INCREF(descr);
    PyObject *res = Py_TYPE(descr)->tp_descr_get(descr, obj, type);
    Py_DECREF(descr);
    return res;
}

PyObject *cpjit_class_attr_cached(CpjitAttrCache *cache, PyObject *owner)
{
    if (!cpjit_class_entry_holds(cache, owner)) {
        return NULL;
    }
    PyObject *value = cache->mod.value;
    if (Py_TYPE(value)->tp_descr_get != NULL) {
        if (Py_TYPE(owner)->tp_getattro != PyType_Type.tp_getattro) {
            /* Its type gained __get__ since, under a metaclass's __getattr__
             * (looked_up_through_getattr_hook): an AttributeError from it goes to __getattr__,
             * which the generic lookup does. */
            return NULL;
        }
        return get_holding(value, NULL, owner);
    }
    Py_INCREF(value);
    return value;
}

/* A plain value on the class read through an instance that does not shadow it
 * (CPJIT_ATTR_CLASS_VALUES / _NO_DICT), when the generic lookup just returned `res`. */
static void class_value_entry(PyObject *owner, PyObject *name, PyObject *res, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (!generic_lookup_first(tp) || !has_version(tp)) {
        return;
    }
    PyObject *value = _PyType_Lookup(tp, name);
    if (value == NULL || value != res || Py_TYPE(value)->tp_descr_get != NULL
        || !(Py_TYPE(value)->tp_flags & Py_TPFLAGS_IMMUTABLETYPE)) {
        return;
    }
    Py_ssize_t nentries;
    switch (instance_lacks(owner, name, &nentries)) {
    case LACKS_BY_KEYS:
        set_entry(e, tp, CPJIT_ATTR_CLASS_VALUES, nentries);
        break;
    case LACKS_NO_DICT:
        set_entry(e, tp, CPJIT_ATTR_CLASS_NO_DICT, 0);
        break;
    case OWN_DICT:
        if (!cpjit_own_dict_lacks(owner, name)) {
            return;
        }
        set_entry(e, tp, CPJIT_ATTR_CLASS_DICT, 0);
        break;
    default:
        return;
    }
    e->descr = value;
}

/* A data descriptor on the class (CPJIT_ATTR_DATA_DESCR): what the generic lookup calls first,
 * before the instance dict. Only descriptors of immutable types (property, getset and member
 * descriptors), which cannot lose their __set__ without the owner's class changing. */
static void data_descr_entry(PyObject *owner, PyObject *name, AttrEntry *e)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (tp->tp_getattro != PyObject_GenericGetAttr || !has_version(tp)) {
        return;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL) {
        return;
    }
    PyTypeObject *dt = Py_TYPE(descr);
    if (!(dt->tp_flags & Py_TPFLAGS_IMMUTABLETYPE) || dt->tp_descr_get == NULL
        || dt->tp_descr_set == NULL) {
        return;
    }
    set_entry(e, tp, CPJIT_ATTR_DATA_DESCR, data_descr_form(descr, tp));
    e->descr = descr;
}

/* The entry a fill computes for an instance owner (not a module, not a class looked up as one)
 * whose generic lookup of `name` (an exact str) just returned `res` (NULL for a store): kind
 * CPJIT_ATTR_NONE when no kind applies. */
static void instance_entry(PyObject *owner, PyObject *name, PyObject *res, int store,
                           AttrEntry *e)
{
    if (!store && (Py_TYPE(owner)->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        && *_PyObject_ValuesPointer(owner) == NULL) {
        /* A dict-backed instance: its own dict's entry index (which may differ from the shared
         * keys' one once the dict was rebuilt), so that the next read of it hits. */
        hint_entry(owner, name, e);
    }
    if (!store && e->kind == CPJIT_ATTR_NONE) {
        offset_dict_entry(owner, name, e);
    }
    if (e->kind == CPJIT_ATTR_NONE) {
        values_entry(owner, name, store, e);
    }
    if (e->kind == CPJIT_ATTR_NONE) {
        slot_entry(owner, name, store, e);
    }
    if (e->kind == CPJIT_ATTR_NONE && store) {
        store_dict_entry(owner, name, e);
    }
    if (e->kind == CPJIT_ATTR_NONE && !store) {
        class_value_entry(owner, name, res, e);
    }
    if (e->kind == CPJIT_ATTR_NONE && !store) {
        data_descr_entry(owner, name, e);
    }
    if (e->kind == CPJIT_ATTR_NONE && !store) {
        /* A method read as a value (`f = obj.method`, `key=self.method`): LOAD_METHOD's entry,
         * bound in load_attr_rest as the generic lookup binds it. */
        PyObject *descr = _PyType_Lookup(Py_TYPE(owner), name);
        if (descr != NULL) {
            method_entry(owner, name, descr, e);
        }
    }
}

/* File a fill's entry in the shared table (attr_table.h) under `access`. */
static void file_entry(int access, PyObject *name, AttrEntry *e)
{
    if (e->kind != CPJIT_ATTR_NONE && e->version != 0) {
        cpjit_attr_table_put(access, name, e);
    }
}

/* A backing-off site files at most one miss in CPJIT_FILE_EVERY: a type whose version changes
 * at every use (a class attribute rebound in a loop: `type(self).count += 1`) would otherwise
 * have each of its misses build and file an entry that no lookup ever finds, about 270
 * instructions a miss where the lookup itself costs under 100. */
#define CPJIT_FILE_EVERY 16

/* A site backing off (no fill of its own ways) still files the entry for an instance owner's
 * type, once: what other misses of this site, and other sites, then take from the table. An
 * access no kind serves (a bound method's __name__) is filed too, as kind CPJIT_ATTR_NONE,
 * which no site adopts: it only spares the next miss working that out again. Called after the
 * site's cooldown count went down for this miss; files on one count in CPJIT_FILE_EVERY. */
CPJIT_HOT
static void file_entry_once(int access, PyObject *owner, PyObject *name, PyObject *res,
                            const CpjitAttrCache *cache)
{
    if (cache->cooldown % CPJIT_FILE_EVERY != 0) {
        return;
    }
    uint32_t tag = Py_TYPE(owner)->tp_version_tag;
    AttrEntry e = {0};
    if (tag == 0 || !PyUnicode_CheckExact(name) || PyModule_CheckExact(owner)
        || class_owner(owner) || cpjit_attr_table_get(access, tag, name, &e)) {
        return;
    }
    if (access == CPJIT_ACCESS_METHOD) {
        method_entry(owner, name, res, &e);
    }
    else {
        instance_entry(owner, name, res, access == CPJIT_ACCESS_STORE, &e);
    }
    if (e.kind == CPJIT_ATTR_NONE) {
        e.version = tag;
    }
    if (e.version == tag) {
        cpjit_attr_table_put(access, name, &e);
    }
}

/* A site's ways missed for `tp`: take the shared table's entry for it into a way (an empty one,
 * else round robin; no back-off, as a refill from the table is cheap) and return the way, or
 * -1 when the table has none (or the cache holds a kind without ways). */
CPJIT_HOT
static int adopt_entry(CpjitAttrCache *cache, PyTypeObject *tp, PyObject *name, int access)
{
    uint32_t tag = tp->tp_version_tag;
    AttrEntry e;
    if (tag == 0 || cpjit_attr_whole_cache(cache) || !cpjit_attr_table_get(access, tag, name, &e)
        || e.kind == CPJIT_ATTR_NONE) {
        return -1;
    }
    int evicted;
    int way = free_or_next_way(cache, &evicted);
    write_way(cache, way, &e);
    cpjit_stats.attr_table_adopted++;
    return way;
}

CPJIT_HOT
static void fill_attr_cache(PyObject *owner, PyObject *name, PyObject *res, int store,
                            CpjitAttrCache *cache)
{
    if (!fill_allowed(cache)) {
        file_entry_once(store ? CPJIT_ACCESS_STORE : CPJIT_ACCESS_LOAD, owner, name, res, cache);
        return;
    }
    if (!PyUnicode_CheckExact(name)) {
        fill_backoff(cache);
        return;
    }
    if (PyModule_CheckExact(owner) || class_owner(owner)) {
        if (store) {
            fill_backoff(cache);
        }
        else if (PyModule_CheckExact(owner)) {
            fill_module_cache(owner, name, res, cache);
        }
        else {
            fill_class_cache(owner, name, res, 0, cache);
        }
        return;
    }
    AttrEntry e = {0};
    instance_entry(owner, name, res, store, &e);
    file_entry(store ? CPJIT_ACCESS_STORE : CPJIT_ACCESS_LOAD, name, &e);
    install_entry(cache, &e);
}

static PyObject *megamorphic_class_load(PyObject *owner, PyObject *name);

/* _PyObject_GenericGetAttrWithDict for a site whose cache is backing off (more types than ways,
 * or kinds it cannot hold: `self.debug` read on a dozen subclasses): the same steps without the
 * call layers, for types that use the generic lookup (and, through megamorphic_class_load, for
 * classes looked up as type does). A new reference; NULL without an exception
 * when only the generic lookup can answer (general dict keys, a missing attribute); NULL with an
 * exception from a descriptor's __get__ (an AttributeError there is final: __getattr__ cannot
 * exist for a type whose tp_getattro is the generic one). */
static PyObject *megamorphic_load(PyObject *owner, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(owner);
    if (!PyUnicode_CheckExact(name)) {
        return NULL;
    }
    if (tp->tp_getattro != PyObject_GenericGetAttr) {
        return looked_up_as_a_class(owner) ? megamorphic_class_load(owner, name) : NULL;
    }
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL
        && Py_TYPE(descr)->tp_descr_get != NULL) {
        /* A data descriptor comes first (__slots__ members, properties, __class__). */
        return get_holding(descr, owner, (PyObject *)tp);
    }
    PyObject *value = NULL;
    PyDictObject *dict = NULL;
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values != NULL) {
            PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
            Py_ssize_t ix = keys != NULL ? cpjit_keys_lookup(keys, name) : -1;
            value = ix >= 0 ? values->values[ix] : NULL;
        }
        else {
            dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
        }
    }
    else if (tp->tp_dictoffset > 0) {
        dict = *(PyDictObject **)((char *)owner + tp->tp_dictoffset);
    }
    else if (tp->tp_dictoffset != 0) {
        return NULL;
    }
    if (dict != NULL && !cpjit_dict_value(dict, name, &value)) {
        return NULL;
    }
    if (value != NULL) {
        return Py_NewRef(value);
    }
    if (descr == NULL) {
        return NULL; /* __getattr__ cannot be there (generic tp_getattro): the error message */
    }
    if (Py_TYPE(descr)->tp_descr_get == NULL) {
        return Py_NewRef(descr);
    }
    return get_holding(descr, owner, (PyObject *)tp);
}

/* megamorphic_load for a class (a site reading cls.NAME on many classes): type_getattro's steps
 * for a ready class. */
static PyObject *megamorphic_class_load(PyObject *owner, PyObject *name)
{
    PyTypeObject *cls = (PyTypeObject *)owner;
    PyTypeObject *metatype = Py_TYPE(owner);
    if (!_PyType_IsReady(cls)) {
        return NULL;
    }
    PyObject *meta = _PyType_Lookup(metatype, name);
    int meta_get = meta != NULL && Py_TYPE(meta)->tp_descr_get != NULL;
    if (meta_get && Py_TYPE(meta)->tp_descr_set != NULL) {
        return get_holding(meta, owner, (PyObject *)metatype);
    }
    PyObject *value = _PyType_Lookup(cls, name);
    if (value != NULL) {
        return Py_TYPE(value)->tp_descr_get == NULL ? Py_NewRef(value)
                                                    : get_holding(value, NULL, owner);
    }
    if (meta_get) {
        return get_holding(meta, owner, (PyObject *)metatype);
    }
    return meta != NULL ? Py_NewRef(meta) : NULL;
}

CPJIT_HOT
PyObject *cpjit_load_attr_fill(PyObject *owner, PyObject *name, CpjitAttrCache *cache)
{
    if (cache->cooldown > 0) {
        /* Backing off: no fill this time (fill_allowed's count), the lookup done here when it
         * can be. */
        cache->cooldown--;
        PyObject *res = megamorphic_load(owner, name);
        if (res == NULL && !PyErr_Occurred()) {
            res = PyObject_GetAttr(owner, name);
        }
        if (res != NULL) {
            file_entry_once(CPJIT_ACCESS_LOAD, owner, name, res, cache);
        }
        return res;
    }
    PyObject *res = PyObject_GetAttr(owner, name);
    if (res != NULL) {
        fill_attr_cache(owner, name, res, 0, cache);
    }
    return res;
}

int cpjit_store_attr_fill(PyObject *owner, PyObject *name, PyObject *v, CpjitAttrCache *cache)
{
    int err = PyObject_SetAttr(owner, name, v);
    if (err == 0) {
        fill_attr_cache(owner, name, NULL, 1, cache);
    }
    return err;
}

CPJIT_HOT
int cpjit_load_method_fill(PyObject *obj, PyObject *name, PyObject **meth, CpjitAttrCache *cache)
{
    int found = _PyObject_GetMethod(obj, name, meth);
    if (*meth == NULL) {
        return found;
    }
    if (!fill_allowed(cache)) {
        if (found) {
            file_entry_once(CPJIT_ACCESS_METHOD, obj, name, *meth, cache);
        }
        return found;
    }
    if (!PyUnicode_CheckExact(name)) {
        fill_backoff(cache);
    }
    else if (!found && PyModule_CheckExact(obj)) {
        fill_module_cache(obj, name, *meth, cache);
    }
    else if (!found && class_owner(obj)) {
        fill_class_cache(obj, name, *meth, 1, cache);
    }
    else {
        AttrEntry e = {0};
        if (found) {
            method_entry(obj, name, *meth, &e);
        }
        file_entry(CPJIT_ACCESS_METHOD, name, &e);
        install_entry(cache, &e);
    }
    return found;
}

/* ---- the stencils' out-of-line paths (see names.h) ---- */

void cpjit_unbound_local_at(_PyInterpreterFrame *frame, _Py_CODEUNIT *redo)
{
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    cpjit_unbound_local_error(_PyThreadState_GET(), frame, oparg);
}

void cpjit_dealloc_at(PyObject *op, _PyInterpreterFrame *frame, _Py_CODEUNIT *instr)
{
    frame->prev_instr = instr;
    _Py_Dealloc(op);
}

__attribute__((preserve_none)) PyObject *
cpjit_dealloc_then(_PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate,
                   PyObject *op, cpjit_native_fn next)
{
    _Py_Dealloc(op);
    if (__builtin_expect(CPJIT_INTERPRET_ONLY(tstate) != 0, 0)) {
        return cpjit_traced_after_release(frame, stack_pointer, tstate); /* (a finalizer) */
    }
    /* A sibling call (all arguments in registers; clang -O2 makes it a jmp): the native code
     * goes on without this frame under it (test_locals_deallocs_do_not_grow_the_c_stack). */
    return next(frame, stack_pointer, tstate);
}

static inline PyObject *code_name(_PyInterpreterFrame *frame, int index)
{
    return PyTuple_GET_ITEM(frame->f_code->co_names, index);
}

/* LOAD_ATTR's and LOAD_METHOD's out-of-line paths are split in two: the second tier (cached
 * kinds the stencils leave out of line, served without running code) in a leaf function that
 * saves no registers, and the rest in a separate function it tail-calls. */
static __attribute__((noinline)) int load_attr_rest(_PyInterpreterFrame *frame, PyObject **sp,
                                                    CpjitAttrCache *cache, _Py_CODEUNIT *redo,
                                                    int way);

CPJIT_HOT
int cpjit_load_attr_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo)
{
    /* A __slots__ member or a module attribute, of an owner that survives (the stencil serves
     * only inline values in line). */
    PyObject *owner = sp[-1];
    int way = cpjit_attr_way(cache, Py_TYPE(owner));
    PyObject *res = NULL;
    if (way < 0 && !cpjit_attr_whole_cache(cache)) {
        /* Ways missed: the shared table's entry for the type, served by the first tier when
         * it can be (runs no code; prev_instr is published only on the paths below). */
        int oparg;
        cpjit_decode_redo(redo, &oparg);
        way = adopt_entry(cache, Py_TYPE(owner), code_name(frame, oparg), CPJIT_ACCESS_LOAD);
        if (way >= 0 && (res = cpjit_load_attr_hit(owner, cache)) != NULL) {
            sp[-1] = res;
            return 0;
        }
    }
    if (way >= 0 && cache->kind[way] == CPJIT_ATTR_SLOT) {
        res = *(PyObject **)((char *)owner + cache->index[way]);
    }
    else if (way >= 0 && cache->kind[way] == CPJIT_ATTR_CLASS_DICT) {
        /* A class value, unless the instance's own dict has the name (a probe: no code runs). */
        int oparg;
        cpjit_decode_redo(redo, &oparg);
        res = cpjit_attr_cached_load(cache, way, owner, code_name(frame, oparg));
    }
    else {
        res = cpjit_module_attr_cached(cache, owner);
    }
    if (res != NULL && Py_REFCNT(owner) > 1) {
        Py_INCREF(res);
        owner->ob_refcnt--;
        sp[-1] = res;
        return 0;
    }
    return load_attr_rest(frame, sp, cache, redo, way);
}

/* `way`: cpjit_attr_way's for the owner. */
CPJIT_HOT
static int load_attr_rest(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                          _Py_CODEUNIT *redo, int way)
{
    PyObject *owner = sp[-1];
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    PyObject *name = code_name(frame, oparg);
    /* _PyObject_GenericGetAttrWithDict's descriptor cases, the lookup done: a data descriptor
     * (CPJIT_ATTR_DATA_DESCR), or a method descriptor the instance does not shadow (a
     * CPJIT_METHOD_* entry), bound by its __get__. */
    PyObject *descr = way >= 0 && cache->kind[way] == CPJIT_ATTR_DATA_DESCR
                          ? cache->descr[way]
                          : cpjit_method_cached(cache, owner, name);
    if (descr != NULL) {
        PyObject *res = get_holding(descr, owner, (PyObject *)Py_TYPE(owner));
        if (res == NULL) {
            return -1;
        }
        sp[-1] = res;
        Py_DECREF(owner);
        return 0;
    }
    PyObject *res = cpjit_attr_cached_load(cache, way, owner, name);
    if (res == NULL) {
        res = cpjit_module_attr_cached(cache, owner);
    }
    if (res != NULL) {
        Py_INCREF(res);
    }
    else {
        res = cache->kind[0] == CPJIT_ATTR_CLASS ? cpjit_class_attr_cached(cache, owner) : NULL;
        if (res == NULL) {
            if (cache->kind[0] == CPJIT_ATTR_CLASS && PyErr_Occurred()) {
                return -1;
            }
            res = cpjit_load_attr_fill(owner, name, cache);
            if (res == NULL) {
                return -1;
            }
        }
    }
    sp[-1] = res;
    Py_DECREF(owner);
    return 0;
}

static __attribute__((noinline)) int load_method_rest(_PyInterpreterFrame *frame, PyObject **sp,
                                                      CpjitAttrCache *cache, _Py_CODEUNIT *redo,
                                                      PyObject *attr);

CPJIT_HOT
int cpjit_load_method_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo)
{
    /* The first tier (csrc/hits.c, which every stencil calls first) already probed an
     * instance's own dict for a CPJIT_METHOD_DICT entry, and serves a cached module attribute
     * of a module that survives: one that misses there is dying here, which load_method_rest
     * handles with the instruction published. */
    PyObject *obj = sp[-1];
    return load_method_rest(frame, sp, cache, redo, cpjit_module_attr_cached(cache, obj));
}

/* `attr`: cpjit_module_attr_cached's for the object. */
CPJIT_HOT
static int load_method_rest(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                            _Py_CODEUNIT *redo, PyObject *attr)
{
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    PyObject *obj = sp[-1];
    if (attr != NULL) {
        Py_INCREF(attr);
        sp[-1] = NULL;
        sp[0] = attr;
        Py_DECREF(obj);
        return 0;
    }
    if (cache->kind[0] == CPJIT_ATTR_CLASS) {
        attr = cpjit_class_attr_cached(cache, obj);
        if (attr != NULL) {
            sp[-1] = NULL;
            sp[0] = attr;
            Py_DECREF(obj);
            return 0;
        }
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    PyObject *name = code_name(frame, oparg);
    PyObject *meth = cpjit_method_cached(cache, obj, name);
    if (meth == NULL && cpjit_attr_way(cache, Py_TYPE(obj)) < 0
        && adopt_entry(cache, Py_TYPE(obj), name, CPJIT_ACCESS_METHOD) >= 0) {
        meth = cpjit_method_cached(cache, obj, name);
    }
    if (meth != NULL) {
        Py_INCREF(meth);
        sp[-1] = meth;
        sp[0] = obj;
        return 0;
    }
    int found = cpjit_load_method_fill(obj, name, &meth, cache);
    if (meth == NULL) {
        return -1;
    }
    if (found) {
        sp[-1] = meth;
        sp[0] = obj;
    }
    else {
        sp[-1] = NULL;
        Py_DECREF(obj);
        sp[0] = meth;
    }
    return 0;
}

/* Dict versions for dicts changed in place here (names.h). */
uint64_t cpjit_next_dict_version = (uint64_t)1 << 62;

CPJIT_HOT
int cpjit_store_attr_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitAttrCache *cache,
                         _Py_CODEUNIT *redo)
{
    PyObject *owner = sp[1];
    PyObject *v = sp[0];
    int way = cpjit_attr_way(cache, Py_TYPE(owner));
    if (way < 0 && !cpjit_attr_whole_cache(cache)) {
        int oparg;
        cpjit_decode_redo(redo, &oparg);
        way = adopt_entry(cache, Py_TYPE(owner), code_name(frame, oparg), CPJIT_ACCESS_STORE);
    }
    uint8_t kind = way >= 0 ? cache->kind[way] : CPJIT_ATTR_NONE;
    if (kind == CPJIT_ATTR_SLOT && Py_REFCNT(owner) > 1) {
        /* First, before publishing prev_instr: a __slots__ member, when the store frees
         * nothing (the stencil serves only inline values in line). (One function, not a leaf
         * in front of the rest as for LOAD_ATTR: the stores that free the old value of an
         * inline attribute come here too, and often.) */
        PyObject **slot = (PyObject **)((char *)owner + cache->index[way]);
        PyObject *old_value = *slot;
        if (old_value == NULL || Py_REFCNT(old_value) > 1) {
            *slot = v; /* the stack's reference moves into the object */
            if (old_value != NULL) {
                old_value->ob_refcnt--;
            }
            owner->ob_refcnt--;
            return 0;
        }
    }
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    if (kind == CPJIT_ATTR_SLOT) {
        PyObject **slot = (PyObject **)((char *)owner + cache->index[way]);
        PyObject *old_value = *slot;
        *slot = v; /* the stack's reference moves into the object */
        Py_XDECREF(old_value);
        Py_DECREF(owner);
        return 0;
    }
    PyObject *name = code_name(frame, oparg);
    if (kind == CPJIT_ATTR_VALUES || kind == CPJIT_ATTR_DICT_HINT) {
        PyDictValues *values = *_PyObject_ValuesPointer(owner);
        if (values == NULL) {
            /* Attributes in a dict of the instance's own: the generic path's PyDict_SetItem. */
            PyObject *dict = *_PyObject_ManagedDictPointer(owner);
            if (dict != NULL) {
                if (cpjit_dict_hint_store((PyDictObject *)dict, cache->index[way], name, v, 0)) {
                    Py_DECREF(owner);
                    return 0;
                }
                int err = PyDict_SetItem(dict, name, v);
                Py_DECREF(v);
                Py_DECREF(owner);
                return err;
            }
        }
        else if (kind == CPJIT_ATTR_VALUES) {
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
            return 0;
        }
    }
    int err = cpjit_store_attr_fill(owner, name, v, cache);
    Py_DECREF(v);
    Py_DECREF(owner);
    return err;
}

int cpjit_load_global_slow(_PyInterpreterFrame *frame, PyObject **sp, CpjitGlobalCache *cache,
                         _Py_CODEUNIT *redo)
{
    int oparg;
    frame->prev_instr = cpjit_decode_redo(redo, &oparg);
    PyObject *v = cpjit_load_global_cached(_PyThreadState_GET(), frame, code_name(frame, oparg >> 1),
                                           cache);
    if (v == NULL) {
        return -1;
    }
    if (oparg & 1) {
        *sp++ = NULL;
        *sp = v;
        return 2;
    }
    *sp = v;
    return 1;
}
