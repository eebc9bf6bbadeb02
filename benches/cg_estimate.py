#!/usr/bin/env python3
"""A noise-free A/B: callgrind's cache simulation of whole runs, plain python against cpjit
variants, with an estimate of the cycles each costs.

    python3 benches/cg_estimate.py PROG [VARIANT ...]
    python3 benches/cg_estimate.py docutils_render plain regions s0 regions@/tmp/old

PROG is a program of benches/real (its libraries from bench-deps/real) or a path to a script.
Variants are ab_real.py's: `plain`, `regions` (the defaults), `hooked` (= s0), `sN`
(CPJIT_SAMPLE_US=N), any of them but plain ending in `@DIR` to take cpjit from a copy of another
build's python/. Each runs once under `valgrind --tool=callgrind --cache-sim=yes`
(PYTHONHASHSEED=0; two at a time), and the table shows instructions (Ir), first-level misses
(I1mr + D1mr + D1mw), last-level misses (ILmr + DLmr + DLmw) and the estimate
Ir + 10 x L1 misses + 100 x LL misses (the weights callgrind_annotate's own estimate uses), with
each variant's ratio to plain by that estimate.

Why: same-run wall-clock A/Bs on this shared machine move by 2-3% between runs (two plain columns
of one run differed by 17 ms of 830), more than the changes being judged. The estimate is
deterministic up to the sampler's timing (which the 50x slowdown under valgrind changes: the
`regions` variant runs with CPJIT_SAMPLE_US=50000 so that samples come about as often per unit
of work as in a normal run, and every cpjit variant with the warm window, the loop budget and,
since session 46, the tier-down trials' threshold scaled by the same 50: TIMING_UNDER_VALGRIND;
a variant's own `+NAME=VALUE` settings win over these; the figures below are from before that
scaling, when less code compiled under valgrind than in a normal run). On docutils it ranked the variants as the A/Bs of session 33 did:
default 0.965 (A/B 0.955-0.975), regions never sampled 0.997 (0.97-1.0, even in user time), hook
always in 0.935 (0.962). It is no speed-up: for pyflakes it gave 0.894 against A/Bs of
0.92-1.02, the machine hiding part of an instruction-cache miss that the weight of 10 counts in
full. Use it to rank variants of one program. And the variants that sample (`regions`, `sN`
with N > 0) decide by timing, which valgrind changes (it runs one thread at a time): a run of
the session-32 build kept all of docutils in regions under valgrind (70.4M I1 misses, ratio
1.002) while its normal runs put the hook back about 21 times as the session-33 build does
(`cold_region_hot_found` in `benches/with_stats.py`). Compare builds with `s0` (hook always
in) or a sample period both see alike, and check the stats of a normal run.

A docutils run takes about 3 minutes per variant.
"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import ab_real  # its variant names (benches/ is the script's directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Samples per unit of work as in a normal run: valgrind runs the program about 50x slower.
SAMPLE_US_UNDER_VALGRIND = "50000"
# The other two time-based settings, scaled alike (cpjit's defaults: a warm window of 20 ms,
# a loop budget of 1000 ns per bytecode unit); unscaled, code that compiles in a normal run
# stays interpreted under valgrind (json_dumps: 138.1M instructions per iteration with them
# scaled, 145.7M without, nearly all of its code then in cold regions).
# The tier-down trials' threshold (default 20 us per call from C) alike since session 46: unscaled,
# roots whose calls take 2-20 us, which a normal run leaves native without a trial, were tried
# under valgrind and many run interpreted (html5lib: 50.9M instruction-cache misses over four
# parses with the trials, 65.7M with none, where a normal run tries no root at all).
# A variant's own settings (`regions+CPJIT_WARM_WINDOW_MS=3`) win over these.
TIMING_UNDER_VALGRIND = {"CPJIT_WARM_WINDOW_MS": "1000", "CPJIT_LOOP_BUDGET_NS": "50000",
                         "CPJIT_TIER_DOWN_US": "1000"}


def run(script, name, out_dir):
    jit, extra = ab_real.variant(name, os.path.join(ROOT, "python"), SAMPLE_US_UNDER_VALGRIND)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    if jit:
        env.update(TIMING_UNDER_VALGRIND)
    env.update(extra, PYTHONHASHSEED="0")
    out = os.path.join(out_dir, re.sub(r"[^A-Za-z0-9]", "_", name) + ".out")
    command = ["valgrind", "--tool=callgrind", "--cache-sim=yes", f"--callgrind-out-file={out}",
               os.path.realpath(sys.executable)] + (["-m", "cpjit"] if jit else []) + [script]
    proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"cg_estimate: {name} failed:\n{proc.stderr[-2000:]}")
    events = summary = None
    with open(out) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith(("summary:", "totals:")) and summary is None:
                summary = [int(x) for x in line.split()[1:]]
    return dict(zip(events, summary))


def estimate(c):
    l1 = c["I1mr"] + c["D1mr"] + c["D1mw"]
    ll = c["ILmr"] + c["DLmr"] + c["DLmw"]
    return l1, ll, c["Ir"] + 10 * l1 + 100 * ll


def main(argv):
    if not argv:
        sys.exit(__doc__)
    prog, names = argv[0], argv[1:] or ["plain", "regions"]
    script = prog if prog.endswith(".py") else os.path.join(ROOT, "benches", "real", prog + ".py")
    with tempfile.TemporaryDirectory() as out_dir:
        with ThreadPoolExecutor(2) as pool:
            counts = dict(zip(names, pool.map(lambda n: run(script, n, out_dir), names)))
    base = estimate(counts["plain"])[2] if "plain" in counts else None
    print(f"{os.path.basename(script)}: callgrind --cache-sim=yes, millions")
    print(f"{'variant':28s} {'Ir':>9s} {'I1mr':>7s} {'L1 miss':>8s} {'LL miss':>8s} "
          f"{'estimate':>9s} {'ratio':>8s}")
    for name, c in counts.items():
        l1, ll, est = estimate(c)
        ratio = f"{base / est:.3f}x" if base else ""
        print(f"{name:28s} {c['Ir'] / 1e6:9.1f} {c['I1mr'] / 1e6:7.2f} {l1 / 1e6:8.2f} "
              f"{ll / 1e6:8.3f} {est / 1e6:9.1f} {ratio:>8s}")


if __name__ == "__main__":
    main(sys.argv[1:])
