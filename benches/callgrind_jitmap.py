#!/usr/bin/env python3
"""Attribute callgrind's counts in native code to the code objects cpjit compiled.

Run the program under callgrind with a perf map (`CPJIT_PERF=1`, which writes
/tmp/perf-<pid>.map; under valgrind the addresses are the ones callgrind reports), then:

    CPJIT_PERF=1 valgrind --tool=callgrind --cache-sim=yes --dump-instr=yes \\
        --callgrind-out-file=cg.out python3.11 -m cpjit prog.py
    python3 benches/callgrind_jitmap.py cg.out /tmp/perf-<pid>.map [N]

prints, per code object, its instructions (Ir), instruction-cache misses (I1mr, with
--cache-sim=yes), their ratio, the running share of all misses in native code and the size of
its machine code, the N with the most misses first. With `CPJIT_PERF=instructions` the map has
one entry per bytecode instruction and so does the table.

Use `--dump-instr=yes`. callgrind files code it has no symbol for under the function that
jumped into it: native code entered by a tail jump from one of cpjit's helpers (the callee of a
Python call entered through `cpjit_enter_callee`, the caller resumed through
`cpjit_frame_exit`) is counted under that helper's name, so a function-level listing misses most
of it (session 46: 33M of html5lib's 235M native instructions). With per-instruction costs this
script reads the output file itself and maps every instruction address, whatever function
callgrind put it under. Without `--dump-instr=yes` it falls back to callgrind_annotate's
`???:0x...` rows (the code callgrind saw entered by a call).
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


def per_instruction_costs(out_file):
    """{address: [Ir, I1mr]} from a callgrind output written with --dump-instr=yes, or None
    when it was written without. Cost lines start with the positions (instruction address,
    then line, each absolute, `+n`/`-n` relative to the last one, or `*` for the same), then
    the events in the `events:` order; the cost line after a `calls=` line is the call's
    inclusive cost, not the instruction's own, and is skipped."""
    positions = None
    i1 = None  # the I1mr column, when callgrind simulated the caches
    costs = collections.defaultdict(lambda: [0, 0])
    addr = 0
    after_call = False
    with open(out_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line[:1]
            if head.isdigit() or head in "+-*":
                if positions is None or "instr" not in positions:
                    return None
                parts = line.split()
                p = parts[positions.index("instr")]
                if p[0] == "+":
                    addr += int(p[1:], 0)
                elif p[0] == "-":
                    addr -= int(p[1:], 0)
                elif p != "*":
                    addr = int(p, 0)
                if after_call:
                    after_call = False
                    continue
                values = parts[len(positions):]
                row = costs[addr]
                if values:
                    row[0] += int(values[0])
                if i1 is not None and len(values) > i1:
                    row[1] += int(values[i1])
            elif line.startswith("calls="):
                after_call = True
            elif line.startswith("positions:"):
                positions = line.split()[1:]
            elif line.startswith("events:"):
                events = line.split()[1:]
                i1 = events.index("I1mr") if "I1mr" in events else None
    return costs if positions is not None and "instr" in positions else None


def annotate_rows(out_file):
    """(address, Ir, I1mr) of callgrind_annotate's rows for code without a symbol."""
    listing = subprocess.run(
        ["callgrind_annotate", "--auto=no", "--show=Ir,I1mr", "--threshold=100", out_file],
        capture_output=True, text=True, check=True,
    ).stdout
    for line in listing.splitlines():
        m = ROW.match(line)
        if m:
            miss = 0 if m.group(2) == "." else int(m.group(2).replace(",", ""))
            yield int(m.group(3), 16), int(m.group(1).replace(",", "")), miss


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_file, map_file = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    entries = load_map(map_file)
    starts = [e[0] for e in entries]
    costs = per_instruction_costs(out_file)
    if costs is not None:
        rows = ((a, c[0], c[1]) for a, c in costs.items())
        only_mapped = True
    else:
        print("(no per-instruction costs: run callgrind with --dump-instr=yes to count the "
              "native code it files under helpers' names)")
        rows = annotate_rows(out_file)
        only_mapped = False
    per_code = collections.defaultdict(lambda: [0, 0, 0])
    total_ir = total_miss = 0
    for addr, ir, miss in rows:
        i = bisect.bisect_right(starts, addr) - 1
        inside = i >= 0 and addr < entries[i][0] + entries[i][1]
        if not inside and only_mapped:
            continue  # the interpreter, cpjit's helpers, libraries
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
