#!/usr/bin/env python3
"""Run Python programs plainly and under cpjit and compare what they print, byte for byte.

    python3 tests/compare_program.py prog.py [more.py ...]
    python3 tests/compare_program.py --mode t0:CPJIT_THRESHOLD=0 --mode cold:CPJIT_THRESHOLD=99 prog.py

Each program runs once with the plain interpreter and once per mode under `python -m cpjit`
(default modes: CPJIT_THRESHOLD 0, 2 and 16, and 16 with CPJIT_LOOP_BUDGET_NS=0; the warm
window off, PYTHONHASHSEED=0), from its own directory. stdout, stderr and the exit status must
match after masking hexadecimal addresses. Prints OK or a unified diff per mode; exit status 1
when any program differs. The cpjit under test is this checkout's python/ (after
.ci/dev-build), else whatever `import cpjit` finds; --python picks the interpreter.

For hand-written adversarial programs (the probe rounds of benches/README.md): keep them
deterministic (no ids, times or addresses in the output), and run each one plainly twice first.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ["t0:CPJIT_THRESHOLD=0", "t2:CPJIT_THRESHOLD=2", "t16:CPJIT_THRESHOLD=16",
         "t16lb0:CPJIT_THRESHOLD=16,CPJIT_LOOP_BUDGET_NS=0"]
ADDRESS = re.compile(rb"0x[0-9a-fA-F]+")


def parse_mode(text):
    name, _, assignments = text.partition(":")
    return name, dict(a.split("=", 1) for a in assignments.split(",") if a)


def run(python, program, jit, extra, timeout):
    env = dict(os.environ)
    env.pop("CPJIT", None)
    env["PYTHONHASHSEED"] = "0"
    env["CPJIT_WARM_WINDOW_MS"] = "0"
    if os.path.isdir(os.path.join(ROOT, "python", "cpjit")):
        env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    path = os.path.abspath(program)  # absolute: the program runs from its own directory
    command = [python] + (["-m", "cpjit"] if jit else []) + [path]
    try:
        p = subprocess.run(command, env=env, capture_output=True, timeout=timeout,
                           cwd=os.path.dirname(path))
    except subprocess.TimeoutExpired:
        return ("timeout", b"", b"")
    return (p.returncode, ADDRESS.sub(b"0x...", p.stdout), ADDRESS.sub(b"0x...", p.stderr))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("programs", nargs="+")
    parser.add_argument("--mode", action="append", help="NAME:VAR=VALUE,... (repeatable)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    modes = [parse_mode(m) for m in (args.mode or MODES)]
    failed = False
    for program in args.programs:
        if not os.path.isfile(program):
            sys.exit(f"compare_program.py: no such file: {program}")
        plain = run(args.python, program, False, {}, args.timeout)
        differs = False
        for name, extra in modes:
            got = run(args.python, program, True, extra, args.timeout)
            if got == plain:
                continue
            failed = differs = True
            print(f"DIFF {program} [{name}] exit {plain[0]} vs {got[0]}")
            for label, a, b in (("stdout", plain[1], got[1]), ("stderr", plain[2], got[2])):
                if a != b:
                    lines = difflib.unified_diff(
                        a.decode(errors="replace").splitlines(),
                        b.decode(errors="replace").splitlines(),
                        f"plain {label}", f"cpjit {label}", lineterm="", n=1)
                    print("\n".join(list(lines)[:40]))
        if not differs:
            print(f"OK {program}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
