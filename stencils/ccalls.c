/* ccalls.c: calls of C code at sites the interpreter specialised, made in line.
 *
 * A code object compiled after its warm-up was quickened by the interpreter, which rewrote each
 * PRECALL it ran into the specialised form for the callable it saw there (PRECALL_NO_KW_LEN,
 * PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST, ...). The compiler gives such a PRECALL the stencil
 * named after that form (src/compiler.rs: the hint). The stencil checks what the interpreter's
 * form checks; when that holds it makes the whole call as that form does (same C call, same
 * releases, same stack, prev_instr at the PRECALL, the eval breaker after it) and goes on after
 * the CALL (SKIP). When it does not, it does nothing and the generic CALL stencil, laid out
 * next, makes the call (csrc/calls.c: cpjit_call), as the interpreter deoptimises to PRECALL and
 * CALL. Only the forms without keyword names are used (the compiler checks there is no KW_NAMES),
 * and only without EXTENDED_ARG (the interpreter never runs a specialised form after one).
 *
 * What these skip, against the generic path: cpjit_call's cache dispatch, call_c_kind's switch,
 * and the protocol of a call that may enter a Python callee. */
#include "stencil.h"
#include "internal/pycore_ceval.h"

/* The stack at a PRECALL with N arguments (OPARG, or a constant in the variants
 * `<FORM>__<N>` made for the commonest counts): [meth or NULL, self or callable, args...]; a
 * method call passes self as the first of `total` arguments. */
#define C_CALL_SITE(N)                                                                         \
    int oparg = (N);                                                                           \
    PyObject **slots = stack_pointer - oparg - 2;                                              \
    int is_meth = slots[0] != NULL;                                                            \
    int total = oparg + is_meth;                                                               \
    PyObject **args = stack_pointer - total;                                                   \
    PyObject *callable = args[-1];                                                             \
    (void)callable;                                                                            \
    if (UNLIKELY(tstate->cframe->use_tracing)) {                                               \
        /* The interpreter never runs a specialised form while tracing (c_call events). */    \
        CONTINUE();                                                                            \
    }

/* A guard of the interpreter's form failed: the generic PRECALL (nothing) and CALL follow. */
#define MISS_IF(cond)                                                                          \
    if (UNLIKELY(cond)) {                                                                      \
        CONTINUE();                                                                            \
    }

/* prev_instr that makes the interpreter resume after the CALL (no EXTENDED_ARG before it). */
#define AFTER_CALL (DONE + 1 + INLINE_CACHE_ENTRIES_CALL)

/* The interpreter runs the rest of the frame from after the CALL when `cond` holds (tracing
 * was switched on by code the call ran). */
#define HANDOVER_AFTER_CALL_IF(cond)                                                           \
    do {                                                                                       \
        if (UNLIKELY(cond)) {                                                                  \
            TRACED_FROM(AFTER_CALL);                                                           \
        }                                                                                      \
    } while (0)

/* The call is made and its arguments released: `res` replaces the call's slots. Raise when it
 * is NULL; serve the eval breaker (CHECK_BREAKER) as the form does; hand the frame over after
 * the CALL when the callee switched tracing on (sys.settrace); else go on after the CALL. */
#define C_CALL_DONE(res, CHECK_BREAKER)                                                        \
    do {                                                                                       \
        slots[0] = (res);                                                                      \
        stack_pointer = slots + 1;                                                             \
        if (UNLIKELY(slots[0] == NULL)) {                                                      \
            ERROR();                                                                           \
        }                                                                                      \
        if ((CHECK_BREAKER) && EVAL_BREAKER_SET()) {                                           \
            if (UNLIKELY(cpjit_handle_pending(tstate) < 0)) {                                  \
                ERROR();                                                                       \
            }                                                                                  \
        }                                                                                      \
        HANDOVER_AFTER_CALL_IF(CPJIT_INTERPRET_ONLY(tstate) != 0);                             \
        SKIP();                                                                                \
    } while (0)

