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
 * mutexes and condition variables, thread-specific data, dynamic TLS: cpjit's own
 * `_Thread_local` variables, in runtime.c and stack_segments.c, are that, and none is reached
 * from sampler_main; Rust code never runs on it), and no Python API but
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
 *
 * Credentials. glibc applies setuid() and its kin to every thread it knows (Linux keeps
 * credentials per thread); this one it does not know, so a program that drops privileges while
 * the thread runs (a daemon started as root that switches to `nobody`) would leave it with the
 * old ones: code that took control of the process could run its system calls with them. So a
 * thread that starts with any privilege (a capability, a user or group id 0, or ids the program
 * could switch between) confines itself before it runs the sampler: no new privileges, and a
 * seccomp filter (its own, not the process's) that lets through only the calls it makes
 * (futex, clock_gettime, exit, restart_syscall) and fails every other with EPERM. When that
 * cannot be done (a kernel without seccomp filters; valgrind, which does not know the call) the
 * thread exits at once and the sampler runs on a thread made by pthread_create instead, as it did
 * before session 57: glibc's setuid() reaches that one, and malloc takes its locks. Its
 * priority is lowered first either way.
 */
#define _GNU_SOURCE 1
#include "sampler_thread.h"

#include "cpjit_rt.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

/* How much lower the thread's scheduling priority is than the process's (its nice value, per
 * thread on Linux). Its wake-ups are short and late ones cost nothing; at the process's own
 * priority, a wake-up on the CPU the program's thread runs on (the other CPU busy) preempted
 * that thread: regex_dna's thread, running C code beneath a region, was switched out 1,199
 * times in 1.45 s against 79 plainly, and ran 6% longer (benches/README.md, session 53). */
#define NICE_DELTA 10

static char *thread_memory; /* guard page, stack, thread-control block: one mapping */
static size_t thread_memory_bytes;
static volatile pid_t thread_tid; /* the kernel's: set at the clone, cleared at the exit */
static volatile int stop_asked;   /* the futex word the thread naps on */
static volatile int setup_state;  /* futex word: SETUP_PENDING until the thread is ready */
enum { SETUP_PENDING, SETUP_READY, SETUP_FAILED };
static int (*thread_fn)(void *);
static int running;
static pid_t owner_pid; /* the process that made the thread */
/* The fallback: the sampler on a thread of glibc's (see above). */
static int via_pthread;
static pthread_t pthread_handle;

static long futex(volatile int *word, int op, int value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static void lower_own_priority(void)
{
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, tid);
    if (errno == 0 && nice < 19) {
        int lower = nice + NICE_DELTA;
        (void)setpriority(PRIO_PROCESS, tid, lower > 19 ? 19 : lower);
    }
}

/* Whether this thread holds anything a program might give up later: a capability, a user or
 * group id 0, or real, effective and saved ids that differ (a set-user-ID program's). A program
 * without any of these cannot change its ids or groups at all. */
static int holds_privileges(void)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (syscall(SYS_getresuid, &ruid, &euid, &suid) != 0
        || syscall(SYS_getresgid, &rgid, &egid, &sgid) != 0) {
        return 1;
    }
    if (ruid == 0 || euid == 0 || suid == 0 || rgid == 0 || egid == 0 || sgid == 0
        || ruid != euid || ruid != suid || rgid != egid || rgid != sgid) {
        return 1;
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0) {
        return 1;
    }
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        if (data[i].effective | data[i].permitted | data[i].inheritable) {
            return 1;
        }
    }
    return 0;
}

/* This thread's seccomp filter: the system calls the sampler makes pass, any other fails with
 * EPERM (x32 and foreign-architecture calls included). 0 when installed. */
