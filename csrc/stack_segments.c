/* stack_segments.c: deep recursion continued on C stacks of cpjit's own.
 *
 * Native code runs each Python call it makes through C (a C function calling back into Python,
 * `f(*args)`, the hook's calls) on the C stack, with more bytes per level than the interpreter
 * uses for the same call (576 against about 370 for `f(*args)`). Until session 36, once the
 * thread's stack was nearly used up the frame went to the interpreter with the hook taken out
 * (runtime.c: run_unhooked); the interpreter has no C stack guard, so a recursion that plain
 * CPython finishes within its stack ran off the end of the reserve and the process died with
 * SIGSEGV (`f(*args)` recursion 20,000 deep under `sys.setrecursionlimit(100000)`: plain fine,
 * cpjit crashed beyond 15,472).
 *
 * Now the hook goes on on a fresh stack instead: a segment mapped for this thread (at least
 * 16 MiB and twice the thread's own stack; a guard page below it), entered through a small
 * trampoline that switches the stack pointer, calls, and switches back. The move comes early
 * (runtime.c: set_floors), once an eighth of the thread's stack is used (a quarter of a stack
 * under 2 MiB), so that C code that recurses on its own beneath native frames finds about as
 * much stack as in plain CPython. A function's vectorcall that finds only the stack in its way
 * moves itself (calls.c: vectorcall_on_segment), so a frame just above the mark that calls
 * across at every call pays about 30 ns a call, not the hook's whole way. The frame runs there as it would have, natively
 * where it is compiled, with the same guard (runtime.c's C stack guard knows the segments), so
 * a deeper recursion nests another segment (at its half), up to CPJIT_MAX_SEGMENTS (256 MiB
 * of stack for a thread with an 8 MiB one, many times what plain CPython's C recursion can use
 * in that thread; past that the hook raises RecursionError at the last segment's hard floor
 * rather than use more memory). So the recursion limit is what stops a recursion, as in plain CPython, not a
 * crash at the end of the C stack. Segments are kept for the
 * thread's next deep recursion (so a recursion that goes back and forth across a segment's edge
 * maps nothing again) and unmapped when the thread ends, like the pages a thread's own stack
 * keeps once touched.
 *
 * Libraries that switch between coroutines by copying the thread's stack between fixed
 * addresses (greenlet) would copy across a segment's gap: while one is loaded no segment is
 * used and the old hand-over applies. */
#include "cpjit_rt.h"
#include "stack_segments.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A segment is at least this, and at least twice the thread's own stack (runtime.c asks), at
 * most CPJIT_SEGMENT_MAX. */
#define CPJIT_SEGMENT_MIN ((size_t)16 << 20)
#define CPJIT_SEGMENT_MAX ((size_t)1 << 30)
#define CPJIT_MAX_SEGMENTS 16

/* A thread's segments by nesting level: base[k] is the start of level k's mapping (its guard
 * page), 0 while not mapped; all of `size` bytes, chosen at the thread's first. */
typedef struct {
    size_t size;
    uintptr_t base[CPJIT_MAX_SEGMENTS];
} SegmentTable;

static _Thread_local SegmentTable *thread_segments;
static pthread_key_t segments_key;
static pthread_once_t segments_key_once = PTHREAD_ONCE_INIT;
static int segments_key_ok;

static void unmap_segments(void *p)
{
    SegmentTable *t = p;
    for (int k = 0; k < CPJIT_MAX_SEGMENTS; k++) {
        if (t->base[k] != 0) {
            munmap((void *)t->base[k], t->size);
            __atomic_fetch_sub(&cpjit_stats.stack_segments_mapped, 1, __ATOMIC_RELAXED);
        }
    }
    free(t);
}

static void make_key(void)
{
    segments_key_ok = pthread_key_create(&segments_key, unmap_segments) == 0;
}

static size_t guard_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

/* Which of this thread's segments holds `sp`: its level, or -1 (the thread's own stack, or any
 * stack that is not a segment). */
