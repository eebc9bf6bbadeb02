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
#include "fused.h"

#define ATTR_CACHE ((CpjitAttrCache *)JIT_CACHE)

/* The generic path (csrc/names.c): everything the first tier (csrc/hits.c) does not serve. */
#define ATTR_SLOW(FN, CACHE, AT_REDO)                                                          \
    do {                                                                                       \
        if (UNLIKELY(FN(frame, stack_pointer, (CACHE), (AT_REDO)) != 0)) {                     \
            ERROR();                                                                           \
        }                                                                                      \
    } while (0)

/* The first tier, shared by all sites (cpjit_load_attr_hit, csrc/hits.c): an attribute in the
 * instance's inline values (for any of the cache's ways) when the owner does not die here (a
 * deallocation can run any code: that takes the generic path, which publishes prev_instr
 * first). Everything else, the second-tier kinds (a __slots__ member, a dict at the cached
 * hint, a module or class attribute) included, is served by cpjit_load_attr_slow, also shared,
 * so a site is two calls: about 40 bytes of hot code where an in-line first tier took 110, which
 * keeps code with many sites in the instruction cache. On failure the owner stays on the stack
 * (owned), as in ceval.c. */
#define LOAD_ATTR_TIERS(cache) LOAD_ATTR_TIERS_AT(cache, REDO, DONE)
/* The same for an instruction whose prev_instr values are AT_REDO and AT_DONE (a group's). */
#define LOAD_ATTR_TIERS_AT(cache, AT_REDO, AT_DONE)                                            \
    do {                                                                                       \
        PyObject *res_ = cpjit_load_attr_hit(TOP(), (cache));                                  \
        if (UNLIKELY(res_ == NULL)) {                                                          \
            ATTR_SLOW(cpjit_load_attr_slow, (cache), (AT_REDO));                               \
            CHECK_TRACING_FROM(AT_DONE); /* a property, __getattr__, a descriptor's __get__ */ \
            CONTINUE();                                                                        \
        }                                                                                      \
        SET_TOP(res_);                                                                         \
        CONTINUE();                                                                            \
    } while (0)
STENCIL(LOAD_ATTR)
{
    LOAD_ATTR_TIERS(ATTR_CACHE);
}

/* The first tier (cpjit_store_attr_hit): a store to inline values, a __slots__ member or a dict
 * at the cached hint whose old value's release runs no code. Everything else (a deallocation
 * that may run code, the generic path) is cpjit_store_attr_slow's. Both operands are consumed,
 * whether or not the store worked. */
#define STORE_ATTR_TIERS(cache) STORE_ATTR_TIERS_AT(cache, REDO, DONE)
#define STORE_ATTR_TIERS_AT(cache, AT_REDO, AT_DONE)                                           \
    do {                                                                                       \
        int done_ = cpjit_store_attr_hit(TOP(), SECOND(), (cache));                            \
        STACK_SHRINK(2);                                                                       \
        if (UNLIKELY(!done_)) {                                                                \
            ATTR_SLOW(cpjit_store_attr_slow, (cache), (AT_REDO));                              \
            CHECK_TRACING_FROM(AT_DONE); /* __setattr__, a descriptor's __set__ */             \
        }                                                                                      \
        CONTINUE();                                                                            \
    } while (0)
STENCIL(STORE_ATTR)
{
    STORE_ATTR_TIERS(ATTR_CACHE);
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
    CHECK_TRACING_AFTER(); /* __delattr__, a descriptor's __delete__ */
    CONTINUE();
}

/* meth | self  when an unbound method was found, else  NULL | attr, written by either tier at
 * the top of the stack and its next slot. The first tier (cpjit_load_method_hit): a plain
 * method (instances without a dict, whose attributes are inline and lack the name, or whose own
 * str-keyed dict lacks it), a module attribute (math.sqrt), a class constant. Everything else
 * (class attributes with __get__, a dying owner, the generic path) is
 * cpjit_load_method_slow's. On failure the object stays on the stack (owned). */
#define LOAD_METHOD_TIERS(cache) LOAD_METHOD_TIERS_AT(cache, REDO, DONE)
/* The name LOAD_METHOD looks up (a LOAD_FAST group's: its LOAD_METHOD's), for the first tier's
 * probe of an instance's own dict; spelled apart from the NAME hole so that it survives in
 * macros with a parameter of that name. */
