/* sampler_thread.h: the one thread cpjit runs beside the program, made without glibc's knowledge
 * (sampler_thread.c says why and what code may run on it). */
#ifndef CPJIT_SAMPLER_THREAD_H
#define CPJIT_SAMPLER_THREAD_H

#include <stdint.h>

/* Starts `fn(NULL)` on a new thread, unless one runs; the thread ends when `fn` returns.
 * 0 when it runs, -1 when it could not be made (nothing changed then). Under the GIL. */
int cpjit_sampler_thread_start(int (*fn)(void *));

/* On the sampler thread: sleeps `us` microseconds or until a stop is asked for. 1 when the
 * whole time passed, 0 when a stop was asked for (the caller then returns from `fn`). */
int cpjit_sampler_thread_nap(uint64_t us);

/* Asks the thread to stop and waits until it has exited (at once when it naps; otherwise at
 * the end of the wake-up it is in, which takes no lock the caller may hold but the pending
 * calls' own). No-op when none runs. Under the GIL. */
void cpjit_sampler_thread_stop(void);

/* Whether a thread was started and has not been stopped (it may have ended on its own). */
int cpjit_sampler_thread_running(void);

/* In a forked child: the parent's thread does not exist here; its memory is released and the
 * next start makes a new one. */
void cpjit_sampler_thread_after_fork_child(void);

#endif
