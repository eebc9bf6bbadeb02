/* tier_trials.c: compiled roots entered from C, measured both ways, run the faster way.
 *
 * Owns: for each compiled function whose calls come from C code (calls.c: run_pushed_frame; an
 * iterator's __next__, a callable iterator's function, a callback), whether those calls run
 * natively or as plain python runs them (the hook taken out for the call, so the interpreter
 * inlines everything beneath it); the trial that decides it, by measuring both.
 *
 * Why: native code does not pay everywhere. A program whose work is spread over many small
 * functions, each run a few times per root call, runs each function's machine code from the
 * second-level cache or beyond, where the interpreter's one loop stays in the first-level cache.
 * pyperformance's dulwich_log (a library walking a git history: ~50 small functions beneath one
 * root called from C per commit) ran at 0.87x with its subtree native and at 0.99x with the
 * same subtree interpreted (benches/README.md, session 41). No count or rate told such code from
 * code that gains (benches/README.md, session 40: a call rate, a warm window, hot bytes per
 * window); a measurement of the two ways on the program itself does.
 *
 * How: a compiled function entered from C is a root. One call in SAMPLE_EVERY of a root is
 * timed (wall clock, callees included; a call made beneath another call of the same root, by
 * recursion through C, is part of that call and neither counted nor timed) until TIMED_TO_JUDGE
 * timed calls judge it: a root whose calls take less than `min_root_ns` each on average is left
 * native for good (its subtree is too small to be worth a trial, and the clock would cost too
 * much of it), and a larger one gets a trial when none is running, once nothing compiled in all
 * the time its timed calls were spread over (its subtree has warmed up: measured earlier, native
 * blocks would run code that compiles later interpreted under the hook, slower than either way's
 * steady state). The trial runs the root's calls in blocks of about BLOCK_NS (the same number of
 * calls in each block), alternately native and interpreted, in PAIRS pairs whose order
 * alternates (native first, then interpreted first, ...). The first quarter of each block's
 * calls is not measured: after a switch, the caches hold the other way's code and data. A block
 * during which anything compiled is measured again (a subtree still warming up is not its steady
 * state). The root stays native when its native blocks were faster in NATIVE_PAIRS pairs and by
 * NATIVE_PERCENT in the median pair, decided after EARLY_PAIRS pairs when native won each of
 * them clearly; otherwise it runs interpreted from then on, decided as soon as the native way
 * has lost more pairs than that allows (cpjit_tier_trial_verdict). Each decision is final.
 *
 * Generators and coroutines. Their calls only make the generator (RETURN_GENERATOR): those run
 * natively and are not judged. What runs is their resumes, and a resume that comes through the
 * hook (gen_iternext or gen_send_ex2 called by C code: list(), str.join, a `for` loop's FOR_ITER,
 * an event loop's send) is a root's call here, judged and tried the same way, the native way
 * resuming at the frame's native resume point, the other with the hook taken out. A pipeline of
 * generators whose stages are resumed once per item runs all its stages' machine code for every
 * item: genshi's template rendering (six stages of 150-390 instructions each, 110 KB of hot
 * machine code) ran at 0.92x of plain python natively and at 0.98x with every resume
 * interpreted (benches/README.md, session 49). A resume is much shorter than a call worth a
 * trial (genshi's outermost stage: about 1.2 us), so a generator's resumes are worth one from
 * min_root_ns / RESUME_SHARE, and up to BLOCK_NS / MIN_BLOCK_RESUMES (a block of fewer resumes,
 * each doing whatever work lies before its next yield, compares unequal work). Decisions are
 * kept in the same tier bits: for generator code they are its resumes' way
 * (cpjit.set_calls_from_c, code_info's "calls_from_c"). An undecided generator's resumes miss the
 * hook's fast path (the resume-point table holds only those decided native), so one whose
 * judging is put off MAX_UNQUIET times (code compiled meanwhile), or that is resumed while other
 * threads live (no trial can run), is left native for good.
 *
 * Only the main thread, while it is the only thread with a Python thread state and cpjit's is
 * the evaluator, measures or runs a root interpreted (as cold regions do, cold_regions.c: taking
 * the hook out is seen by every thread); a call made otherwise runs natively, unmeasured. Roots
 * nest (a root's subtree may call C code that calls another root): one trial runs at a time, the
 * root on trial's calls beneath its own measured call run unmeasured, and a root judged worth a
 * trial takes the trial over when the root on trial ran beneath its last timed call (the outer
 * root's decision covers the inner one's subtree) or has not been called for ABANDON_NS. Nothing
 * beneath an interpreted call reaches cpjit (the hook is out). Interpreted calls run exactly as
 * in plain python and native calls exactly as before: a trial changes no behaviour, only speed.
 */
