/* gen.c: generators, coroutines and async generators for native frames (see gen.h).
 *
 * Owns: creating generator objects from a native frame (RETURN_GENERATOR), releasing the frame
 * of a generator that finished (the end of gen_send_ex2, for cpjit_gen_send), the awaitable
 * protocol (GET_AWAITABLE, GET_ANEXT), "is this coroutine delegating" (_PyGen_yf) and the
 * async-generator value wrapper. Re-implementations of Objects/genobject.c and Python/ceval.c
 * of CPython 3.11, whose versions are not exported.
 */
#include "gen.h"
#include "calls.h"

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_genobject.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"
#include "opcode.h"

#include <string.h>

/* genobject.c's private _PyAsyncGenWrappedValue; its type object is exported, so the layout is
 * checked against that type's tp_basicsize before use. */
typedef struct {
    PyObject_HEAD
    PyObject *agw_val;
} cpjit_wrapped_value;

/* The generator types are PyGenObject-shaped with the frame's slots as items (genobject.c:
 * tp_basicsize = offsetof(gi_iframe) + offsetof(_PyInterpreterFrame, localsplus)). */
static int gen_type_matches(PyTypeObject *type)
{
    return type->tp_basicsize
               == (Py_ssize_t)(offsetof(PyGenObject, gi_iframe)
                               + offsetof(_PyInterpreterFrame, localsplus))
           && type->tp_itemsize == (Py_ssize_t)sizeof(PyObject *);
}

int cpjit_gen_layout = 0;

int cpjit_gen_layout_check(void)
{
    int layout = cpjit_gen_layout;
    if (layout == 0) {
        int ok = gen_type_matches(&PyGen_Type) && gen_type_matches(&PyCoro_Type)
                 && gen_type_matches(&PyAsyncGen_Type)
                 && offsetof(PyCoroObject, cr_iframe) == offsetof(PyGenObject, gi_iframe)
                 && offsetof(PyAsyncGenObject, ag_iframe) == offsetof(PyGenObject, gi_iframe)
                 && _PyAsyncGenWrappedValue_Type.tp_basicsize
                        == (Py_ssize_t)sizeof(cpjit_wrapped_value)
                 && _PyAsyncGenWrappedValue_Type.tp_itemsize == 0;
        layout = ok ? 1 : -1;
        cpjit_gen_layout = layout;
    }
    return layout > 0;
}

/* ---- RETURN_GENERATOR ---- */

/* genobject.c's make_gen: an empty generator object of `type` for `func`, frame not yet set. */
static PyGenObject *make_gen(PyTypeObject *type, PyFunctionObject *func)
{
    PyCodeObject *code = (PyCodeObject *)func->func_code;
    int slots = code->co_nlocalsplus + code->co_stacksize;
    PyGenObject *gen = PyObject_GC_NewVar(PyGenObject, type, slots);
    if (gen == NULL) {
        return NULL;
    }
    gen->gi_frame_state = FRAME_CLEARED;
    /* Read again, as make_gen does: a finalizer run by the allocation may have assigned the
     * function's __code__ (the frame, already pushed, keeps the code it runs). */
    gen->gi_code = (PyCodeObject *)Py_NewRef(func->func_code);
    gen->gi_weakreflist = NULL;
    gen->gi_exc_state.exc_value = NULL;
    gen->gi_exc_state.previous_item = NULL;
    gen->gi_name = Py_NewRef(func->func_name);
    gen->gi_qualname = Py_NewRef(func->func_qualname);
    /* Set in every kind (_Py_MakeCoro sets them for coroutines and async generators; for plain
     * generators the fields exist and are unused). */
    gen->gi_origin_or_finalizer = NULL;
    gen->gi_hooks_inited = 0;
    gen->gi_closed = 0;
    gen->gi_running_async = 0;
    _PyObject_GC_TRACK(gen);
    return gen;
}

/* genobject.c's compute_cr_origin: ((filename, line, name), ...) for up to `origin_depth`
 * frames starting at `current`. Line numbers via PyCode_Addr2Line, as
 * _PyInterpreterFrame_GetLine computes them. */
