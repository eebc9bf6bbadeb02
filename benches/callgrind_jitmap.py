#!/usr/bin/env python3
"""Attribute callgrind's counts in native code to the code objects cpjit compiled.

callgrind names JIT code `???:0x...`. Run the program under callgrind with a perf map
(`CPJIT_PERF=1`, which writes /tmp/perf-<pid>.map; under valgrind the addresses are the ones
callgrind reports), then:

    CPJIT_PERF=1 valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file=cg.out \\
        python3.11 -m cpjit prog.py
    python3 benches/callgrind_jitmap.py cg.out /tmp/perf-<pid>.map [N]

prints, per code object, its instructions (Ir), instruction-cache misses (I1mr, with
--cache-sim=yes), their ratio, the running share of all misses in native code and the size of
its machine code, the N with the most misses first. With `CPJIT_PERF=instructions` the map has
one entry per bytecode instruction and so does the table.
"""
import bisect
import collections
import re
import subprocess
import sys

ROW = re.compile(
    r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+([\d,]+|\.)\s*(?:\(\s*[\d.]+%\))?\s+\?\?\?:0x([0-9a-f]+)"
)


def load_map(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            addr, size, name = line.rstrip("\n").split(" ", 2)
            entries.append((int(addr, 16), int(size, 16), name))
    entries.sort()
    return entries


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_file, map_file = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    entries = load_map(map_file)
    starts = [e[0] for e in entries]
    listing = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--show=Ir,I1mr", "--threshold=100", out_file],
        capture_output=True, text=True, check=True,
    ).stdout
    per_code = collections.defaultdict(lambda: [0, 0, 0])
    total_ir = total_miss = 0
    for line in listing.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        miss = 0 if m.group(2) == "." else int(m.group(2).replace(",", ""))
        addr = int(m.group(3), 16)
        i = bisect.bisect_right(starts, addr) - 1
        inside = i >= 0 and addr < entries[i][0] + entries[i][1]
        name = entries[i][2] if inside else "(not in the map)"
        row = per_code[name]
        row[0] += ir
        row[1] += miss
        row[2] = entries[i][1] if inside else 0
        total_ir += ir
        total_miss += miss
    print(f"native code: {total_ir / 1e6:.1f}M Ir, {total_miss / 1e6:.2f}M I1mr, "
          f"{len(per_code)} code objects")
    running = 0
    for name, (ir, miss, size) in sorted(per_code.items(), key=lambda kv: -kv[1][1])[:top]:
        running += miss
        print(f"{ir / 1e6:8.1f}M Ir {miss / 1e6:6.2f}M I1mr ({100 * miss / max(ir, 1):4.1f}%) "
              f"cum {100 * running / max(total_miss, 1):5.1f}%  {size:7d} B  {name[:100]}")


if __name__ == "__main__":
    main()
