/* slowpaths.c: the out-of-line halves of stencils (see slowpaths.h). */
#include "slowpaths.h"
#include "arith.h"
#include "names.h"
#include "helpers.h"
#include "calls.h"
#include "opcode.h"

#include "internal/pycore_ceval.h"
#include "internal/pycore_global_strings.h"
#include "internal/pycore_runtime.h"

/* A generic path's result (stored where the instruction leaves it), or, when the code it ran
 * switched tracing on, its error value with cpjit_trace_after() (cpjit_rt.h): the stencil's
 * error exit then hands over after the instruction. */
static inline PyObject *traced_result(PyObject *res)
{
    if (res != NULL && __builtin_expect(CPJIT_TRACING_STARTED(), 0)) {
        cpjit_trace_after();
        return NULL;
    }
    return res;
}

static inline int traced_status(int status)
{
    if (status >= 0 && __builtin_expect(CPJIT_TRACING_STARTED(), 0)) {
        cpjit_trace_after();
        return -1;
    }
    return status;
}

CPJIT_HOT
PyObject *cpjit_binary_op_consume(int oparg, PyObject **stack_pointer)
{
    PyObject *rhs = stack_pointer[-1], *lhs = stack_pointer[-2];
    PyObject *res;
    binaryfunc slot = NULL;
    if (PyLong_CheckExact(lhs) && PyLong_CheckExact(rhs)) {
        /* Big ints: int's own slot, skipping the generic binary_op1 dispatch (int has no
         * in-place slots, so the in-place operators end up there as well). */
        switch (oparg) {
        case NB_ADD:
        case NB_INPLACE_ADD:
            slot = PyLong_Type.tp_as_number->nb_add;
            break;
        case NB_SUBTRACT:
        case NB_INPLACE_SUBTRACT:
            slot = PyLong_Type.tp_as_number->nb_subtract;
            break;
        case NB_MULTIPLY:
        case NB_INPLACE_MULTIPLY:
            slot = PyLong_Type.tp_as_number->nb_multiply;
            break;
        default:
            /* The operators 3.11 never specialises, on small ints. */
            if (cpjit_small_int_op(oparg, stack_pointer, &res)) {
                return res;
            }
            break;
        }
    }
    else if ((oparg == NB_POWER || oparg == NB_INPLACE_POWER) && float_operands(lhs, rhs)) {
        /* float_pow's finite cases (int's slot answers NotImplemented for a float exponent;
         * float has no in-place power). */
        double r;
        if (cpjit_plain_pow(as_double(lhs), as_double(rhs), &r)) {
            res = PyFloat_FromDouble(r);
            Py_DECREF(lhs);
            Py_DECREF(rhs);
            stack_pointer[-2] = res;
            return res;
        }
    }
    res = slot != NULL ? slot(lhs, rhs) : cpjit_binary_op(oparg, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    stack_pointer[-2] = res;
    return slot != NULL ? res : traced_result(res); /* int's own slot runs no Python code */
}

/* cpjit_binary_other_*: see slowpaths.h. `op` is the operator's PyNumber_* function, a
 * constant in each copy: cpjit_binary_op's call without its table. */
static inline __attribute__((always_inline)) PyObject *other_operands(int oparg, binaryfunc op,
                                                                      PyObject **stack_pointer)
{
    PyObject *rhs = stack_pointer[-1], *lhs = stack_pointer[-2];
    PyObject *res = cpjit_binary_call(oparg, op, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    stack_pointer[-2] = res;
    return traced_result(res);
}

#define BINARY_OTHER(NAME, NB, FUNC)                                                           \
    CPJIT_HOT PyObject *cpjit_binary_other_##NAME(PyObject **stack_pointer)                    \
    {                                                                                          \
        return other_operands((NB), (FUNC), stack_pointer);                                    \
    }

BINARY_OTHER(add, NB_ADD, PyNumber_Add)
BINARY_OTHER(subtract, NB_SUBTRACT, PyNumber_Subtract)
BINARY_OTHER(multiply, NB_MULTIPLY, PyNumber_Multiply)
BINARY_OTHER(true_divide, NB_TRUE_DIVIDE, PyNumber_TrueDivide)
BINARY_OTHER(inplace_add, NB_INPLACE_ADD, PyNumber_InPlaceAdd)
BINARY_OTHER(inplace_subtract, NB_INPLACE_SUBTRACT, PyNumber_InPlaceSubtract)
BINARY_OTHER(inplace_multiply, NB_INPLACE_MULTIPLY, PyNumber_InPlaceMultiply)
BINARY_OTHER(inplace_true_divide, NB_INPLACE_TRUE_DIVIDE, PyNumber_InPlaceTrueDivide)

#define BINARY_GENERIC(NB, FUNC)                                                               \
    CPJIT_HOT PyObject *cpjit_binary_generic_##NB(PyObject **stack_pointer)                    \
    {                                                                                          \
        if (not_int_or_float(stack_pointer[-2])) {                                             \
            return other_operands((NB), (FUNC), stack_pointer);                                \
        }                                                                                      \
        return cpjit_binary_op_consume((NB), stack_pointer);                                   \
    }

BINARY_GENERIC(1, PyNumber_And)
BINARY_GENERIC(2, PyNumber_FloorDivide)
BINARY_GENERIC(3, PyNumber_Lshift)
BINARY_GENERIC(4, PyNumber_MatrixMultiply)
BINARY_GENERIC(6, PyNumber_Remainder)
BINARY_GENERIC(7, PyNumber_Or)
BINARY_GENERIC(8, cpjit_power)
BINARY_GENERIC(9, PyNumber_Rshift)
BINARY_GENERIC(12, PyNumber_Xor)
BINARY_GENERIC(14, PyNumber_InPlaceAnd)
BINARY_GENERIC(15, PyNumber_InPlaceFloorDivide)
BINARY_GENERIC(16, PyNumber_InPlaceLshift)
BINARY_GENERIC(17, PyNumber_InPlaceMatrixMultiply)
BINARY_GENERIC(19, PyNumber_InPlaceRemainder)
BINARY_GENERIC(20, PyNumber_InPlaceOr)
BINARY_GENERIC(21, cpjit_inplace_power)
BINARY_GENERIC(22, PyNumber_InPlaceRshift)
BINARY_GENERIC(25, PyNumber_InPlaceXor)

/* The numbering the functions above are named by. */
_Static_assert(NB_AND == 1 && NB_FLOOR_DIVIDE == 2 && NB_LSHIFT == 3 && NB_MATRIX_MULTIPLY == 4
                   && NB_REMAINDER == 6 && NB_OR == 7 && NB_POWER == 8 && NB_RSHIFT == 9
                   && NB_XOR == 12 && NB_INPLACE_AND == 14 && NB_INPLACE_FLOOR_DIVIDE == 15
                   && NB_INPLACE_LSHIFT == 16 && NB_INPLACE_MATRIX_MULTIPLY == 17
                   && NB_INPLACE_REMAINDER == 19 && NB_INPLACE_OR == 20
                   && NB_INPLACE_POWER == 21 && NB_INPLACE_RSHIFT == 22 && NB_INPLACE_XOR == 25,
               "BINARY_OP's operator numbering");

PyObject *cpjit_compare_consume(int oper, PyObject **stack_pointer)
{
    PyObject *right = stack_pointer[-1], *left = stack_pointer[-2];
    PyObject *res;
    if ((unsigned)oper <= Py_GE && float_with_small_int(left, right) != NULL
        && _PyThreadState_GET()->recursion_remaining > 0) {
        /* float_richcompare's answer (directly, or reflected after int's NotImplemented): the
         * int converted exactly, its shortcuts for infinities, NaNs and differing signs give the
         * truths of comparing the two doubles. PyObject_RichCompare's recursion level is
         * unobservable with budget left. */
        res = Py_NewRef(COMPARE_TRUTH(oper, as_double(left), as_double(right)) ? Py_True
                                                                               : Py_False);
        stack_pointer[-2] = res;
        Py_DECREF(left);
        Py_DECREF(right);
        return res;
    }
    res = PyObject_RichCompare(left, right, oper);
    stack_pointer[-2] = res;
    Py_DECREF(left);
    Py_DECREF(right);
    return traced_result(res);
}

/* Whether the warm interpreter runs this COMPARE_OP (followed by a conditional jump) as one of
 * its specialised forms, which count no recursion level: COMPARE_OP_FLOAT_JUMP (two exact floats,
 * neither a NaN: a NaN deoptimises), COMPARE_OP_INT_JUMP (two exact ints of at most one digit),
 * COMPARE_OP_STR_JUMP (two exact strs, == or !=). The interpreter specialises a site for the
 * operands it first meets once the code is quickened, and never while tracing; cpjit takes the
 * site as specialised for the operands it has now. */
static int compare_is_specialised(PyThreadState *tstate, _PyInterpreterFrame *frame, int oper,
                                  PyObject *left, PyObject *right)
{
    if (tstate->cframe->use_tracing || Py_TYPE(left) != Py_TYPE(right)) {
        return 0;
    }
    CpjitCodeState *st = cpjit_state_fast(frame->f_code);
    if (st == NULL || st->warmup < 0) {
        return 0; /* not quickened yet: the adaptive COMPARE_OP runs unspecialised */
    }
    if (PyFloat_CheckExact(left)) {
        return !isnan(PyFloat_AS_DOUBLE(left)) && !isnan(PyFloat_AS_DOUBLE(right));
    }
    if (PyLong_CheckExact(left)) {
        return (size_t)(Py_SIZE(left) + 1) < 3 && (size_t)(Py_SIZE(right) + 1) < 3;
    }
    return PyUnicode_CheckExact(left) && (oper == Py_EQ || oper == Py_NE);
}

PyObject *cpjit_compare_jump_consume(PyThreadState *tstate, _PyInterpreterFrame *frame, int oper,
                                     PyObject **stack_pointer)
{
    PyObject *right = stack_pointer[-1], *left = stack_pointer[-2];
    if (tstate->recursion_remaining > 0
        || !compare_is_specialised(tstate, frame, oper, left, right)) {
        /* With budget left, counting a level is unobservable for the specialised operand
         * types (their comparison runs no Python code); everything else counts one. */
        return cpjit_compare_consume(oper, stack_pointer);
    }
    int truth;
    if (PyUnicode_CheckExact(left)) {
        truth = _PyUnicode_Equal(left, right) == (oper == Py_EQ);
    }
    else if (PyFloat_CheckExact(left)) {
        double l = PyFloat_AS_DOUBLE(left), r = PyFloat_AS_DOUBLE(right);
        truth = oper == Py_LT ? l < r : oper == Py_LE ? l <= r : oper == Py_EQ ? l == r
              : oper == Py_NE ? l != r : oper == Py_GT ? l > r : l >= r;
    }
    else {
        int64_t l = (int64_t)Py_SIZE(left) * ((PyLongObject *)left)->ob_digit[0];
        int64_t r = (int64_t)Py_SIZE(right) * ((PyLongObject *)right)->ob_digit[0];
        truth = oper == Py_LT ? l < r : oper == Py_LE ? l <= r : oper == Py_EQ ? l == r
              : oper == Py_NE ? l != r : oper == Py_GT ? l > r : l >= r;
    }
    PyObject *res = truth ? Py_NewRef(Py_True) : Py_NewRef(Py_False);
    stack_pointer[-2] = res;
    Py_DECREF(left);
    Py_DECREF(right);
    return res;
}

PyObject **cpjit_make_function(int oparg, PyObject **stack_pointer, PyObject *globals)
{
    PyObject *codeobj = *--stack_pointer;
    PyFunctionObject *func = (PyFunctionObject *)PyFunction_New(codeobj, globals);
    Py_DECREF(codeobj);
    if (func == NULL) {
        return NULL;
    }
    if (oparg & 0x08) {
        func->func_closure = *--stack_pointer;
    }
    if (oparg & 0x04) {
        func->func_annotations = *--stack_pointer;
    }
    if (oparg & 0x02) {
        func->func_kwdefaults = *--stack_pointer;
    }
    if (oparg & 0x01) {
        func->func_defaults = *--stack_pointer;
    }
    *stack_pointer++ = (PyObject *)func;
    return stack_pointer;
}

/* typeobject.c's slot_mp_subscript (static there), the mp_subscript of every class that defines
 * __getitem__ in Python: read at start-up from a probe class (cpjit_learn_slot_functions). */
static binaryfunc python_mp_subscript;
/* The same for slot_mp_ass_subscript (__setitem__ or __delitem__ in Python), and typeobject.c's
 * wrap_objobjargproc, the wrapper of the __setitem__ slot wrappers of C types (list.__setitem__,
 * dict.__setitem__): read from a probe class and from dict's own. */
static objobjargproc python_mp_ass_subscript;
static wrapperfunc slot_wrapper_objobjargproc;
/* And slot_sq_contains (__contains__ in Python). */
static objobjproc python_sq_contains;

/* The C getter of the getset descriptor `dict[name]` (a static type's own dict), or NULL. */
static getter getset_getter(PyObject *dict, PyObject *name)
{
    PyObject *descr = PyDict_GetItemWithError(dict, name);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyGetSetDescr_Type)) {
        PyErr_Clear();
        return NULL;
    }
    return ((PyGetSetDescrObject *)descr)->d_getset->get;
}