#define METHOD_NAME NAME
#define LOAD_METHOD_TIERS_AT(cache, AT_REDO, AT_DONE)                                          \
    do {                                                                                       \
        if (UNLIKELY(!cpjit_load_method_hit(stack_pointer, (cache), METHOD_NAME))) {           \
            ATTR_SLOW(cpjit_load_method_slow, (cache), (AT_REDO));                             \
            STACK_GROW(1);                                                                     \
            CHECK_TRACING_FROM(AT_DONE); /* a property, __getattr__, a __get__ */              \
            CONTINUE();                                                                        \
        }                                                                                      \
        STACK_GROW(1);                                                                         \
        CONTINUE();                                                                            \
    } while (0)
STENCIL(LOAD_METHOD)
{
    LOAD_METHOD_TIERS(ATTR_CACHE);
}

/* Sites the interpreter specialised (the compiler's hint, as for C calls in stencils/ccalls.c):
 * a monomorphic site fills its cache's first way, so the first way's entry of the kind the
 * interpreter's form names is tested in line (about ten instructions instead of a call of the
 * shared first tier); anything else is the generic stencil's two tiers. The cache, its fill and
 * its guards are the generic stencil's: the hint only says which kind to test in line. */

/* LOAD_ATTR_INSTANCE_VALUE (the attribute in the instance's inline values, KIND_OK the VALUES
 * and HINT kinds) and LOAD_ATTR_SLOT (a __slots__ member at its byte offset): PLACE is where the
 * first way's entry says the value is, NULL when the instance has no inline values. */
/* The first way's test, shared by the hinted stencils and the LOAD_FAST groups below: the
 * owner's type has the way's version, KIND_OK accepts the way's kind, OWNER_OK holds (the
 * hinted stencils release the owner: it must survive that), and PLACE, where the way says the
 * value is, exists (`place` is set to it). */
#define FIRST_WAY_PLACE(KIND_OK, OWNER_OK, PLACE)                                              \
    (Py_TYPE(owner)->tp_version_tag == cache->version[0] && (KIND_OK) && (OWNER_OK)            \
     && (place = (PLACE)) != NULL)
/* A store there releases no old value that could die (`old` is set to it), and the store. */
#define FIRST_WAY_STORABLE(KIND, OWNER_OK, PLACE)                                              \
    (FIRST_WAY_PLACE(cache->kind[0] == (KIND), (OWNER_OK), (PLACE))                            \
     && ((old = *place) == NULL || old->ob_refcnt > 1))
#define STORE_AT_FIRST_WAY(v, ON_FIRST_STORE)                                                  \
    do {                                                                                       \
        *place = (v);                                                                          \
        if (old != NULL) {                                                                     \
            old->ob_refcnt--;                                                                  \
        }                                                                                      \
        else {                                                                                 \
            ON_FIRST_STORE;                                                                    \
        }                                                                                      \
    } while (0)

#define LOAD_ATTR_HINTED(NAME, KIND_OK, PLACE)                                                 \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject *owner = TOP();                                                               \
        PyObject **place;                                                                      \
        PyObject *res;                                                                         \
        if (LIKELY(FIRST_WAY_PLACE(KIND_OK, owner->ob_refcnt > 1, PLACE)                       \
                   && (res = *place) != NULL)) {                                               \
            Py_INCREF(res);                                                                    \
            owner->ob_refcnt--;                                                                \
            SET_TOP(res);                                                                      \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        LOAD_ATTR_TIERS(cache);                                                                \
    }
/* The inline values' place of the first way's attribute, or NULL when the instance has none. */
static inline __attribute__((always_inline)) PyObject **
values_place(PyObject *owner, CpjitAttrCache *cache)
{
    PyDictValues *values = *_PyObject_ValuesPointer(owner);
    return values != NULL ? &values->values[cache->index[0]] : NULL;
}
LOAD_ATTR_HINTED(LOAD_ATTR_INSTANCE_VALUE, cache->kind[0] - 1u < 2u /* VALUES or HINT */,
                 values_place(owner, cache))
LOAD_ATTR_HINTED(LOAD_ATTR_SLOT, cache->kind[0] == CPJIT_ATTR_SLOT,
                 (PyObject **)((char *)owner + cache->index[0]))

