"""Run one pyperformance benchmark's workload once, in this process, and describe the outcome.

    python3 benches/pyperf_probe.py path/to/bm_x/run_benchmark.py

Used by run_pyperformance.py for --check (same result with and without cpjit?) and --stats
(what cpjit compiled and where frames ran). pyperf's Runner.bench_* methods are replaced so
that, instead of spawning worker processes, each runs the workload once here: bench_func calls
func(*args) and keeps its result; bench_time_func calls time_func(1, *args) (its result is a
time, so only the output is compared). Prints one JSON line on the real stdout:

    {"workloads": [{"name", "kind", "digest"}], "stdout_digest",
     "cpjit": {"total": stats(), "workload": stats() minus the stats before the workload} or null}

Digests are sha256 of repr(result) / the workload's printed output, with memory addresses
(0x...) masked so object reprs compare equal across processes.
"""
import asyncio
import contextlib
import hashlib
import io
import json
import re
import runpy
import sys

import pyperf


def digest(text):
    return hashlib.sha256(re.sub(r"0x[0-9a-fA-F]+", "0x?", text).encode()).hexdigest()[:16]


workloads = []
before = None  # cpjit.stats() just before the first workload runs


def snapshot():
    global before
    cpjit = sys.modules.get("cpjit")
    if before is None and cpjit is not None and cpjit.is_enabled():
        before = cpjit.stats()


def delta(after, start):
    """after - start, for the counters in cpjit.stats() (nested dicts too)."""
    if isinstance(after, dict):
        return {k: delta(v, start.get(k, 0) if isinstance(start, dict) else 0) for k, v in after.items()}
    if isinstance(after, (int, float)) and isinstance(start, (int, float)):
        return after - start
    if isinstance(after, list) and isinstance(start, list):
        return after[len(start):] if after[:len(start)] == start else after
    return after


def bench_func(self, name, func, *args, inner_loops=None, metadata=None):
    snapshot()
    workloads.append({"name": name, "kind": "result", "digest": digest(repr(func(*args)))})


def bench_time_func(self, name, time_func, *args, inner_loops=None, metadata=None):
    snapshot()
    time_func(1, *args)
    workloads.append({"name": name, "kind": "output-only", "digest": None})


def bench_async_func(self, name, func, *args, inner_loops=None, metadata=None):
    snapshot()
    result = asyncio.run(func(*args))
    workloads.append({"name": name, "kind": "result", "digest": digest(repr(result))})


def bench_command(self, name, command):
    workloads.append({"name": name, "kind": "skipped (command)", "digest": None})


def main():
    script = sys.argv[1]
    pyperf.Runner.bench_func = bench_func
    pyperf.Runner.bench_time_func = bench_time_func
    pyperf.Runner.bench_async_func = bench_async_func
    pyperf.Runner.bench_command = bench_command
    sys.argv = [script]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        runpy.run_path(script, run_name="__main__")
    stats = None
    cpjit = sys.modules.get("cpjit")
    if cpjit is not None and cpjit.is_enabled():
        stats = cpjit.stats()
        stats = {"total": stats, "workload": delta(stats, before or {})}
    print(json.dumps({"workloads": workloads, "stdout_digest": digest(captured.getvalue()),
                      "cpjit": stats}, default=repr))


if __name__ == "__main__":
    main()
