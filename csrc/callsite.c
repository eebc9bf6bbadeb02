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

/* The table kept per code object: the value-stack depth before every instruction, by code
 * unit (-1 for inline cache entries and unreachable code; EXTENDED_ARG prefixes share their
 * instruction's depth), so that a CALL's entry is one load. */
typedef CpjitDepths Depths;

static Depths no_depths = {0};

void cpjit_call_sites_free(void *table)
{
    if (table != NULL && table != &no_depths) {
        free(table);
    }
}

static Depths *new_depths(int n)
{
    Depths *t = malloc(sizeof(Depths) + sizeof(int16_t) * (size_t)n);
    if (t != NULL) {
        t->n = n;
        memset(t->depth, 0xff, sizeof(int16_t) * (size_t)n); /* -1: not reached */
    }
    return t;
}

/* Stack effects of the commonest opcodes whose effect does not depend on their oparg (and which
 * never jump), taken from PyCompile_OpcodeStackEffectWithJump once; INT8_MIN: ask it. */
static int8_t fixed_effect[256];
static int fixed_effect_ready;

static void init_fixed_effects(void)
{
    static const uint8_t ops[] = {
        LOAD_FAST, LOAD_CONST, LOAD_NAME, LOAD_DEREF, LOAD_CLOSURE, LOAD_METHOD, LOAD_ATTR,
        LOAD_ASSERTION_ERROR, STORE_FAST, STORE_NAME, STORE_ATTR, STORE_GLOBAL, STORE_DEREF,
        STORE_SUBSCR, DELETE_FAST, DELETE_NAME, DELETE_ATTR, DELETE_SUBSCR, POP_TOP, PUSH_NULL,
        COPY, SWAP, NOP, RESUME, BINARY_SUBSCR, BINARY_OP, COMPARE_OP, IS_OP, CONTAINS_OP,
        GET_ITER, IMPORT_NAME, IMPORT_FROM, KW_NAMES, UNARY_NOT, UNARY_NEGATIVE, UNARY_INVERT,
        UNARY_POSITIVE, LIST_APPEND, SET_ADD, MAP_ADD, LIST_EXTEND, SET_UPDATE, DICT_UPDATE,
        DICT_MERGE,
    };
    memset(fixed_effect, INT8_MIN, sizeof(fixed_effect));
    for (size_t k = 0; k < sizeof(ops); k++) {
        int e = PyCompile_OpcodeStackEffectWithJump(ops[k], 0, 0);
        if (e != PY_INVALID_STACK_EFFECT && e > INT8_MIN && e <= INT8_MAX) {
            fixed_effect[ops[k]] = (int8_t)e;
        }
    }
    fixed_effect_ready = 1;
}