/* Release the `n` arguments from `args` on, in the interpreter's order (destructors can see it). */
#define RELEASE_ARGS(n)                                                                        \
    for (int i_ = 0; i_ < (n); i_++) {                                                         \
        Py_DECREF(args[i_]);                                                                   \
    }
/* A method's arguments first, then self (args[0]), as the interpreter releases them. */
#define RELEASE_METHOD_ARGS(n)                                                                 \
    for (int i_ = 1; i_ < (n); i_++) {                                                         \
        Py_DECREF(args[i_]);                                                                   \
    }                                                                                          \
    Py_DECREF(args[0]);

/* Release `op`; its deallocation (which can run any code) publishes prev_instr and sets
 * `ran_code`. */
#define RELEASE_RUNNING(op, ran_code)                                                          \
    do {                                                                                       \
        PyObject *op_ = (op);                                                                  \
        if (UNLIKELY(--op_->ob_refcnt == 0)) {                                                 \
            cpjit_dealloc_at(op_, frame, INSTR);                                               \
            (ran_code) = 1;                                                                    \
        }                                                                                      \
    } while (0)

/* f(x) of a built-in METH_O function (abs, ord, repr, ...). */
#define NO_KW_BUILTIN_O(N)                                                                     \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total != 1);                                                                       \
    MISS_IF(!PyCFunction_CheckExact(callable));                                                \
    MISS_IF(PyCFunction_GET_FLAGS(callable) != METH_O);                                        \
    SAVE_IP();                                                                                 \
    if (UNLIKELY(_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object"))) {    \
        ERROR();                                                                               \
    }                                                                                          \
    PyObject *res = PyCFunction_GET_FUNCTION(callable)(PyCFunction_GET_SELF(callable), args[0]);\
    _Py_LeaveRecursiveCallTstate(tstate);                                                      \
    Py_DECREF(args[0]);                                                                        \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_BUILTIN_O__0) NO_KW_BUILTIN_O(0)
STENCIL(PRECALL_NO_KW_BUILTIN_O__1) NO_KW_BUILTIN_O(1)

/* f(a, b, ...) of a built-in METH_FASTCALL function (getattr, next, iter, ...). */
#define NO_KW_BUILTIN_FAST(N)                                                                  \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(!PyCFunction_CheckExact(callable));                                                \
    MISS_IF(PyCFunction_GET_FLAGS(callable) != METH_FASTCALL);                                 \
    SAVE_IP();                                                                                 \
    PyObject *res = ((_PyCFunctionFast)(void (*)(void))PyCFunction_GET_FUNCTION(callable))(    \
        PyCFunction_GET_SELF(callable), args, total);                                          \
    RELEASE_ARGS(total);                                                                       \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_BUILTIN_FAST) NO_KW_BUILTIN_FAST(OPARG)
STENCIL(PRECALL_NO_KW_BUILTIN_FAST__0) NO_KW_BUILTIN_FAST(0)
STENCIL(PRECALL_NO_KW_BUILTIN_FAST__1) NO_KW_BUILTIN_FAST(1)
STENCIL(PRECALL_NO_KW_BUILTIN_FAST__2) NO_KW_BUILTIN_FAST(2)
STENCIL(PRECALL_NO_KW_BUILTIN_FAST__3) NO_KW_BUILTIN_FAST(3)

/* The same for METH_FASTCALL | METH_KEYWORDS functions called without keywords (sorted, print,
 * ...). */
#define BUILTIN_FAST_WITH_KEYWORDS(N)                                                          \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(!PyCFunction_CheckExact(callable));                                                \
    MISS_IF(PyCFunction_GET_FLAGS(callable) != (METH_FASTCALL | METH_KEYWORDS));               \
    SAVE_IP();                                                                                 \
    PyObject *res =                                                                            \
        ((_PyCFunctionFastWithKeywords)(void (*)(void))PyCFunction_GET_FUNCTION(callable))(    \
            PyCFunction_GET_SELF(callable), args, total, NULL);                                \
    RELEASE_ARGS(total);                                                                       \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_BUILTIN_FAST_WITH_KEYWORDS) BUILTIN_FAST_WITH_KEYWORDS(OPARG)