/* _collections._tuplegetter, the type of a namedtuple's field descriptors, when its objects
 * keep their index right after the object header (checked on probes made with two indices);
 * else NULL. Nothing raised. */
static PyTypeObject *learn_tuplegetter(void)
{
    PyObject *mod = PyImport_ImportModule("_collections");
    PyObject *type = mod != NULL ? PyObject_GetAttrString(mod, "_tuplegetter") : NULL;
    Py_XDECREF(mod);
    PyTypeObject *found = NULL;
    if (type != NULL && PyType_Check(type)
        && (((PyTypeObject *)type)->tp_flags & Py_TPFLAGS_IMMUTABLETYPE)) {
        PyObject *one = PyObject_CallFunction(type, "nO", (Py_ssize_t)1, Py_None);
        PyObject *five = PyObject_CallFunction(type, "nO", (Py_ssize_t)5, Py_None);
        if (one != NULL && five != NULL && cpjit_tuplegetter_index(one) == 1
            && cpjit_tuplegetter_index(five) == 5) {
            found = (PyTypeObject *)type;
        }
        Py_XDECREF(one);
        Py_XDECREF(five);
    }
    Py_XDECREF(type); /* a static type: it outlives the reference */
    PyErr_Clear();
    return found;
}

int cpjit_learn_slot_functions(void)
{
    /* One probe class (each costs ~58k instructions of start-up): its __getattr__ gives
     * the hook any class defining one gets, a metaclass included. */
    PyObject *probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){sOsOsOsO}",
                                            "cpjit_probe", "__getitem__", Py_None,
                                            "__setitem__", Py_None, "__contains__", Py_None,
                                            "__getattr__", Py_None);
    if (probe == NULL) {
        return -1;
    }
    PyMappingMethods *m = ((PyTypeObject *)probe)->tp_as_mapping;
    python_mp_subscript = m != NULL ? m->mp_subscript : NULL;
    python_mp_ass_subscript = m != NULL ? m->mp_ass_subscript : NULL;
    PySequenceMethods *sq = ((PyTypeObject *)probe)->tp_as_sequence;
    python_sq_contains = sq != NULL ? sq->sq_contains : NULL;
    getattrofunc hook = ((PyTypeObject *)probe)->tp_getattro;
    Py_DECREF(probe);
    PyObject *setitem = PyDict_GetItemWithError(PyDict_Type.tp_dict, &_Py_ID(__setitem__));
    if (setitem != NULL && Py_IS_TYPE(setitem, &PyWrapperDescr_Type)
        && ((PyWrapperDescrObject *)setitem)->d_wrapped
               == (void *)PyDict_Type.tp_as_mapping->mp_ass_subscript) {
        slot_wrapper_objobjargproc = ((PyWrapperDescrObject *)setitem)->d_base->wrapper;
    }
    PyErr_Clear();
    /* (A metaclass defining __getattr__ gets the same hook: the object's type is what counts.) */
    cpjit_python_getattr_hook =
        hook != PyType_Type.tp_getattro && hook != PyBaseObject_Type.tp_getattro ? hook : NULL;
    cpjit_type_getattribute = PyDict_GetItemWithError(PyType_Type.tp_dict,
                                                      &_Py_ID(__getattribute__));
    if (cpjit_type_getattribute == NULL) {
        cpjit_python_getattr_hook = NULL;
        PyErr_Clear();
    }
    cpjit_object_class_getter = getset_getter(PyBaseObject_Type.tp_dict, &_Py_ID(__class__));
    cpjit_type_name_getter = getset_getter(PyType_Type.tp_dict, &_Py_ID(__name__));
    cpjit_tuplegetter_type = learn_tuplegetter();
    return 0;
}

