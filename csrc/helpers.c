/* helpers.c: the generic helpers of helpers.h (errors, binary operators, globals, iteration). */
#include "helpers.h"
#include "exc.h"

#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_pyerrors.h"
#include "opcode.h"
#include "names.h"
#include "numeric.h"
#include "internal/pycore_atomic.h"
#include "internal/pycore_interp.h"

void cpjit_format_exc_check_arg(PyThreadState *tstate, PyObject *exc, const char *format_str,
                                PyObject *obj)
{
    if (obj == NULL) {
        return;
    }
    const char *obj_str = PyUnicode_AsUTF8(obj);
    if (obj_str == NULL) {
        return;
    }
    _PyErr_Format(tstate, exc, format_str, obj_str);
    if (exc == PyExc_NameError) {
        /* Keep the name for "Did you mean" suggestions, as ceval.c does. */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyErr_NormalizeException(&type, &value, &traceback);
        if (PyErr_GivenExceptionMatches(value, PyExc_NameError)) {
            PyNameErrorObject *ne = (PyNameErrorObject *)value;
            if (ne->name == NULL) {
                (void)PyObject_SetAttrString(value, "name", obj);
            }
        }
        PyErr_Restore(type, value, traceback);
    }
}

void cpjit_unbound_local_error(PyThreadState *tstate, _PyInterpreterFrame *frame, int oparg)
{
    cpjit_format_exc_check_arg(tstate, PyExc_UnboundLocalError, CPJIT_UNBOUNDLOCAL_ERROR_MSG,
                               PyTuple_GetItem(frame->f_code->co_localsplusnames, oparg));
}

PyObject *cpjit_power(PyObject *base, PyObject *exp)
{
    return PyNumber_Power(base, exp, Py_None);
}

PyObject *cpjit_inplace_power(PyObject *base, PyObject *exp)
{
    return PyNumber_InPlacePower(base, exp, Py_None);
}

static binaryfunc binary_ops[] = {
    [NB_ADD] = PyNumber_Add,
    [NB_AND] = PyNumber_And,
    [NB_FLOOR_DIVIDE] = PyNumber_FloorDivide,
    [NB_LSHIFT] = PyNumber_Lshift,
    [NB_MATRIX_MULTIPLY] = PyNumber_MatrixMultiply,
    [NB_MULTIPLY] = PyNumber_Multiply,
    [NB_REMAINDER] = PyNumber_Remainder,
    [NB_OR] = PyNumber_Or,
    [NB_POWER] = cpjit_power,
    [NB_RSHIFT] = PyNumber_Rshift,
    [NB_SUBTRACT] = PyNumber_Subtract,
    [NB_TRUE_DIVIDE] = PyNumber_TrueDivide,
    [NB_XOR] = PyNumber_Xor,
    [NB_INPLACE_ADD] = PyNumber_InPlaceAdd,
    [NB_INPLACE_AND] = PyNumber_InPlaceAnd,
    [NB_INPLACE_FLOOR_DIVIDE] = PyNumber_InPlaceFloorDivide,
    [NB_INPLACE_LSHIFT] = PyNumber_InPlaceLshift,
    [NB_INPLACE_MATRIX_MULTIPLY] = PyNumber_InPlaceMatrixMultiply,
    [NB_INPLACE_MULTIPLY] = PyNumber_InPlaceMultiply,
    [NB_INPLACE_REMAINDER] = PyNumber_InPlaceRemainder,
    [NB_INPLACE_OR] = PyNumber_InPlaceOr,
    [NB_INPLACE_POWER] = cpjit_inplace_power,
    [NB_INPLACE_RSHIFT] = PyNumber_InPlaceRshift,
    [NB_INPLACE_SUBTRACT] = PyNumber_InPlaceSubtract,
    [NB_INPLACE_TRUE_DIVIDE] = PyNumber_InPlaceTrueDivide,
    [NB_INPLACE_XOR] = PyNumber_InPlaceXor,
};

CPJIT_HOT
PyObject *cpjit_binary_op(int oparg, PyObject *lhs, PyObject *rhs)
{
    if (oparg < 0 || oparg >= (int)(sizeof(binary_ops) / sizeof(binary_ops[0]))
        || binary_ops[oparg] == NULL) {
        PyErr_Format(PyExc_SystemError, "cpjit: bad BINARY_OP oparg %d", oparg);
        return NULL;
    }
    return cpjit_binary_call(oparg, binary_ops[oparg], lhs, rhs);
}

