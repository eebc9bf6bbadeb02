/* exc.c: helpers of the exception, `with` and pattern-matching stencils (family "exc").
 *
 * Owns re-implementations of what CPython 3.11 keeps static or unexported:
 *   ceval.c:             check_except_type_valid, check_except_star_type_valid,
 *                        exception_group_match, do_raise, get_exception_handler and the
 *                        `exception_unwind:` step, match_keys, match_class(_attr)
 *   Objects/exceptions.c: _PyExc_PrepReraiseStar with exception_group_projection,
 *                        exceptiongroup_split_recursive (instance-id matcher only),
 *                        exceptiongroup_subset, _PyExc_CreateExceptionGroup
 * Behaviour and messages follow 3.11.
 */
#include "exc.h"
#include <stdlib.h>

#include "internal/pycore_call.h"
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

/* ---- except / except* type checks ---- */

#define CANNOT_CATCH_MSG \
    "catching classes that do not inherit from BaseException is not allowed"
#define CANNOT_EXCEPT_STAR_EG \
    "catching ExceptionGroup with except* is not allowed. Use except instead."

int cpjit_check_except_type_valid(PyThreadState *tstate, PyObject *right)
{
    if (PyTuple_Check(right)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(right); i++) {
            if (!PyExceptionClass_Check(PyTuple_GET_ITEM(right, i))) {
                _PyErr_SetString(tstate, PyExc_TypeError, CANNOT_CATCH_MSG);
                return -1;
            }
        }
    }
    else if (!PyExceptionClass_Check(right)) {
        _PyErr_SetString(tstate, PyExc_TypeError, CANNOT_CATCH_MSG);
        return -1;
    }
    return 0;
}

int cpjit_check_except_star_type_valid(PyThreadState *tstate, PyObject *right)
{
    if (cpjit_check_except_type_valid(tstate, right) < 0) {
        return -1;
    }
    /* except* must not name an exception group type. */
    int is_subclass = 0;
    if (PyTuple_Check(right)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(right); i++) {
            is_subclass = PyObject_IsSubclass(PyTuple_GET_ITEM(right, i),
                                              PyExc_BaseExceptionGroup);
            if (is_subclass < 0) {
                return -1;
            }
            if (is_subclass) {
                break;
            }
        }
    }
    else {
        is_subclass = PyObject_IsSubclass(right, PyExc_BaseExceptionGroup);
        if (is_subclass < 0) {
            return -1;
        }
    }
    if (is_subclass) {
        _PyErr_SetString(tstate, PyExc_TypeError, CANNOT_EXCEPT_STAR_EG);
        return -1;
    }
    return 0;
}

/* ---- exception groups ---- */