getattrofunc cpjit_python_getattr_hook;
PyObject *cpjit_type_getattribute;
getter cpjit_object_class_getter;
getter cpjit_type_name_getter;
PyTypeObject *cpjit_tuplegetter_type;

/* Whether the interpreter, warm, would have specialised a subscript of a `type` instance to
 * BINARY_SUBSCR_GETITEM with `getitem` its __getitem__ (specialize.c's conditions: a heap type,
 * a function with two plain positional parameters and a 16-bit version), so that it pushes the
 * frame itself as an inlined call rather than calling the class's mapping slot. */
static int inlined_as_getitem(_PyInterpreterFrame *frame, PyTypeObject *type,
                              PyFunctionObject *getitem)
{
    PyCodeObject *code = (PyCodeObject *)getitem->func_code;
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || code->co_argcount != 2
        || code->co_kwonlyargcount != 0 || (code->co_flags & (CO_VARARGS | CO_VARKEYWORDS))
        || !(code->co_flags & CO_OPTIMIZED) || getitem->func_version > 0xffff) {
        return 0;
    }
    return cpjit_code_is_warm(frame->f_code);
}

/* `descr` (what _PyType_Lookup found on self's type, or NULL) when it is a C method with one
 * argument (METH_O, with or without METH_COEXIST) that applies to `self`, else NULL: what
 * typeobject.c's slot functions find and call through method_vectorcall_O. Borrowed. */
