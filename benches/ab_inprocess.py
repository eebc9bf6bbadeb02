#!/usr/bin/env python3
"""In-process A/B timing: one workload, cpjit off and on by turns, in the same process.

    PYTHONPATH=python python3 benches/ab_inprocess.py FILE FUNC [ARG] [--rounds N] [--threshold T]

FILE is a Python file, FUNC a function in it, called as FUNC(ARG) (ARG an integer, default 1)
or FUNC() without ARG. After one untimed call each way (compiling what cpjit compiles), the
rounds alternate `cpjit.disable(); FUNC(ARG)` and `cpjit.enable(threshold=T); FUNC(ARG)`, the
order swapped every round, and print the median time per side and the median of the per-round
ratios (interpreter time / cpjit time).

Why: on a shared virtual machine separate processes of the same program differ by far more
than cpjit does. Under pyperf, nqueens' worker processes settle at about 85 ms or about 135 ms
per loop whatever the side (run_pyperformance.py's JSON shows each process's values close
together and the processes far apart), so a median over six processes per side moves by 20%
with which processes drew the slow mode. Both sides here share one process, one memory layout
and the same moments of machine load, a round apart. What it cannot show: start-up, import
time, or the cost of the frame-evaluation hook on code that was never compiled (the hook is off
on the interpreter side); use run_all.py and callgrind for those.
"""
import argparse
import importlib.util
import statistics
import sys
import time

import cpjit


def load(path, name):
    spec = importlib.util.spec_from_file_location("ab_workload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("func")
    ap.add_argument("arg", nargs="?", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--threshold", type=int, default=None,
                    help="cpjit threshold on the cpjit side (default: CPJIT_THRESHOLD or 256)")
    args = ap.parse_args(argv)
    func = load(args.file, args.func)
    call = (lambda: func(args.arg)) if args.arg is not None else func
    threshold = cpjit.threshold_from_env() if args.threshold is None else args.threshold

    def timed(on):
        if on:
            cpjit.enable(threshold=threshold)
        try:
            t0 = time.perf_counter()
            call()
            return time.perf_counter() - t0
        finally:
            if on:
                cpjit.disable()

    timed(True)
    timed(False)
    plain, jit, ratios = [], [], []
    for i in range(args.rounds):
        t = {}
        for on in ((False, True) if i % 2 == 0 else (True, False)):
            t[on] = timed(on)
        plain.append(t[False])
        jit.append(t[True])
        ratios.append(t[False] / t[True])
    print(f"{args.func}: interpreter {statistics.median(plain) * 1e3:.2f} ms, cpjit "
          f"{statistics.median(jit) * 1e3:.2f} ms, speed-up {statistics.median(ratios):.3f}x "
          f"(median of {args.rounds} paired rounds; quartiles "
          f"{statistics.quantiles(ratios, n=4)[0]:.3f}-{statistics.quantiles(ratios, n=4)[2]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
