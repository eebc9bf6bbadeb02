/* callsite.c: the value-stack depth at each CALL of a code object.
 *
 * The interpreter keeps its stack pointer in a local variable while it runs a frame, so while a
 * CALL's callee runs, nothing in the frame says where the CALL's callable and arguments are. The
 * compiler laid the stack out statically, though: this module recomputes the depth before every
 * CALL by walking the bytecode (jumps, exception handlers from the exception table, stack effects
 * from PyCompile_OpcodeStackEffectWithJump) and keeps the result per code object. runtime.c uses
 * it to make a frame the interpreter runs under cpjit's hook look as plain CPython's inlined call
 * leaves it. Any inconsistency (depth outside the code's stack size, two paths disagreeing)
 * leaves the table empty: the caller then changes nothing.
 *
 * Every code object an interpreted frame calls a Python function from is analysed once (at
 * start-up that is most module bodies, some thousands of instructions each), so the common case
 * is one linear pass in code order (analyse_linear): CPython's compiler places every block after
 * a block that falls or jumps forward into it, so each instruction's depth is known when the
 * pass reaches it, and backward jumps only need checking. Code where that does not hold (a block
 * reached only by a backward jump) goes to the general worklist walk (analyse_worklist); both
 * give the same table (tests/python/test_callsite.py checks it on the standard library).
 */
#define NEED_OPCODE_TABLES
#include "callsite.h"

#include "internal/pycore_code.h"
#include "internal/pycore_opcode.h"
#include "opcode.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t unit;  /* code unit of the CALL opcode */
    int32_t depth;  /* stack depth before the PRECALL/CALL pair */
    int32_t oparg;
} CallSite;

typedef struct {
    uint32_t n;
    CallSite sites[];
} CallSites;

static CallSites no_sites = {0};

void cpjit_call_sites_free(void *table)
{
    if (table != NULL && table != &no_sites) {
        PyMem_RawFree(table);
    }
}

static int read_varint(const unsigned char **p, const unsigned char *end, int *out)
{
    if (*p >= end) {
        return -1;
    }
    unsigned char b = *(*p)++;
    int v = b & 63;
    while (b & 64) {
        if (*p >= end) {
            return -1;
        }
        b = *(*p)++;
        v = (v << 6) | (b & 63);
    }
    *out = v;
    return 0;
}

/* Record `depth` for unit `u`; -1 on a conflict or an impossible depth. */
static int reach(int32_t *depth, uint32_t *work, int *nwork, int u, int d, int n, int max)
{
    if (u < 0 || u >= n || d < 0 || d > max) {
        return -1;
    }
    if (depth[u] >= 0) {
        return depth[u] == d ? 0 : -1;
    }
    depth[u] = d;
    work[(*nwork)++] = (uint32_t)u;
    return 0;
}

