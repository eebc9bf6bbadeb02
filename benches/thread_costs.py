#!/usr/bin/env python3
"""Run a script in this process and report, per thread, its CPU time and context switches.

    python3 benches/thread_costs.py SCRIPT [ARGS...]
    python3 -m cpjit benches/thread_costs.py benches/micro/c_under_region.py regex 8

After the script's top level returns, prints one line per thread of the process to stderr:
its id, run time (from /proc/self/task/<id>/schedstat, nanosecond resolution) and voluntary /
involuntary context switches (from .../status). Under cpjit the second thread is the cold
regions' sampler (csrc/cold_regions.c): its voluntary switches are its wake-ups, and the main
thread's involuntary switches show how often something (that sampler, on a busy machine)
preempted the program. Session 53 found the sampler's wake-ups preempting the program's thread
this way (benches/README.md). Linux only.
"""
import os
import runpy
import sys


def report():
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        base = f"/proc/self/task/{tid}"
        with open(f"{base}/schedstat") as f:
            run_ns = int(f.read().split()[0])
        with open(f"{base}/status") as f:
            fields = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        print(f"thread {tid}: run {run_ns / 1e6:.1f} ms, switches voluntary "
              f"{fields['voluntary_ctxt_switches'].strip()} involuntary "
              f"{fields['nonvoluntary_ctxt_switches'].strip()}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    report()