/* LOAD_ATTR_WITH_HINT: the attribute in the instance's own dict (its type's instances keep a
 * managed dict: the inline values became a real dict, or there never were any), at the entry
 * the first way names (kinds VALUES, HINT and DICT_HINT: the name, `descr`, at entry `index`),
 * as the shared first tier's dict case tests it. An instance has inline values or a managed
 * dict, never both (3.11 clears the values pointer when it makes the dict), so a dict found
 * is where the attribute lives. Objects whose __dict__ was asked for, or whose attributes
 * outgrew the class's shared keys, read them this way at every site (go's board squares). */
static inline __attribute__((always_inline)) PyObject **
dict_hint_place(PyObject *owner, CpjitAttrCache *cache)
{
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(owner);
    return dict != NULL ? cpjit_dict_hint_place(dict, cache->index[0], cache->descr[0]) : NULL;
}
LOAD_ATTR_HINTED(LOAD_ATTR_WITH_HINT, cache->kind[0] - 1u < 3u /* VALUES, HINT or DICT_HINT */,
                 dict_hint_place(owner, cache))

/* LOAD_METHOD_NO_DICT and LOAD_METHOD_WITH_VALUES: a plain method of the type, the instance
 * without a dict, or with its attributes inline (or in a dict sharing the type's keys) lacking
 * the name. */
#define LOAD_METHOD_HINTED(NAME, TEST)                                                         \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject *obj = TOP();                                                                 \
        if (LIKELY(Py_TYPE(obj)->tp_version_tag == cache->version[0] && (TEST))) {             \
            PyObject *meth = cache->descr[0];                                                  \
            Py_INCREF(meth);                                                                   \
            SET_TOP(meth);                                                                     \
            PUSH(obj);                                                                         \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        LOAD_METHOD_TIERS(cache);                                                              \
    }
LOAD_METHOD_HINTED(LOAD_METHOD_NO_DICT, cache->kind[0] == CPJIT_METHOD_NO_DICT)
LOAD_METHOD_HINTED(LOAD_METHOD_WITH_VALUES,
                   cache->kind[0] == CPJIT_METHOD_VALUES
                       && cpjit_method_not_shadowed(cache, 0, obj))

/* STORE_ATTR_INSTANCE_VALUE and STORE_ATTR_SLOT: a store into the instance's inline values or
 * a __slots__ member, over nothing (a first store, as in __init__) or over an old value that
 * stays alive elsewhere; anything else (an old value that dies, other kinds) is the generic
 * stencil's two tiers. */
#define STORE_ATTR_HINTED(NAME, KIND, PLACE, ON_FIRST_STORE)                                   \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject *owner = TOP();                                                               \
        PyObject *v = SECOND();                                                                \
        PyObject **place;                                                                      \
        PyObject *old;                                                                         \
        if (LIKELY(FIRST_WAY_STORABLE(KIND, owner->ob_refcnt > 1, PLACE))) {                   \
            STORE_AT_FIRST_WAY(v, ON_FIRST_STORE);                                             \
            owner->ob_refcnt--;                                                                \
            STACK_SHRINK(2);                                                                   \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        STORE_ATTR_TIERS(cache);                                                               \
    }
/* A first store into inline values enters the attribute in their insertion order. */
STORE_ATTR_HINTED(STORE_ATTR_INSTANCE_VALUE, CPJIT_ATTR_VALUES, values_place(owner, cache),
                  cpjit_values_add_to_order(*_PyObject_ValuesPointer(owner), cache->index[0]))
STORE_ATTR_HINTED(STORE_ATTR_SLOT, CPJIT_ATTR_SLOT,
                  (PyObject **)((char *)owner + cache->index[0]), (void)0)

/* Groups (src/superinstructions.rs, Group::LocalOwner): LOAD_FAST x and the attribute
 * instruction after it (`x.name`, `x.name = v`, `x.name(...)`, x a local) as one stencil, placed
 * at the LOAD_FAST, where the interpreter specialised the second instruction (which gets
 * COVERED: the two adjacent, no EXTENDED_ARG, nothing jumping to the second). TAIL_* for a
 * LOAD_FAST that falling through runs as the second half of a superinstruction (`self.x = x`:
 * LOAD_FAST__LOAD_FAST), which differs only in where an unbound local is reported. The owner
 * is read from its local, never pushed on a hit of the first way: no reference count on it
 * (the local keeps it alive) and no test that it survives. Otherwise the
 * LOAD_FAST's work (an unbound local raises at the LOAD_FAST), then the second instruction's
 * two tiers with its own prev_instr values: its REDO is the LOAD_FAST's code unit (REDO + 1),
 * its DONE its last cache entry. */