static PyObject *compute_cr_origin(int origin_depth, _PyInterpreterFrame *current)
{
    int frame_count = 0;
    for (_PyInterpreterFrame *f = current; f && frame_count < origin_depth; f = f->previous) {
        frame_count++;
    }
    PyObject *cr_origin = PyTuple_New(frame_count);
    if (cr_origin == NULL) {
        return NULL;
    }
    _PyInterpreterFrame *f = current;
    for (int i = 0; i < frame_count; i++) {
        PyCodeObject *code = f->f_code;
        int line = PyCode_Addr2Line(code, _PyInterpreterFrame_LASTI(f) * sizeof(_Py_CODEUNIT));
        PyObject *info = Py_BuildValue("OiO", code->co_filename, line, code->co_name);
        if (info == NULL) {
            Py_DECREF(cr_origin);
            return NULL;
        }
        PyTuple_SET_ITEM(cr_origin, i, info);
        f = f->previous;
    }
    return cr_origin;
}

/* _Py_MakeCoro. `frame` is the function's frame, still the thread's current one. */
static PyGenObject *make_coro(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyFunctionObject *func = frame->f_func;
    int kind = ((PyCodeObject *)func->func_code)->co_flags
               & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR);
    if (kind == CO_GENERATOR) {
        return make_gen(&PyGen_Type, func);
    }
    if (kind == CO_ASYNC_GENERATOR) {
        return make_gen(&PyAsyncGen_Type, func);
    }
    PyGenObject *coro = make_gen(&PyCoro_Type, func);
    if (coro == NULL) {
        return NULL;
    }
    int origin_depth = tstate->coroutine_origin_tracking_depth;
    if (origin_depth > 0) {
        /* _PyEval_GetFrame()->previous: the frame that called the coroutine function. */
        PyObject *origin = compute_cr_origin(origin_depth, frame->previous);
        coro->gi_origin_or_finalizer = origin;
        if (origin == NULL) {
            Py_DECREF(coro);
            return NULL;
        }
    }
    return coro;
}

CPJIT_HOT
PyObject *cpjit_return_generator(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    PyGenObject *gen = make_coro(tstate, frame);
    if (gen == NULL) {
        return NULL;
    }
    /* _PyFrame_Copy: specials, locals and the (empty) stack move into the generator; the
     * references move with them. */
    _PyInterpreterFrame *gen_frame = (_PyInterpreterFrame *)gen->gi_iframe;
    size_t size = (char *)&frame->localsplus[frame->stacktop] - (char *)frame;
    memcpy(gen_frame, frame, size);
    gen_frame->previous = NULL;
    gen->gi_frame_state = FRAME_CREATED;
    gen_frame->owner = FRAME_OWNED_BY_GENERATOR;
    /* ceval's entry-frame exit: the caller (_PyEval_Vector) clears and pops this frame, so it
     * must own nothing but new references to f_func and f_code (the originals went to the
     * generator's copy). */
    frame->stacktop = 0;
    frame->f_locals = NULL;
    Py_INCREF(frame->f_func);
    Py_INCREF(frame->f_code);
    return (PyObject *)gen;
}

/* ---- the end of a generator's frame ---- */

CPJIT_HOT
void cpjit_gen_release_frame(PyGenObject *gen)
{
    Py_CLEAR(gen->gi_exc_state.exc_value); /* _PyErr_ClearExcState */
    gen->gi_frame_state = FRAME_CLEARED;
    /* _PyFrame_Clear: gen_send_ex2 has unlinked the frame, so there is no f_back to link. */
    cpjit_clear_frame(_PyThreadState_GET(), (_PyInterpreterFrame *)gen->gi_iframe);
}

/* ---- awaitables ---- */

/* genobject.c's gen_is_coroutine: a generator decorated with @types.coroutine. */
static int gen_is_coroutine(PyObject *o)
{
    return PyGen_CheckExact(o)
           && (((PyGenObject *)o)->gi_code->co_flags & CO_ITERABLE_COROUTINE);
}

