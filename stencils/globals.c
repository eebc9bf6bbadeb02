/* globals.c: LOAD_GLOBAL, with a per-instruction cache like 3.11's LOAD_GLOBAL_MODULE and
 * LOAD_GLOBAL_BUILTIN: keyed by the dicts' *keys* versions, so rebinding an existing global
 * (`global counter; counter += 1`) does not invalidate every cached global of the module. */
#include "stencil.h"
#include "names.h"

/* In line: a cached global or builtin that is still there; the rest (including the lookup
 * that fills the cache) out of line. PUSH_NULL_IF: whether a NULL goes below the value (oparg's
 * low bit). The compiler picks LOAD_GLOBAL__VALUE / LOAD_GLOBAL__NULL_VALUE by that bit, so the
 * test is not made at run time; LOAD_GLOBAL tests it, for any other use. */
#define LOAD_GLOBAL_BODY(PUSH_NULL_IF)                                                         \
    {                                                                                          \
        CpjitGlobalCache *cache = (CpjitGlobalCache *)JIT_CACHE;                               \
        PyDictObject *d = (PyDictObject *)GLOBALS();                                           \
        if (LIKELY(Py_TYPE(d) == cache->dict_type                                              \
                   && d->ma_keys->dk_version == cache->globals_version)) {                     \
            if (cache->builtins_version != 0) {                                                \
                d = (PyDictObject *)BUILTINS();                                                \
                if (UNLIKELY(Py_TYPE(d) != cache->dict_type                                    \
                             || d->ma_keys->dk_version != cache->builtins_version)) {          \
                    goto slow;                                                                 \
                }                                                                              \
            }                                                                                  \
            PyObject *v = *(PyObject **)((char *)d->ma_keys + cache->value_offset);            \
            if (LIKELY(v != NULL)) {                                                           \
                Py_INCREF(v);                                                                  \
                if (PUSH_NULL_IF) {                                                            \
                    PUSH(NULL);                                                                \
                }                                                                              \
                PUSH(v);                                                                       \
                CONTINUE();                                                                    \
            }                                                                                  \
        }                                                                                      \
    slow:;                                                                                     \
        int pushed = cpjit_load_global_slow(frame, stack_pointer, cache, REDO);                \
        if (UNLIKELY(pushed < 0)) {                                                            \
            ERROR();                                                                           \
        }                                                                                      \
        STACK_GROW((PUSH_NULL_IF) ? 2 : 1); /* = pushed, a constant in the variants */        \
        CONTINUE();                                                                            \
    }

STENCIL(LOAD_GLOBAL) LOAD_GLOBAL_BODY(OPARG & 1)
STENCIL(LOAD_GLOBAL__VALUE) LOAD_GLOBAL_BODY(0)
STENCIL(LOAD_GLOBAL__NULL_VALUE) LOAD_GLOBAL_BODY(1)
