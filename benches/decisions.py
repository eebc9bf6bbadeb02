#!/usr/bin/env python3
"""How cpjit's tiering decisions vary from run to run of one program, and what goes with speed.

    python3 benches/decisions.py RUNS PROG [args...]
    python3 benches/decisions.py 16 stdlib_argparse
    CPJIT_PY=/tmp/old python3 benches/decisions.py 8 benches/real/sympy_algebra.py

PROG is a program of benches/real (its libraries from bench-deps/real) or a path to a script.
Each run is a fresh `python -m cpjit PROG` process (a sitecustomize.py of the tool's own on
PYTHONPATH shadows any of the system's); at exit it records cpjit.stats() and, for every
function object alive, `cpjit.code_info`: which code objects compiled, which were judged hubs,
and which of the compiled ones were sent back to the interpreter for their calls from C (tier
trials). The table has one row per run (user CPU time, code objects compiled, native frames,
cold regions, frames the trials ran interpreted, hub probes), then, for every function compiled
in some runs and not in others, the median user time of the runs with it and without it.

Why: cpjit decides by time (the warm window, the loop budget, the sampler, the trials), so two
runs of the same program on the same build can compile different code; argparse compiled 19 to
46 code objects over sixteen runs (benches/README.md, session 46). Read the per-function
medians with care: on a shared machine a slow stretch both compiles less (the window is wall
time) and runs slower, so a function's presence can go with speed without causing it.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

import ab_real  # its variants' environments (benches/ is the script's directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Imported at start-up in the measured process (a sitecustomize.py of its own on PYTHONPATH, so
# the program runs as `python -m cpjit script.py` runs it, not beneath a runpy call): records
# what cpjit decided when the program exits.
PROBE = r"""
import atexit, gc, json, os, types

def record():
    import cpjit
    rows, seen = [], set()
    for o in gc.get_objects():
        if not isinstance(o, types.FunctionType) or id(o.__code__) in seen:
            continue
        code = o.__code__
        seen.add(id(code))
        info = cpjit.code_info(code)
        if not info or not (info.get("state") == "compiled" or info.get("hub")):
            continue
        rows.append({"name": f"{code.co_qualname} ({os.path.basename(code.co_filename)}:"
                             f"{code.co_firstlineno})",
                     "state": info.get("state"), "hub": bool(info.get("hub")),
                     "from_c": info.get("calls_from_c"), "hot_bytes": info.get("hot_bytes")})
    with open(os.environ["DECISIONS_OUT"], "w", encoding="utf-8") as f:
        json.dump({"stats": cpjit.stats(), "functions": rows}, f, default=repr)

atexit.register(record)
"""


def one_run(script, args, workdir, i):
    out = os.path.join(workdir, f"run{i}.json")
    # ab_real's default variant (cpjit from CPJIT_PY or this checkout, the libraries from
    # bench-deps/real), the caller's own CPJIT_* settings on top, the probe first on the path.
    _, extra = ab_real.variant("regions")
    env = {k: v for k, v in os.environ.items() if k not in ("CPJIT", "CPJIT_PY")}
    env.update(extra, PYTHONPATH=os.pathsep.join([workdir, extra["PYTHONPATH"]]),
               DECISIONS_OUT=out)
    env.update({k: v for k, v in os.environ.items() if k.startswith("CPJIT_") and k != "CPJIT_PY"})
    proc = subprocess.Popen([sys.executable, "-m", "cpjit", script] + args, env=env,
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0 or not os.path.exists(out):
        sys.exit(f"decisions: run {i} failed (status {status})")
    with open(out, encoding="utf-8") as f:
        data = json.load(f)
    data["user"] = usage.ru_utime
    return data


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    runs, prog, args = int(argv[0]), argv[1], argv[2:]
    script = prog if prog.endswith(".py") else os.path.join(ROOT, "benches", "real", prog + ".py")
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "sitecustomize.py"), "w", encoding="utf-8") as f:
            f.write(PROBE)
        results = [one_run(script, args, workdir, i) for i in range(runs)]
    print(f"{'user s':>7s} {'compiled':>8s} {'native fr':>10s} {'regions':>8s} "
          f"{'tier-down fr':>12s} {'probes':>6s} {'hubs':>4s}")
    for r in sorted(results, key=lambda r: r["user"]):
        s = r["stats"]
        print(f"{r['user']:7.3f} {s['compiled']:8d} {s['frames_native']:10d} "
              f"{s['cold_regions']:8d} {s['frames_interpreted']['tier_down']:12d} "
              f"{s['hub_probes']:6d} {s['hubs_found']:4d}")
    # Per function: compiled and run natively (from C too), against not.
    names = sorted({f["name"] for r in results for f in r["functions"]})
    print("\nfunctions compiled in some runs only (median user s with / without):")
    for name in names:
        def native(r):
            return any(f["name"] == name and f["state"] == "compiled"
                       and f["from_c"] != "interpreted" for f in r["functions"])
        with_ = [r["user"] for r in results if native(r)]
        without = [r["user"] for r in results if not native(r)]
        if with_ and without:
            print(f"  {len(with_):3d} runs {statistics.median(with_):6.3f}  "
                  f"{len(without):3d} runs {statistics.median(without):6.3f}  {name[:90]}")


if __name__ == "__main__":
    main(sys.argv[1:])
