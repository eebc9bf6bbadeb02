/* cpjit_rt.h: the contract between native code (stencils), the C runtime (csrc/) and Rust (src/).
 *
 * Owns: the per-code-object state stored in co_extra, the hand-over reasons, the statistics
 * counters, and the declarations of every C helper a stencil may call. Rust mirrors
 * CpjitCodeState and CpjitStats with #[repr(C)] structs in src/runtime.rs; keep them in step.
 */
#ifndef CPJIT_RT_H
#define CPJIT_RT_H

#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include "Python.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_pymem.h"
#include "internal/pycore_pystate.h"

#include <stdint.h>
#include <time.h>

/* Whether frames must run in the interpreter from here on (native code is not entered, and a
 * native frame hands over at its next check): tracing or profiling is on (sys.settrace,
 * sys.setprofile), or tracemalloc is tracing. tracemalloc records, for every allocation, the
 * line of each frame's prev_instr, which native code makes exact only where it calls out or can
 * raise, not before every allocation (a range iterator's int, a float result): under native code
 * allocations would be filed under the line before theirs. */
#define CPJIT_INTERPRET_ONLY(tstate)                                                             \
    ((tstate)->cframe->use_tracing | _Py_tracemalloc_config.tracing)

/* Python code an instruction runs implicitly (an operator's dunder, __bool__, __hash__, a
 * property, __getattr__, __next__, a generator resumed by `for`) may switch tracing on; the
 * interpreter's dispatch notices before the very next instruction. A helper that ran such code on
 * a generic path and left the value stack exactly as after its instruction reports it by
 * returning its error value with cpjit_trace_after_pending set (cpjit_trace_after()): the
 * stencil's error exit then hands the rest of the frame to the interpreter after that
 * instruction instead of raising (csrc/exc.c: cpjit_unwind_error_at). Only for helpers whose
 * every caller goes straight to ERROR() on the error value, with the stack as after the
 * instruction; the flag is consumed there before anything else can run (the GIL is held
 * throughout). Paths in stencils that call such code themselves check with
 * CHECK_TRACING_AFTER(). */
extern int cpjit_trace_after_pending;
#define CPJIT_TRACING_STARTED() CPJIT_INTERPRET_ONLY(_PyThreadState_GET())
/* The last code unit of the instruction at `instr` (its inline cache entries included): where
 * prev_instr stands once it has run (csrc/callsite.c). */
_Py_CODEUNIT *cpjit_instruction_last_unit(_Py_CODEUNIT *instr);
/* Whether the code units `a` and `b` of `code` are on the same line (csrc/callsite.c). */
int cpjit_same_line(PyCodeObject *code, _Py_CODEUNIT *a, _Py_CODEUNIT *b);
/* FOR_ITER's end when the iterator's last step switched tracing on: the StopIteration it raised
 * (if any) taken, and an iterator returned that ends at once giving that same exception back, for
 * the interpreter to run the end of the loop over (csrc/helpers.c); it takes over the stack's
 * reference to `iterator`, released with it. NULL with the error kept (and `iterator` left to the
 * caller) when the iterator raised something else, or on a memory error. */
PyObject *cpjit_for_iter_end_replay(PyThreadState *tstate, PyObject *iterator);
static inline void cpjit_trace_after(void)
{
    cpjit_trace_after_pending = 1;
}

/* Why a frame (or the rest of one) ran in the interpreter. Names live in src/runtime.rs. */
enum cpjit_reason {
    CPJIT_R_COLD = 0,          /* code object not yet past the call threshold */
    CPJIT_R_COMPILE_FAILED,    /* compiler refused this code object (see stats) */
    CPJIT_R_TRACING,           /* sys.settrace / sys.setprofile active at frame entry */
    CPJIT_R_THROW,             /* generator.throw() or similar entered with an exception */
    CPJIT_R_NO_ENTRY,          /* resume point has no native entry */
    CPJIT_R_EXCEPTION,         /* an exception was raised; the interpreter unwinds it */
    CPJIT_R_TRACING_MIDFRAME,  /* tracing was switched on while the frame ran natively */
    CPJIT_R_UNSUPPORTED,       /* an instruction form native code does not handle */
    CPJIT_R_DEEP_RECURSION,    /* C stack nearly exhausted: run the subtree without the hook */
    CPJIT_R_QUICKENING,        /* the call whose RESUME quickens the code object, as in CPython */
    CPJIT_R_IMPORT,            /* a module's body while it is imported: run without the hook */
    CPJIT_R_TIER_DOWN,         /* a root entered from C that its trial found faster interpreted,
                                  or the interpreted blocks of its trial (tier_trials.c) */
    CPJIT_R_COUNT
};