static PyMethodDescrObject *one_argument_c_method(PyObject *self, PyObject *descr)
{
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMethodDescr_Type)
        || (((PyMethodDescrObject *)descr)->d_method->ml_flags & ~METH_COEXIST) != METH_O
        || !PyObject_TypeCheck(self, PyDescr_TYPE(descr))) {
        return NULL;
    }
    return (PyMethodDescrObject *)descr;
}

/* What method_vectorcall_O does with such a method, called by a slot function: one recursion
 * level counted over the call, the method held over it. A new reference, or NULL. */
static PyObject *call_one_argument_c_method(PyThreadState *tstate, PyMethodDescrObject *descr,
                                            PyObject *self, PyObject *arg)
{
    if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
        return NULL;
    }
    Py_INCREF(descr);
    PyObject *res = descr->d_method->ml_meth(self, arg);
    Py_DECREF(descr);
    _Py_LeaveRecursiveCallTstate(tstate);
    return res;
}

CPJIT_HOT
PyObject *cpjit_binary_subscr_consume(PyThreadState *tstate, PyObject **stack_pointer)
{
    PyObject *sub = stack_pointer[-1];
    PyObject *container = stack_pointer[-2];
    PyObject *res;
    if (PyDict_CheckExact(container)) {
        res = PyDict_GetItemWithError(container, sub);
        if (res == NULL) {
            if (!_PyErr_Occurred(tstate)) {
                _PyErr_SetKeyError(sub);
            }
            Py_DECREF(sub);
            return NULL;
        }
        Py_INCREF(res);
        stack_pointer[-2] = res;
        Py_DECREF(sub);
        Py_DECREF(container);
        return traced_result(res); /* a key's __eq__ or __hash__ */
    }
    PyMappingMethods *m = Py_TYPE(container)->tp_as_mapping;
    if (m != NULL && m->mp_subscript == python_mp_subscript && python_mp_subscript != NULL) {
        PyObject *getitem = _PyType_Lookup(Py_TYPE(container), &_Py_ID(__getitem__));
        PyMethodDescrObject *descr = one_argument_c_method(container, getitem);
        if (descr != NULL) {
            /* dict.__getitem__ and list.__getitem__ (their subclasses' mp_subscript is
             * slot_mp_subscript: the method is no slot wrapper): slot_mp_subscript's call of
             * it, without looking the method up a second time. */
            res = call_one_argument_c_method(tstate, descr, container, sub);
            Py_DECREF(container);
            Py_DECREF(sub);
            stack_pointer[-2] = res;
            return traced_result(res);
        }
        /* A class's Python __getitem__: what slot_mp_subscript calls (the function found on
         * the type, with the container first), through cpjit_call_function, so a compiled
         * __getitem__ runs natively without the frame-evaluation hook. */
        if (getitem != NULL && Py_IS_TYPE(getitem, &PyFunction_Type)) {
            _PyInterpreterFrame *frame = tstate->cframe->current_frame;
            _Py_CODEUNIT *at = frame->prev_instr;
            PyObject *args[3] = {NULL, container, sub};
            if (inlined_as_getitem(frame, Py_TYPE(container), (PyFunctionObject *)getitem)) {
                /* The warm interpreter runs this as BINARY_SUBSCR_GETITEM, an inlined call
                 * that moves the two references into the callee's frame, with f_lasti at the
                 * instruction's last cache entry while __getitem__ runs (and where an exception
                 * from it is seen to come from). */
                frame->prev_instr = at + INLINE_CACHE_ENTRIES_BINARY_SUBSCR;
                res = cpjit_call_python(tstate, getitem, args + 1, 2);
                if (res != NULL) {
                    frame->prev_instr = at;
                }
            }
            else {
                /* Unspecialised, the interpreter calls the class's mapping slot, whose call
                 * gives the callee references of its own, and releases the container and the
                 * key after it. */
                Py_INCREF(container);
                Py_INCREF(sub);
                res = cpjit_call_python(tstate, getitem, args + 1, 2);
                Py_DECREF(container);
                Py_DECREF(sub);
            }
            stack_pointer[-2] = res;
            return traced_result(res);
        }
    }
    res = PyObject_GetItem(container, sub);
    Py_DECREF(container);
    Py_DECREF(sub);
    stack_pointer[-2] = res;
    return traced_result(res);
}