static CallSites *analyse_worklist(PyCodeObject *code)
{
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    int n = (int)Py_SIZE(code);
    int max = code->co_stacksize;
    int32_t *depth = PyMem_RawMalloc(sizeof(int32_t) * (size_t)n);
    uint32_t *work = PyMem_RawMalloc(sizeof(uint32_t) * (size_t)n);
    CallSites *out = NULL;
    if (depth == NULL || work == NULL) {
        goto done;
    }
    for (int i = 0; i < n; i++) {
        depth[i] = -1;
    }
    int nwork = 0;
    if (reach(depth, work, &nwork, 0, 0, n, max) < 0) {
        goto done;
    }
    /* Exception handlers start at the depth the table gives, plus lasti, plus the exception. */
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        int start, size, target, dl;
        if (read_varint(&p, end, &start) || read_varint(&p, end, &size)
            || read_varint(&p, end, &target) || read_varint(&p, end, &dl)
            || reach(depth, work, &nwork, target, (dl >> 1) + (dl & 1) + 1, n, max) < 0) {
            goto done;
        }
    }
    int ncalls = 0;
    while (nwork > 0) {
        int u = (int)work[--nwork];
        int d = depth[u];
        /* Decode one instruction, EXTENDED_ARG prefixes folded in. */
        int oparg = 0, op;
        int i = u;
        for (;;) {
            if (i >= n) {
                goto done;
            }
            op = _PyOpcode_Deopt[_Py_OPCODE(units[i])];
            oparg = (oparg << 8) | _Py_OPARG(units[i]);
            if (op != EXTENDED_ARG) {
                break;
            }
            i++;
        }
        if (i != u) {
            /* The prefixes and the instruction share the depth (and an entry of their own). */
            for (int k = u + 1; k <= i; k++) {
                if (depth[k] >= 0 && depth[k] != d) {
                    goto done;
                }
                depth[k] = d;
            }
        }
        int next = i + 1 + _PyOpcode_Caches[op];
        if (op == CALL) {
            ncalls++;
        }
        int fall = 1, target = -1, effect;
        switch (op) {
        case JUMP_FORWARD:
            fall = 0;
            target = i + 1 + oparg;
            break;
        case JUMP_BACKWARD:
        case JUMP_BACKWARD_NO_INTERRUPT:
            fall = 0;
            target = i + 1 - oparg;
            break;
        case POP_JUMP_FORWARD_IF_FALSE: case POP_JUMP_FORWARD_IF_TRUE:
        case POP_JUMP_FORWARD_IF_NONE: case POP_JUMP_FORWARD_IF_NOT_NONE:
        case JUMP_IF_FALSE_OR_POP: case JUMP_IF_TRUE_OR_POP:
        case FOR_ITER: case SEND:
            target = i + 1 + oparg;
            break;
        case POP_JUMP_BACKWARD_IF_FALSE: case POP_JUMP_BACKWARD_IF_TRUE:
        case POP_JUMP_BACKWARD_IF_NONE: case POP_JUMP_BACKWARD_IF_NOT_NONE:
            target = i + 1 - oparg;
            break;
        case RETURN_VALUE: case RAISE_VARARGS: case RERAISE:
            fall = 0;
            break;
        default:
            break;
        }
        if (target >= 0 || op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT) {
            effect = PyCompile_OpcodeStackEffectWithJump(op, oparg, 1);
            if (effect == PY_INVALID_STACK_EFFECT
                || reach(depth, work, &nwork, target, d + effect, n, max) < 0) {
                goto done;
            }
        }
        if (fall && next < n) {
            if (op == RETURN_GENERATOR) {
                effect = 1; /* the first resumption pushes the value sent in */
            }
            else if (op == PRECALL) {
                effect = 0; /* the compiler counts the arguments here, the interpreter at CALL */
            }
            else if (op == CALL) {
                effect = -1 - oparg;
            }
            else {
                effect = PyCompile_OpcodeStackEffectWithJump(op, oparg, 0);
                if (effect == PY_INVALID_STACK_EFFECT) {
                    goto done;
                }
            }
            if (reach(depth, work, &nwork, next, d + effect, n, max) < 0) {
                goto done;
            }
        }
    }
    out = PyMem_RawMalloc(sizeof(CallSites) + sizeof(CallSite) * (size_t)ncalls);
    if (out == NULL) {
        goto done;
    }
    out->n = 0;
    for (int i = 0; i < n; i++) {
        /* Units in increasing order: the table is sorted for the binary search. */
        if (depth[i] < 0 || _PyOpcode_Deopt[_Py_OPCODE(units[i])] != CALL) {
            continue;
        }
        /* Skip units that are EXTENDED_ARG prefixes' shared depth entries of other opcodes:
         * only an opcode unit reached by decoding counts; recompute its oparg. */
        int oparg = _Py_OPARG(units[i]);
        int shift = 8;
        for (int k = i - 1; k >= 0 && depth[k] >= 0
                            && _PyOpcode_Deopt[_Py_OPCODE(units[k])] == EXTENDED_ARG; k--) {
            oparg |= _Py_OPARG(units[k]) << shift;
            shift += 8;
        }
        if (out->n < (uint32_t)ncalls) {
            out->sites[out->n].unit = (uint32_t)i;
            out->sites[out->n].depth = depth[i];
            out->sites[out->n].oparg = oparg;
            out->n++;
        }
    }