/* What a run's failed check found (stencils/runs.h: RUN_FALLBACK; stats()["run_fallbacks_by"],
 * named in src/runtime.rs's RUN_CHECKS, same order). */
enum {
    CPJIT_RUN_TYPE,       /* a value of another type than the run reads (not an exact float or
                             int, not a list, a bool) */
    CPJIT_RUN_UNBOUND,    /* an unbound local or cell */
    CPJIT_RUN_ATTRIBUTE,  /* an attribute cache's first way does not serve the owner (another
                             type, values turned into a dict, the attribute missing) */
    CPJIT_RUN_INDEX,      /* a list index out of range */
    CPJIT_RUN_RANGE,      /* an int past 64-bit arithmetic: an operand past 2**60, a result
                             that overflows, an int result a double cannot hold exactly */
    CPJIT_RUN_ARITHMETIC, /* a zero divisor, a negative or too large shift, a power Python
                             raises on or makes complex */
    CPJIT_RUN_ALLOCATION, /* boxing the result failed */
    CPJIT_RUN_CHECKS
};

typedef struct {
    uint64_t frames_native;             /* frames entered in native code */
    uint64_t handovers[CPJIT_R_COUNT];  /* frames (or frame tails) run by the interpreter */
    uint64_t exceptions_native;         /* raised exceptions (incl. generator throw()) whose
                                           unwinding native code did: caught in the frame or
                                           leaving it; re-raises are not counted */
    uint64_t attr_table_filed;          /* entries filed in the shared attribute table
                                           (csrc/attr_table.h) */
    uint64_t attr_table_adopted;        /* attribute cache misses a site answered with one */
    uint64_t frames_from_c;             /* of frames_native: calls entered through the
                                           function's vectorcall (calls.h:
                                           cpjit_function_vectorcall), from C code or from an
                                           interpreter-run CALL */
    uint64_t stack_segment_switches;    /* frames the hook went on with on a C stack segment
                                           of cpjit's own (stack_segments.c) */
    uint64_t stack_segments_mapped;     /* segments mapped and not yet unmapped */
    uint64_t run_fallbacks[CPJIT_RUN_CHECKS]; /* float or int runs whose check failed, so their
                                           baseline copy ran (stencils/runs.h), by what failed */
    uint64_t operator_methods;          /* operator methods (`__sub__`, `__rsub__`) a binary
                                           operator called without the generic dispatch
                                           (dunders.c) */
    uint64_t calls_older_callee;        /* calls of a site's older callee (calls.h:
                                           CpjitCallCache.older) swapped into its entry */
} CpjitStats;

extern CpjitStats cpjit_stats;

/* Frames a Python function's vectorcall starts while cpjit's hook is installed: through the
 * hook, or pushed and run by cpjit's function vectorcall (calls.c, run_pushed_frame). A call of
 * a function that returns NULL without moving it failed before its callee started, that is, in
 * binding its arguments (calls.c, call_function). */
extern uint64_t cpjit_frames_started;

/* Compile states of a code object. */
enum { CPJIT_COUNTING = 0, CPJIT_COMPILED = 1, CPJIT_FAILED = 2 };

/* Per code object, in its co_extra slot. Allocated by the C runtime, the `native` part is filled
 * by Rust's compiler and released through cpjit_release_native when the code object dies. */