PyObject *cpjit_load_global(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name)
{
    PyObject *globals = frame->f_globals, *builtins = frame->f_builtins;
    PyObject *v;
    if (PyDict_CheckExact(globals) && PyDict_CheckExact(builtins)) {
        v = PyDict_GetItemWithError(globals, name);
        if (v == NULL && !_PyErr_Occurred(tstate)) {
            v = PyDict_GetItemWithError(builtins, name);
        }
        if (v == NULL) {
            if (!_PyErr_Occurred(tstate)) {
                cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
            }
            return NULL;
        }
        Py_INCREF(v);
        return v;
    }
    /* Slow path if globals or builtins is not a dict: the interpreter's order and errors. */
    v = PyObject_GetItem(globals, name);
    if (v == NULL) {
        if (!_PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
            return NULL;
        }
        _PyErr_Clear(tstate);
        v = PyObject_GetItem(builtins, name);
        if (v == NULL) {
            if (_PyErr_ExceptionMatches(tstate, PyExc_KeyError)) {
                cpjit_format_exc_check_arg(tstate, PyExc_NameError, CPJIT_NAME_ERROR_MSG, name);
            }
            return NULL;
        }
    }
    return v;
}

CPJIT_HOT
int cpjit_for_iter_exhausted(PyThreadState *tstate, _PyInterpreterFrame *frame)
{
    if (_PyErr_Occurred(tstate)) {
        if (!_PyErr_ExceptionMatches(tstate, PyExc_StopIteration)) {
            return -1;
        }
        /* Under tracing the frame runs in the interpreter, which reports this itself. */
        _PyErr_Clear(tstate);
    }
    return 0;
}

/* The iterator cpjit_for_iter_end_replay returns: exhausted, it restores the exception it
 * holds (NULL: none) once, as the iterator it stands for ended. */
typedef struct {
    PyObject_HEAD
    PyObject *type, *value, *traceback;
    PyObject *iterator; /* the one it stands for, released with it: where the interpreter would */
} ReplayEnd;

static PyObject *replay_end_next(PyObject *self)
{
    ReplayEnd *r = (ReplayEnd *)self;
    if (r->type != NULL) {
        PyErr_Restore(r->type, r->value, r->traceback);
        r->type = r->value = r->traceback = NULL;
    }
    return NULL;
}

static void replay_end_dealloc(PyObject *self)
{
    ReplayEnd *r = (ReplayEnd *)self;
    Py_XDECREF(r->type);
    Py_XDECREF(r->value);
    Py_XDECREF(r->traceback);
    Py_XDECREF(r->iterator);
    PyObject_Free(self);
}

static PyTypeObject ReplayEndType = {
    PyVarObject_HEAD_INIT(&PyType_Type, 0)
    .tp_name = "cpjit.replayed_end",
    .tp_basicsize = sizeof(ReplayEnd),
    .tp_dealloc = replay_end_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = replay_end_next,
};