done:
    PyMem_RawFree(depth);
    PyMem_RawFree(work);
    return out;
}

/* The linear pass (see the top of the file). Returns the table, NULL when the code is
 * inconsistent (as analyse_worklist), or &needs_worklist when a backward jump goes to an
 * instruction the pass had not reached. */
static CallSites needs_worklist = {0};

static CallSites *analyse_linear(PyCodeObject *code)
{
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    int n = (int)Py_SIZE(code);
    int max = code->co_stacksize;
    /* A CALL is at least 5 code units with its PRECALL and caches: at most n / 5 + 1 of them. */
    int cap = n / 5 + 1;
    int32_t *depth = PyMem_RawMalloc(sizeof(int32_t) * (size_t)n);
    CallSites *out = PyMem_RawMalloc(sizeof(CallSites) + sizeof(CallSite) * (size_t)cap);
    if (depth == NULL || out == NULL || n == 0) {
        goto fail;
    }
    out->n = 0;
    memset(depth, 0xff, sizeof(int32_t) * (size_t)n); /* -1: not reached */
    depth[0] = 0;
    /* Exception handlers start at the depth the table gives, plus lasti, plus the exception. */
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        int start, size, target, dl;
        if (read_varint(&p, end, &start) || read_varint(&p, end, &size)
            || read_varint(&p, end, &target) || read_varint(&p, end, &dl)) {
            goto fail;
        }
        int d = (dl >> 1) + (dl & 1) + 1;
        if (target < 0 || target >= n || d > max || (depth[target] >= 0 && depth[target] != d)) {
            goto fail;
        }
        depth[target] = d;
    }
    int u = 0;
    while (u < n) {
        int d = depth[u];
        if (d < 0) {
            u++; /* not reached so far: dead code, or reached only backwards (checked there) */
            continue;
        }
        /* Decode one instruction, EXTENDED_ARG prefixes folded in; they share its depth. */
        int oparg = 0, op;
        int i = u;
        for (;;) {
            op = _PyOpcode_Deopt[_Py_OPCODE(units[i])];
            oparg = (oparg << 8) | _Py_OPARG(units[i]);
            if (op != EXTENDED_ARG) {
                break;
            }
            if (++i >= n) {
                goto fail;
            }
            if (depth[i] >= 0) {
                goto odd; /* a jump past a prefix: the worklist decodes it as it runs */
            }
            depth[i] = d;
        }
        int next = i + 1 + _PyOpcode_Caches[op];
        for (int k = i + 1; k < next && k < n; k++) {
            if (depth[k] >= 0) {
                goto odd; /* a jump into inline cache entries */
            }
        }
        int fall = 1, target = -1, effect;
        switch (op) {
        case CALL:
            if (out->n >= (uint32_t)cap) {
                goto fail;
            }
            out->sites[out->n].unit = (uint32_t)i;
            out->sites[out->n].depth = d;
            out->sites[out->n].oparg = oparg;
            out->n++;
            break;
        case JUMP_FORWARD:
            fall = 0;
            target = i + 1 + oparg;
            break;
        case JUMP_BACKWARD:
        case JUMP_BACKWARD_NO_INTERRUPT:
            fall = 0;
            target = i + 1 - oparg;
            break;
        case POP_JUMP_FORWARD_IF_FALSE: case POP_JUMP_FORWARD_IF_TRUE:
        case POP_JUMP_FORWARD_IF_NONE: case POP_JUMP_FORWARD_IF_NOT_NONE:
        case JUMP_IF_FALSE_OR_POP: case JUMP_IF_TRUE_OR_POP:
        case FOR_ITER: case SEND:
            target = i + 1 + oparg;
            break;
        case POP_JUMP_BACKWARD_IF_FALSE: case POP_JUMP_BACKWARD_IF_TRUE:
        case POP_JUMP_BACKWARD_IF_NONE: case POP_JUMP_BACKWARD_IF_NOT_NONE:
            target = i + 1 - oparg;
            break;
        case RETURN_VALUE: case RAISE_VARARGS: case RERAISE:
            fall = 0;
            break;
        default:
            break;
        }
        if (target >= 0 || op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT) {
            effect = PyCompile_OpcodeStackEffectWithJump(op, oparg, 1);
            int td = d + effect;
            if (effect == PY_INVALID_STACK_EFFECT || target < 0 || target >= n || td < 0
                || td > max) {
                goto fail;
            }
            if (target <= i) {
                if (depth[target] < 0) {
                    goto odd; /* reached only backwards */
                }
                if (depth[target] != td) {
                    goto fail;
                }
            }
            else if (depth[target] >= 0 && depth[target] != td) {
                goto fail;
            }
            else {
                depth[target] = td;
            }
        }
        if (fall && next < n) {
            if (op == RETURN_GENERATOR) {
                effect = 1; /* the first resumption pushes the value sent in */
            }
            else if (op == PRECALL) {
                effect = 0; /* the compiler counts the arguments here, the interpreter at CALL */
            }
            else if (op == CALL) {
                effect = -1 - oparg;
            }
            else {
                effect = PyCompile_OpcodeStackEffectWithJump(op, oparg, 0);
                if (effect == PY_INVALID_STACK_EFFECT) {
                    goto fail;
                }
            }
            int nd = d + effect;
            if (nd < 0 || nd > max || (depth[next] >= 0 && depth[next] != nd)) {
                goto fail;
            }
            depth[next] = nd;
        }
        u = next;
    }
    PyMem_RawFree(depth);
    return out;