#include "tier_trials.h"

#include "cold_regions.h"

PyObject *cpjit_rt_run_new_frame(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 CpjitCodeState *st);
PyObject *cpjit_rt_resume_native(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                 cpjit_native_fn entry);
void cpjit_rt_forget_resume_points(void);

CpjitTierTrialStats cpjit_tier_trial_stats;
uint64_t cpjit_compiles_seen;

/* One call of a root in this many is timed while it is judged. */
#define SAMPLE_EVERY 8u
/* Timed calls that judge a root. */
#define TIMED_TO_JUDGE 8u
/* A trial's blocks last about this long, and hold at most MAX_BLOCK_CALLS calls. */
#define BLOCK_NS (4u * 1000u * 1000u)
#define MAX_BLOCK_CALLS 4096u
/* Within a block, calls are timed one in `stride`, the stride the least that spans this much of
 * the root's mean call (at most SAMPLE_EVERY): the two clock reads cost about 40 ns, 4% of a
 * one-microsecond generator resume, and a trial's blocks run up to 80k such resumes. Every
 * block times the same calls of its count, so the two ways' blocks still compare like with
 * like. (re_tokenize, a short program whose tokenizer generator is resumed 30k times, spent
 * 1.3 ms of its 95 in the clock when every call of a block was timed: benches/README.md,
 * session 57.) */
#define TIMED_SPAN_NS (8u * 1000u)
/* Pairs of blocks (one native, one interpreted) in a trial. */
#define PAIRS 8
/* The root stays native only when its native blocks were faster in NATIVE_PAIRS pairs and by
 * NATIVE_PERCENT in the median pair (interpreted time at least that share of native time);
 * otherwise it runs interpreted, which is plain python's own speed: where the two ways measure
 * alike, that is the way that cannot be slower than running without cpjit. */
#define NATIVE_PAIRS 6
#define NATIVE_PERCENT 101u
/* A clear native win settles sooner: the native way faster in each of the first EARLY_PAIRS
 * pairs and by EARLY_NATIVE_PERCENT in their median (interpreted time at least that share of
 * native time). The blocks left would run the root interpreted half the time for a verdict
 * already known: deltablue's roots (a constructor and its two tests, 15-45% slower interpreted
 * in every pair) spent about half a second of a one-second run on trials. */
#define EARLY_PAIRS 4
#define EARLY_NATIVE_PERCENT 110u
/* A generator's or coroutine's resumes are worth a trial from this share of min_root_ns. */
#define RESUME_SHARE 32u
/* A generator's or coroutine's resumes get a trial only when a block holds at least this many:
 * a resume runs to the generator's next yield, whose work depends on the data (nqueens' outer
 * generator runs from one solution to the next: 92 resumes of 0.1 to 3 ms), so blocks of a few
 * long resumes compare unequal work and the trial's verdict is noise. Longer resumes stay
 * native, as every resume did before resumes had trials. */
#define MIN_BLOCK_RESUMES 64u
/* Judgements of a generator's resumes put off (code compiled while they were timed) before it
 * is left native: an undecided generator's resumes cannot take the hook's fast path. */
#define MAX_UNQUIET 16u
/* Blocks measured again before a trial gives up (code keeps compiling beneath the root): the
 * root stays native. */
#define MAX_VOID_BLOCKS 32u
/* A trial whose root has not been called for this long gives way to the next root judged worth
 * one (the root is judged again later): its calls may have stopped, or now come beneath another
 * root's calls, once that root's caller compiled. */
#define ABANDON_NS (100u * 1000u * 1000u)