#define OWNER_FROM_LOCAL(owner, UNBOUND)                                                       \
    PyObject *owner = GETLOCAL(OPARG);                                                         \
    if (__builtin_expect(owner == NULL, 0)) {                                                  \
        UNBOUND;                                                                               \
    }
/* An unbound local at the LOAD_FAST run alone (LOAD_FAST's cold path), or as the second half
 * of a superinstruction (LOAD_FAST_TAIL's: reported at the first half, stencils/fused.c). */
#define UNBOUND_ALONE                                                                          \
    do {                                                                                       \
        frame->prev_instr = REDO;                                                              \
        __attribute__((musttail)) return cpjit_tail_unbound_local_redo(frame, stack_pointer,   \
                                                                       tstate);                \
    } while (0)
#define UNBOUND_AS_TAIL                                                                        \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        __attribute__((musttail)) return cpjit_tail_unbound_local(frame, stack_pointer,        \
                                                                  tstate);                     \
    } while (0)
/* Each group stencil twice: for a LOAD_FAST run alone, and as a second half (TAIL_*). */
#define IN_BOTH_MODES(DEFINE, NAME, ...)                                                       \
    DEFINE(NAME, UNBOUND_ALONE, ##__VA_ARGS__)                                                 \
    DEFINE(TAIL_##NAME, UNBOUND_AS_TAIL, ##__VA_ARGS__)
#define SECOND_REDO (REDO + 1)
#define SECOND_DONE(OP) (REDO + 2 + INLINE_CACHE_ENTRIES_##OP)

#define LOAD_LOCAL_ATTR(NAME, UNBOUND, KIND_OK, PLACE)                                         \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(owner, UNBOUND)                                                       \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject **place;                                                                      \
        PyObject *res;                                                                         \
        if (LIKELY(FIRST_WAY_PLACE(KIND_OK, 1, PLACE) && (res = *place) != NULL)) {            \
            Py_INCREF(res);                                                                    \
            PUSH(res);                                                                         \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(owner);                                                                      \
        PUSH(owner);                                                                           \
        LOAD_ATTR_TIERS_AT(cache, SECOND_REDO, SECOND_DONE(LOAD_ATTR));                        \
    }
IN_BOTH_MODES(LOAD_LOCAL_ATTR, LOAD_FAST_ATTR_INSTANCE_VALUE,
              cache->kind[0] - 1u < 2u /* VALUES or HINT */, values_place(owner, cache))
IN_BOTH_MODES(LOAD_LOCAL_ATTR, LOAD_FAST_ATTR_SLOT, cache->kind[0] == CPJIT_ATTR_SLOT,
              (PyObject **)((char *)owner + cache->index[0]))
IN_BOTH_MODES(LOAD_LOCAL_ATTR, LOAD_FAST_ATTR_WITH_HINT,
              cache->kind[0] - 1u < 3u /* VALUES, HINT, DICT_HINT */, dict_hint_place(owner, cache))

/* `x.name` at a site the interpreter did not specialise (LOAD_ATTR, LOAD_ATTR_ADAPTIVE: a
 * polymorphic site, or code not yet quickened) or specialised to a form without a stencil of
 * its own here: the shared first tier for a borrowed owner, then the generic second tier. */
#define LOAD_LOCAL_ATTR_ANY(NAME, UNBOUND)                                                     \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(owner, UNBOUND)                                                       \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject *res = cpjit_load_attr_hit_local(owner, cache);                               \
        if (LIKELY(res != NULL)) {                                                             \
            PUSH(res);                                                                         \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(owner);                                                                      \
        PUSH(owner);                                                                           \
        ATTR_SLOW(cpjit_load_attr_slow, cache, SECOND_REDO);                                   \
        CHECK_TRACING_FROM(SECOND_DONE(LOAD_ATTR)); /* a property, __getattr__, a __get__ */   \
        CONTINUE();                                                                            \
    }
IN_BOTH_MODES(LOAD_LOCAL_ATTR_ANY, LOAD_FAST_ATTR)

/* `x.name = v`: v on the stack, x in its local. */
#define STORE_LOCAL_ATTR(NAME, UNBOUND, KIND, PLACE, ON_FIRST_STORE)                          \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(owner, UNBOUND)                                                       \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        PyObject *v = TOP();                                                                   \
        PyObject **place;                                                                      \
        PyObject *old;                                                                         \
        if (LIKELY(FIRST_WAY_STORABLE(KIND, 1, PLACE))) {                                      \
            STORE_AT_FIRST_WAY(v, ON_FIRST_STORE);                                             \
            STACK_SHRINK(1);                                                                   \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(owner);                                                                      \
        PUSH(owner);                                                                           \
        STORE_ATTR_TIERS_AT(cache, SECOND_REDO, SECOND_DONE(STORE_ATTR));                      \
    }
IN_BOTH_MODES(STORE_LOCAL_ATTR, LOAD_FAST_STORE_ATTR_INSTANCE_VALUE, CPJIT_ATTR_VALUES,
              values_place(owner, cache),
              cpjit_values_add_to_order(*_PyObject_ValuesPointer(owner), cache->index[0]))
IN_BOTH_MODES(STORE_LOCAL_ATTR, LOAD_FAST_STORE_ATTR_SLOT, CPJIT_ATTR_SLOT,
              (PyObject **)((char *)owner + cache->index[0]), (void)0)

/* `x.name = v` at a site in any other form (not quickened, adaptive, STORE_ATTR_WITH_HINT): the
 * shared first tier for a borrowed owner, then the generic second tier. */
#define STORE_LOCAL_ATTR_ANY(NAME, UNBOUND)                                                    \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(owner, UNBOUND)                                                       \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        if (LIKELY(cpjit_store_attr_hit_local(owner, TOP(), cache))) {                         \
            STACK_SHRINK(1);                                                                   \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(owner);                                                                      \
        PUSH(owner);                                                                           \
        STACK_SHRINK(2);                                                                       \
        ATTR_SLOW(cpjit_store_attr_slow, cache, SECOND_REDO);                                  \
        CHECK_TRACING_FROM(SECOND_DONE(STORE_ATTR)); /* __setattr__, a descriptor's __set__ */ \
        CONTINUE();                                                                            \
    }
IN_BOTH_MODES(STORE_LOCAL_ATTR_ANY, LOAD_FAST_STORE_ATTR)

/* `x.name(...)`: a plain method, pushed with x. */
#define LOAD_LOCAL_METHOD(NAME, UNBOUND, TEST)                                                 \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(obj, UNBOUND)                                                         \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        if (LIKELY(Py_TYPE(obj)->tp_version_tag == cache->version[0] && (TEST))) {             \
            PyObject *meth = cache->descr[0];                                                  \
            Py_INCREF(meth);                                                                   \
            Py_INCREF(obj);                                                                    \
            stack_pointer[0] = meth;                                                           \
            stack_pointer[1] = obj;                                                            \
            STACK_GROW(2);                                                                     \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(obj);                                                                        \
        PUSH(obj);                                                                             \
        LOAD_METHOD_TIERS_AT(cache, SECOND_REDO, SECOND_DONE(LOAD_METHOD));                    \
    }