/* _PyCoro_GetAwaitableIter. */
static PyObject *get_awaitable_iter(PyObject *o)
{
    if (PyCoro_CheckExact(o) || gen_is_coroutine(o)) {
        return Py_NewRef(o);
    }
    PyTypeObject *type = Py_TYPE(o);
    unaryfunc getter = type->tp_as_async != NULL ? type->tp_as_async->am_await : NULL;
    if (getter == NULL) {
        PyErr_Format(PyExc_TypeError, "object %.100s can't be used in 'await' expression",
                     type->tp_name);
        return NULL;
    }
    PyObject *res = getter(o);
    if (res == NULL) {
        return NULL;
    }
    if (PyCoro_CheckExact(res) || gen_is_coroutine(res)) {
        /* __await__ must return an iterator, not a coroutine or another awaitable (PEP 492). */
        PyErr_SetString(PyExc_TypeError, "__await__() returned a coroutine");
        Py_DECREF(res);
        return NULL;
    }
    if (!PyIter_Check(res)) {
        PyErr_Format(PyExc_TypeError, "__await__() returned non-iterator of type '%.100s'",
                     Py_TYPE(res)->tp_name);
        Py_DECREF(res);
        return NULL;
    }
    return res;
}

PyObject *cpjit_get_awaitable(PyThreadState *tstate, PyObject *iterable, int oparg)
{
    PyObject *iter = get_awaitable_iter(iterable);
    if (iter == NULL) {
        /* ceval.c's format_awaitable_error: a clearer message for async with. */
        PyTypeObject *type = Py_TYPE(iterable);
        if (type->tp_as_async == NULL || type->tp_as_async->am_await == NULL) {
            if (oparg == 1) {
                _PyErr_Format(tstate, PyExc_TypeError,
                              "'async with' received an object from __aenter__ "
                              "that does not implement __await__: %.100s",
                              type->tp_name);
            }
            else if (oparg == 2) {
                _PyErr_Format(tstate, PyExc_TypeError,
                              "'async with' received an object from __aexit__ "
                              "that does not implement __await__: %.100s",
                              type->tp_name);
            }
        }
    }
    return iter;
}

PyObject *cpjit_get_anext_generic(PyThreadState *tstate, PyObject *aiter)
{
    PyTypeObject *type = Py_TYPE(aiter);
    unaryfunc getter = type->tp_as_async != NULL ? type->tp_as_async->am_anext : NULL;
    if (getter == NULL) {
        _PyErr_Format(tstate, PyExc_TypeError,
                      "'async for' requires an iterator with __anext__ method, got %.100s",
                      type->tp_name);
        return NULL;
    }
    PyObject *next_iter = getter(aiter);
    if (next_iter == NULL) {
        return NULL;
    }
    PyObject *awaitable = get_awaitable_iter(next_iter);
    if (awaitable == NULL) {
        _PyErr_FormatFromCause(PyExc_TypeError,
                               "'async for' received an invalid object from __anext__: %.100s",
                               Py_TYPE(next_iter)->tp_name);
    }
    Py_DECREF(next_iter);
    return awaitable;
}

/* ---- ASYNC_GEN_WRAP ---- */

PyObject *cpjit_async_gen_wrap(PyObject *value)
{
    cpjit_wrapped_value *o;
#if _PyAsyncGen_MAXFREELIST > 0
    /* The interpreter's own free list (the type's dealloc refills it). */
    struct _Py_async_gen_state *state = &_PyInterpreterState_GET()->async_gen;
    if (state->value_numfree > 0) {
        state->value_numfree--;
        o = (cpjit_wrapped_value *)state->value_freelist[state->value_numfree];
        _Py_NewReference((PyObject *)o);
    }
    else
#endif
    {
        o = PyObject_GC_New(cpjit_wrapped_value, &_PyAsyncGenWrappedValue_Type);
        if (o == NULL) {
            return NULL;
        }
    }
    o->agw_val = Py_NewRef(value);
    _PyObject_GC_TRACK((PyObject *)o);
    return (PyObject *)o;
}
