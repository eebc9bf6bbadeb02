/* cold_regions.h: cold calls run with the hook taken out, and the sampler that finds hot code
 * beneath them (csrc/cold_regions.c). */
#ifndef CPJIT_COLD_REGIONS_H
#define CPJIT_COLD_REGIONS_H

#include "cpjit_rt.h"

/* Run `frame` (a new frame of a cold function, already counted) in the interpreter: as a cold
 * region with the hook taken out when the rules allow one, else under the hook. */
PyObject *cpjit_run_cold(PyThreadState *tstate, _PyInterpreterFrame *frame, CpjitCodeState *st);

/* The sampling period in microseconds (0: no cold regions; every cold call keeps the hook). */
void cpjit_cold_regions_set_period_us(uint32_t us);
uint32_t cpjit_cold_regions_get_period_us(void);

/* Stop the sampler thread (cpjit.disable(), interpreter exit): no pending call is requested
 * after this returns. */
void cpjit_cold_regions_stop(void);

/* Frames running with the hook taken out (deep recursion, imports, cold regions). */
extern int cpjit_unhooked;
/* Whether the hook may be taken out: cpjit is enabled over the default evaluator. */
int cpjit_rt_may_unhook(void);
/* Whether `globals` is the namespace of __main__ (runtime.c). */
int cpjit_rt_is_main_namespace(PyObject *globals);

/* Statistics for cpjit.stats(). */
typedef struct {
    uint64_t regions;       /* cold regions run with the hook taken out */
    uint64_t samples;       /* samples taken inside a cold region */
    uint64_t hot_found;     /* samples that found hot code and put the hook back */
    uint64_t stalled;       /* regions the sampler thread put the hook back in, the main thread
                               being outside Python code for long */
    uint64_t late;          /* samples served late (the main thread was in C code): not counted
                               as evidence */
} CpjitColdRegionStats;
extern CpjitColdRegionStats cpjit_cold_region_stats;

#endif
