/* imports.c (stencils): IMPORT_NAME, IMPORT_FROM and IMPORT_STAR. The import logic (ceval.c's
 * static import_name / import_from / import_all_from) is re-implemented in csrc/names.c. */
#include "stencil.h"
#include "names.h"

/* level | fromlist -> module. On failure the slot of `level` holds NULL (both operands are
 * released), exactly like ceval.c's SET_TOP(res) before `goto error`. */
STENCIL(IMPORT_NAME)
{
    SAVE_IP();
    PyObject *fromlist = POP();
    PyObject *level = TOP();
    PyObject *res = cpjit_import_name(tstate, frame, NAME, fromlist, level);
    Py_DECREF(level);
    Py_DECREF(fromlist);
    SET_TOP(res);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    CHECK_TRACING_AFTER();
    CONTINUE();
}

/* module -> module | attr. On failure NULL is pushed (ceval.c does PUSH(res) first). */
STENCIL(IMPORT_FROM)
{
    SAVE_IP();
    PyObject *from = TOP();
    PyObject *res = cpjit_import_from(tstate, from, NAME);
    PUSH(res);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* a module __getattr__, an import */
    CONTINUE();
}

/* `from m import *` is only legal at module level, where the frame has no fast locals and
 * f_locals is the namespace, so ceval.c's fast-to-locals / locals-to-fast round trip is a no-op.
 * Anything else (hand-made bytecode) goes to the interpreter, which does the round trip. */
STENCIL(IMPORT_STAR)
{
    PyObject *locals = LOCALS();
    if (locals == NULL || frame->f_code->co_nlocalsplus != 0) {
        HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
    }
    SAVE_IP();
    PyObject *from = POP();
    int err = cpjit_import_all_from(tstate, locals, from);
    Py_DECREF(from);
    if (UNLIKELY(err != 0)) {
        ERROR();
    }
    CHECK_TRACING_AFTER(); /* __all__, getattr, a namespace's __setitem__ */
    CONTINUE();
}
