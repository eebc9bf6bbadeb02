/* callsite.h: where a CALL's operands are on the value stack of a frame the interpreter runs. */
#ifndef CPJIT_CALLSITE_H
#define CPJIT_CALLSITE_H

#include "cpjit_rt.h"

/* When `instr` is a CALL instruction of `code`: its oparg and the value-stack depth just before
 * it (the callable is below the oparg arguments and the method slot), from a table computed
 * once per code object and kept in `st`. Returns 1, or 0 when `instr` is no CALL or the code
 * could not be analysed. */
int cpjit_call_site(PyCodeObject *code, CpjitCodeState *st, const _Py_CODEUNIT *instr,
                    int *oparg, int *depth);

/* The table of `code` as a new list of (unit, depth, oparg), computed afresh: method 0 as
 * cpjit_call_site does, 1 the linear pass only, 2 the worklist walk only. None when the code is
 * inconsistent; "needs_worklist" when method 1 cannot decide. For tests (_cpjit._call_sites). */
PyObject *cpjit_call_sites_list(PyCodeObject *code, int method);

/* Free a table cpjit_call_site stored in a code state (runtime.c's free function). */
void cpjit_call_sites_free(void *table);

#endif