/* _PyExc_CreateExceptionGroup: BaseExceptionGroup(msg, excs). */
static PyObject *create_exception_group(const char *msg_str, PyObject *excs)
{
    PyObject *msg = PyUnicode_FromString(msg_str);
    if (msg == NULL) {
        return NULL;
    }
    PyObject *args = PyTuple_Pack(2, msg, excs);
    Py_DECREF(msg);
    if (args == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallObject(PyExc_BaseExceptionGroup, args);
    Py_DECREF(args);
    return result;
}

int cpjit_exception_group_match(PyObject *exc_value, PyObject *match_type, PyObject **match,
                                PyObject **rest)
{
    if (Py_IsNone(exc_value)) {
        *match = Py_NewRef(Py_None);
        *rest = Py_NewRef(Py_None);
        return 0;
    }
    if (PyErr_GivenExceptionMatches(exc_value, match_type)) {
        /* The whole exception matches; a naked exception is wrapped in a group. */
        if (_PyBaseExceptionGroup_Check(exc_value)) {
            *match = Py_NewRef(exc_value);
        }
        else {
            PyObject *excs = PyTuple_Pack(1, exc_value);
            if (excs == NULL) {
                return -1;
            }
            PyObject *wrapped = create_exception_group("", excs);
            Py_DECREF(excs);
            if (wrapped == NULL) {
                return -1;
            }
            *match = wrapped;
        }
        *rest = Py_NewRef(Py_None);
        return 0;
    }
    if (_PyBaseExceptionGroup_Check(exc_value)) {
        /* Partial match: the group's own (possibly overridden) split(). */
        PyObject *pair = PyObject_CallMethod(exc_value, "split", "(O)", match_type);
        if (pair == NULL) {
            return -1;
        }
        *match = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        *rest = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(pair);
        return 0;
    }
    *match = Py_NewRef(Py_None);
    *rest = Py_NewRef(Py_None);
    return 0;
}

/* exceptiongroup_subset: a group like `orig` (via its derive()) holding `excs`, with orig's
 * traceback, context, cause and a copy of its notes. *result is NULL when excs is empty. */
static int exceptiongroup_subset(PyObject *orig, PyObject *excs, PyObject **result)
{
    *result = NULL;
    Py_ssize_t num_excs = PySequence_Size(excs);
    if (num_excs < 0) {
        return -1;
    }
    if (num_excs == 0) {
        return 0;
    }
    PyObject *eg = PyObject_CallMethod(orig, "derive", "(O)", excs);
    if (eg == NULL) {
        return -1;
    }
    if (!_PyBaseExceptionGroup_Check(eg)) {
        PyErr_SetString(PyExc_TypeError, "derive must return an instance of BaseExceptionGroup");
        goto error;
    }
    PyObject *tb = PyException_GetTraceback(orig);
    if (tb != NULL) {
        int res = PyException_SetTraceback(eg, tb);
        Py_DECREF(tb);
        if (res < 0) {
            goto error;
        }
    }
    /* Get* return new references, Set* steal them. */
    PyException_SetContext(eg, PyException_GetContext(orig));
    PyException_SetCause(eg, PyException_GetCause(orig));
    if (PyObject_HasAttr(orig, &_Py_ID(__notes__))) {
        PyObject *notes = PyObject_GetAttr(orig, &_Py_ID(__notes__));
        if (notes == NULL) {
            goto error;
        }
        if (PySequence_Check(notes)) {
            PyObject *notes_copy = PySequence_List(notes);
            Py_DECREF(notes);
            if (notes_copy == NULL) {
                goto error;
            }
            int res = PyObject_SetAttr(eg, &_Py_ID(__notes__), notes_copy);
            Py_DECREF(notes_copy);
            if (res < 0) {
                goto error;
            }
        }
        else {
            Py_DECREF(notes);
        }
    }
    *result = eg;
    return 0;
error:
    Py_DECREF(eg);
    return -1;
}

/* exceptiongroup_split_recursive with the interpreter's instance-id matcher and no `rest`:
 * *match is the part of `exc` whose leaves have their id in `leaf_ids` (NULL when none). */
static int split_by_leaf_ids(PyObject *exc, PyObject *leaf_ids, PyObject **match)
{
    *match = NULL;
    if (!_PyBaseExceptionGroup_Check(exc)) {
        PyObject *exc_id = PyLong_FromVoidPtr(exc);
        if (exc_id == NULL) {
            return -1;
        }
        int found = PySet_Contains(leaf_ids, exc_id);
        Py_DECREF(exc_id);
        if (found < 0) {
            return -1;
        }
        if (found) {
            *match = Py_NewRef(exc);
        }
        return 0;
    }
    PyObject *excs = ((PyBaseExceptionGroupObject *)exc)->excs;
    Py_ssize_t num_excs = PyTuple_Size(excs);
    if (num_excs < 0) {
        return -1;
    }
    int retval = -1;
    PyObject *match_list = PyList_New(0);
    if (match_list == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < num_excs; i++) {
        PyObject *sub = NULL;
        if (Py_EnterRecursiveCall(" in exceptiongroup_split_recursive")) {
            goto done;
        }
        int err = split_by_leaf_ids(PyTuple_GET_ITEM(excs, i), leaf_ids, &sub);
        Py_LeaveRecursiveCall();
        if (err < 0) {
            goto done;
        }
        if (sub != NULL) {
            int res = PyList_Append(match_list, sub);
            Py_DECREF(sub);
            if (res < 0) {
                goto done;
            }
        }
    }
    retval = exceptiongroup_subset(exc, match_list, match);
done:
    Py_DECREF(match_list);
    return retval;
}

/* collect_exception_group_leaf_ids: add id() of every leaf of exc to leaf_ids. */
static int collect_leaf_ids(PyObject *exc, PyObject *leaf_ids)
{
    if (Py_IsNone(exc)) {
        return 0;
    }
    if (!_PyBaseExceptionGroup_Check(exc)) {
        PyObject *exc_id = PyLong_FromVoidPtr(exc);
        if (exc_id == NULL) {
            return -1;
        }
        int res = PySet_Add(leaf_ids, exc_id);
        Py_DECREF(exc_id);
        return res;
    }
    PyObject *excs = ((PyBaseExceptionGroupObject *)exc)->excs;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(excs); i++) {
        if (Py_EnterRecursiveCall(" in collect_exception_group_leaf_ids")) {
            return -1;
        }
        int res = collect_leaf_ids(PyTuple_GET_ITEM(excs, i), leaf_ids);
        Py_LeaveRecursiveCall();
        if (res < 0) {
            return -1;
        }
    }
    return 0;
}