/* The depth after `op` when it falls through to the next instruction. */
static inline int fall_effect(int op, int oparg)
{
    int e = fixed_effect[op];
    if (e != INT8_MIN) {
        return e;
    }
    if (op == RETURN_GENERATOR) {
        return 1; /* the first resumption pushes the value sent in */
    }
    if (op == PRECALL) {
        return 0; /* the compiler counts the arguments here, the interpreter at CALL */
    }
    if (op == CALL) {
        return -1 - oparg;
    }
    return PyCompile_OpcodeStackEffectWithJump(op, oparg, 0);
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

/* Where instruction `op` at code unit i (argument oparg) goes next: *fall is whether it can fall
 * through to the next instruction, *target the code unit it can jump to (left as is when it does
 * not jump). Both depth walks below use it. */
static inline void control_flow(int op, int oparg, int i, int *fall, int *target)
{
    switch (op) {
    case JUMP_FORWARD:
        *fall = 0;
        *target = i + 1 + oparg;
        break;
    case JUMP_BACKWARD:
    case JUMP_BACKWARD_NO_INTERRUPT:
        *fall = 0;
        *target = i + 1 - oparg;
        break;
    case POP_JUMP_FORWARD_IF_FALSE: case POP_JUMP_FORWARD_IF_TRUE:
    case POP_JUMP_FORWARD_IF_NONE: case POP_JUMP_FORWARD_IF_NOT_NONE:
    case JUMP_IF_FALSE_OR_POP: case JUMP_IF_TRUE_OR_POP:
    case FOR_ITER: case SEND:
        *target = i + 1 + oparg;
        break;
    case POP_JUMP_BACKWARD_IF_FALSE: case POP_JUMP_BACKWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_NONE: case POP_JUMP_BACKWARD_IF_NOT_NONE:
        *target = i + 1 - oparg;
        break;
    case RETURN_VALUE: case RAISE_VARARGS: case RERAISE:
        *fall = 0;
        break;
    default:
        break;
    }
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

static Depths *analyse_worklist(PyCodeObject *code)
{
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    int n = (int)Py_SIZE(code);
    int max = code->co_stacksize;
    int32_t *depth = malloc(sizeof(int32_t) * (size_t)n);
    uint32_t *work = malloc(sizeof(uint32_t) * (size_t)n);
    Depths *out = NULL;
    if (depth == NULL || work == NULL || n == 0 || max > INT16_MAX) {
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
        int fall = 1, target = -1, effect;
        control_flow(op, oparg, i, &fall, &target);
        if (target >= 0 || op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT) {
            effect = PyCompile_OpcodeStackEffectWithJump(op, oparg, 1);
            if (effect == PY_INVALID_STACK_EFFECT
                || reach(depth, work, &nwork, target, d + effect, n, max) < 0) {
                goto done;
            }
        }
        if (fall && next < n) {
            effect = fall_effect(op, oparg);
            if (effect == PY_INVALID_STACK_EFFECT
                || reach(depth, work, &nwork, next, d + effect, n, max) < 0) {
                goto done;
            }
        }
    }
    out = new_depths(n);
    for (int i = 0; out != NULL && i < n; i++) {
        out->depth[i] = (int16_t)depth[i];
    }
done:
    free(depth);
    free(work);
    return out;
}

/* The linear pass (see the top of the file). Returns the table, NULL when the code is
 * inconsistent (as analyse_worklist), or &needs_worklist when it cannot decide: a backward jump
 * to an instruction the pass had not reached, or a jump past an EXTENDED_ARG prefix (which the
 * worklist decodes as it finds it). */
static Depths needs_worklist = {0};

static Depths *analyse_linear(PyCodeObject *code)
{
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    int n = (int)Py_SIZE(code);
    int max = code->co_stacksize;
    if (n == 0 || max > INT16_MAX) {
        return NULL;
    }
    Depths *out = new_depths(n);
    if (out == NULL) {
        return NULL;
    }
    int16_t *depth = out->depth;
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
        depth[target] = (int16_t)d;
    }
    int u = 0;
    while (u < n) {
        int d = depth[u];
        if (d < 0) {
            u++; /* not reached so far: dead code, or reached only backwards (checked there) */
            continue;
        }
        /* Decode one instruction, EXTENDED_ARG prefixes folded in; they share its depth. */
        int oparg = _Py_OPARG(units[u]);
        int op = _PyOpcode_Deopt[_Py_OPCODE(units[u])];
        int i = u;
        while (op == EXTENDED_ARG) {
            if (++i >= n) {
                goto fail;
            }
            if (depth[i] >= 0) {
                goto odd; /* a jump past a prefix */
            }
            depth[i] = (int16_t)d;
            op = _PyOpcode_Deopt[_Py_OPCODE(units[i])];
            oparg = (oparg << 8) | _Py_OPARG(units[i]);
        }
        /* (A jump into inline cache entries is not checked for: the interpreter cannot run
         * such code, 3.11's CACHE opcode is unreachable, so no frame of it calls anything.) */
        int next = i + 1 + _PyOpcode_Caches[op];
        int effect = fixed_effect[op];
        if (effect != INT8_MIN) {
            /* The common case: no jump, an effect known in advance. */
            int nd = d + effect;
            if (next < n) {
                if (nd < 0 || nd > max || (depth[next] >= 0 && depth[next] != nd)) {
                    goto fail;
                }
                depth[next] = (int16_t)nd;
            }
            u = next;
            continue;
        }
        int fall = 1, target = -1;
        control_flow(op, oparg, i, &fall, &target);
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
                depth[target] = (int16_t)td;
            }
        }
        if (fall && next < n) {
            effect = fall_effect(op, oparg);
            int nd = d + effect;
            if (effect == PY_INVALID_STACK_EFFECT || nd < 0 || nd > max
                || (depth[next] >= 0 && depth[next] != nd)) {
                goto fail;
            }
            depth[next] = (int16_t)nd;
        }
        u = next;
    }
    return out;
odd:
    free(out);
    return &needs_worklist;
fail:
    free(out);
    return NULL;
}

static Depths *analyse(PyCodeObject *code)
{
    if (!fixed_effect_ready) {
        init_fixed_effects();
    }
    Depths *t = analyse_linear(code);
    return t == &needs_worklist ? analyse_worklist(code) : t;
}

PyObject *cpjit_call_sites_list(PyCodeObject *code, int method)
{
    if (!fixed_effect_ready) {
        init_fixed_effects();
    }
    Depths *t = method == 0 ? analyse(code)
              : method == 1 ? analyse_linear(code)
                            : analyse_worklist(code);
    if (t == &needs_worklist) {
        return PyUnicode_FromString("needs_worklist");
    }
    if (t == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *list = PyList_New(0);
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    CpjitCodeState scratch = {0};
    scratch.call_sites = t;
    for (Py_ssize_t u = 0; list != NULL && u < t->n; u++) {
        int oparg, depth;
        if (!cpjit_call_site(code, &scratch, units + u, &oparg, &depth)) {
            continue;
        }
        PyObject *item = Py_BuildValue("(nii)", u, depth, oparg);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(item);
    }
    free(t);
    return list;
}

const CpjitDepths *cpjit_call_site_table(PyCodeObject *code, CpjitCodeState *st)
{
    if (st->call_sites == NULL) {
        Depths *t = analyse(code);
        st->call_sites = t != NULL ? t : &no_depths;
    }
    return (const CpjitDepths *)st->call_sites;
}

_Py_CODEUNIT *cpjit_instruction_last_unit(_Py_CODEUNIT *instr)
{
    return instr + _PyOpcode_Caches[_PyOpcode_Deopt[_Py_OPCODE(*instr)]];
}

int cpjit_same_line(PyCodeObject *code, _Py_CODEUNIT *a, _Py_CODEUNIT *b)
{
    _Py_CODEUNIT *base = _PyCode_CODE(code);
    return PyCode_Addr2Line(code, (int)(a - base) * (int)sizeof(_Py_CODEUNIT))
           == PyCode_Addr2Line(code, (int)(b - base) * (int)sizeof(_Py_CODEUNIT));
}
