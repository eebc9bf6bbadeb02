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
        CONTINUE();                                                                            \
    }

STENCIL(LOAD_GLOBAL) LOAD_GLOBAL_BODY(OPARG & 1)
STENCIL(LOAD_GLOBAL__VALUE) LOAD_GLOBAL_BODY(0)
STENCIL(LOAD_GLOBAL__NULL_VALUE) LOAD_GLOBAL_BODY(1)