/* exception_group_projection: the sub-group of eg holding the leaves found in `keep`'s groups,
 * or None. */
static PyObject *exception_group_projection(PyObject *eg, PyObject *keep)
{
    PyObject *leaf_ids = PySet_New(NULL);
    if (leaf_ids == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keep); i++) {
        if (collect_leaf_ids(PyList_GET_ITEM(keep, i), leaf_ids) < 0) {
            Py_DECREF(leaf_ids);
            return NULL;
        }
    }
    PyObject *match = NULL;
    int err = split_by_leaf_ids(eg, leaf_ids, &match);
    Py_DECREF(leaf_ids);
    if (err < 0) {
        return NULL;
    }
    return match != NULL ? match : Py_NewRef(Py_None);
}

static int is_same_exception_metadata(PyObject *exc1, PyObject *exc2)
{
    PyBaseExceptionObject *e1 = (PyBaseExceptionObject *)exc1;
    PyBaseExceptionObject *e2 = (PyBaseExceptionObject *)exc2;
    return e1->notes == e2->notes && e1->traceback == e2->traceback && e1->cause == e2->cause
           && e1->context == e2->context;
}

PyObject *cpjit_prep_reraise_star(PyObject *orig, PyObject *excs)
{
    Py_ssize_t numexcs = PyList_GET_SIZE(excs);
    if (numexcs == 0) {
        return Py_NewRef(Py_None);
    }
    if (!_PyBaseExceptionGroup_Check(orig)) {
        /* A naked exception was caught and wrapped: only one except* clause ran, so there is at
         * most one exception to raise. */
        return Py_NewRef(PyList_GET_ITEM(excs, 0));
    }
    PyObject *raised_list = PyList_New(0);
    if (raised_list == NULL) {
        return NULL;
    }
    PyObject *reraised_list = PyList_New(0);
    if (reraised_list == NULL) {
        Py_DECREF(raised_list);
        return NULL;
    }
    PyObject *result = NULL;
    /* Re-raised parts share orig's metadata; anything else was raised in a clause. */
    for (Py_ssize_t i = 0; i < numexcs; i++) {
        PyObject *e = PyList_GET_ITEM(excs, i);
        if (Py_IsNone(e)) {
            continue;
        }
        PyObject *append_to = is_same_exception_metadata(e, orig) ? reraised_list : raised_list;
        if (PyList_Append(append_to, e) < 0) {
            goto done;
        }
    }
    PyObject *reraised_eg = exception_group_projection(orig, reraised_list);
    if (reraised_eg == NULL) {
        goto done;
    }
    if (PyList_GET_SIZE(raised_list) == 0) {
        result = reraised_eg;
    }
    else {
        int res = 0;
        if (!Py_IsNone(reraised_eg)) {
            res = PyList_Append(raised_list, reraised_eg);
        }
        Py_DECREF(reraised_eg);
        if (res < 0) {
            goto done;
        }
        /* One exception in all is raised as itself, not wrapped in a group (3.11.4+,
         * gh-103590). */
        if (PyList_GET_SIZE(raised_list) > 1) {
            result = create_exception_group("", raised_list);
        }
        else {
            result = Py_NewRef(PyList_GET_ITEM(raised_list, 0));
        }
    }
done:
    Py_DECREF(raised_list);
    Py_DECREF(reraised_list);
    return result;
}

/* ---- raise ---- */

void cpjit_do_raise(PyThreadState *tstate, PyObject *exc, PyObject *cause)
{
    PyObject *type = NULL, *value = NULL;
    if (PyExceptionClass_Check(exc)) {
        /* `raise Cls`: instantiate it; exc's reference passes to `type`. */
        type = exc;
        value = _PyObject_CallNoArgs(exc);
        if (value == NULL) {
            goto raise_error;
        }
        if (!PyExceptionInstance_Check(value)) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "calling %R should have returned an instance of BaseException, not %R",
                          type, Py_TYPE(value));
            goto raise_error;
        }
    }
    else if (PyExceptionInstance_Check(exc)) {
        value = exc;
        type = Py_NewRef(PyExceptionInstance_Class(exc));
    }
    else {
        Py_DECREF(exc);
        _PyErr_SetString(tstate, PyExc_TypeError, "exceptions must derive from BaseException");
        goto raise_error;
    }
    if (cause != NULL) {
        PyObject *fixed_cause;
        if (PyExceptionClass_Check(cause)) {
            fixed_cause = _PyObject_CallNoArgs(cause);
            if (fixed_cause == NULL) {
                goto raise_error;
            }
            Py_DECREF(cause);
        }
        else if (PyExceptionInstance_Check(cause)) {
            fixed_cause = cause;
        }
        else if (Py_IsNone(cause)) {
            Py_DECREF(cause);
            fixed_cause = NULL;
        }
        else {
            _PyErr_SetString(tstate, PyExc_TypeError,
                             "exception causes must derive from BaseException");
            goto raise_error;
        }
        PyException_SetCause(value, fixed_cause); /* steals fixed_cause */
    }
    _PyErr_SetObject(tstate, type, value); /* takes its own references */
    Py_DECREF(value);
    Py_DECREF(type);
    return;