IN_BOTH_MODES(LOAD_LOCAL_METHOD, LOAD_FAST_METHOD_NO_DICT, cache->kind[0] == CPJIT_METHOD_NO_DICT)
IN_BOTH_MODES(LOAD_LOCAL_METHOD, LOAD_FAST_METHOD_WITH_VALUES,
              cache->kind[0] == CPJIT_METHOD_VALUES && cpjit_method_not_shadowed(cache, 0, obj))

/* `x.name(...)` at a site the interpreter did not specialise, or specialised to a form without a
 * stencil of its own here: the shared first tier for a borrowed object, then the generic
 * second tier. */
#define LOAD_LOCAL_METHOD_ANY(NAME, UNBOUND)                                                   \
    STENCIL(NAME)                                                                              \
    {                                                                                          \
        OWNER_FROM_LOCAL(obj, UNBOUND)                                                         \
        CpjitAttrCache *cache = ATTR_CACHE;                                                    \
        if (LIKELY(cpjit_load_method_hit_local(obj, stack_pointer, cache, METHOD_NAME))) {     \
            STACK_GROW(2);                                                                     \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        Py_INCREF(obj);                                                                        \
        PUSH(obj);                                                                             \
        ATTR_SLOW(cpjit_load_method_slow, cache, SECOND_REDO);                                 \
        STACK_GROW(1);                                                                         \
        CHECK_TRACING_FROM(SECOND_DONE(LOAD_METHOD)); /* a property, __getattr__, a __get__ */ \
        CONTINUE();                                                                            \
    }
IN_BOTH_MODES(LOAD_LOCAL_METHOD_ANY, LOAD_FAST_METHOD)
