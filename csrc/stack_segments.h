/* stack_segments.h: deep recursion continued on C stacks of cpjit's own (stack_segments.c). */
#ifndef CPJIT_STACK_SEGMENTS_H
#define CPJIT_STACK_SEGMENTS_H

#include <stdint.h>

/* Run fn(arg) on a C stack segment one level deeper than the stack the caller runs on (the
 * thread's own, or a segment): a fresh stack of at least `min_size` bytes (the thread's first
 * segment fixes the size of all its segments: at least 16 MiB, at most 1 GiB), kept for this
 * thread's later deep recursions and unmapped when the thread ends. Returns 1 when fn ran, 0 when no
 * segment could be had (the mapping failed, the thread already nests CPJIT_MAX_SEGMENTS, or a
 * module that copies the thread's stack between fixed addresses is loaded); fn has then not
 * run. GIL held. */
#include <stddef.h>

int cpjit_run_on_new_segment(void (*fn)(void *), void *arg, size_t min_size);

/* Whether `sp` lies in one of this thread's segments; if so its usable range [*lo, *hi) (the
 * guard page below it left out). */
int cpjit_segment_range(uintptr_t sp, uintptr_t *lo, uintptr_t *hi);

#endif