odd:
    PyMem_RawFree(depth);
    PyMem_RawFree(out);
    return &needs_worklist;
fail:
    PyMem_RawFree(depth);
    PyMem_RawFree(out);
    return NULL;
}

static CallSites *analyse(PyCodeObject *code)
{
    CallSites *t = analyse_linear(code);
    return t == &needs_worklist ? analyse_worklist(code) : t;
}

PyObject *cpjit_call_sites_list(PyCodeObject *code, int method)
{
    CallSites *t = method == 0 ? analyse(code)
                 : method == 1 ? analyse_linear(code)
                               : analyse_worklist(code);
    if (t == &needs_worklist) {
        return PyUnicode_FromString("needs_worklist");
    }
    if (t == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *list = PyList_New((Py_ssize_t)t->n);
    for (uint32_t k = 0; list != NULL && k < t->n; k++) {
        PyObject *item = Py_BuildValue("(iii)", (int)t->sites[k].unit, t->sites[k].depth,
                                       t->sites[k].oparg);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, item);
    }
    PyMem_RawFree(t);
    return list;
}

int cpjit_call_site(PyCodeObject *code, CpjitCodeState *st, const _Py_CODEUNIT *instr,
                    int *oparg, int *depth)
{
    Py_ssize_t unit = instr - _PyCode_CODE(code);
    if (unit < 0 || unit >= Py_SIZE(code)) {
        return 0;
    }
    if (st->call_sites == NULL) {
        CallSites *t = analyse(code);
        st->call_sites = t != NULL ? t : &no_sites;
    }
    const CallSites *t = st->call_sites;
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (t->sites[mid].unit < (uint32_t)unit) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    if (lo < t->n && t->sites[lo].unit == (uint32_t)unit) {
        *oparg = t->sites[lo].oparg;
        *depth = t->sites[lo].depth;
        return 1;
    }
    return 0;
}
