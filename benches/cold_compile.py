#!/usr/bin/env python3
"""Compile cost with cold caches, as a real process pays it between stretches of other work.

    PYTHONPATH=python python3 benches/cold_compile.py [N]

Collects the functions (and methods) of a dozen standard-library modules, and compiles the
first N (default 400) one at a time with `cpjit.compile`, each after touching 16 MiB of memory
and running some interpreter work, so that the compiler's code, its tables and its scratch memory
come from the last-level cache or memory, as they do for a compile in a running program. Prints
the time per instruction over all compiles (compile seconds / instructions compiled, from
`cpjit.stats()`) and a least-squares fit of each compile's time against its instructions: a
fixed cost per compile plus a cost per instruction. The compile bench
(`cargo bench --bench compile_speed`) measures the other end: compiles back to back, warm.
"""
import importlib
import statistics
import sys
import types

import cpjit

MODULES = ["email.message", "email.feedparser", "decimal", "argparse", "logging",
           "json.decoder", "http.client", "unittest.case", "dataclasses", "typing",
           "asyncio.base_events"]


def functions():
    found = []
    for name in MODULES:
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if isinstance(obj, types.FunctionType) and obj.__module__ == mod.__name__:
                found.append(obj)
            elif isinstance(obj, type) and obj.__module__ == mod.__name__:
                found += [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
    return found


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    junk = bytearray(16 << 20)

    def evict():
        junk[::64] = bytes(len(junk) // 64)
        sum(range(20000))

    rows = []
    for f in functions()[:n]:
        evict()
        before = cpjit.stats()
        if cpjit.compile(f):
            after = cpjit.stats()
            size = after["instructions_compiled"] - before["instructions_compiled"]
            if size:  # 0: the same code object met again (an alias), compiled already
                rows.append(((after["compile_seconds"] - before["compile_seconds"]) * 1e9, size))
    if len(rows) < 2:
        sys.exit("cold_compile.py: fewer than two functions compiled")
    ns = [r[0] for r in rows]
    sizes = [r[1] for r in rows]
    print(f"{len(rows)} compiles, {sum(sizes)} instructions: "
          f"{sum(ns) / sum(sizes):.1f} ns per instruction")
    # The fit leaves out the slowest 2% by time per instruction: on a shared VM a compile now
    # and then is held up for milliseconds by something else (benches/README.md, session 38).
    rows.sort(key=lambda r: r[0] / r[1])
    rows = rows[: len(rows) - len(rows) // 50]
    ns = [r[0] for r in rows]
    sizes = [r[1] for r in rows]
    print(f"without the slowest 2%: {sum(ns) / sum(sizes):.1f} ns per instruction")
    mx, my = statistics.mean(sizes), statistics.mean(ns)
    slope = (sum((x - mx) * (y - my) for x, y in zip(sizes, ns))
             / sum((x - mx) ** 2 for x in sizes))
    print(f"fit: {(my - slope * mx) / 1e3:.1f} us per compile + {slope:.0f} ns per instruction "
          f"(mean {mx:.0f} instructions per code object)")


if __name__ == "__main__":
    main()