raise_error:
    Py_XDECREF(value);
    Py_XDECREF(type);
    Py_XDECREF(cause);
}

/* ---- exception_unwind without a traceback entry ---- */

/* ceval.c's MAX_LINEAR_SEARCH: longer tables are bisected first. */
#define MAX_LINEAR_SEARCH 40

/* ceval.c's scan_back_to_entry_start. */
static unsigned char *scan_back_to_entry_start(unsigned char *p)
{
    for (; (p[0] & 128) == 0; p--)
        ;
    return p;
}

/* ceval.c's get_exception_handler: the exception-table entry covering code unit `index`. */
static __attribute__((noinline)) int get_exception_handler(PyCodeObject *code, int index,
                                                           int *level, int *handler, int *lasti)
{
    unsigned char *start = (unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    unsigned char *end = start + PyBytes_GET_SIZE(code->co_exceptiontable);
    /* Entries are sorted by start offset and begin with a byte that has bit 7 set: long
     * tables are bisected down to a short stretch, which is scanned. */
    if (end - start > MAX_LINEAR_SEARCH) {
        int offset;
        parse_varint(start, &offset);
        if (offset > index) {
            return 0;
        }
        do {
            unsigned char *mid = scan_back_to_entry_start(start + ((end - start) >> 1));
            parse_varint(mid, &offset);
            if (offset > index) {
                end = mid;
            }
            else {
                start = mid;
            }
        } while (end - start > MAX_LINEAR_SEARCH);
    }
    unsigned char *scan = start;
    while (scan < end) {
        int start_offset, size;
        scan = parse_varint(scan, &start_offset);
        if (start_offset > index) {
            break;
        }
        scan = parse_varint(scan, &size);
        if (start_offset + size > index) {
            scan = parse_varint(scan, handler);
            int depth_and_lasti;
            parse_varint(scan, &depth_and_lasti);
            *level = depth_and_lasti >> 1;
            *lasti = depth_and_lasti & 1;
            return 1;
        }
        while (scan < end && (scan[0] & 128) == 0) {
            scan++;
        }
    }
    return 0;
}

/* The exception table decoded once per code object (CpjitCodeState.exc_table), so that an
 * unwind costs a binary search instead of decoding varints from the start (ceval re-reads the
 * table at every unwind; long tables cost hundreds of instructions per raise). Only well-formed
 * tables are decoded: every entry starts with the only byte of it that has bit 7 set, holds four
 * varints, and entries are sorted by start and do not overlap. There, the entry whose range
 * holds an offset is the last one starting at or before it, which is what ceval's scan finds.
 * Any other table (a hand-made code object) keeps ceval's scan (SCAN_TABLE). */
typedef struct {
    int32_t start, end, handler, depth_and_lasti;
} ExcEntry;

typedef struct {
    int32_t n;
    ExcEntry e[];
} ExcTable;

static ExcTable scan_table; /* marker: look the handler up with get_exception_handler */
#define SCAN_TABLE (&scan_table)

void cpjit_exc_table_free(void *table)
{
    if (table != NULL && table != (void *)SCAN_TABLE) {
        free(table);
    }
}

/* One varint of a table entry, bounds-checked; NULL when it runs past `end` or into the next
 * entry's start byte. `first`: this varint starts the entry (its byte has bit 7 set). */
static unsigned char *read_varint(unsigned char *p, unsigned char *end, int first, int *out)
{
    if (p >= end || ((p[0] & 128) != 0) != first) {
        return NULL;
    }
    unsigned int val = p[0] & 63;
    while (p[0] & 64) {
        p++;
        if (p >= end || (p[0] & 128) || val > (1u << 24)) {
            return NULL;
        }
        val = (val << 6) | (p[0] & 63);
    }
    *out = (int)val;
    return p + 1;
}

static __attribute__((noinline, cold)) ExcTable *decode_table(PyCodeObject *code)
{
    unsigned char *start = (unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    unsigned char *end = start + PyBytes_GET_SIZE(code->co_exceptiontable);
    Py_ssize_t count = 0;
    for (unsigned char *p = start; p < end; p++) {
        count += (p[0] & 128) != 0;
    }
    ExcTable *t = malloc(sizeof(ExcTable) + count * sizeof(ExcEntry));
    if (t == NULL) {
        return SCAN_TABLE;
    }
    t->n = 0;
    int prev_end = 0;
    unsigned char *p = start;
    while (p < end) {
        int s, size, handler, depth;
        if ((p = read_varint(p, end, 1, &s)) == NULL || (p = read_varint(p, end, 0, &size)) == NULL
            || (p = read_varint(p, end, 0, &handler)) == NULL
            || (p = read_varint(p, end, 0, &depth)) == NULL || s < prev_end
            || t->n >= count) {
            free(t);
            return SCAN_TABLE;
        }
        prev_end = s + size;
        t->e[t->n++] = (ExcEntry){s, s + size, handler, depth};
    }
    return t;
}

/* get_exception_handler through the code state's decoded table (made on first use). */
static inline int find_handler(PyCodeObject *code, CpjitCodeState *st, int index, int *level,
                               int *handler, int *lasti)
{
    if (st == NULL) {
        return get_exception_handler(code, index, level, handler, lasti);
    }
    ExcTable *t = st->exc_table;
    if (t == NULL) {
        t = decode_table(code);
        st->exc_table = t;
    }
    if (t == SCAN_TABLE) {
        return get_exception_handler(code, index, level, handler, lasti);
    }
    int lo = 0, hi = t->n;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (t->e[mid].start <= index) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    if (lo == 0 || index >= t->e[lo - 1].end) {
        return 0;
    }
    const ExcEntry *e = &t->e[lo - 1];
    *handler = e->handler;
    *level = e->depth_and_lasti >> 1;
    *lasti = e->depth_and_lasti & 1;
    return 1;
}


/* exit_unwind: no handler in this frame. Pops the whole stack and leaves the frame with the
 * exception set. */
static cpjit_native_fn leave_unwound(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                     PyThreadState *tstate, PyObject **result)
{
    PyObject **stackbase = _PyFrame_Stackbase(frame);
    while (stack_pointer > stackbase) {
        PyObject *o = *--stack_pointer;
        Py_XDECREF(o);
    }
    _PyFrame_SetStackPointer(frame, stack_pointer);
    cpjit_leave_frame(frame, tstate);
    *result = NULL;
    return NULL;
}

/* exception_unwind's last step: the stack is at the handler's depth (lasti pushed when wanted);
 * push the exception and continue at the handler, natively when this code object's native code
 * has an entry there, else in the interpreter (which resumes at prev_instr + 1). */
static cpjit_native_fn go_to_handler(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                     PyThreadState *tstate, CpjitCodeState *st, int handler,
                                     PyObject *val, PyObject **result)
{
    *stack_pointer++ = val;
    if (st != NULL && st->state == CPJIT_COMPILED && (uint32_t)handler < st->n_units && st->entries[handler] != CPJIT_NO_ENTRY) {
        _PyFrame_SetStackPointer(frame, stack_pointer);
        return (cpjit_native_fn)(st->base + st->entries[handler]);
    }
    frame->prev_instr = _PyCode_CODE(frame->f_code) + handler - 1;
    *result = cpjit_handover(frame, stack_pointer, tstate, 0, CPJIT_R_EXCEPTION);
    return NULL;
}

/* Pop the value stack down to the handler's depth and push lasti when the handler wants it.
 * NULL on a MemoryError making lasti (then the exception is that error). */
static PyObject **to_handler_depth(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                   int level, int lasti)
{
    PyObject **new_top = _PyFrame_Stackbase(frame) + level;
    while (stack_pointer > new_top) {
        PyObject *v = *--stack_pointer;
        Py_XDECREF(v);
    }
    if (lasti) {
        PyObject *lasti_obj = PyLong_FromLong(_PyInterpreterFrame_LASTI(frame));
        if (lasti_obj == NULL) {
            return NULL;
        }
        *stack_pointer++ = lasti_obj;
    }
    return stack_pointer;
}

cpjit_native_fn cpjit_unwind_reraise(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                     PyThreadState *tstate, _Py_CODEUNIT *instr,
                                     PyObject **result)
{
    PyCodeObject *code = frame->f_code;
    /* ceval looks the handler up at the raising instruction, not at frame->prev_instr, which
     * RERAISE may have moved back to the original raise. */
    int offset = (int)(instr - _PyCode_CODE(code));
    CpjitCodeState *st = cpjit_state_of(code);
    for (;;) {
        int level, handler, lasti;
        if (!find_handler(code, st, offset, &level, &handler, &lasti)) {
            return leave_unwound(frame, stack_pointer, tstate, result);
        }
        PyObject **top = to_handler_depth(frame, stack_pointer, level, lasti);
        if (top == NULL) {
            /* ceval: `goto exception_unwind` with the MemoryError */
            stack_pointer = _PyFrame_Stackbase(frame) + level;
            continue;
        }
        stack_pointer = top;
        PyObject *exc, *val, *tb;
        _PyErr_Fetch(tstate, &exc, &val, &tb);
        _PyErr_NormalizeException(tstate, &exc, &val, &tb);
        PyException_SetTraceback(val, tb != NULL ? tb : Py_None);
        Py_XDECREF(tb);
        Py_XDECREF(exc);
        return go_to_handler(frame, stack_pointer, tstate, st, handler, val, result);
    }
}

/* Re-raise `val` (a reference the caller hands over) from `instr` with its own traceback. */
static cpjit_native_fn reraise_value(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                     PyThreadState *tstate, _Py_CODEUNIT *instr, PyObject *val,
                                     PyObject **result)
{
    PyCodeObject *code = frame->f_code;
    PyTypeObject *type = Py_TYPE(val);
    int level, handler, lasti;
    CpjitCodeState *st = cpjit_state_of(code);
    if (!find_handler(code, st, (int)(instr - _PyCode_CODE(code)), &level, &handler, &lasti)) {
        _PyErr_Restore(tstate, Py_NewRef((PyObject *)type), val, PyException_GetTraceback(val));
        return leave_unwound(frame, stack_pointer, tstate, result);
    }
    /* What _PyErr_Restore, _PyErr_Fetch and _PyErr_NormalizeException would do to an exception
     * instance with no other exception pending comes down to nothing when its class's
     * metaclass is exactly `type` (no __subclasscheck__ runs): keep the value in hand. */
    if (tstate->curexc_type == NULL && PyType_CheckExact((PyObject *)type)) {
        PyObject **top = to_handler_depth(frame, stack_pointer, level, lasti);
        if (top != NULL) {
            PyBaseExceptionObject *exc = (PyBaseExceptionObject *)val;
            if (exc->traceback == NULL) {
                exc->traceback = Py_NewRef(Py_None); /* PyException_SetTraceback(val, None) */
            }
            return go_to_handler(frame, top, tstate, st, handler, val, result);
        }
        /* MemoryError making lasti: ceval unwinds that error from here. */
        Py_DECREF(val);
        return cpjit_unwind_reraise(frame, _PyFrame_Stackbase(frame) + level, tstate, instr,
                                    result);
    }
    _PyErr_Restore(tstate, Py_NewRef((PyObject *)type), val, PyException_GetTraceback(val));
    return cpjit_unwind_reraise(frame, stack_pointer, tstate, instr, result);
}

cpjit_native_fn cpjit_reraise(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                              PyThreadState *tstate, _Py_CODEUNIT *instr, int oparg,
                              PyObject **result)
{
    if (oparg) {
        /* Restore the lasti of the original raise, so f_lineno and a handler's pushed lasti
         * are those of the original exception. */
        PyObject *lasti = stack_pointer[-(oparg + 1)];
        if (!PyLong_Check(lasti)) {
            _PyErr_SetString(tstate, PyExc_SystemError, "lasti is not an int");
            return cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_EXCEPTION, result);
        }
        frame->prev_instr = _PyCode_CODE(frame->f_code) + PyLong_AsLong(lasti);
    }
    PyObject *val = *--stack_pointer;
    return reraise_value(frame, stack_pointer, tstate, instr, val, result);
}

cpjit_native_fn cpjit_reraise_handled(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                      PyThreadState *tstate, _Py_CODEUNIT *instr,
                                      PyObject **result)
{
    PyObject *value = _PyErr_GetTopmostException(tstate)->exc_value;
    if (value == NULL || Py_IsNone(value)) {
        /* An error raised by this instruction: it gets a traceback entry, as in ceval. */
        _PyErr_SetString(tstate, PyExc_RuntimeError, "No active exception to reraise");
        return cpjit_unwind_error(frame, stack_pointer, tstate, CPJIT_R_EXCEPTION, result);
    }
    return reraise_value(frame, stack_pointer, tstate, instr, Py_NewRef(value), result);
}

/* The frame's PyFrameObject, made if it has none yet (_PyFrame_GetFrameObject, which libpython
 * does not export; PyEval_GetFrame makes it for the thread's current frame, which a native frame
 * is while it runs, keeping the pending exception). If making it fails, the exception is that
 * MemoryError, as in ceval. */
static PyFrameObject *frame_object(_PyInterpreterFrame *frame, PyThreadState *tstate)
{
    if (frame->frame_obj != NULL || tstate->cframe->current_frame != frame) {
        return frame->frame_obj;
    }
    PyFrameObject *f = PyEval_GetFrame();
    if (f == NULL && !_PyErr_Occurred(tstate)) {
        PyErr_NoMemory();
    }
    return f;
}

int cpjit_exc_handler_covers(PyCodeObject *code, int index)
{
    int level, handler, lasti;
    return find_handler(code, cpjit_state_of(code), index, &level, &handler, &lasti);
}

/* Set by cpjit_unwind_next_error_from, taken by the next cpjit_unwind_error (the frame's error
 * exit, reached straight from the instruction that set it). */
static _PyInterpreterFrame *next_error_frame;
static _Py_CODEUNIT *next_error_unit;

void cpjit_unwind_next_error_from(_PyInterpreterFrame *frame, _Py_CODEUNIT *unit)
{
    next_error_frame = frame;
    next_error_unit = unit;
}

cpjit_native_fn cpjit_unwind_error(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                   PyThreadState *tstate, int reason, PyObject **result)
{
    _Py_CODEUNIT *raised_at = frame->prev_instr;
    if (__builtin_expect(next_error_frame != NULL, 0)) {
        if (next_error_frame == frame) {
            raised_at = next_error_unit;
        }
        next_error_frame = NULL;
    }
    return cpjit_unwind_error_at(frame, stack_pointer, tstate, reason, raised_at, result);
}

int cpjit_trace_after_pending;

cpjit_native_fn cpjit_unwind_error_at(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                                      PyThreadState *tstate, int reason, _Py_CODEUNIT *raised_at,
                                      PyObject **result)
{
    if (__builtin_expect(cpjit_trace_after_pending, 0)) {
        /* Not an error: the instruction at prev_instr finished and tracing was switched on
         * meanwhile (cpjit_rt.h: cpjit_trace_after). */
        cpjit_trace_after_pending = 0;
        frame->prev_instr = cpjit_instruction_last_unit(frame->prev_instr);
        *result = cpjit_handover(frame, stack_pointer, tstate, 0, CPJIT_R_TRACING_MIDFRAME);
        return NULL;
    }
    if (tstate->c_tracefunc != NULL || CPJIT_INTERPRET_ONLY(tstate) || !_PyErr_Occurred(tstate)) {
        *result = cpjit_handover(frame, stack_pointer, tstate, 1, reason);
        return NULL;
    }
    if (!_PyFrame_IsIncomplete(frame)) {
        PyFrameObject *f = frame_object(frame, tstate);
        if (f != NULL) {
            PyTraceBack_Here(f);
        }
    }
    cpjit_stats.exceptions_native++;
    return cpjit_unwind_reraise(frame, stack_pointer, tstate, raised_at, result);
}

/* ---- pattern matching (PEP 634) ---- */

PyObject *cpjit_match_keys(PyThreadState *tstate, PyObject *map, PyObject *keys)
{
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys);
    if (nkeys == 0) {
        return PyTuple_New(0);
    }
    PyObject *seen = NULL, *dummy = NULL, *values = NULL, *get = NULL;
    /* map.get(key, dummy): one lookup per key, and no __missing__ key creation. */
    int meth_found = _PyObject_GetMethod(map, &_Py_ID(get), &get);
    if (get == NULL) {
        goto fail;
    }
    seen = PySet_New(NULL);
    if (seen == NULL) {
        goto fail;
    }
    dummy = _PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (dummy == NULL) {
        goto fail;
    }
    values = PyTuple_New(nkeys);
    if (values == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (PySet_Contains(seen, key) || PySet_Add(seen, key)) {
            if (!_PyErr_Occurred(tstate)) {
                _PyErr_Format(tstate, PyExc_ValueError,
                              "mapping pattern checks duplicate key (%R)", key);
            }
            goto fail;
        }
        PyObject *args[] = {map, key, dummy};
        PyObject *value = meth_found ? PyObject_Vectorcall(get, args, 3, NULL)
                                     : PyObject_Vectorcall(get, &args[1], 2, NULL);
        if (value == NULL) {
            goto fail;
        }
        if (value == dummy) {
            /* Missing key: no match. */
            Py_DECREF(value);
            Py_DECREF(values);
            values = Py_NewRef(Py_None);
            goto done;
        }
        PyTuple_SET_ITEM(values, i, value);
    }
done:
    Py_DECREF(get);
    Py_DECREF(seen);
    Py_DECREF(dummy);
    return values;
fail:
    Py_XDECREF(get);
    Py_XDECREF(seen);
    Py_XDECREF(dummy);
    Py_XDECREF(values);
    return NULL;
}