PyObject *cpjit_for_iter_end_replay(PyThreadState *tstate, PyObject *iterator)
{
    PyObject *type = NULL, *value = NULL, *traceback = NULL;
    if (_PyErr_Occurred(tstate)) {
        if (!_PyErr_ExceptionMatches(tstate, PyExc_StopIteration)) {
            return NULL;
        }
        _PyErr_Fetch(tstate, &type, &value, &traceback);
    }
    if (!(ReplayEndType.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&ReplayEndType) < 0) {
        goto fail;
    }
    ReplayEnd *r = PyObject_Malloc(sizeof(ReplayEnd));
    if (r == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    (void)PyObject_Init((PyObject *)r, &ReplayEndType);
    r->type = type;
    r->value = value;
    r->traceback = traceback;
    r->iterator = iterator;
    return (PyObject *)r;
fail:
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return NULL;
}

int cpjit_few_items_left(PyObject *it, Py_ssize_t limit)
{
    /* Read from the iterators' own fields, as their __length_hint__ computes it: calling that
     * would allocate a bound method, and an allocation may start a garbage collection the
     * interpreter would not have started here. */
    PyTypeObject *type = Py_TYPE(it);
    Py_ssize_t left;
    if (type == &PyListIter_Type || type == &PyTupleIter_Type) {
        cpjit_seqiter *si = (cpjit_seqiter *)it;
        left = si->it_seq == NULL ? 0 : Py_SIZE(si->it_seq) - si->it_index;
    }
    else if (type == &PyListRevIter_Type) {
        cpjit_seqiter *si = (cpjit_seqiter *)it;
        left = si->it_seq == NULL || si->it_index >= Py_SIZE(si->it_seq) ? 0 : si->it_index + 1;
    }
    else if (type == &PyRangeIter_Type) {
        cpjit_rangeiter *ri = (cpjit_rangeiter *)it;
        left = ri->len - ri->index;
    }
    else {
        return 0; /* a long range iterator counts with ints of its own: not few */
    }
    return left <= limit;
}

/* Bound of JUMP_BACKWARD_LAST_FOR's hand-over (see stencils/jumps.c). */
#define CPJIT_QUICKEN_ITEMS_LEFT 64

CpjitLoopExit cpjit_loop_slow(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate, CpjitCodeState *st, _Py_CODEUNIT *redo,
                              int kind)
{
    CpjitLoopExit r = {0, NULL};
    if (st != NULL && st->warmup < 0 && ++st->warmup == 0) {
        PyCodeObject *code = frame->f_code;
        if (code->co_warmup != 0
            && (kind == CPJIT_LOOP_RESUME || kind == CPJIT_LOOP_RESUME_NO_BREAKER
                || (kind == CPJIT_LOOP_LAST_FOR
                    && cpjit_few_items_left(stack_pointer[-1], CPJIT_QUICKEN_ITEMS_LEFT)))) {
            code->co_warmup = -1; /* the interpreter's own count takes it to 0 */
            frame->prev_instr = redo;
            r.status = 1;
            r.result = cpjit_handover(frame, stack_pointer, tstate, 0, CPJIT_R_QUICKENING);
            return r;
        }
    }
    if (kind == CPJIT_LOOP_RESUME_NO_BREAKER
        || !_Py_atomic_load_relaxed(&tstate->interp->ceval.eval_breaker)) {
        return r;
    }
    int oparg;
    _Py_CODEUNIT *instr = cpjit_decode_redo(redo, &oparg);
    if (kind == CPJIT_LOOP_COMPARE_BACK) {
        /* The jump follows the comparison's cache entries. Before the warm-up ends the
         * interpreter runs the two apart, and the jump serves the breaker. */
        _Py_CODEUNIT *jump = instr + 1 + INLINE_CACHE_ENTRIES_COMPARE_OP;
        if (!cpjit_code_is_warm(frame->f_code)) {
            instr = jump;
        }
        /* instr - oparg: the unit before the jump target (jump + 1 - its oparg). */
        oparg = _Py_OPARG(*jump) - (int)(jump - instr);
    }
    frame->prev_instr = instr;
    if (cpjit_handle_pending(tstate) < 0) {
        if (kind != CPJIT_LOOP_RESUME) {
            /* A backward jump, taken: ceval looks the handler up at the unit before the
             * target (instr + 1 - oparg is the target). */
            cpjit_unwind_next_error_from(frame, instr - oparg);
        }
        r.status = -1;
        return r;
    }
    if (CPJIT_INTERPRET_ONLY(tstate)) {
        /* RESUME has no cache entries: its DONE is the instruction itself. JUMP_BACKWARD has no
         * stack effect: the interpreter runs it again. POP_JUMP_BACKWARD_IF_* has popped its
         * condition and jumped: the interpreter goes on at the target, instr + 1 - oparg (no
         * cache entries), so prev_instr is the unit before it. */
        frame->prev_instr = kind == CPJIT_LOOP_RESUME ? instr
                            : kind == CPJIT_LOOP_BREAKER_ONLY || kind == CPJIT_LOOP_COMPARE_BACK
                                ? instr - oparg
                                : redo;
        r.status = 1;
        r.result = cpjit_handover(frame, stack_pointer, tstate, 0, CPJIT_R_TRACING_MIDFRAME);
    }
    return r;
}