CPJIT_HOT
int cpjit_contains(PyObject *container, PyObject *item)
{
    PySequenceMethods *sq = Py_TYPE(container)->tp_as_sequence;
    PyMethodDescrObject *contains;
    if (sq == NULL || sq->sq_contains != python_sq_contains || python_sq_contains == NULL
        || (contains = one_argument_c_method(
                container, _PyType_Lookup(Py_TYPE(container), &_Py_ID(__contains__))))
               == NULL) {
        return PySequence_Contains(container, item);
    }
    /* slot_sq_contains: the method's call, its result's truth. */
    PyObject *res = call_one_argument_c_method(_PyThreadState_GET(), contains, container, item);
    if (res == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(res);
    Py_DECREF(res);
    return truth;
}

CPJIT_HOT
int cpjit_store_subscr_consume(PyObject **stack_pointer)
{
    PyObject *sub = stack_pointer[-1];
    PyObject *container = stack_pointer[-2];
    PyObject *v = stack_pointer[-3];
    int err;
    PyMappingMethods *m;
    PyObject *setitem;
    if (PyDict_CheckExact(container)) {
        err = PyDict_SetItem(container, sub, v);
    }
    else if ((m = Py_TYPE(container)->tp_as_mapping) != NULL
             && m->mp_ass_subscript == python_mp_ass_subscript && python_mp_ass_subscript != NULL
             && slot_wrapper_objobjargproc != NULL
             && (setitem = _PyType_Lookup(Py_TYPE(container), &_Py_ID(__setitem__))) != NULL
             && Py_IS_TYPE(setitem, &PyWrapperDescr_Type)
             && ((PyWrapperDescrObject *)setitem)->d_base->wrapper == slot_wrapper_objobjargproc
             && PyObject_TypeCheck(container, PyDescr_TYPE(setitem))) {
        /* A C type's __setitem__ slot wrapper, found by slot_mp_ass_subscript on a subclass that
         * defines __delitem__ (or __setitem__ further up) in Python (collections.Counter of
         * dict): what its call does (the tp_call of the wrapper, counting a recursion level;
         * wrap_objobjargproc) without the argument tuple. */
        PyThreadState *tstate = _PyThreadState_GET();
        if (_Py_EnterRecursiveCallTstate(tstate, " while calling a Python object")) {
            err = -1;
        }
        else {
            objobjargproc set = (objobjargproc)((PyWrapperDescrObject *)setitem)->d_wrapped;
            err = set(container, sub, v);
            _Py_LeaveRecursiveCallTstate(tstate);
            if (err == -1 && !_PyErr_Occurred(tstate)) {
                err = 0; /* (wrap_objobjargproc: -1 without an exception is a success) */
            }
        }
    }
    else {
        err = PyObject_SetItem(container, sub, v);
    }
    Py_DECREF(v);
    Py_DECREF(container);
    Py_DECREF(sub);
    return traced_status(err != 0 ? -1 : 0);
}
