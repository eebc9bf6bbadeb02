/* binary.c: BINARY_OP (one variant per operator) and COMPARE_OP. */
#include "stencil.h"
#include "numeric.h"
#include "arith.h"

/* Each operator gets its own stencil (BINARY_OP__<oparg>) that calls one out-of-line function
 * shared by every site: for +, -, * and / (and their in-place forms) the small-int and float
 * fast paths of csrc/arith.c, for the others the generic operator. Kept out of line on purpose:
 * in line, the int and float paths made each site ~240 bytes of hot machine code, more than the
 * instruction cache holds for arithmetic-heavy functions (see csrc/arith.c). */
#define BINARY_VARIANT(ARG, CALL)                                                              \
    STENCIL(BINARY_OP__##ARG)                                                                  \
    {                                                                                          \
        SAVE_IP();                                                                             \
        PyObject *res = (CALL);                                                                \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }
#define GENERIC(ARG) cpjit_binary_generic_##ARG(stack_pointer)

BINARY_VARIANT(0, cpjit_arith_add(stack_pointer))
BINARY_VARIANT(1, GENERIC(1))
BINARY_VARIANT(2, GENERIC(2))
BINARY_VARIANT(3, GENERIC(3))
BINARY_VARIANT(4, GENERIC(4))
BINARY_VARIANT(5, cpjit_arith_multiply(stack_pointer))
BINARY_VARIANT(6, GENERIC(6))
BINARY_VARIANT(7, GENERIC(7))
BINARY_VARIANT(8, GENERIC(8))
BINARY_VARIANT(9, GENERIC(9))
BINARY_VARIANT(10, cpjit_arith_subtract(stack_pointer))
BINARY_VARIANT(11, cpjit_arith_true_divide(stack_pointer))
BINARY_VARIANT(12, GENERIC(12))
BINARY_VARIANT(13, cpjit_arith_inplace_add(stack_pointer))
BINARY_VARIANT(14, GENERIC(14))
BINARY_VARIANT(15, GENERIC(15))
BINARY_VARIANT(16, GENERIC(16))
BINARY_VARIANT(17, GENERIC(17))
BINARY_VARIANT(18, cpjit_arith_inplace_multiply(stack_pointer))
BINARY_VARIANT(19, GENERIC(19))
BINARY_VARIANT(20, GENERIC(20))
BINARY_VARIANT(21, GENERIC(21))
BINARY_VARIANT(22, GENERIC(22))
BINARY_VARIANT(23, cpjit_arith_inplace_subtract(stack_pointer))
BINARY_VARIANT(24, cpjit_arith_inplace_true_divide(stack_pointer))
BINARY_VARIANT(25, GENERIC(25))

/* BINARY_OP + STORE_FAST for the same operators: the result goes into the local's old int or
 * float in place when nothing else can see that object (csrc/arith.c), and `s = s + t` / `s += t`
 * on strs appends to the local's str in place when it is unshared (as the interpreter's
 * BINARY_OP_INPLACE_ADD_UNICODE does: string building stays linear); the STORE_FAST is then
 * skipped. Otherwise the BINARY_OP alone, falling into the STORE_FAST's own stencil. The local
 * is the STORE_FAST's oparg, read from the bytecode after the BINARY_OP's cache entry (the
 * compiler pairs the two only without an EXTENDED_ARG between them). On the fused path no
 * code runs; only the str append can raise (MemoryError, at the BINARY_OP, as in CPython). */
#define BINARY_STORE_PAIR(ARG, NAME)                                                           \
    STENCIL(BINARY_OP__##ARG##__STORE_FAST)                                                    \
    {                                                                                          \
        SAVE_IP();                                                                             \
        _Py_CODEUNIT store = INSTR[1 + INLINE_CACHE_ENTRIES_BINARY_OP];                        \
        int done = cpjit_arith_store_##NAME(stack_pointer, &GETLOCAL(_Py_OPARG(store)));       \
        if (done > 0) {                                                                        \
            STACK_SHRINK(2);                                                                   \
            SKIP();                                                                            \
        }                                                                                      \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(done < 0)) {                                                              \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

BINARY_STORE_PAIR(0, add)
BINARY_STORE_PAIR(5, multiply)
BINARY_STORE_PAIR(10, subtract)
BINARY_STORE_PAIR(11, true_divide)
BINARY_STORE_PAIR(13, inplace_add)
BINARY_STORE_PAIR(18, inplace_multiply)
BINARY_STORE_PAIR(23, inplace_subtract)
BINARY_STORE_PAIR(24, inplace_true_divide)

/* The in-place operators followed by SWAP: `c[i] op= v` ends BINARY_OP, SWAP 3, SWAP 2,
 * STORE_SUBSCR. When the plan (learnt once from the bytecode, csrc/numeric.c) says so and the
 * list item can take the result in place (csrc/arith.c), the four instructions are done and
 * native code continues after the STORE_SUBSCR; otherwise the BINARY_OP alone, falling into the
 * SWAP's own stencil. Nothing observable happens on the fused path: no code runs. */
#define BINARY_UPDATE_PAIR(ARG, NAME)                                                          \
    STENCIL(BINARY_OP__##ARG##__SWAP)                                                          \
    {                                                                                          \
        cpjit_unpack_store_plan *plan = (cpjit_unpack_store_plan *)JIT_CACHE;                  \
        if ((plan->state == CPJIT_PLAN_FUSED                                                   \
             || (UNLIKELY(plan->state == CPJIT_PLAN_UNKNOWN)                                   \
                 && cpjit_plan_subscr_update(plan, STATE, CODE, INSTR) == CPJIT_PLAN_FUSED))   \
            && cpjit_arith_update_##NAME(stack_pointer)) {                                     \
            STACK_SHRINK(4);                                                                   \
            __attribute__((musttail)) return ((cpjit_native_fn)plan->after)(frame, stack_pointer, \
                                                                          tstate);             \
        }                                                                                      \
        SAVE_IP();                                                                             \
        PyObject *res = cpjit_arith_##NAME(stack_pointer);                                     \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

BINARY_UPDATE_PAIR(13, inplace_add)
BINARY_UPDATE_PAIR(18, inplace_multiply)
BINARY_UPDATE_PAIR(23, inplace_subtract)
BINARY_UPDATE_PAIR(24, inplace_true_divide)

/* Any other oparg (none exist in 3.11): the helper raises SystemError. */
STENCIL(BINARY_OP)
{
    SAVE_IP();
    PyObject *rhs = POP();
    PyObject *lhs = TOP();
    PyObject *res = cpjit_binary_op(OPARG, lhs, rhs);
    Py_DECREF(lhs);
    Py_DECREF(rhs);
    SET_TOP(res);
    if (UNLIKELY(res == NULL)) {
        ERROR();
    }
    CONTINUE();
}

/* COMPARE_OP for comparison OPER, its result pushed: small ints, floats and (== and !=) exact
 * strs by the shared fast path (CPJIT_COMPARE_HIT, csrc/hits.c; the operator is a constant in
 * each variant), anything else through SLOW (which counts recursion levels as the interpreter's
 * instruction at that site does). */
#define COMPARE_VALUE(OPER, SLOW)                                                              \
    {                                                                                          \
        int truth = CPJIT_COMPARE_HIT(OPER)(SECOND(), TOP(), tstate);                          \
        if (truth >= 0) {                                                                      \
            STACK_SHRINK(1);                                                                   \
            SET_TOP(truth ? Py_NewRef(Py_True) : Py_NewRef(Py_False));                         \
            CONTINUE();                                                                        \
        }                                                                                      \
        SAVE_IP();                                                                             \
        PyObject *res = (SLOW);                                                                \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

/* Not followed by a conditional jump (or by one behind EXTENDED_ARG): the interpreter never
 * specialises the site, so its comparison always counts a recursion level. */
#define COMPARE_BODY(OPER) COMPARE_VALUE(OPER, cpjit_compare_consume((OPER), stack_pointer))

STENCIL(COMPARE_OP__0) COMPARE_BODY(Py_LT)
STENCIL(COMPARE_OP__1) COMPARE_BODY(Py_LE)
STENCIL(COMPARE_OP__2) COMPARE_BODY(Py_EQ)
STENCIL(COMPARE_OP__3) COMPARE_BODY(Py_NE)
STENCIL(COMPARE_OP__4) COMPARE_BODY(Py_GT)
STENCIL(COMPARE_OP__5) COMPARE_BODY(Py_GE)

/* Every COMPARE_OP + conditional jump pair, as X(KIND, ARG, OPER, JUMP_NAME, JUMP_WHEN,
 * BACKWARD): the six comparisons (the oparg and its operator) times the four jumps (taken when
 * the comparison is JUMP_WHEN; BACKWARD for a `while` loop's test at its bottom). JUMP_NAME
 * reaches X unexpanded (an opcode's name is a macro of its number): X may only paste it. */
#define FOR_EACH_JUMP(X, KIND, ARG, OPER)                                                      \
    X(KIND, ARG, OPER, POP_JUMP_FORWARD_IF_FALSE, 0, 0)                                        \
    X(KIND, ARG, OPER, POP_JUMP_FORWARD_IF_TRUE, 1, 0)                                         \
    X(KIND, ARG, OPER, POP_JUMP_BACKWARD_IF_FALSE, 0, 1)                                       \
    X(KIND, ARG, OPER, POP_JUMP_BACKWARD_IF_TRUE, 1, 1)
#define FOR_EACH_COMPARE_JUMP(X, KIND)                                                         \
    FOR_EACH_JUMP(X, KIND, 0, Py_LT)                                                           \
    FOR_EACH_JUMP(X, KIND, 1, Py_LE)                                                           \
    FOR_EACH_JUMP(X, KIND, 2, Py_EQ)                                                           \
    FOR_EACH_JUMP(X, KIND, 3, Py_NE)                                                           \
    FOR_EACH_JUMP(X, KIND, 4, Py_GT)                                                           \
    FOR_EACH_JUMP(X, KIND, 5, Py_GE)

/* The jump decided (`truth` known, both operands already released). */
#define COMPARE_DECIDED_JUMP(JUMP_WHEN, BACKWARD)                                              \
    do {                                                                                       \
        STACK_SHRINK(2);                                                                       \
        if (truth == (JUMP_WHEN)) {                                                            \
            if ((BACKWARD) && EVAL_BREAKER_SET()) {                                            \
                LOOP_SLOW(NULL, CPJIT_LOOP_COMPARE_BACK);                                      \
            }                                                                                  \
            JUMP();                                                                            \
        }                                                                                      \
        SKIP();                                                                                \
    } while (0)

/* COMPARE_OP followed by a conditional jump: POP_JUMP_FORWARD_IF_FALSE / _TRUE (how `if a < b:`
 * compiles) or POP_JUMP_BACKWARD_IF_FALSE / _TRUE (a `while` loop's test at its bottom). When
 * the shared fast path decides, the comparison decides the jump directly, with no bool on the
 * stack; a backward jump taken serves the eval breaker as the interpreter's COMPARE_OP_*_JUMP
 * does (prev_instr at the COMPARE_OP: where a signal handler sees the frame). Anything else does
 * the comparison here, pushes the bool and falls into the jump's own stencil (which serves the
 * breaker at the jump, as the unspecialised pair does). */
#define COMPARE_JUMP_BODY(OPER, JUMP_WHEN, BACKWARD)                                           \
    {                                                                                          \
        int truth = CPJIT_COMPARE_HIT(OPER)(SECOND(), TOP(), tstate);                          \
        if (truth >= 0) {                                                                      \
            COMPARE_DECIDED_JUMP(JUMP_WHEN, BACKWARD);                                         \
        }                                                                                      \
        SAVE_IP();                                                                             \
        PyObject *res = cpjit_compare_jump_consume(tstate, frame, (OPER), stack_pointer);      \
        STACK_SHRINK(1);                                                                       \
        if (UNLIKELY(res == NULL)) {                                                           \
            ERROR();                                                                           \
        }                                                                                      \
        CONTINUE();                                                                            \
    }
#define COMPARE_JUMP(UNUSED, ARG, OPER, JUMP_NAME, JUMP_WHEN, BACKWARD)                        \
    STENCIL_FN(cpjit_op_COMPARE_OP__##ARG##__##JUMP_NAME)                                      \
    COMPARE_JUMP_BODY(OPER, JUMP_WHEN, BACKWARD)
FOR_EACH_COMPARE_JUMP(COMPARE_JUMP, )

/* Sites the interpreter specialised to COMPARE_OP_INT_JUMP or COMPARE_OP_FLOAT_JUMP (the
 * compiler's hint, as for attribute accesses and C calls): the comparison of that kind in line,
 * about fifteen instructions and no call where the shared fast path is a call. Each condition
 * is tested apart (so that every one is a rarely taken branch, and the rest lands in the cold
 * part): the kind's operands (two small ints, as arith.h's is_medium; two floats, neither a
 * NaN), recursion budget left (as the shared fast path requires), and both operands referenced
 * elsewhere too, so that releasing them deallocates nothing (no call, so no C frame, on the fast
 * path). Anything else takes COMPARE_OP's pair stencil's way: the shared fast path (a fresh int
 * result of `a + b < c` that dies here), else the generic comparison. Named
 * `COMPARE_OP_<KIND>_JUMP__<oparg>__<jump>`, so build.rs files them in PAIRS under the
 * specialised opcode. */
#define INT_OPERANDS(L, R)                                                                     \
    (!UNLIKELY(Py_TYPE(L) != &PyLong_Type) && !UNLIKELY((size_t)(Py_SIZE(L) + 1) >= 3)        \
     && !UNLIKELY(Py_TYPE(R) != &PyLong_Type) && !UNLIKELY((size_t)(Py_SIZE(R) + 1) >= 3))
#define INT_TRUTH(OPER, L, R) COMPARE_TRUTH(OPER, medium_value(L), medium_value(R))
#define FLOAT_OPERANDS(L, R)                                                                   \
    (!UNLIKELY(Py_TYPE(L) != &PyFloat_Type) && !UNLIKELY(Py_TYPE(R) != &PyFloat_Type)         \
     && !UNLIKELY(__builtin_isunordered(PyFloat_AS_DOUBLE(L), PyFloat_AS_DOUBLE(R))))
#define FLOAT_TRUTH(OPER, L, R) COMPARE_TRUTH(OPER, PyFloat_AS_DOUBLE(L), PyFloat_AS_DOUBLE(R))
#define COMPARE_KIND_JUMP(KIND, ARG, OPER, JUMP_NAME, JUMP_WHEN, BACKWARD)                     \
    STENCIL_FN(cpjit_op_COMPARE_OP_##KIND##_JUMP__##ARG##__##JUMP_NAME)                        \
    {                                                                                          \
        PyObject *l = SECOND(), *r = TOP();                                                    \
        if (KIND##_OPERANDS(l, r) && !UNLIKELY(tstate->recursion_remaining <= 0)              \
            && !UNLIKELY(l->ob_refcnt <= 1) && !UNLIKELY(r->ob_refcnt <= 1)) {                 \
            int truth = KIND##_TRUTH(OPER, l, r);                                              \
            l->ob_refcnt--;                                                                    \
            r->ob_refcnt--;                                                                    \
            COMPARE_DECIDED_JUMP(JUMP_WHEN, BACKWARD);                                         \
        }                                                                                      \
        COMPARE_JUMP_BODY(OPER, JUMP_WHEN, BACKWARD)                                           \
    }
FOR_EACH_COMPARE_JUMP(COMPARE_KIND_JUMP, INT)
FOR_EACH_COMPARE_JUMP(COMPARE_KIND_JUMP, FLOAT)

/* Any other oparg (none in 3.11): PyObject_RichCompare reports it. */
STENCIL(COMPARE_OP) COMPARE_BODY(OPARG)