STENCIL(PRECALL_BUILTIN_FAST_WITH_KEYWORDS__0) BUILTIN_FAST_WITH_KEYWORDS(0)
STENCIL(PRECALL_BUILTIN_FAST_WITH_KEYWORDS__1) BUILTIN_FAST_WITH_KEYWORDS(1)
STENCIL(PRECALL_BUILTIN_FAST_WITH_KEYWORDS__2) BUILTIN_FAST_WITH_KEYWORDS(2)
STENCIL(PRECALL_BUILTIN_FAST_WITH_KEYWORDS__3) BUILTIN_FAST_WITH_KEYWORDS(3)

/* len(x). */
#define NO_KW_LEN(N)                                                                           \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total != 1);                                                                       \
    MISS_IF(callable != tstate->interp->callable_cache.len);                                   \
    SAVE_IP();                                                                                 \
    Py_ssize_t n = PyObject_Length(args[0]);                                                   \
    if (UNLIKELY(n < 0)) {                                                                     \
        ERROR();                                                                               \
    }                                                                                          \
    PyObject *res = PyLong_FromSsize_t(n);                                                     \
    Py_DECREF(callable);                                                                       \
    Py_DECREF(args[0]);                                                                        \
    C_CALL_DONE(res, 0);                                                                       \
}
STENCIL(PRECALL_NO_KW_LEN__0) NO_KW_LEN(0)
STENCIL(PRECALL_NO_KW_LEN__1) NO_KW_LEN(1)

/* isinstance(x, cls). */
#define NO_KW_ISINSTANCE(N)                                                                    \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total != 2);                                                                       \
    MISS_IF(callable != tstate->interp->callable_cache.isinstance);                            \
    SAVE_IP();                                                                                 \
    PyObject *cls = args[1];                                                                   \
    int ok = PyObject_IsInstance(args[0], cls);                                                \
    if (UNLIKELY(ok < 0)) {                                                                    \
        /* The interpreter has popped cls. */                                                  \
        stack_pointer = args + 1;                                                              \
        Py_DECREF(cls);                                                                        \
        ERROR();                                                                               \
    }                                                                                          \
    PyObject *res = Py_NewRef(ok ? Py_True : Py_False);                                        \
    Py_DECREF(args[0]);                                                                        \
    Py_DECREF(cls);                                                                            \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 0);                                                                       \
}
STENCIL(PRECALL_NO_KW_ISINSTANCE__1) NO_KW_ISINSTANCE(1)
STENCIL(PRECALL_NO_KW_ISINSTANCE__2) NO_KW_ISINSTANCE(2)

/* lst.append(x) as a statement (the interpreter specialises only that): appended, and the None
 * the POP_TOP after the CALL discards pushed for it. Nothing runs other code but a destructor
 * (of the list, or when growing fails), so prev_instr is published and tracing checked only on
 * those paths. */