static int segment_of(uintptr_t sp)
{
    SegmentTable *t = thread_segments;
    if (t == NULL) {
        return -1;
    }
    for (int k = 0; k < CPJIT_MAX_SEGMENTS && t->base[k] != 0; k++) {
        if (sp - t->base[k] < t->size) {
            return k;
        }
    }
    return -1;
}

int cpjit_segment_range(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
    int k = segment_of(sp);
    if (k < 0) {
        return 0;
    }
    *lo = thread_segments->base[k] + guard_size();
    *hi = thread_segments->base[k] + thread_segments->size;
    return 1;
}

/* A loaded module that switches coroutines by copying the thread's stack (see the top). Asked
 * again only when sys.modules changed (its dict version, PEP 509), so that a recursion that goes
 * back and forth across a segment's edge does not look the names up at every crossing. GIL
 * held. */
static int stack_copier_loaded(void)
{
    static PyObject *seen_modules;
    static uint64_t seen_version;
    static int loaded;
    PyObject *modules = PyImport_GetModuleDict();
    if (modules == NULL || !PyDict_Check(modules)) {
        return 0;
    }
    uint64_t version = ((PyDictObject *)modules)->ma_version_tag;
    if (modules != seen_modules || version != seen_version) {
        loaded = PyDict_GetItemString(modules, "greenlet") != NULL
                 || PyDict_GetItemString(modules, "greenlet._greenlet") != NULL;
        seen_modules = modules;
        seen_version = version;
    }
    return loaded;
}

/* Call fn(arg) with the stack pointer at `top` (16-byte aligned), then come back to the
 * caller's stack. The frame pointer holds the caller's stack pointer meanwhile, and the unwind
 * information says so, so debuggers and profilers walk from a segment's frames to the ones
 * that entered it. */
void cpjit_segment_call(void (*fn)(void *), void *arg, void *top)
    __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".globl cpjit_segment_call\n"
        ".hidden cpjit_segment_call\n"
        ".type cpjit_segment_call, @function\n"
        ".p2align 4\n"
        "cpjit_segment_call:\n"
        ".cfi_startproc\n"
        "    pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "    movq %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "    movq %rdx, %rsp\n"
        "    movq %rdi, %rax\n"
        "    movq %rsi, %rdi\n"
        "    callq *%rax\n"
        "    movq %rbp, %rsp\n"
        "    popq %rbp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "    retq\n"
        ".cfi_endproc\n"
        ".size cpjit_segment_call, .-cpjit_segment_call\n");

int cpjit_run_on_new_segment(void (*fn)(void *), void *arg, size_t min_size)
{
    /* A segment is entered only from the level above it, so the levels in use are always
     * 0..level - 1: the next one is the caller's plus one (0 from the thread's own stack). */
    int level = segment_of((uintptr_t)__builtin_frame_address(0)) + 1;
    if (level >= CPJIT_MAX_SEGMENTS || stack_copier_loaded()) {
        return 0;
    }
    SegmentTable *t = thread_segments;
    if (t == NULL) {
        pthread_once(&segments_key_once, make_key);
        if (!segments_key_ok || (t = calloc(1, sizeof(SegmentTable))) == NULL) {
            return 0;
        }
        if (pthread_setspecific(segments_key, t) != 0) {
            free(t);
            return 0;
        }
        size_t size = min_size < CPJIT_SEGMENT_MIN ? CPJIT_SEGMENT_MIN : min_size;
        size = size > CPJIT_SEGMENT_MAX ? CPJIT_SEGMENT_MAX : (size + 0xfffff) & ~(size_t)0xfffff;
        t->size = size;
        thread_segments = t;
    }
    if (t->base[level] == 0) {
        /* Untouched pages cost nothing; the lowest one is the guard. */
        void *m = mmap(NULL, t->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (m == MAP_FAILED) {
            return 0;
        }
        if (mprotect(m, guard_size(), PROT_NONE) != 0) {
            munmap(m, t->size);
            return 0;
        }
        t->base[level] = (uintptr_t)m;
        __atomic_fetch_add(&cpjit_stats.stack_segments_mapped, 1, __ATOMIC_RELAXED);
    }
    cpjit_stats.stack_segment_switches++;
    cpjit_segment_call(fn, arg, (void *)(t->base[level] + t->size));
    return 1;
}
