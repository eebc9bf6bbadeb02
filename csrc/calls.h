/* calls.h: calling from native code. */
#ifndef CPJIT_CALLS_H
#define CPJIT_CALLS_H

#include "cpjit_rt.h"
#include "internal/pycore_interp.h"

/* What cpjit_call knows about the call site, to call built-ins as the interpreter's specialised
 * instruction for that site would (counting recursion levels as it does). */
enum {
    CPJIT_CALL_WARM = 1,         /* the interpreter would have specialised the site by now */
    CPJIT_CALL_ONE_ARG = 2,      /* `f(x)`: oparg 1, not a method call */
    CPJIT_CALL_APPEND_SHAPE = 4, /* `o.m(x)` as a statement: method call, oparg 1, POP_TOP next */
};

/* Call a callable that is not a Python function with `nargs` positional arguments at `args`
 * (+ keyword names), borrowing everything: warm built-ins the way the interpreter's specialised
 * instructions call them, anything else through PyObject_Vectorcall. `site`: CPJIT_CALL_*. */
PyObject *cpjit_call(PyThreadState *tstate, PyObject *callable, PyObject *const *args,
                     Py_ssize_t nargs, PyObject *kwnames, int site);

/* Call the Python function `function` as the interpreter's inlined CALL does, consuming the
 * references to it and to every argument: when the arguments bind without error they move into
 * the callee's frame (so they are released with its locals, in their order, when it returns, as
 * in plain CPython), and the frame runs natively when compiled, else through the frame
 * evaluator; any other case is a generic call followed by releasing the references. */
PyObject *cpjit_call_function(PyThreadState *tstate, PyObject *function, PyObject *const *args,
                              Py_ssize_t npos, PyObject *kwnames);

/* CALL's general case: the oparg + 2 value-stack slots below `stack_pointer` hold
 * [NULL or method, callable or self, args...] (owned); unpack a bound method, call (directly for
 * compiled Python functions, see cpjit_call), release every slot, return the result or NULL.
 * `done` is the prev_instr the interpreter leaves while a Python callee runs (and, when the
 * callee raised, where it leaves it: the traceback entry points there); `warm` says whether
 * the interpreter would have specialised this call site by now (see WARMUP in stencil.h). */
PyObject *cpjit_call_generic(PyThreadState *tstate, _PyInterpreterFrame *frame,
                             PyObject **stack_pointer, int oparg, PyObject *kwnames,
                             _Py_CODEUNIT *done, int warm);

/* The frame-eval function (runtime.c). */
PyObject *cpjit_eval_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, int throwflag);
/* Whether the thread's C stack is too low for another native frame (runtime.c): below that,
 * calls go the generic way and the hook runs the frame in the interpreter, unhooked. */
int cpjit_rt_c_stack_low(PyThreadState *tstate);

/* The state of `code` when native code may call it directly right now, else NULL (make a
 * generic call). Direct calls need: cpjit's evaluator to be the current one (a profiler or
 * another PEP 523 hook installed over it must see every call), no tracing, compiled code, an
 * optimised code object (its frame has no locals dict), no varargs or varkeywords parameters, and recursion depth and C stack to spare (at the limits the
 * generic path raises RecursionError, or runs the frame unhooked, as runtime.c decides). */
static inline __attribute__((always_inline)) CpjitCodeState *
cpjit_direct_callee(PyThreadState *tstate, PyCodeObject *code)
{
    if ((code->co_flags & (CO_VARARGS | CO_VARKEYWORDS)) || !(code->co_flags & CO_OPTIMIZED)
        || !cpjit_direct_extra_ok
        || tstate->interp->eval_frame != cpjit_eval_frame || tstate->cframe->use_tracing
        || tstate->recursion_remaining <= 1) {
        return NULL;
    }
    CpjitCodeState *st = cpjit_state_fast(code);
    if (st == NULL || st->state != CPJIT_COMPILED || cpjit_rt_c_stack_low(tstate)) {
        return NULL;
    }
    return st;
}

/* Where a frame for `code` would go on the thread's data stack, or NULL when the current chunk
 * has no room (the fast path of _PyThreadState_BumpFramePointer; its slow path is not exported,
 * so the generic call handles that case). Nothing is pushed: the caller moves
 * tstate->datastack_top to `*top` once it commits. */
static inline __attribute__((always_inline)) _PyInterpreterFrame *
cpjit_frame_room(PyThreadState *tstate, PyCodeObject *code,
                 PyObject ***top)
{
    PyObject **base = tstate->datastack_top;
    size_t size = code->co_nlocalsplus + code->co_stacksize + FRAME_SPECIALS_SIZE;
    if (base == NULL || base + size >= tstate->datastack_limit
        || base == &tstate->datastack_chunk->data[0]) {
        return NULL;
    }
    *top = base + size;
    return (_PyInterpreterFrame *)base;
}
/* CALL, out of line, up to running the callee: the oparg + 2 value-stack slots below
 * `stack_pointer` hold [NULL or function, callable or self, args...] (owned); `kwnames` is the
 * KW_NAMES tuple or NULL; `done` is the CALL's last cache entry (the CALL itself is
 * done - INLINE_CACHE_ENTRIES_CALL). A bound method is first split into function and self, as
 * PRECALL does. When the call has no keyword names and the callee is a Python function that
 * takes exactly these positional arguments (missing trailing ones from its defaults), may be
 * called directly (cpjit_direct_callee) and its frame fits in the data stack's current chunk
 * (CALL_PY_EXACT_ARGS / CALL_PY_WITH_DEFAULTS): push its frame, move the function and the
 * arguments into it, link it as the thread's current frame with the caller's prev_instr at
 * `done` and its stack pointer saved without the slots, count the recursion level, and return
 * the callee's native entry with out->callee and out->stack_pointer set; the caller runs
 * entry(out->callee, out->stack_pointer, tstate), sets its own stacktop to -1 and pops the
 * callee with cpjit_pop_frame(tstate, out->callee, (PyObject **)out->callee). Otherwise make
 * the call (cpjit_call_generic, with prev_instr at the CALL), consuming the slots, and return
 * NULL with out->result set (NULL with an exception set when it raised). */
typedef struct {
    _PyInterpreterFrame *callee;
    PyObject **stack_pointer;
    PyObject *result;
} CpjitCallStart;
cpjit_native_fn cpjit_call_start(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 PyObject **stack_pointer, int oparg, PyObject *kwnames,
                                 _Py_CODEUNIT *done, CpjitCallStart *out);

/* After a directly called frame returned: clear it and pop it off the data stack (`base` is
 * where it started), as _PyEvalFrameClearAndPop does. */
void cpjit_pop_frame(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject **base);

#endif