static uint64_t min_root_ns = 0; /* 0: no trials (the C default; the package sets its own) */

/* Main thread, under the GIL. */
static int trial_active; /* a measured call of the root on trial is running */
static struct {
    CpjitCodeState *st;      /* the root on trial; NULL: none */
    uint32_t block_calls;    /* calls measured per block */
    uint32_t warm_calls;     /* calls before them in each block, run its way but not measured */
    uint32_t stride;         /* of the measured calls, one in this many is timed */
    uint32_t in_block;       /* calls made so far in the current block */
    uint32_t block;          /* blocks measured so far */
    uint32_t void_blocks;    /* blocks measured again */
    uint64_t block_ns;       /* the current block's time so far */
    uint64_t compiles_at;    /* cpjit_compiles_seen when the current block began */
    uint64_t last_call_ns;   /* when the root last returned */
    uint64_t calls;          /* measured calls started */
    uint64_t ns[2 * PAIRS];  /* each block's time */
} trial;

void cpjit_tier_trials_set_min_us(uint32_t us)
{
    min_root_ns = (uint64_t)us * 1000u;
}

uint32_t cpjit_tier_trials_get_min_us(void)
{
    return (uint32_t)(min_root_ns / 1000u);
}

void cpjit_tier_trials_forget(CpjitCodeState *st)
{
    if (trial.st == st) {
        trial.st = NULL;
        cpjit_tier_trial_stats.abandoned++;
    }
}

void cpjit_tier_trials_set_way(CpjitCodeState *st, uint32_t way)
{
    cpjit_rt_forget_resume_points(); /* a generator's resumes take their new way at once */
    st->tier = (st->tier & ~(CPJIT_TIER_ROOT_DONE | CPJIT_TIER_ROOT_COLD)) | way;
    st->root_calls = 0;
    st->root_timed = 0;
    st->root_timed_ns = 0;
    st->root_compiles = 0;
    st->root_unquiet = 0;
    cpjit_tier_trials_forget(st);
}

/* Whether block `block` of a trial runs interpreted: pairs alternate which way goes first. */
static inline int block_interpreted(uint32_t block)
{
    return (int)((block & 1u) ^ ((block / 2u) & 1u));
}

