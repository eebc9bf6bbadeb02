/* jumps.c: every jump kind. Backward jumps check the eval breaker, as JUMP_BACKWARD_QUICK does. */
#include "stencil.h"
#include "numeric.h"

STENCIL(JUMP_FORWARD)
{
    JUMP();
}

/* A loop stays native when its jump ends the warm-up countdown: the rest of the frame may be
 * long, and there is no way back from the interpreter into native code mid-frame. The eval
 * breaker is served as JUMP_BACKWARD_QUICK serves it; if tracing was switched on meanwhile, the
 * interpreter re-runs this jump (the breaker is served) and traces on. In line: two tests; the
 * work out of line (cpjit_loop_slow). */
#define JUMP_BACKWARD_BODY(KIND)                                                               \
    {                                                                                          \
        CpjitCodeState *st = STATE;                                                            \
        if (UNLIKELY(st->warmup < 0) || EVAL_BREAKER_SET()) {                                  \
            LOOP_SLOW(st, (KIND));                                                             \
        }                                                                                      \
        JUMP();                                                                                \
    }
STENCIL(JUMP_BACKWARD) JUMP_BACKWARD_BODY(CPJIT_LOOP_JUMP)

/* The backward jump of a code object's last loop (no backward jump follows it) when that loop
 * is a `for` loop, so the iterator is on top of the stack. If this jump ends the warm-up
 * countdown and the iterator is a built-in one with few items left (CPJIT_QUICKEN_ITEMS_LEFT,
 * csrc/helpers.c), the interpreter runs the rest of the frame (see WARMUP): a bounded amount of
 * interpreted work, those iterations and the straight code after the loop. */
STENCIL(JUMP_BACKWARD_LAST_FOR) JUMP_BACKWARD_BODY(CPJIT_LOOP_LAST_FOR)

STENCIL(JUMP_BACKWARD_NO_INTERRUPT)
{
    JUMP();
}

/* Jump; a backward conditional jump serves the eval breaker first, as ceval does. */
#define TAKE_JUMP(CHECK_BREAKER)                                                               \
    do {                                                                                       \
        if ((CHECK_BREAKER) && EVAL_BREAKER_SET()) {                                           \
            LOOP_SLOW(NULL, CPJIT_LOOP_BREAKER_ONLY);                                          \
        }                                                                                      \
        JUMP();                                                                                \
    } while (0)

/* Shared shape of POP_JUMP_{FORWARD,BACKWARD}_IF_{TRUE,FALSE}. In line: True and False. */
#define POP_JUMP_IF_BOOL(NAME, JUMP_WHEN, CHECK_BREAKER)                                        \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        PyObject *cond = POP();                                                                \
        /* True and False are released through the register that holds them: without the     \
         * barrier clang reloads their address from the GOT (7 bytes). Never to 0. */         \
        Py_ssize_t *refcnt = &cond->ob_refcnt;                                                 \
        __asm__("" : "+r"(refcnt));                                                            \
        int truth;                                                                             \
        if (Py_IsTrue(cond)) {                                                                 \
            (*refcnt)--;                                                                       \
            truth = 1;                                                                         \
        }                                                                                      \
        else if (LIKELY(Py_IsFalse(cond))) {                                                   \
            (*refcnt)--;                                                                       \
            truth = 0;                                                                         \
        }                                                                                      \
        else {                                                                                 \
            SAVE_IP();                                                                         \
            truth = cpjit_truth_consume(cond);                                                 \
            if (UNLIKELY(truth < 0)) {                                                         \
                ERROR();                                                                       \
            }                                                                                  \
            CHECK_TRACING_AFTER_TRUTH(truth, (JUMP_WHEN), (CHECK_BREAKER));                    \
        }                                                                                      \
        if (truth == (JUMP_WHEN)) {                                                            \
            TAKE_JUMP(CHECK_BREAKER);                                                          \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

POP_JUMP_IF_BOOL(POP_JUMP_FORWARD_IF_TRUE, 1, 0)
POP_JUMP_IF_BOOL(POP_JUMP_FORWARD_IF_FALSE, 0, 0)
POP_JUMP_IF_BOOL(POP_JUMP_BACKWARD_IF_TRUE, 1, 1)
POP_JUMP_IF_BOOL(POP_JUMP_BACKWARD_IF_FALSE, 0, 1)

#define POP_JUMP_IF_NONE(NAME, JUMP_WHEN_NONE, CHECK_BREAKER)                                   \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        PyObject *value = POP();                                                               \
        int is_none = Py_IsNone(value);                                                        \
        if (UNLIKELY(--value->ob_refcnt == 0)) { /* never None */                              \
            SAVE_IP();                                                                         \
            _Py_Dealloc(value);                                                                \
        }                                                                                      \
        if (is_none == (JUMP_WHEN_NONE)) {                                                     \
            TAKE_JUMP(CHECK_BREAKER);                                                          \
        }                                                                                      \
        CONTINUE();                                                                            \
    }

POP_JUMP_IF_NONE(POP_JUMP_FORWARD_IF_NONE, 1, 0)
POP_JUMP_IF_NONE(POP_JUMP_FORWARD_IF_NOT_NONE, 0, 0)
POP_JUMP_IF_NONE(POP_JUMP_BACKWARD_IF_NONE, 1, 1)
POP_JUMP_IF_NONE(POP_JUMP_BACKWARD_IF_NOT_NONE, 0, 1)

/* JUMP_IF_{TRUE,FALSE}_OR_POP: keep the value and jump, or pop it and go on. */
#define JUMP_IF_OR_POP(NAME, JUMP_WHEN)                                                         \
    STENCIL_FN(cpjit_op_##NAME)                                                                \
    {                                                                                          \
        PyObject *cond = TOP();                                                                \
        int truth;                                                                             \
        if (Py_IsTrue(cond)) {                                                                 \
            truth = 1;                                                                         \
        }                                                                                      \
        else if (Py_IsFalse(cond)) {                                                           \
            truth = 0;                                                                         \
        }                                                                                      \
        else {                                                                                 \
            SAVE_IP();                                                                         \
            truth = PyObject_IsTrue(cond);                                                     \
            if (UNLIKELY(truth < 0)) {                                                         \
                ERROR();                                                                       \
            }                                                                                  \
            if (UNLIKELY(CPJIT_INTERPRET_ONLY(tstate) != 0)) {                                 \
                /* __bool__ or __len__ switched tracing on: on where the jump goes (it keeps   \
                 * the value when it jumps; forward only), in the interpreter. */              \
                if (truth == (JUMP_WHEN)) {                                                    \
                    TRACED_FROM(DONE + OPARG);                                                 \
                }                                                                              \
                STACK_SHRINK(1);                                                               \
                DECREF_SAVING_IP(cond);                                                        \
                TRACED_FROM(DONE);                                                             \
            }                                                                                  \
        }                                                                                      \
        if (truth == (JUMP_WHEN)) {                                                            \
            JUMP();                                                                            \
        }                                                                                      \
        STACK_SHRINK(1);                                                                       \
        DECREF_SAVING_IP(cond); /* a deallocation publishes prev_instr */                      \
        CONTINUE();                                                                            \
    }

JUMP_IF_OR_POP(JUMP_IF_TRUE_OR_POP, 1)
JUMP_IF_OR_POP(JUMP_IF_FALSE_OR_POP, 0)