#define NO_KW_LIST_APPEND(N)                                                                   \
{                                                                                              \
    /* [list.append, list, item]: the form is a method call of one argument. */              \
    PyObject **slots = stack_pointer - 3;                                                      \
    PyObject **args = slots + 1;                                                               \
    PyObject *callable = slots[0];                                                             \
    MISS_IF((N) != 1 || tstate->cframe->use_tracing);                                          \
    MISS_IF(callable != tstate->interp->callable_cache.list_append);                           \
    PyObject *list = args[0];                                                                  \
    MISS_IF(!PyList_Check(list));                                                              \
    PyListObject *l = (PyListObject *)list;                                                    \
    Py_ssize_t len = PyList_GET_SIZE(l);                                                       \
    if (LIKELY(l->allocated > len)) {                                                          \
        PyList_SET_ITEM(l, len, args[1]);                                                      \
        Py_SET_SIZE(l, len + 1);                                                               \
    }                                                                                          \
    else {                                                                                     \
        /* Growing: the interpreter's _PyList_AppendTakeRef, which is not exported. */         \
        SAVE_IP();                                                                             \
        int failed = PyList_Append(list, args[1]) < 0;                                         \
        Py_DECREF(args[1]);                                                                    \
        if (UNLIKELY(failed)) {                                                                \
            /* The interpreter has popped (and the append released) the item. */               \
            stack_pointer = args + 1;                                                          \
            ERROR();                                                                           \
        }                                                                                      \
    }                                                                                          \
    int ran_code = 0;                                                                          \
    RELEASE_RUNNING(list, ran_code);                                                           \
    RELEASE_RUNNING(callable, ran_code);                                                       \
    slots[0] = Py_NewRef(Py_None);                                                             \
    stack_pointer = slots + 1;                                                                 \
    HANDOVER_AFTER_CALL_IF(UNLIKELY(ran_code) && CPJIT_INTERPRET_ONLY(tstate) != 0);          \
    SKIP();                                                                                    \
}
STENCIL(PRECALL_NO_KW_LIST_APPEND__1) NO_KW_LIST_APPEND(1)

/* The method descriptor's own type check: `self` is exactly its class. */
#define DESCR_GUARD(FLAGS)                                                                     \
    MISS_IF(!Py_IS_TYPE(callable, &PyMethodDescr_Type));                                       \
    PyMethodDef *meth = ((PyMethodDescrObject *)callable)->d_method;                           \
    MISS_IF(meth->ml_flags != (FLAGS));                                                        \
    MISS_IF(!Py_IS_TYPE(args[0], ((PyMethodDescrObject *)callable)->d_common.d_type));

/* obj.m(x) of a METH_O method of a built-in type (set.add, str.join, dict.__contains__, ...). */
#define NO_KW_METHOD_DESCRIPTOR_O(N)                                                           \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total != 2);                                                                       \
    DESCR_GUARD(METH_O)                                                                        \
    SAVE_IP();                                                                                 \
    if (UNLIKELY(_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object"))) {    \
        ERROR();                                                                               \
    }                                                                                          \
    PyObject *res = meth->ml_meth(args[0], args[1]);                                           \
    _Py_LeaveRecursiveCallTstate(tstate);                                                      \
    Py_DECREF(args[0]);                                                                        \
    Py_DECREF(args[1]);                                                                        \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_O__1) NO_KW_METHOD_DESCRIPTOR_O(1)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_O__2) NO_KW_METHOD_DESCRIPTOR_O(2)

/* obj.m() of a METH_NOARGS method (dict.items, str.lower, list.copy, ...). */
#define NO_KW_METHOD_DESCRIPTOR_NOARGS(N)                                                      \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total != 1);                                                                       \
    DESCR_GUARD(METH_NOARGS)                                                                   \
    SAVE_IP();                                                                                 \
    if (UNLIKELY(_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object"))) {    \
        ERROR();                                                                               \
    }                                                                                          \
    PyObject *res = meth->ml_meth(args[0], NULL);                                              \
    _Py_LeaveRecursiveCallTstate(tstate);                                                      \
    Py_DECREF(args[0]);                                                                        \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS__0) NO_KW_METHOD_DESCRIPTOR_NOARGS(0)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS__1) NO_KW_METHOD_DESCRIPTOR_NOARGS(1)

/* obj.m(a, ...) of a METH_FASTCALL method (list.pop, dict.get, ...). */
#define NO_KW_METHOD_DESCRIPTOR_FAST(N)                                                        \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total < 1);                                                                        \
    DESCR_GUARD(METH_FASTCALL)                                                                 \
    SAVE_IP();                                                                                 \
    PyObject *res =                                                                            \
        ((_PyCFunctionFast)(void (*)(void))meth->ml_meth)(args[0], args + 1, total - 1);       \
    RELEASE_METHOD_ARGS(total);                                                                \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST) NO_KW_METHOD_DESCRIPTOR_FAST(OPARG)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST__0) NO_KW_METHOD_DESCRIPTOR_FAST(0)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST__1) NO_KW_METHOD_DESCRIPTOR_FAST(1)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST__2) NO_KW_METHOD_DESCRIPTOR_FAST(2)
