/* attrs.c (stencils): attribute access -- LOAD_ATTR, STORE_ATTR, DELETE_ATTR and LOAD_METHOD
 * (which pushes [meth, self] or [NULL, attr] for the PRECALL/CALL that follows). */
#include "stencil.h"
#include "names.h"

/* On failure the owner stays on the stack (owned), as in ceval.c. */
STENCIL(LOAD_ATTR)
{
    SAVE_IP();
    PyObject *owner = TOP();
    PyObject *res = PyObject_GetAttr(owner, NAME);
    if (res == NULL) {
        ERROR();
    }
    Py_DECREF(owner);
    SET_TOP(res);
    CONTINUE();
}

/* Both operands are popped first; they are released whether or not the store worked. */
STENCIL(STORE_ATTR)
{
    SAVE_IP();
    PyObject *owner = TOP();
    PyObject *v = SECOND();
    STACK_SHRINK(2);
    int err = PyObject_SetAttr(owner, NAME, v);
    Py_DECREF(v);
    Py_DECREF(owner);
    if (err != 0) {
        ERROR();
    }
    CONTINUE();
}

STENCIL(DELETE_ATTR)
{
    SAVE_IP();
    PyObject *owner = POP();
    int err = PyObject_SetAttr(owner, NAME, NULL);
    Py_DECREF(owner);
    if (err != 0) {
        ERROR();
    }
    CONTINUE();
}

/* meth | self  when an unbound method was found, else  NULL | attr. On failure the object stays
 * on the stack (owned). */
STENCIL(LOAD_METHOD)
{
    SAVE_IP();
    PyObject *obj = TOP();
    PyObject *meth = NULL;
    int meth_found = _PyObject_GetMethod(obj, NAME, &meth);
    if (meth == NULL) {
        ERROR();
    }
    if (meth_found) {
        SET_TOP(meth);
        PUSH(obj);
    }
    else {
        SET_TOP(NULL);
        Py_DECREF(obj);
        PUSH(meth);
    }
    CONTINUE();
}
