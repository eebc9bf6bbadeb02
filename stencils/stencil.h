/* stencil.h: what every stencil sees. Holes, the stencil signature, and the exits.
 *
 * A stencil is one instruction's machine code. build.rs compiles each function named
 * cpjit_op_<NAME> (one per opcode, or cpjit_op_<OPCODE>__<VARIANT> for a variant) into bytes plus
 * holes; the compiler copies it once per instruction and patches the holes:
 *
 *   _JIT_OPARG        the instruction's oparg, EXTENDED_ARG prefixes folded in
 *   _JIT_INSTR        address of the instruction's code unit in co_code_adaptive
 *   _JIT_REDO         the prev_instr value that makes the interpreter run this instruction
 *   _JIT_DONE         the prev_instr value that makes the interpreter resume after it
 *   _JIT_CONST        co_consts[oparg]            (0 when oparg is out of range)
 *   _JIT_NAME         co_names[oparg]             (0 when out of range)
 *   _JIT_NAME_HALF    co_names[oparg >> 1]        (LOAD_GLOBAL's encoding)
 *   _JIT_CACHE        64 bytes of zeroed writable memory owned by this instruction
 *   _JIT_CODE         the PyCodeObject being compiled
 *   _JIT_KWNAMES      for CALL__KWNAMES: the names tuple of the KW_NAMES before it
 *   _JIT_STATE        the code object's CpjitCodeState (csrc/cpjit_rt.h)
 *   _JIT_CONTINUE     the next instruction's code (a jump there at the end is cut off)
 *   _JIT_JUMP_TARGET  the code of the instruction this one jumps to (pair stencils: the one
 *                     the second instruction of the pair jumps to)
 *   _JIT_SKIP         pair stencils (<OP>__<oparg>__<NEXT_OP>): the code after the pair
 *   _JIT_ERROR        the code object's error exit (raise with the stack as the interpreter has it)
 *
 * Register contract: `frame`, `stack_pointer` and `tstate` are the arguments of every stencil
 * and are passed on unchanged (except stack_pointer) to the next.
 */
#ifndef CPJIT_STENCIL_H
#define CPJIT_STENCIL_H

#define Py_BUILD_CORE 1
#include "Python.h"
#include "internal/pycore_atomic.h"
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_long.h"
#include "internal/pycore_object.h"
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_tuple.h"
#include "internal/pycore_list.h"
#include "opcode.h"

#include "cpjit_rt.h"
#include "helpers.h"
#include "calls.h"
#include "slowpaths.h"
#include "names.h"
#include "data.h"
#include "fused.h"
#include "exc.h"

#define PRESERVE_NONE __attribute__((preserve_none))
#define HIDDEN __attribute__((visibility("hidden")))

/* Hot/cold splitting. build.rs lays every stencil out as a hot part, which falls through into
 * the next instruction's, and a cold part placed after the hot parts of all instructions
 * (src/split.rs). A block is cold when clang estimates it unlikely: behind a
 * __builtin_expect(..., 0), or calling a function declared `cold`. These are the exits and the
 * cache-miss paths: raising (the error exit _JIT_ERROR, below, and the helpers that format an
 * exception), handing the frame to the interpreter, and the slow halves of the inline caches.
 * (Plain `if`s never make code cold: clang gives them 37.5-62.5%.) */
#define COLD_FN(f) extern __typeof__(f) f __attribute__((cold))
COLD_FN(cpjit_handover);
COLD_FN(cpjit_unbound_local_at);
COLD_FN(cpjit_unbound_local_error);
COLD_FN(cpjit_tail_unbound_local);
COLD_FN(cpjit_format_exc_unbound);
COLD_FN(cpjit_format_exc_check_arg);
COLD_FN(cpjit_list_extend_error);
COLD_FN(cpjit_dict_update_error);
COLD_FN(cpjit_format_kwargs_error);
COLD_FN(cpjit_unwind_error);
COLD_FN(cpjit_load_attr_slow);
COLD_FN(cpjit_load_method_slow);
COLD_FN(cpjit_store_attr_slow);
COLD_FN(cpjit_load_global_slow);
COLD_FN(_PyErr_Format);
COLD_FN(_PyErr_SetString);

#define STENCIL(NAME) STENCIL_FN(cpjit_op_##NAME)
/* For stencils defined inside other macros: paste `cpjit_op_##NAME` there, before the name can
 * be expanded (many opcode names are also macros from opcode.h). */
#define STENCIL_FN(FULLNAME)                                                                   \
    PRESERVE_NONE PyObject *FULLNAME(_PyInterpreterFrame *frame, PyObject **stack_pointer,     \
                                     PyThreadState *tstate)

