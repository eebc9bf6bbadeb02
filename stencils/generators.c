/* generators.c: generators, coroutines and async generators (CPython 3.11 semantics).
 *
 * RETURN_GENERATOR YIELD_VALUE SEND GET_AWAITABLE GET_AITER GET_ANEXT ASYNC_GEN_WRAP
 * END_ASYNC_FOR GET_YIELD_FROM_ITER (BEFORE_ASYNC_WITH is in with.c, beside BEFORE_WITH).
 *
 * Frames: a generator's frame is always an "entry" frame (a C caller resumes it: the hook or
 * cpjit_gen_send), so YIELD_VALUE leaves it like RETURN_VALUE does (cpjit_leave_frame) and
 * returns to that caller. RETURN_GENERATOR runs in the function's own frame, which native code
 * may have jumped into (csrc/calls.h: CPJIT_CALL_ENTER), so it ends through FRAME_EXIT. A generator resumed by send()/next() re-enters native code at the
 * instruction after its YIELD_VALUE (prev_instr + 1), the RESUME there: through the hook, or
 * straight from a native SEND (cpjit_gen_send, csrc/runtime.c). The frame looks exactly as the
 * interpreter would have left it, so the interpreter can resume it too.
 */
#include "stencil.h"
#include "gen.h"

/* Move the function's frame into a new generator / coroutine / async generator and return it
 * to the caller (ceval's RETURN_GENERATOR for an entry frame). */
STENCIL(RETURN_GENERATOR)
{
    if (!cpjit_gen_layout_ok()) {
        HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
    }
    SAVE_IP();
    /* The stack is empty; the generator's frame copies it and resumes after this instruction. */
    _PyFrame_SetStackPointer(frame, stack_pointer);
    PyObject *gen = cpjit_return_generator(tstate, frame);
    if (UNLIKELY(gen == NULL)) {
        ERROR();
    }
    cpjit_leave_frame(frame, tstate);
    FRAME_EXIT(gen);
}

STENCIL(YIELD_VALUE)
{
    PyObject *retval = POP();
    _PyFrame_GetGenerator(frame)->gi_frame_state = FRAME_SUSPENDED;
    frame->prev_instr = INSTR;
    _PyFrame_SetStackPointer(frame, stack_pointer);
    cpjit_leave_frame(frame, tstate);
    return retval;
}

/* [receiver, v] -> [receiver, yielded] and go on to YIELD_VALUE, or -> [returned] and jump. */
STENCIL(SEND)
{
    if (__builtin_expect(tstate->c_tracefunc != NULL, 0)) {
        /* Inside a trace function (use_tracing is off there): ceval takes its tracing path,
         * which calls tp_iternext / .send() rather than am_send. Let it. */
        HANDOVER_BEFORE(CPJIT_R_TRACING_MIDFRAME);
    }
    SAVE_IP();
    PyObject *v = POP();
    PyObject *receiver = TOP();
    PyObject *retval;
    /* PyIter_Send, resuming a generator or coroutine with native code directly. */
    PySendResult status = cpjit_gen_send(tstate, receiver, v, &retval);
    Py_DECREF(v);
    if (UNLIKELY(status == PYGEN_ERROR)) {
        ERROR();  /* receiver stays on the stack, as in ceval */
    }
    if (status == PYGEN_RETURN) {
        Py_DECREF(receiver);
        SET_TOP(retval);
        CHECK_TRACING_FROM(DONE + OPARG); /* the delegate's last step; on at the jump's target */
        JUMP();
    }
    PUSH(retval);
    CHECK_TRACING_AFTER(); /* the delegate ran */
    CONTINUE();
}

STENCIL(GET_AWAITABLE)
{
    PyObject *iterable = TOP();
    if (PyCoro_CheckExact(iterable) && !cpjit_gen_is_delegating((PyGenObject *)iterable)) {
        /* A coroutine is its own awaitable (_PyCoro_GetAwaitableIter); nothing runs. */
        CONTINUE();
    }
    SAVE_IP();
    PyObject *iter = cpjit_get_awaitable(tstate, iterable, OPARG);
    Py_DECREF(iterable);
    if (iter != NULL && PyCoro_CheckExact(iter) && cpjit_gen_is_delegating((PyGenObject *)iter)) {
        /* The coroutine is suspended in an await of its own: someone else awaits it. */
        Py_CLEAR(iter);
        _PyErr_SetString(tstate, PyExc_RuntimeError, "coroutine is being awaited already");
    }
    SET_TOP(iter);  /* NULL on error: the unwinder skips it */
    if (UNLIKELY(iter == NULL)) {
        ERROR();
    }
    CHECK_TRACING_AFTER();
    CONTINUE();
}

