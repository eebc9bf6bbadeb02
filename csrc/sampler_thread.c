/* sampler_thread.c: the one thread cpjit runs beside the program, made without glibc's knowledge.
 *
 * Owns: the sampler's thread (cold_regions.c's sampler_main runs on it): its creation by clone(2)
 * with a stack and a thread-control block of its own, its naps on a futex, its stop, and the
 * wait for its exit.
 *
 * Why not pthread_create: glibc runs a process that never made a thread in a single-threaded
 * mode, in which malloc and free take no lock; the first pthread_create ends that mode for good
 * (a thread that has exited does not bring it back), and from then on every malloc and free that
 * misses the per-thread cache takes the arena's lock, an atomic read-modify-write that costs
 * this VM dearly. Python allocates every block over 512 bytes with malloc. A short program that
 * builds and splits strings (benches/short/textwrap_string.py) ran 5.8 ms slower in 207 ms with
 * one pthread created and joined before it started, and cpjit's whole deficit on it was that
 * (perf: the samples in malloc and _int_free fell on the instructions after their lock's
 * `cmpxchg` and `xchg`); the same program beside a thread made as here ran as fast as alone
 * (benches/README.md, session 57). A program that makes threads of its own pays that price
 * under plain python too; one that makes none should not pay it for cpjit's sampler.
 *
 * What that asks of the code that runs on the thread (sampler_main and what it calls): no
 * malloc, free or stdio, nothing that needs the thread to be one of glibc's (pthread_self,
 * mutexes and condition variables, thread-specific data, dynamic TLS), and no Python API but
 * the pending-call lock (PyThread_acquire_lock, a semaphore, whose slow path reads the calling
 * thread's cancellation state and errno). So the thread gets a thread-control block of its own
 * (CLONE_SETTLS): a zeroed block whose header words (x86-64's ABI fixes them: the block's own
 * address, the stack-protector and pointer guards, ...) are the creating thread's, with its
 * address in place of the creator's, no DTV (dynamic TLS is never used on it), and
 * multiple_threads set (any glibc code run on it takes its locking paths); errno and libc's
 * other initial-exec variables, within a few KiB below the thread pointer, are its own, as is
 * glibc's thread descriptor above it, read as zeros (no cancellation, no thread-specific data).
 * Its naps and the stop are a futex: no lock is shared with the program's threads. Every signal
 * the program can catch is blocked on it (set before the clone, inherited), so signals go to the
 * program's threads as without cpjit. It exits by returning from its function (glibc's clone
 * then makes the exit system call for the thread alone); the kernel clears `thread_tid` and
 * wakes its futex (CLONE_CHILD_CLEARTID), which is how cpjit_sampler_thread_stop waits for it
 * before it unmaps the thread's memory. In a forked child the thread does not exist; its memory
 * is unmapped there and the next start makes a new one.
 */
#define _GNU_SOURCE 1
#include "sampler_thread.h"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The thread's stack (below it, one guard page). The sampler's frames take a few hundred bytes. */
#define STACK_BYTES (64u * 1024u)
#define GUARD_BYTES 4096u
/* Its thread-control block: room for the static TLS below the thread pointer (libc's own sits
 * within a few KiB of it: it was loaded first) and for glibc's thread descriptor above it
 * (struct pthread: about 2.3 KiB in glibc 2.36). */
#define TLS_BELOW (64u * 1024u)
#define TLS_ABOVE (16u * 1024u)
/* The header words taken from the creating thread: glibc's x86-64 tcbhead_t up to and with its
 * CET feature word (tcb 0x00, dtv 0x08, self 0x10, multiple_threads 0x18, gscope_flag 0x1c,
 * sysinfo 0x20, stack_guard 0x28, pointer_guard 0x30, vgetcpu cache 0x38, feature_1 0x48). */
#define TCB_HEADER_BYTES 0x50u
#define TCB_DTV 1 /* in words */
#define TCB_SELF 2
#define TCB_MULTIPLE_THREADS_OFFSET 0x18u

static char *thread_memory; /* guard page, stack, thread-control block: one mapping */
static size_t thread_memory_bytes;
static volatile pid_t thread_tid; /* the kernel's: set at the clone, cleared at the exit */
static volatile int stop_asked;   /* the futex word the thread naps on */
static int running;

static long futex(volatile int *word, int op, int value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cpjit_sampler_thread_running(void)
{
    return running;
}

int cpjit_sampler_thread_start(int (*fn)(void *))
{
    if (running) {
        return 0;
    }
    size_t bytes = GUARD_BYTES + STACK_BYTES + TLS_BELOW + TLS_ABOVE;
    char *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        return -1;
    }
    if (mprotect(memory, GUARD_BYTES, PROT_NONE) != 0) {
        munmap(memory, bytes);
        return -1;
    }
    char *stack_top = memory + GUARD_BYTES + STACK_BYTES;
    char *tp = stack_top + TLS_BELOW;
    char *own_tp;
    __asm__("mov %%fs:0, %0" : "=r"(own_tp)); /* the header's first word: its own address */
    memcpy(tp, own_tp, TCB_HEADER_BYTES);
    ((void **)tp)[0] = tp;
    ((void **)tp)[TCB_DTV] = NULL;
    ((void **)tp)[TCB_SELF] = tp;
    *(int *)(tp + TCB_MULTIPLE_THREADS_OFFSET) = 1;
    stop_asked = 0;
    thread_memory = memory;
    thread_memory_bytes = bytes;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    int tid = clone(fn, stack_top, flags, NULL, &thread_tid, tp, &thread_tid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (tid == -1) {
        munmap(memory, bytes);
        thread_memory = NULL;
        return -1;
    }
    running = 1;
    return 0;
}

int cpjit_sampler_thread_nap(uint64_t us)
{
    uint64_t until = monotonic_ns() + us * 1000u;
    for (;;) {
        if (__atomic_load_n(&stop_asked, __ATOMIC_ACQUIRE)) {
            return 0;
        }
        uint64_t now = monotonic_ns();
        if (now >= until) {
            return 1;
        }
        uint64_t left = until - now;
        struct timespec timeout = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        /* (Returns at the timeout, at a stop's wake-up, or spuriously: the loop sorts them.) */
        futex(&stop_asked, FUTEX_WAIT_PRIVATE, 0, &timeout);
    }
}

void cpjit_sampler_thread_stop(void)
{
    if (!running) {
        return;
    }
    __atomic_store_n(&stop_asked, 1, __ATOMIC_RELEASE);
    futex(&stop_asked, FUTEX_WAKE_PRIVATE, 1, NULL);
    pid_t tid;
    while ((tid = __atomic_load_n(&thread_tid, __ATOMIC_ACQUIRE)) != 0) {
        /* The kernel's wake-up at the thread's exit is not a private one. */
        futex((volatile int *)&thread_tid, FUTEX_WAIT, tid, NULL);
    }
    munmap(thread_memory, thread_memory_bytes);
    thread_memory = NULL;
    stop_asked = 0;
    running = 0;
}

void cpjit_sampler_thread_after_fork_child(void)
{
    if (thread_memory != NULL) {
        munmap(thread_memory, thread_memory_bytes);
        thread_memory = NULL;
    }
    thread_tid = 0;
    stop_asked = 0;
    running = 0;
}