/* Value holes: the address of the symbol is the value. Stencils are position-independent code
 * (so CPython's data is reached through the code object's GOT, in 7 bytes instead of a 10-byte
 * movabs), but a hole is a value, not a place: it is loaded with an explicit 64-bit immediate
 * (R_X86_64_64), which also keeps clang from assuming anything about it (such as "an extern
 * symbol's address is never zero"). */
#define HOLE64(SYM)                                                                            \
    ({                                                                                         \
        uintptr_t v_;                                                                          \
        __asm__("movabsq $" #SYM ", %0" : "=r"(v_));                                           \
        v_;                                                                                    \
    })

/* The oparg (EXTENDED_ARG folded in) fits in 32 bits: a 5-byte `movl $imm32` (R_X86_64_32). */
#define OPARG                                                                                  \
    ({                                                                                         \
        uint64_t v_; /* writing the 32-bit register zero-extends it */                         \
        __asm__("movl $_JIT_OPARG, %k0" : "=r"(v_));                                           \
        __builtin_assume(v_ <= 0x7fffffff);                                                    \
        (int)v_;                                                                               \
    })
#define INSTR ((_Py_CODEUNIT *)HOLE64(_JIT_INSTR))
#define REDO ((_Py_CODEUNIT *)HOLE64(_JIT_REDO))
#define DONE ((_Py_CODEUNIT *)HOLE64(_JIT_DONE))
#define CONST ((PyObject *)HOLE64(_JIT_CONST))
#define NAME ((PyObject *)HOLE64(_JIT_NAME))
#define NAME_HALF ((PyObject *)HOLE64(_JIT_NAME_HALF))
#define JIT_CACHE ((void *)HOLE64(_JIT_CACHE))
#define CODE ((PyCodeObject *)HOLE64(_JIT_CODE))
#define KWNAMES ((PyObject *)HOLE64(_JIT_KWNAMES))
#define STATE ((CpjitCodeState *)HOLE64(_JIT_STATE))

/* The interpreter quickens a code object at the RESUME or JUMP_BACKWARD that ends its warm-up
 * countdown (QUICKENING_WARMUP_DELAY of them), and specialises each instruction the first time
 * it runs after that. Native code keeps the same countdown in the code's state: until it ends,
 * builtins are called the way the cold interpreter calls them (that counts toward the recursion
 * depth). At the instruction that ends it, when HAND_OVER_IF holds, the interpreter runs the
 * rest of the frame from this instruction: it quickens the code and specialises what it runs
 * exactly as without cpjit (once per code object; RESUME and JUMP_BACKWARD_LAST_FOR say when). */
#define WARMUP(HAND_OVER_IF)                                                                   \
    do {                                                                                       \
        CpjitCodeState *st_ = STATE;                                                           \
        if (__builtin_expect(st_->warmup < 0, 0) && ++st_->warmup == 0) {                      \
            PyCodeObject *code_ = CODE;                                                        \
            if (code_->co_warmup != 0 && (HAND_OVER_IF)) {                                     \
                code_->co_warmup = -1; /* the interpreter's own count takes it to 0 */         \
                HANDOVER_BEFORE(CPJIT_R_QUICKENING);                                           \
            }                                                                                  \
        }                                                                                      \
    } while (0)
#define IS_WARM() (STATE->warmup >= 0)

/* Branch weights: clang lays out an UNLIKELY block after the hot path (and build.rs can move it
 * out of the instruction's copy), so the instructions a stencil runs when nothing goes wrong are
 * contiguous. Wrap every rare condition: errors, deallocation, cache misses, hand-overs. */
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Py_DECREF and Py_XDECREF with the deallocation marked unlikely, so that it is laid out (and
 * split) away from the hot path. Same semantics as object.h's. */
static inline __attribute__((always_inline)) void cpjit_decref(PyObject *op)
{
    if (UNLIKELY(--op->ob_refcnt == 0)) {
        _Py_Dealloc(op);
    }
}
static inline __attribute__((always_inline)) void cpjit_xdecref(PyObject *op)
{
    if (op != NULL) {
        cpjit_decref(op);
    }
}
#undef Py_DECREF
#define Py_DECREF(op) cpjit_decref(_PyObject_CAST(op))
#undef Py_XDECREF
#define Py_XDECREF(op) cpjit_xdecref(_PyObject_CAST(op))

/* The instructions that count the warm-up and serve the eval breaker keep only the tests in
 * line and call csrc/helpers.c's cpjit_loop_slow (KIND: CPJIT_LOOP_*) when one holds: the
 * countdown still runs (`st` the code's state, NULL when KIND counts none) or the breaker is
 * set. It raises, or the interpreter finishes the frame, or native code goes on. */
#define LOOP_SLOW(ST, KIND)                                                                    \
    do {                                                                                       \
        CpjitLoopExit r_ = cpjit_loop_slow(frame, stack_pointer, tstate, (ST), REDO, (KIND));  \
        if (UNLIKELY(r_.status != 0)) {                                                        \
            if (r_.status < 0) {                                                               \
                ERROR();                                                                       \
            }                                                                                  \
            FRAME_EXIT(r_.result);                                                             \
        }                                                                                      \
    } while (0)

/* Code holes: targets of tail calls. Hidden so they are reached PC-relative, never via the GOT. */
extern PRESERVE_NONE PyObject *_JIT_CONTINUE(_PyInterpreterFrame *, PyObject **,
                                             PyThreadState *) HIDDEN;
extern PRESERVE_NONE PyObject *_JIT_JUMP_TARGET(_PyInterpreterFrame *, PyObject **,
                                                PyThreadState *) HIDDEN;
extern PRESERVE_NONE PyObject *_JIT_ERROR(_PyInterpreterFrame *, PyObject **,
                                          PyThreadState *) HIDDEN __attribute__((cold));
extern PRESERVE_NONE PyObject *_JIT_SKIP(_PyInterpreterFrame *, PyObject **,
                                         PyThreadState *) HIDDEN;

#define CONTINUE() __attribute__((musttail)) return _JIT_CONTINUE(frame, stack_pointer, tstate)
/* The frame is finished (unlinked, not popped) with `result` (NULL: an exception is set): back
 * to the C caller of an entry frame, or on in the native caller cpjit_call jumped from
 * (csrc/calls.h: cpjit_frame_exit). */
#define FRAME_EXIT(result)                                                                     \
    __attribute__((musttail)) return cpjit_frame_exit(frame, (PyObject **)(result), tstate)
/* CONTINUE() as a block of its own that the branches before it jump to: without it clang folds
 * the jump into them as conditional tail calls (`jne _JIT_CONTINUE`), which leaves an unlikely
 * path that ends in a tail call of its own (DEALLOC_THEN_CONTINUE) without an edge of low
 * probability to it, so src/split.rs would keep that path hot. (An empty asm is not copied.) */
#define CONTINUE_JOINED()                                                                      \
    do {                                                                                       \
        __asm__ volatile("" ::: "memory");                                                     \
        CONTINUE();                                                                            \
    } while (0)
#define JUMP() __attribute__((musttail)) return _JIT_JUMP_TARGET(frame, stack_pointer, tstate)
/* Pair stencils only: continue after the second instruction of the pair. */
#define SKIP() __attribute__((musttail)) return _JIT_SKIP(frame, stack_pointer, tstate)
/* Go on at an exception handler an unwind helper (csrc/exc.h) returned, or, when it returned
 * NULL, return `result`: the helper (or the interpreter) has finished the frame. The helper
 * stored the stack pointer in the frame; running again, the stack depth is -1 (GC off). */
#define CONTINUE_AT_HANDLER(handler, result)                                                   \
    do {                                                                                       \
        if ((handler) == NULL) {                                                               \
            FRAME_EXIT(result);                                                                \
        }                                                                                      \
        stack_pointer = _PyFrame_GetStackPointer(frame);                                       \
        frame->stacktop = -1;                                                                  \
        __attribute__((musttail)) return (handler)(frame, stack_pointer, tstate);              \
    } while (0)
/* Raise: the exception is set and the stack holds exactly what the interpreter's would at
 * `goto error`. prev_instr must point at this instruction (SAVE_IP did that). */
#define ERROR() __attribute__((musttail)) return _JIT_ERROR(frame, stack_pointer, tstate)

/* Publish the instruction pointer before anything that can raise, call out or look at the frame. */
#define SAVE_IP() (frame->prev_instr = INSTR)

/* Hand the rest of the frame to the interpreter. */
#define HANDOVER_BEFORE(reason)                                                                \
    do {                                                                                       \
        frame->prev_instr = REDO;                                                              \
        FRAME_EXIT(cpjit_handover(frame, stack_pointer, tstate, 0, (reason)));                 \
    } while (0)

/* After an instruction that ran arbitrary code: if tracing was switched on meanwhile (pdb's
 * set_trace, sys.settrace in a callee), the interpreter runs the rest of the frame so the trace
 * function sees every line from here on. */
#define CHECK_TRACING_AFTER() CHECK_TRACING_FROM(DONE)
/* The same, going on from after `at` (a jump's target: DONE + OPARG, the code unit before it). */
#define CHECK_TRACING_FROM(at)                                                                 \
    do {                                                                                       \
        if (__builtin_expect(CPJIT_INTERPRET_ONLY(tstate) != 0, 0)) {                          \
            TRACED_FROM(at);                                                                   \
        }                                                                                      \
    } while (0)
/* The interpreter runs the rest of the frame from after `at` (the code unit prev_instr takes),
 * tracing: the hand-over is one shared helper, so each site's cold code is a store and a jump. */
#define TRACED_FROM(at)                                                                        \
    do {                                                                                       \
        frame->prev_instr = (at);                                                              \
        __attribute__((musttail)) return cpjit_handover_traced(frame, stack_pointer, tstate);  \
    } while (0)

/* A conditional jump whose truth test ran Python code (__bool__, __len__) that may have switched
 * tracing on; the operand is gone (popped and released). The hand-over is one shared helper
 * (csrc/calls.c: cpjit_truth_traced, which decodes the jump's sense, target and oparg from its
 * REDO, published as prev_instr as the other out-of-line paths do), the truth passed in the
 * stack pointer's bit 0: a store, a tag and a jump per site. JUMP_WHEN and BACKWARD document
 * the call site; the helper finds both in the opcode. */
#define CHECK_TRACING_AFTER_TRUTH(truth, JUMP_WHEN, BACKWARD)                                  \
    do {                                                                                       \
        if (__builtin_expect(CPJIT_INTERPRET_ONLY(tstate) != 0, 0)) {                          \
            frame->prev_instr = REDO;                                                          \
            __attribute__((musttail)) return cpjit_truth_traced(                               \
                frame, (PyObject **)((uintptr_t)stack_pointer | (uintptr_t)((truth) != 0)),    \
                tstate);                                                                       \
        }                                                                                      \
    } while (0)

#define EVAL_BREAKER_SET()                                                                     \
    __builtin_expect(_Py_atomic_load_relaxed(&tstate->interp->ceval.eval_breaker), 0)

/* Value-stack helpers, named after ceval.c's. */
#define TOP() (stack_pointer[-1])
#define SECOND() (stack_pointer[-2])
#define THIRD() (stack_pointer[-3])
#define PEEK(n) (stack_pointer[-(n)])
#define SET_TOP(v) (stack_pointer[-1] = (v))
#define SET_SECOND(v) (stack_pointer[-2] = (v))
#define POKE(n, v) (stack_pointer[-(n)] = (v))
#define PUSH(v) (*stack_pointer++ = (v))
#define POP() (*--stack_pointer)
#define STACK_SHRINK(n) (stack_pointer -= (n))
#define STACK_GROW(n) (stack_pointer += (n))
#define GETLOCAL(i) (frame->localsplus[(i)])
#define SETLOCAL(i, value)                                                                     \
    do {                                                                                       \
        PyObject *tmp_ = GETLOCAL(i);                                                          \
        GETLOCAL(i) = (value);                                                                 \
        Py_XDECREF(tmp_);                                                                      \
    } while (0)
/* Py_DECREF that publishes the instruction pointer only when the object is deallocated (a
 * destructor can run any code, look at the frame, or raise a warning with a line number). */
#define DECREF_SAVING_IP(op)                                                                   \
    do {                                                                                       \
        PyObject *op_ = (op);                                                                  \
        if (UNLIKELY(--op_->ob_refcnt == 0)) {                                                 \
            cpjit_dealloc_at(op_, frame, INSTR);                                               \
        }                                                                                      \
    } while (0)
/* The deallocation path of a stencil that then continues with the next instruction, for `op`
 * whose refcount just reached zero: prev_instr published, then a tail call to csrc's
 * cpjit_dealloc_then (deallocate, go on at _JIT_CONTINUE). Nothing comes back into the stencil,
 * so the whole path is cold (a path that calls and then falls into the next instruction stays
 * in the hot part: clang turns the other paths' ends into conditional tail calls). Not
 * `musttail` (the helper takes two more arguments), but a sibling call all the same. The
 * stencil's other paths end in CONTINUE_JOINED(). */
#define DEALLOC_THEN_CONTINUE(op)                                                              \
    do {                                                                                       \
        SAVE_IP();                                                                             \
        return cpjit_dealloc_then(frame, stack_pointer, tstate, (op),                          \
                                  (cpjit_native_fn)&_JIT_CONTINUE);                            \
    } while (0)
#define GLOBALS() (frame->f_globals)
#define BUILTINS() (frame->f_builtins)
#define LOCALS() (frame->f_locals)

#endif
