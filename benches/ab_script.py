#!/usr/bin/env python3
"""Interleaved A/B of one script that times itself: plain python against cpjit variants, whole
processes in turn, each variant's median of the script's own `median X` figure.

    python3 benches/ab_script.py ROUNDS SCRIPT [ARGS...] -- VARIANT [VARIANT...]
    python3 benches/ab_script.py 5 walk.py 15 -- plain default@python "w3:CPJIT_WARM_WINDOW_MS=3@python"

The script prints a line containing `median <number>` (the unit is the script's; smaller is
faster), typically the median of several timed runs of its workload within the process.
VARIANT is `plain` (python3 alone) or `LABEL[:NAME=VALUE,...]@DIR`: `python -m cpjit SCRIPT`
with cpjit taken from DIR (a copy of a build's python/ directory) and the given environment
settings. Each round runs every variant once, in order, so a shared machine's drift hits all
alike. Prints each variant's median and its speed-up over the first variant.
"""
import os
import re
import statistics
import subprocess
import sys


def parse_variant(spec):
    label, _, directory = spec.partition("@")
    label, _, settings = label.partition(":")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    for kv in filter(None, settings.split(",")):
        name, value = kv.split("=", 1)
        env[name] = value
    if label != "plain" and not directory:
        sys.exit(f"ab_script: variant {spec!r} needs @DIR (the cpjit to load)")
    return label, directory or None, env


def main(argv):
    if "--" not in argv or len(argv) < 4:
        sys.exit(__doc__)
    split = argv.index("--")
    rounds, script, variants = int(argv[0]), argv[1:split], [parse_variant(s) for s in argv[split + 1:]]
    results = {label: [] for label, _, _ in variants}
    for _ in range(rounds):
        for label, directory, env in variants:
            if directory is None:
                command = [sys.executable] + script
            else:
                env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [directory, env.get("PYTHONPATH")])))
                command = [sys.executable, "-m", "cpjit"] + script
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            found = re.search(r"median ([\d.]+)", out.stdout)
            if out.returncode != 0 or not found:
                sys.exit(f"ab_script: {label} failed (exit {out.returncode}):\n{out.stdout}{out.stderr}")
            results[label].append(float(found.group(1)))
    base = statistics.median(results[variants[0][0]])
    for label, values in results.items():
        median = statistics.median(values)
        print(f"{label:14s} median {median:8.2f}  speed-up over {variants[0][0]} {base / median:.3f}  "
              f"{sorted(values)}")


if __name__ == "__main__":
    main(sys.argv[1:])