static int confine(void)
{
#define ALLOW_CALL(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                       BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        ALLOW_CALL(SYS_futex),
        ALLOW_CALL(SYS_clock_gettime),
        ALLOW_CALL(SYS_exit),
        ALLOW_CALL(SYS_restart_syscall),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
#undef ALLOW_CALL
    struct sock_fprog program = {(unsigned short)(sizeof(filter) / sizeof(filter[0])), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return -1;
    }
    /* (flags 0: this thread alone, not SECCOMP_FILTER_FLAG_TSYNC) */
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0 ? 0 : -1;
}

/* The thread's first code: its priority, its confinement when it holds privileges, the
 * creator told which, then the sampler. */
static int thread_entry(void *unused)
{
    (void)unused;
    lower_own_priority();
    int ok = !holds_privileges() || confine() == 0;
    __atomic_store_n(&setup_state, ok ? SETUP_READY : SETUP_FAILED, __ATOMIC_RELEASE);
    futex(&setup_state, FUTEX_WAKE_PRIVATE, 1, NULL);
    return ok ? thread_fn(NULL) : 0;
}

static void *pthread_entry(void *unused)
{
    (void)unused;
    lower_own_priority();
    thread_fn(NULL);
    return NULL;
}

/* The sampler on a thread made by pthread_create, every signal blocked on it. 0 when it runs. */
static int start_pthread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) {
        return -1;
    }
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&pthread_handle, &attr, pthread_entry, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        return -1;
    }
    via_pthread = 1;
    owner_pid = getpid();
    running = 1;
    return 0;
}

/* Waits for the thread's exit (the kernel clears `thread_tid` and wakes its futex: not a
 * private wake-up) and unmaps its memory. */
static void join_and_release(void)
{
    pid_t tid;
    while ((tid = __atomic_load_n(&thread_tid, __ATOMIC_ACQUIRE)) != 0) {
        futex((volatile int *)&thread_tid, FUTEX_WAIT, tid, NULL);
    }
    munmap(thread_memory, thread_memory_bytes);
    thread_memory = NULL;
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
#if !defined(__GLIBC__) || !defined(__x86_64__)
    /* The thread-control block above is glibc's on x86-64; another C library's (musl's) is laid
     * out otherwise, and its malloc has no single-threaded mode to keep: a thread of its own. */
    thread_fn = fn;
    return start_pthread();
#endif
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
    setup_state = SETUP_PENDING;
    thread_fn = fn;
    thread_memory = memory;
    thread_memory_bytes = bytes;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    int tid = clone(thread_entry, stack_top, flags, NULL, &thread_tid, tp, &thread_tid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (tid == -1) {
        munmap(memory, bytes);
        thread_memory = NULL;
        return -1;
    }
    int state;
    while ((state = __atomic_load_n(&setup_state, __ATOMIC_ACQUIRE)) == SETUP_PENDING) {
        futex(&setup_state, FUTEX_WAIT_PRIVATE, SETUP_PENDING, NULL);
    }
    if (state == SETUP_FAILED) {
        join_and_release();
        return start_pthread();
    }
    owner_pid = getpid();
    running = 1;
    return 0;
}

int cpjit_sampler_thread_nap(uint64_t us)
{
    uint64_t until = cpjit_now_ns() + us * 1000u;
    for (;;) {
        if (__atomic_load_n(&stop_asked, __ATOMIC_ACQUIRE)) {
            return 0;
        }
        uint64_t now = cpjit_now_ns();
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
    if (getpid() != owner_pid) {
        /* A child forked without glibc's fork (a raw system call: no atfork handler ran), where
         * the thread does not exist: waiting for it would never end. */
        cpjit_sampler_thread_after_fork_child();
        return;
    }
    __atomic_store_n(&stop_asked, 1, __ATOMIC_RELEASE);
    futex(&stop_asked, FUTEX_WAKE_PRIVATE, 1, NULL);
    if (via_pthread) {
        pthread_join(pthread_handle, NULL);
        via_pthread = 0;
    }
    else {
        join_and_release();
    }
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
    via_pthread = 0;
    running = 0;
}