STENCIL(PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST__3) NO_KW_METHOD_DESCRIPTOR_FAST(3)

/* The same for METH_FASTCALL | METH_KEYWORDS methods called without keywords (str.split,
 * str.replace, ...). */
#define METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(N)                                                \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(total < 1);                                                                        \
    DESCR_GUARD(METH_FASTCALL | METH_KEYWORDS)                                                 \
    SAVE_IP();                                                                                 \
    PyObject *res = ((_PyCFunctionFastWithKeywords)(void (*)(void))meth->ml_meth)(             \
        args[0], args + 1, total - 1, NULL);                                                   \
    RELEASE_METHOD_ARGS(total);                                                                \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS) METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(OPARG)
STENCIL(PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS__0) METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(0)
STENCIL(PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS__1) METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(1)
STENCIL(PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS__2) METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(2)
STENCIL(PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS__3) METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS(3)

/* A class with a vectorcall of its own (int(x), list(), set(x), range(n), ...). */
#define BUILTIN_CLASS(N)                                                                       \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(!PyType_Check(callable));                                                          \
    vectorcallfunc vc = ((PyTypeObject *)callable)->tp_vectorcall;                             \
    MISS_IF(vc == NULL);                                                                       \
    SAVE_IP();                                                                                 \
    PyObject *res = vc(callable, args, total, NULL);                                           \
    RELEASE_ARGS(total);                                                                       \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_BUILTIN_CLASS) BUILTIN_CLASS(OPARG)
STENCIL(PRECALL_BUILTIN_CLASS__0) BUILTIN_CLASS(0)
STENCIL(PRECALL_BUILTIN_CLASS__1) BUILTIN_CLASS(1)
STENCIL(PRECALL_BUILTIN_CLASS__2) BUILTIN_CLASS(2)
STENCIL(PRECALL_BUILTIN_CLASS__3) BUILTIN_CLASS(3)

/* type(x), str(x), tuple(x). */
#define NO_KW_TYPE_1(N)                                                                        \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(oparg != 1 || is_meth);                                                            \
    MISS_IF(callable != (PyObject *)&PyType_Type);                                             \
    PyObject *res = Py_NewRef(Py_TYPE(args[0]));                                               \
    int ran_code = 0;                                                                          \
    RELEASE_RUNNING(args[0], ran_code);                                                        \
    Py_DECREF(callable); /* type itself: never deallocated */                                  \
    slots[0] = res;                                                                            \
    stack_pointer = slots + 1;                                                                 \
    HANDOVER_AFTER_CALL_IF(UNLIKELY(ran_code) && CPJIT_INTERPRET_ONLY(tstate) != 0);          \
    SKIP();                                                                                    \
}
STENCIL(PRECALL_NO_KW_TYPE_1__1) NO_KW_TYPE_1(1)

/* str(x) and tuple(x): the class `TYPE` called on one argument, made by `CONVERT`. */
#define NO_KW_CONVERT_1(N, TYPE, CONVERT)                                                      \
{                                                                                              \
    C_CALL_SITE(N)                                                                             \
    MISS_IF(oparg != 1 || is_meth);                                                            \
    MISS_IF(callable != (PyObject *)&(TYPE));                                                  \
    SAVE_IP();                                                                                 \
    PyObject *res = CONVERT(args[0]);                                                          \
    Py_DECREF(args[0]);                                                                        \
    Py_DECREF(callable);                                                                       \
    C_CALL_DONE(res, 1);                                                                       \
}
STENCIL(PRECALL_NO_KW_STR_1__1) NO_KW_CONVERT_1(1, PyUnicode_Type, PyObject_Str)
STENCIL(PRECALL_NO_KW_TUPLE_1__1) NO_KW_CONVERT_1(1, PyTuple_Type, PySequence_Tuple)
