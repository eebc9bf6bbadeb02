/* globals.c: LOAD_GLOBAL, with a per-instruction cache like 3.11's LOAD_GLOBAL_MODULE and
 * LOAD_GLOBAL_BUILTIN: keyed by the dicts' *keys* versions, so rebinding an existing global
 * (`global counter; counter += 1`) does not invalidate every cached global of the module. */
#include "stencil.h"
#include "names.h"

/* A cached global or builtin that is still there (cpjit_load_global_hit, csrc/hits.c, shared by
 * all sites); the rest (including the lookup that fills the cache) by cpjit_load_global_slow.
 * PUSH_NULL_IF: whether a NULL goes below the value (oparg's low bit). The compiler picks
 * LOAD_GLOBAL__VALUE / LOAD_GLOBAL__NULL_VALUE by that bit, so the test is not made at run time;
 * LOAD_GLOBAL tests it, for any other use. */
#define LOAD_GLOBAL_BODY(PUSH_NULL_IF)                                                         \
    {                                                                                          \
        CpjitGlobalCache *cache = (CpjitGlobalCache *)JIT_CACHE;                               \
        PyObject *v = cpjit_load_global_hit(frame, cache);                                     \
        if (LIKELY(v != NULL)) {                                                               \
            if (PUSH_NULL_IF) {                                                                \
                PUSH(NULL);                                                                    \
            }                                                                                  \
            PUSH(v);                                                                           \
            CONTINUE();                                                                        \
        }                                                                                      \
        int pushed = cpjit_load_global_slow(frame, stack_pointer, cache, REDO);                \
        if (UNLIKELY(pushed < 0)) {                                                            \
            ERROR();                                                                           \
        }                                                                                      \
        STACK_GROW((PUSH_NULL_IF) ? 2 : 1); /* = pushed, a constant in the variants */        \
        CHECK_TRACING_AFTER(); /* a globals or builtins mapping's __getitem__ */               \
        CONTINUE();                                                                            \
    }

STENCIL(LOAD_GLOBAL) LOAD_GLOBAL_BODY(OPARG & 1)
STENCIL(LOAD_GLOBAL__VALUE) LOAD_GLOBAL_BODY(0)
STENCIL(LOAD_GLOBAL__NULL_VALUE) LOAD_GLOBAL_BODY(1)

/* Sites the interpreter specialised (the compiler's hint): LOAD_GLOBAL_MODULE tests the cache
 * for a value in the globals, LOAD_GLOBAL_BUILTIN for one in the builtins, in line (the checks
 * cpjit_load_global_hit makes for that case), before the generic body. The cache and its fill
 * are the generic stencil's; the hint only chooses what is tested in line. */
#define LOAD_GLOBAL_HINTED(IN_BUILTINS, PUSH_NULL_IF)                                          \
    {                                                                                          \
        CpjitGlobalCache *cache = (CpjitGlobalCache *)JIT_CACHE;                               \
        PyDictObject *d = (PyDictObject *)GLOBALS();                                           \
        PyObject *v;                                                                           \
        if (LIKELY(Py_TYPE(d) == cache->dict_type                                              \
                   && d->ma_keys->dk_version == cache->globals_version                         \
                   && (IN_BUILTINS ? cache->builtins_version != 0                              \
                                       && Py_TYPE(d = (PyDictObject *)BUILTINS())              \
                                              == cache->dict_type                              \
                                       && d->ma_keys->dk_version == cache->builtins_version    \
                                   : cache->builtins_version == 0)                             \
                   && (v = *(PyObject **)((char *)d->ma_keys + cache->value_offset)) != NULL)) { \
            Py_INCREF(v);                                                                      \
            if (PUSH_NULL_IF) {                                                                \
                PUSH(NULL);                                                                    \
            }                                                                                  \
            PUSH(v);                                                                           \
            CONTINUE_JOINED();                                                                 \
        }                                                                                      \
        LOAD_GLOBAL_BODY(PUSH_NULL_IF)                                                         \
    }
STENCIL(LOAD_GLOBAL_MODULE__VALUE) LOAD_GLOBAL_HINTED(0, 0)
STENCIL(LOAD_GLOBAL_MODULE__NULL_VALUE) LOAD_GLOBAL_HINTED(0, 1)
STENCIL(LOAD_GLOBAL_BUILTIN__VALUE) LOAD_GLOBAL_HINTED(1, 0)
STENCIL(LOAD_GLOBAL_BUILTIN__NULL_VALUE) LOAD_GLOBAL_HINTED(1, 1)
