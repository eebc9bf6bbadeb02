/* globals.c: LOAD_GLOBAL, with a per-instruction cache like 3.11's LOAD_GLOBAL_MODULE and
 * LOAD_GLOBAL_BUILTIN: keyed by the dicts' *keys* versions, so rebinding an existing global
 * (`global counter; counter += 1`) does not invalidate every cached global of the module. */
#include "stencil.h"
#include "names.h"

STENCIL(LOAD_GLOBAL)
{
    CpjitGlobalCache *cache = (CpjitGlobalCache *)JIT_CACHE;
    PyDictObject *globals = (PyDictObject *)GLOBALS();
    PyObject *v = NULL;
    if (cache->globals_version != 0 && PyDict_CheckExact(globals)
        && globals->ma_keys->dk_version == cache->globals_version) {
        if (cache->builtins_version == 0) {
            v = DK_UNICODE_ENTRIES(globals->ma_keys)[cache->index].me_value;
        }
        else {
            PyDictObject *builtins = (PyDictObject *)BUILTINS();
            if (PyDict_CheckExact(builtins)
                && builtins->ma_keys->dk_version == cache->builtins_version) {
                v = DK_UNICODE_ENTRIES(builtins->ma_keys)[cache->index].me_value;
            }
        }
    }
    if (v != NULL) {
        Py_INCREF(v);
    }
    else {
        SAVE_IP();
        v = cpjit_load_global_cached(tstate, frame, NAME_HALF, cache);
        if (v == NULL) {
            ERROR();
        }
    }
    if (OPARG & 1) {
        PUSH(NULL);
    }
    PUSH(v);
    CONTINUE();
}