/* match_class_attr: subject.name, TypeError for a repeated name; NULL without an error when the
 * attribute is missing. */
static PyObject *match_class_attr(PyThreadState *tstate, PyObject *subject, PyObject *type,
                                  PyObject *name, PyObject *seen)
{
    if (PySet_Contains(seen, name) || PySet_Add(seen, name)) {
        if (!_PyErr_Occurred(tstate)) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "%s() got multiple sub-patterns for attribute %R",
                          ((PyTypeObject *)type)->tp_name, name);
        }
        return NULL;
    }
    PyObject *attr = PyObject_GetAttr(subject, name);
    if (attr == NULL && _PyErr_ExceptionMatches(tstate, PyExc_AttributeError)) {
        _PyErr_Clear(tstate);
    }
    return attr;
}

PyObject *cpjit_match_class(PyThreadState *tstate, PyObject *subject, PyObject *type,
                            Py_ssize_t nargs, PyObject *kwargs)
{
    if (!PyType_Check(type)) {
        _PyErr_Format(tstate, PyExc_TypeError, "called match pattern must be a type");
        return NULL;
    }
    if (PyObject_IsInstance(subject, type) <= 0) {
        return NULL;
    }
    PyObject *seen = PySet_New(NULL);
    if (seen == NULL) {
        return NULL;
    }
    PyObject *attrs = PyList_New(0);
    if (attrs == NULL) {
        Py_DECREF(seen);
        return NULL;
    }
    PyObject *match_args = NULL;
    const char *tp_name = ((PyTypeObject *)type)->tp_name;
    if (nargs) {
        int match_self = 0;
        match_args = PyObject_GetAttrString(type, "__match_args__");
        if (match_args) {
            if (!PyTuple_CheckExact(match_args)) {
                _PyErr_Format(tstate, PyExc_TypeError,
                              "%s.__match_args__ must be a tuple (got %s)", tp_name,
                              Py_TYPE(match_args)->tp_name);
                goto fail;
            }
        }
        else if (_PyErr_ExceptionMatches(tstate, PyExc_AttributeError)) {
            _PyErr_Clear(tstate);
            /* Without __match_args__, builtins like int match themselves positionally. */
            match_args = PyTuple_New(0);
            match_self = PyType_HasFeature((PyTypeObject *)type, _Py_TPFLAGS_MATCH_SELF);
        }
        else {
            goto fail;
        }
        Py_ssize_t allowed = match_self ? 1 : PyTuple_GET_SIZE(match_args);
        if (allowed < nargs) {
            _PyErr_Format(tstate, PyExc_TypeError,
                          "%s() accepts %d positional sub-pattern%s (%d given)", tp_name,
                          (int)allowed, allowed == 1 ? "" : "s", (int)nargs);
            goto fail;
        }
        if (match_self) {
            PyList_Append(attrs, subject);
        }
        else {
            for (Py_ssize_t i = 0; i < nargs; i++) {
                PyObject *name = PyTuple_GET_ITEM(match_args, i);
                if (!PyUnicode_CheckExact(name)) {
                    _PyErr_Format(tstate, PyExc_TypeError,
                                  "__match_args__ elements must be strings (got %s)",
                                  Py_TYPE(name)->tp_name);
                    goto fail;
                }
                PyObject *attr = match_class_attr(tstate, subject, type, name, seen);
                if (attr == NULL) {
                    goto fail;
                }
                PyList_Append(attrs, attr);
                Py_DECREF(attr);
            }
        }
        Py_CLEAR(match_args);
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwargs); i++) {
        PyObject *name = PyTuple_GET_ITEM(kwargs, i);
        PyObject *attr = match_class_attr(tstate, subject, type, name, seen);
        if (attr == NULL) {
            goto fail;
        }
        PyList_Append(attrs, attr);
        Py_DECREF(attr);
    }
    Py_SETREF(attrs, PyList_AsTuple(attrs));
    Py_DECREF(seen);
    return attrs;
fail:
    /* No match or an error; the caller tells them apart with _PyErr_Occurred. */
    Py_XDECREF(match_args);
    Py_DECREF(seen);
    Py_DECREF(attrs);
    return NULL;
}

