/* globals.c: LOAD_GLOBAL, with a per-instruction cache keyed by the dict versions. */
#include "stencil.h"

/* JIT_CACHE layout for LOAD_GLOBAL. Any change to either dict changes its ma_version_tag, so a
 * hit means both dicts are exactly as they were when `value` (borrowed from one of them) was
 * found. */
typedef struct {
    uint64_t globals_version;
    uint64_t builtins_version;
    PyObject *value;
} GlobalCache;

STENCIL(LOAD_GLOBAL)
{
    GlobalCache *cache = (GlobalCache *)JIT_CACHE;
    PyDictObject *globals = (PyDictObject *)GLOBALS();
    PyDictObject *builtins = (PyDictObject *)BUILTINS();
    PyObject *v = cache->value;
    if (v != NULL && PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)
        && globals->ma_version_tag == cache->globals_version
        && builtins->ma_version_tag == cache->builtins_version) {
        Py_INCREF(v);
    }
    else {
        SAVE_IP();
        v = cpjit_load_global(tstate, frame, NAME_HALF);
        if (v == NULL) {
            ERROR();
        }
        if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)) {
            cache->globals_version = globals->ma_version_tag;
            cache->builtins_version = builtins->ma_version_tag;
            cache->value = v;
        }
    }
    if (OPARG & 1) {
        PUSH(NULL);
    }
    PUSH(v);
    CONTINUE();
}
