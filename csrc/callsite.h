/* callsite.h: where a CALL's operands are on the value stack of a frame the interpreter runs. */
#ifndef CPJIT_CALLSITE_H
#define CPJIT_CALLSITE_H

#include "cpjit_rt.h"
#include "opcode.h"

#include "internal/pycore_code.h"
#include "internal/pycore_opcode.h"

/* The table callsite.c keeps per code object (in CpjitCodeState.call_sites): the value-stack
 * depth before every instruction, by code unit (-1 for inline cache entries and unreachable
 * code; EXTENDED_ARG prefixes share their instruction's depth), so that a CALL's entry is one
 * load. */
typedef struct {
    int32_t n;
    int16_t depth[];
} CpjitDepths;

/* The table of `code`, computed and stored in `st` at the first call (an empty table when the
 * code cannot be analysed). */
const CpjitDepths *cpjit_call_site_table(PyCodeObject *code, CpjitCodeState *st);

/* When `instr` is a CALL instruction of `code`: its oparg and the value-stack depth just before
 * it (the callable is below the oparg arguments and the method slot). Returns 1, or 0 when
 * `instr` is no CALL or the code could not be analysed. */
static inline int cpjit_call_site(PyCodeObject *code, CpjitCodeState *st,
                                  const _Py_CODEUNIT *instr, int *oparg, int *depth)
{
    const CpjitDepths *t = st->call_sites != NULL ? (const CpjitDepths *)st->call_sites
                                                  : cpjit_call_site_table(code, st);
    const _Py_CODEUNIT *units = _PyCode_CODE(code);
    Py_ssize_t u = instr - units;
    if (u < 0 || u >= t->n || t->depth[u] < 0 || _PyOpcode_Deopt[_Py_OPCODE(*instr)] != CALL) {
        return 0;
    }
    int arg = _Py_OPARG(*instr);
    int shift = 8;
    for (Py_ssize_t k = u - 1; k >= 0 && t->depth[k] == t->depth[u]
                               && _PyOpcode_Deopt[_Py_OPCODE(units[k])] == EXTENDED_ARG; k--) {
        arg |= _Py_OPARG(units[k]) << shift;
        shift += 8;
    }
    *oparg = arg;
    *depth = t->depth[u];
    return 1;
}

/* The table of `code` as a new list of (unit, depth, oparg), computed afresh: method 0 as
 * cpjit_call_site does, 1 the linear pass only, 2 the worklist walk only. None when the code is
 * inconsistent; "needs_worklist" when method 1 cannot decide. For tests (_cpjit._call_sites). */
PyObject *cpjit_call_sites_list(PyCodeObject *code, int method);

/* Free a table cpjit_call_site stored in a code state (runtime.c's free function). */
void cpjit_call_sites_free(void *table);

#endif