typedef struct {
    uint32_t calls;            /* entries seen while counting */
    uint32_t state;            /* CPJIT_COUNTING / COMPILED / FAILED */
    const char *base;          /* start of the native code */
    const uint32_t *entries;   /* per code unit: offset from base of that instruction's code, or
                                  CPJIT_NO_ENTRY (cache entries) */
    uint32_t n_units;          /* length of entries = code units in co_code_adaptive */
    int32_t warmup;            /* the interpreter's quickening countdown, emulated: starts at
                                  -QUICKENING_WARMUP_DELAY, +1 per RESUME and backward jump run
                                  natively; at 0 the interpreter would have quickened the code */
    void *native;              /* Rust-owned compiled code; NULL unless COMPILED */
    void *call_sites;          /* C-owned (callsite.c): stack depth at each CALL, once needed */
    uint32_t tier;             /* CPJIT_TIER_* bits, set when the state is created */
    void *exc_table;           /* C-owned (exc.c): the decoded exception table, once needed */
    uint64_t warm_since_ns;    /* other code while counting: when the current window of calls
                                  began (runtime.c, stays_cold: warm means `threshold` calls
                                  within warm_window_ms) */
    uint64_t interpreted_ns;   /* CPJIT_TIER_LOOP code outside __main__: wall time its calls
                                  spent in the interpreter while counting (callees included) */
    uint32_t samples;          /* cold_regions.c: samples that found this code innermost in a
                                  cold region, within sampling window `sample_window` */
    uint32_t sample_window;
    uint32_t root_samples;     /* cold_regions.c: samples in regions this code opened, within
                                  the window, and how many of them found compiled code */
    uint32_t root_compiled_samples;
    uint32_t hooked_callees;   /* cold_regions.c: cold callees of this (compiled) code that kept
                                  the hook for the compiled code beneath them */
    void *kw_defaults;         /* C-owned (calls.c): the keyword-only defaults last read from a
                                  function's __kwdefaults__, once a call needed them */
    uint32_t root_calls;       /* tier_trials.c: calls entered from C while the root is judged, */
    uint32_t root_timed;       /* how many of them were timed, */
    uint64_t root_timed_ns;    /* and their time */
    uint64_t root_compiles;    /* cpjit_compiles_seen at the root's last judgement, where the
                                  calls timed for its next one begin */
    uint16_t root_active;      /* tier_trials.c: a counted call of the root is running, */
    uint16_t root_unquiet;     /* and (a generator's resumes) judgements put off because code
                                  compiled meanwhile */
    uint16_t probe_left;       /* hub_probe.c: calls of the running probe still to come, */
    uint16_t probe_cold;       /* and the calls the probed ones made of code staying interpreted */
    uint16_t hub_level;        /* hub_probe.c: probes that found a hub (at most MAX_HUB_LEVEL), */
    uint16_t hub_windows;      /* and warm windows since the last probe */
} CpjitCodeState;

/* CpjitCodeState.tier: a function (CO_OPTIMIZED) whose bytecode has a backward jump. Defined in
 * __main__ (a script's main()), it compiles at its first call whatever the threshold: no
 * on-stack replacement out of the interpreter exists, so a loop that runs once is native only if
 * its call starts native. Defined elsewhere (a library), it compiles at the threshold or once its
 * interpreted calls have taken loop_budget_ns per code unit, whichever comes first. */
#define CPJIT_TIER_LOOP 1u
/* A module or class body (not CO_OPTIMIZED) with a backward jump: compiled at its first call when
 * it runs as the body of __main__ (a script's top-level loop), else counted like any code. */
#define CPJIT_TIER_BODY_LOOP 2u
/* The import system's loading of a module (importlib's _find_and_load_unlocked): with a
 * threshold, it runs with the hook taken out, and so does everything it calls (the finders, the
 * loaders, the module's body), as the bodies of imported modules do (runtime.c, CPJIT_R_IMPORT).
 * Never counted toward a compile: the hook's cold fast paths leave it to its general path. */
#define CPJIT_TIER_IMPORT 4u
/* A cold function whose calls keep the hook: a cold region it opened (cold_regions.c) had hot
 * code beneath it, which runs natively only under the hook. Set by the sampler. */