static void start_trial(CpjitCodeState *st, uint64_t mean_ns, uint64_t now)
{
    if (trial.st != NULL) {
        cpjit_tier_trial_stats.abandoned++; /* its root was judged again: see ABANDON_NS */
        trial.st->root_timed = 0;
        trial.st->root_timed_ns = 0;
    }
    uint64_t calls = mean_ns > 0 ? BLOCK_NS / mean_ns : MAX_BLOCK_CALLS;
    trial.st = st;
    trial.block_calls = calls < 1 ? 1 : calls > MAX_BLOCK_CALLS ? MAX_BLOCK_CALLS : (uint32_t)calls;
    trial.warm_calls = trial.block_calls / 4u;
    uint64_t stride = mean_ns > 0 ? (TIMED_SPAN_NS + mean_ns - 1u) / mean_ns : SAMPLE_EVERY;
    trial.stride = stride > SAMPLE_EVERY ? SAMPLE_EVERY : (uint32_t)stride;
    trial.in_block = 0;
    trial.block = 0;
    trial.void_blocks = 0;
    trial.block_ns = 0;
    trial.last_call_ns = now;
    cpjit_tier_trial_stats.trials++;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int cpjit_tier_trial_verdict(const uint64_t *ns, uint32_t blocks)
{
    uint32_t pairs = (blocks < 2u * PAIRS ? blocks : 2u * PAIRS) / 2u;
    /* Each pair's interpreted time in parts per 2**20 of its native time. */
    uint64_t ratio[PAIRS];
    uint32_t native_wins = 0;
    for (uint32_t p = 0; p < pairs; p++) {
        uint32_t first = 2u * p;
        uint32_t interp_block = block_interpreted(first) ? first : first + 1u;
        uint64_t interp_ns = ns[interp_block], native_ns = ns[interp_block ^ 1u];
        native_wins += native_ns < interp_ns;
        ratio[p] = native_ns > 0 ? (interp_ns << 20) / native_ns : UINT64_MAX;
    }
    if (pairs - native_wins > PAIRS - NATIVE_PAIRS) {
        /* The native way can no longer win the NATIVE_PAIRS pairs it needs. */
        return CPJIT_VERDICT_INTERPRETED;
    }
    if (pairs < EARLY_PAIRS) {
        return CPJIT_VERDICT_OPEN;
    }
    qsort(ratio, pairs, sizeof ratio[0], compare_u64);
    uint64_t median = ratio[pairs / 2 - 1] / 2u + ratio[pairs / 2] / 2u;
    if (pairs < PAIRS) {
        return native_wins == pairs && pairs == EARLY_PAIRS
                       && median >= ((uint64_t)EARLY_NATIVE_PERCENT << 20) / 100u
                   ? CPJIT_VERDICT_NATIVE
                   : CPJIT_VERDICT_OPEN;
    }
    return native_wins >= NATIVE_PAIRS && median >= ((uint64_t)NATIVE_PERCENT << 20) / 100u
               ? CPJIT_VERDICT_NATIVE
               : CPJIT_VERDICT_INTERPRETED;
}

/* The trial's verdict is in: the root's way from now on. */
static void settle(int verdict)
{
    if (verdict == CPJIT_VERDICT_NATIVE) {
        trial.st->tier |= CPJIT_TIER_ROOT_DONE;
        cpjit_tier_trial_stats.kept_native++;
    }
    else {
        trial.st->tier |= CPJIT_TIER_ROOT_COLD;
        cpjit_tier_trial_stats.tiered_down++;
    }
    cpjit_tier_trial_stats.decided_early += trial.block < 2u * PAIRS;
    trial.st = NULL;
}

/* The native way of a root's call: a new frame from its first instruction, or (`resume` not
 * NULL) a generator's or coroutine's frame resumed at that native resume point. */
static inline PyObject *run_native(PyThreadState *tstate, _PyInterpreterFrame *frame,
                                   CpjitCodeState *st, cpjit_native_fn resume)
{
    return resume != NULL ? cpjit_rt_resume_native(tstate, frame, resume)
                          : cpjit_rt_run_new_frame(tstate, frame, st);
}

/* A call of the root on trial, measured the way its block runs. */
static PyObject *trial_call(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                            cpjit_native_fn resume)
{
    int interpreted = block_interpreted(trial.block);
    if (trial.in_block == 0) {
        trial.compiles_at = cpjit_compiles_seen;
    }
    int timed = trial.in_block >= trial.warm_calls
                && (trial.in_block - trial.warm_calls) % trial.stride == 0;
    trial_active = 1;
    trial.calls++;
    uint64_t start = timed ? cpjit_now_ns() : 0;
    PyObject *res = interpreted ? cpjit_rt_run_unhooked(tstate, frame, CPJIT_R_TIER_DOWN)
                                : run_native(tstate, frame, st, resume);
    uint64_t end = timed ? cpjit_now_ns() : 0;
    trial_active = 0;
    if (trial.st != st) {
        return res; /* its way was set meanwhile (cpjit_tier_trials_set_way): the trial is over */
    }
    if (timed) {
        /* (when a call is not timed, its end is within `stride` calls of one that was: close
         * enough for ABANDON_NS) */
        trial.last_call_ns = end;
        trial.block_ns += end - start;
    }
    if (++trial.in_block < trial.warm_calls + trial.block_calls) {
        return res;
    }
    if (cpjit_compiles_seen != trial.compiles_at) {
        cpjit_tier_trial_stats.blocks_void++;
        if (++trial.void_blocks >= MAX_VOID_BLOCKS) {
            st->tier |= CPJIT_TIER_ROOT_DONE;
            cpjit_tier_trial_stats.kept_native++;
            trial.st = NULL;
            return res;
        }
    }
    else {
        trial.ns[trial.block++] = trial.block_ns;
    }
    trial.in_block = 0;
    trial.block_ns = 0;
    if (trial.block % 2u == 0) {
        /* A pair is complete. The verdict may be known before the last pair: once the native
         * way has lost too many pairs, the blocks left would run it half the time for nothing
         * (genshi's template pipeline, native faster in 0 or 1 of 8 pairs: settled after 3). */
        int verdict = cpjit_tier_trial_verdict(trial.ns, trial.block);
        if (verdict != CPJIT_VERDICT_OPEN) {
            settle(verdict);
        }
    }
    return res;
}

/* A root's call (`resume` NULL) or a generator's resume through the hook (`resume` its native
 * entry): run its decided way, or judged, or as its trial's block says. */
static PyObject *root_enter(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                            cpjit_native_fn resume)
{
    if (st->tier & CPJIT_TIER_ROOT_COLD) {
        return cpjit_may_unhook_alone(tstate) ? cpjit_rt_run_unhooked(tstate, frame, CPJIT_R_TIER_DOWN)
                                        : run_native(tstate, frame, st, resume);
    }
    if (min_root_ns == 0) {
        st->tier |= CPJIT_TIER_ROOT_DONE;
        return run_native(tstate, frame, st, resume);
    }
    if (!cpjit_may_unhook_alone(tstate)) {
        if (resume != NULL) {
            /* No trial can run while other threads live: a generator resumed meanwhile is left
             * native for good, so its resumes take the hook's fast path (an undecided one's
             * each pay for this function). */
            st->tier |= CPJIT_TIER_ROOT_DONE;
        }
        return run_native(tstate, frame, st, resume);
    }
    if (trial.st == st) {
        /* A call of the root on trial made beneath its own measured call runs unmeasured. */
        return trial_active ? run_native(tstate, frame, st, resume)
                            : trial_call(tstate, frame, st, resume);
    }
    if (st->root_active) {
        /* Beneath a call of its own (recursion through C): part of that call's time. */
        return run_native(tstate, frame, st, resume);
    }
    st->root_active = 1;
    if (++st->root_calls % SAMPLE_EVERY != 0) {
        PyObject *res = run_native(tstate, frame, st, resume);
        st->root_active = 0;
        return res;
    }
    uint64_t trial_calls = trial.calls;
    uint64_t start = cpjit_now_ns();
    PyObject *res = run_native(tstate, frame, st, resume);
    uint64_t end = cpjit_now_ns();
    st->root_active = 0;
    if (st->tier & (CPJIT_TIER_ROOT_DONE | CPJIT_TIER_ROOT_COLD)) {
        return res; /* its way was set meanwhile (cpjit_tier_trials_set_way) */
    }
    st->root_timed_ns += end - start;
    if (++st->root_timed < TIMED_TO_JUDGE) {
        return res;
    }
    uint64_t mean = st->root_timed_ns / st->root_timed;
    int quiet = st->root_compiles == cpjit_compiles_seen;
    st->root_timed = 0;
    st->root_timed_ns = 0;
    st->root_compiles = cpjit_compiles_seen;
    if (mean < (resume != NULL ? min_root_ns / RESUME_SHARE : min_root_ns)
        || (resume != NULL && mean > BLOCK_NS / MIN_BLOCK_RESUMES)
        || (resume != NULL && !quiet && ++st->root_unquiet >= MAX_UNQUIET)) {
        /* Too short for a trial; resumes too long for a fair one; or a generator whose subtree
         * kept compiling through MAX_UNQUIET judgements, left native rather than paying for
         * this at every resume. */
        st->tier |= CPJIT_TIER_ROOT_DONE;
    }
    /* Not quiet: code compiled while these calls ran, so the subtree is still warming up and a
     * trial now would measure native code that is not all there yet; judged again later. */
    else if (quiet
             && (trial.st == NULL
                 || (!trial_active && (trial.calls != trial_calls /* the trial's root ran beneath */
                                       || end - trial.last_call_ns > ABANDON_NS)))) {
        start_trial(st, mean, end);
    }
    return res;
}

PyObject *cpjit_root_call(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st)
{
    if (frame->f_code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) {
        /* Making the generator: its resumes are what is judged (cpjit_root_resume). */
        return cpjit_rt_run_new_frame(tstate, frame, st);
    }
    return root_enter(tstate, frame, st, NULL);
}

PyObject *cpjit_root_resume(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st,
                            cpjit_native_fn entry)
{
    return root_enter(tstate, frame, st, entry);
}
