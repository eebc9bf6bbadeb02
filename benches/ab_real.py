#!/usr/bin/env python3
"""Interleaved A/B of the real programs (benches/real/): plain python against cpjit variants,
whole processes, CPU time (user + system, all threads, from os.wait4) medians.

    python3 benches/ab_real.py ROUNDS PROG[,PROG...] [VARIANT,...]
    python3 benches/ab_real.py 9 sympy_algebra,sqlparse_format plain,s0,s1000

Each round runs every program once per variant, in turn, so slow drift of a shared machine hits
every variant alike. Variants: `plain` (python3 alone), `sN` (`python -m cpjit` with
CPJIT_SAMPLE_US=N: s0 keeps the hook for every cold call, s1000 is the default), `hooked` (= s0),
`regions` (= s1000); any of them but plain may end in `@DIR` to take cpjit from DIR (a copy of
another build's python/: `regions@/tmp/old`), and then in `+NAME=VALUE` settings for the
environment (`regions+CPJIT_THRESHOLD=64`, `regions@/tmp/old+CPJIT_HUGE_PAGES=0`). The cpjit under test is otherwise this checkout's
python/ unless CPJIT_PY names a copy (copy it before rebuilding while a run is going). The
libraries come from bench-deps/real (benches/requirements-real.txt). Prints, per program, each variant's median in ms and its speed-up
over plain, by medians and by the fastest rounds.
"""
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def variant(name, default_cpjit_dir=None, regions_sample="1000"):
    """What a variant name runs: (cpjit or not, environment additions including PYTHONPATH).
    `default_cpjit_dir`: where cpjit comes from without `@DIR` (CPJIT_PY, else this checkout's
    python/); `regions_sample`: the sample period `regions` stands for."""
    cpjit_dir = default_cpjit_dir or os.environ.get("CPJIT_PY", os.path.join(ROOT, "python"))
    name, *settings = name.split("+")
    settings = dict(s.split("=", 1) for s in settings)
    if "@" in name:
        name, cpjit_dir = name.split("@", 1)
    env = {"PYTHONPATH": os.pathsep.join([cpjit_dir, os.path.join(ROOT, "bench-deps", "real")])}
    if name == "plain":
        return False, env
    sample = {"hooked": "0", "regions": regions_sample}.get(name)
    if sample is None:
        if not (name.startswith("s") and name[1:].isdigit()):
            sys.exit(f"unknown variant {name!r} (plain, hooked, regions, sN, any but plain@DIR)")
        sample = name[1:]
    return True, dict(env, CPJIT_SAMPLE_US=sample, **settings)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    rounds, progs = int(argv[0]), argv[1].split(",")
    names = argv[2].split(",") if len(argv) > 2 else ["plain", "hooked", "regions"]
    variants = {n: variant(n) for n in names}
    times = {(p, v): [] for p in progs for v in variants}
    for _ in range(rounds):
        for p in progs:
            script = os.path.join(ROOT, "benches", "real", p + ".py")
            for v, (jit, extra) in variants.items():
                env = {k: val for k, val in os.environ.items() if not k.startswith("CPJIT")}
                env.update(extra)
                command = [PY, "-m", "cpjit"] if jit else [PY]
                proc = subprocess.Popen(command + [script], env=env, stdout=subprocess.DEVNULL)
                _, status, usage = os.wait4(proc.pid, 0)
                if status != 0:
                    sys.exit(f"ab_real: {p} under {v} failed (wait status {status})")
                times[(p, v)].append(usage.ru_utime + usage.ru_stime)
    # The fastest round beside the median: on a shared machine noise only adds time, so the
    # fastest rounds show what each variant costs when nothing else is running.
    for p in progs:
        plain = times[(p, "plain")] if "plain" in variants else None
        line = f"{p:20s}"
        for v in variants:
            m = statistics.median(times[(p, v)])
            line += f" {v}={m * 1000:7.1f}ms"
            if plain and v != "plain":
                fastest = min(plain) / min(times[(p, v)])
                line += f" ({statistics.median(plain) / m:.3f}x, fastest {fastest:.3f}x)"
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