#define CPJIT_TIER_KEEPS_HOOK 8u
/* cold_regions.c: whether the code was defined in __main__ (CPJIT_TIER_IN_MAIN), once known
 * (CPJIT_TIER_HOME_KNOWN): a script's own functions never open a region, so the loop functions
 * of __main__ they call start native (no on-stack replacement could take a loop there later). */
#define CPJIT_TIER_HOME_KNOWN 16u
#define CPJIT_TIER_IN_MAIN 32u
/* cold_regions.c: compiled code whose cold callees keep the hook (several of them had compiled
 * code beneath). */
#define CPJIT_TIER_CALLEES_KEEP_HOOK 64u
/* importlib's own code (<frozen importlib._bootstrap>, _bootstrap_external): never a cold
 * region's function. Imports have their own rule (the module body and the loading of a new
 * module run unhooked: CPJIT_R_IMPORT), and a region over _find_and_load would start the
 * sampler and sample import-time code in every short program. */
#define CPJIT_TIER_NO_REGION 128u
/* tier_trials.c: compiled code whose calls from C run natively for good (judged too small for a
 * trial, or its trial found native code faster), and compiled code whose calls from C run
 * interpreted, the hook taken out (its trial found that faster). */
#define CPJIT_TIER_ROOT_DONE 256u
#define CPJIT_TIER_ROOT_COLD 512u
/* hub_probe.c: a warm loopless function whose calls are being probed (run interpreted under
 * the hook, the calls they make counted), and one the probe left interpreted because its calls
 * mostly lead into code that stays interpreted (a hub). */
#define CPJIT_TIER_PROBING 1024u
#define CPJIT_TIER_HUB 2048u
/* The tier bits whose calls the cold fast paths (runtime.c's cold_function_state, calls.h's
 * callee_state) leave to the hook's general path. */
#define CPJIT_TIER_NOT_PLAIN_COLD (CPJIT_TIER_LOOP | CPJIT_TIER_BODY_LOOP | CPJIT_TIER_IMPORT)

#define CPJIT_NO_ENTRY UINT32_MAX

/* Dict versions (ma_version_tag, PEP 509) for dicts changed in place by cpjit (names.h's hinted
 * attribute store, arith.c's `d[k] op= v`). CPython's counter (DICT_NEXT_VERSION) is not
 * exported; this one starts at 2**62, which CPython's 64-bit counter will never reach, so a
 * version from either side is never handed out twice. */
extern uint64_t cpjit_next_dict_version;
static inline void cpjit_dict_new_version(PyDictObject *dict)
{
    dict->ma_version_tag = cpjit_next_dict_version++;
}

/* The helpers native code calls on its common paths (calls, attribute and global caches, frame
 * push and pop, unpacking, the consuming slow paths every program reaches): clang puts each in a
 * .text.hot.* section, which the linker gathers in one place, so the few kilobytes every
 * program runs share instruction-cache lines and pages instead of lying scattered among the
 * rarely run helpers and the compiler's Rust. */
#define CPJIT_HOT __attribute__((hot))

/* The signature every stencil has: frame, value-stack pointer and thread state stay in
 * registers from one stencil to the next; the final stencil returns the frame's result. */
typedef PyObject *(__attribute__((preserve_none)) *cpjit_native_fn)(
    _PyInterpreterFrame *frame, PyObject **stack_pointer, PyThreadState *tstate);

/* The layout of co_extra in CPython 3.11 (Objects/codeobject.c keeps it private). cpjit reads it
 * directly on the hot path only when cpjit_direct_extra_ok, which cpjit_rt_init sets after
 * checking on a real code object that this finds what _PyCode_SetExtra stored. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} CodeExtraLayout;
extern Py_ssize_t cpjit_extra_index;
extern int cpjit_direct_extra_ok;

/* The code object's cpjit state, or NULL; only valid when cpjit_direct_extra_ok. */
static inline CpjitCodeState *cpjit_state_fast(PyCodeObject *code)
{
    CodeExtraLayout *extra = (CodeExtraLayout *)code->co_extra;
    if (extra != NULL && cpjit_extra_index < extra->ce_size) {
        return (CpjitCodeState *)extra->ce_extras[cpjit_extra_index];
    }
    return NULL;
}