STENCIL(GET_AITER)
{
    SAVE_IP();
    PyObject *obj = TOP();
    PyTypeObject *type = Py_TYPE(obj);
    unaryfunc getter = type->tp_as_async != NULL ? type->tp_as_async->am_aiter : NULL;
    if (getter == NULL) {
        SET_TOP(NULL);
        _PyErr_Format(tstate, PyExc_TypeError,
                      "'async for' requires an object with __aiter__ method, got %.100s",
                      type->tp_name);
        Py_DECREF(obj);
        ERROR();
    }
    PyObject *iter = getter(obj);
    Py_DECREF(obj);
    if (iter == NULL) {
        SET_TOP(NULL);
        ERROR();
    }
    if (Py_TYPE(iter)->tp_as_async == NULL || Py_TYPE(iter)->tp_as_async->am_anext == NULL) {
        SET_TOP(NULL);
        _PyErr_Format(tstate, PyExc_TypeError,
                      "'async for' received an object from __aiter__ "
                      "that does not implement __anext__: %.100s",
                      Py_TYPE(iter)->tp_name);
        Py_DECREF(iter);
        ERROR();
    }
    SET_TOP(iter);
    CHECK_TRACING_AFTER();
    CONTINUE();
}

/* [aiter] -> [aiter, awaitable]; on error aiter stays. */
STENCIL(GET_ANEXT)
{
    SAVE_IP();
    PyObject *aiter = TOP();
    PyObject *awaitable;
    if (PyAsyncGen_CheckExact(aiter)) {
        awaitable = Py_TYPE(aiter)->tp_as_async->am_anext(aiter);
    }
    else {
        awaitable = cpjit_get_anext_generic(tstate, aiter);
    }
    if (UNLIKELY(awaitable == NULL)) {
        ERROR();
    }
    PUSH(awaitable);
    CHECK_TRACING_AFTER();
    CONTINUE();
}

STENCIL(ASYNC_GEN_WRAP)
{
    if (!cpjit_gen_layout_ok()) {
        HANDOVER_BEFORE(CPJIT_R_UNSUPPORTED);
    }
    SAVE_IP();
    PyObject *v = TOP();
    PyObject *w = cpjit_async_gen_wrap(v);
    if (UNLIKELY(w == NULL)) {
        ERROR();
    }
    SET_TOP(w);
    Py_DECREF(v);
    CONTINUE();
}

/* The handler of an async for loop: [aiter, exc]. StopAsyncIteration ends the loop; anything
 * else is re-raised without a new traceback entry (ceval's `goto exception_unwind`), which only
 * the interpreter can do: it re-runs this instruction. */
STENCIL(END_ASYNC_FOR)
{
    PyObject *val = TOP();
    if (!PyErr_GivenExceptionMatches(val, PyExc_StopAsyncIteration)) {
        HANDOVER_BEFORE(CPJIT_R_EXCEPTION);
    }
    SAVE_IP();
    STACK_SHRINK(2);
    Py_DECREF(val);
    Py_DECREF(stack_pointer[0]);
    CONTINUE();
}

STENCIL(GET_YIELD_FROM_ITER)
{
    PyObject *iterable = TOP();
    if (PyCoro_CheckExact(iterable)) {
        if (!(CODE->co_flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE))) {
            /* A coroutine in the 'yield from' of a plain generator. */
            SAVE_IP();
            SET_TOP(NULL);
            Py_DECREF(iterable);
            _PyErr_SetString(tstate, PyExc_TypeError,
                             "cannot 'yield from' a coroutine object "
                             "in a non-coroutine generator");
            ERROR();
        }
    }
    else if (!PyGen_CheckExact(iterable)) {
        SAVE_IP();
        PyObject *iter = PyObject_GetIter(iterable);
        Py_DECREF(iterable);
        SET_TOP(iter);
        if (UNLIKELY(iter == NULL)) {
            ERROR();
        }
        CHECK_TRACING_AFTER(); /* an __iter__ */
    }
    CONTINUE();
}
