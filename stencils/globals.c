/* globals.c: LOAD_GLOBAL. */
#include "stencil.h"

STENCIL(LOAD_GLOBAL)
{
    SAVE_IP();
    PyObject *v = cpjit_load_global(tstate, frame, NAME_HALF);
    if (v == NULL) {
        ERROR();
    }
    if (OPARG & 1) {
        PUSH(NULL);
    }
    PUSH(v);
    CONTINUE();
}