/* Monotonic wall time in nanoseconds (vDSO; no system call): the loop-function budget, the warm
 * window, the sampler's stall test. */
static inline uint64_t cpjit_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- implemented in Rust (src/runtime.rs) ---- */
int cpjit_rust_compile(PyCodeObject *code, CpjitCodeState *state);
int cpjit_rust_has_backward_jump(const _Py_CODEUNIT *units, Py_ssize_t n_units);
void cpjit_rust_release(void *native);

/* ---- runtime entry points (csrc/runtime.c), called from Rust ---- */
int cpjit_rt_init(void);                   /* reserve the co_extra index; 0 or -1 with error */
int cpjit_rt_install(void); /* install the PEP 523 hook; 1 if it was already ours, -1 (installed)
                            * with an exception a signal handler raised meanwhile */
void cpjit_rt_uninstall(void);             /* restore exactly the previous frame-eval function */
int cpjit_rt_is_installed(void);
void cpjit_rt_set_threshold(uint32_t threshold);
/* The current threshold, for the hot paths of calls.c (set only through the function above). */
extern uint32_t cpjit_threshold;
uint32_t cpjit_rt_get_threshold(void);
void cpjit_rt_set_loop_budget_ns(uint32_t ns_per_unit);
uint32_t cpjit_rt_get_loop_budget_ns(void);
void cpjit_rt_set_warm_window_ms(uint32_t ms);
uint32_t cpjit_rt_get_warm_window_ms(void);
CpjitCodeState *cpjit_rt_state_for(PyCodeObject *code, int create);
/* The code object's cpjit state, or NULL (never created here): read in line when the direct
 * co_extra read is allowed, else through cpjit_rt_state_for. */
static inline CpjitCodeState *cpjit_state_of(PyCodeObject *code)
{
    return cpjit_direct_extra_ok ? cpjit_state_fast(code) : cpjit_rt_state_for(code, 0);
}
/* Whether `code` is past the interpreter's warm-up (cpjit's emulation of its quickening
 * countdown, CpjitCodeState.warmup): from then on the interpreter runs its specialised forms. */
static inline int cpjit_code_is_warm(PyCodeObject *code)
{
    CpjitCodeState *st = cpjit_state_of(code);
    return st != NULL && st->warmup >= 0;
}

/* What the compiler reads of a code object; the arrays are borrowed from it. */
typedef struct {
    const _Py_CODEUNIT *units;
    Py_ssize_t n_units;
    PyObject *const *consts;
    Py_ssize_t n_consts;
    PyObject *const *names;
    Py_ssize_t n_names;
    int flags;
} CpjitCodeInfo;
void cpjit_rt_code_info(PyCodeObject *code, CpjitCodeInfo *out);
/* The addresses of the external symbols stencils use, in stencils.rs's SYMBOLS order. */
extern const void *const cpjit_symbol_addresses[];

/* ---- helpers called by stencils (csrc/runtime.c) ---- */

/* Finish the frame in the interpreter. frame->prev_instr must already be set: to the
 * instruction's last code unit to resume after it, to the unit before it to re-run it, or (with
 * throwflag) to the instruction that raised. Returns what the frame returns. */
PyObject *cpjit_handover(_PyInterpreterFrame *frame, PyObject **stack_pointer,
                         PyThreadState *tstate, int throwflag, int reason);

/* Leave a native frame (return, yield): undo what native entry did. */
static inline void cpjit_leave_frame(_PyInterpreterFrame *frame, PyThreadState *tstate)
{
    tstate->recursion_remaining++;
    tstate->cframe->current_frame = frame->previous;
}

/* The eval-breaker work: signals, pending calls, GIL hand-off, async exceptions.
 * Returns 0, or -1 with an exception set. */
int cpjit_handle_pending(PyThreadState *tstate);

#endif
