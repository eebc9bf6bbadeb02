#!/usr/bin/env python3
"""Paired A/B of whole processes: CPU time (user + system, all threads, from os.wait4) of each
command, the commands run in a random order every round, and for each the median of its
per-round difference from the first command, with a bootstrap 95% interval.

    python3 benches/ab_paired.py [--wall] ROUNDS 'NAME::ENV=V,ENV=V::COMMAND ARGS' ['NAME::...' ...]
    python3 benches/ab_paired.py 41 'plain::::python3 benches/short/pathlib_walk.py' \\
        'cpjit::PYTHONPATH=python::python3 -m cpjit benches/short/pathlib_walk.py'

Why paired: on a shared machine a process's CPU time drifts by several percent from minute to
minute, more than cpjit's fixed costs on a short program (a millisecond or two in 40). Medians
of each command's times still carry the drift between the rounds they ran in; the difference
between two commands run one after the other in the same round mostly does not, and shuffling
the order each round keeps either from always running first. (Session 56 measured the short
programs' overhead this way: benches/README.md.) Commands are split on spaces (no quoting);
ENV settings are added to this process's environment.

--wall times each process's wall-clock time (start to exit) instead: what a user waits for.
CPU time also counts cpjit's sampler thread, which runs beside the program on another core
(each of its wake-ups costs 15-20 us of CPU in a VM); wall time counts it only where it delays
the program.
"""
import os
import random
import statistics
import subprocess
import sys
import time


def parse(spec):
    name, envs, command = spec.strip().split("::")
    env = dict(os.environ)
    for item in filter(None, envs.split(",")):
        key, value = item.split("=", 1)
        env[key] = value
    return name, env, command.split()


def run_ms(env, command, wall=False):
    """The process's CPU time (user + system, all threads), or its wall time with `wall`."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(command)} failed (wait status {status})")
    return elapsed * 1e3 if wall else (usage.ru_utime + usage.ru_stime) * 1e3


def main(argv):
    wall = bool(argv) and argv[0] == "--wall"
    if wall:
        argv = argv[1:]
    if len(argv) < 3:
        sys.exit(__doc__)
    rounds = int(argv[0])
    commands = [parse(spec) for spec in argv[1:]]
    times = {name: [] for name, _, _ in commands}
    for _ in range(rounds):
        for name, env, command in random.sample(commands, len(commands)):
            times[name].append(run_ms(env, command, wall))
    base = times[commands[0][0]]
    for name, _, _ in commands:
        diffs = [t - b for t, b in zip(times[name], base)]
        boot = sorted(statistics.median(random.choices(diffs, k=len(diffs))) for _ in range(1000))
        print(f"{name:16s} median {statistics.median(times[name]):8.2f} ms  "
              f"paired difference {statistics.median(diffs):+6.2f} ms "
              f"[{boot[25]:+.2f}, {boot[974]:+.2f}]  "
              f"ratio of medians {statistics.median(base) / statistics.median(times[name]):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
