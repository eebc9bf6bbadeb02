#!/usr/bin/env python3
"""Time pyperformance benchmarks under the plain interpreter and under cpjit, interleaved.

    pip install -r benches/requirements-bench.txt      # pyperformance + pyperf, pinned
    python3 benches/run_pyperformance.py               # default list (issue 8's 18), ~10-15 minutes
    python3 benches/run_pyperformance.py --quick nbody richards    # CI smoke: seconds per benchmark
    python3 benches/run_pyperformance.py --stats --check

No virtual environments and no `pyperformance run`: the benchmark scripts shipped inside the
installed pyperformance package (pyperformance/data-files/benchmarks/bm_<name>/run_benchmark.py)
are run directly as pyperf scripts, with the same interpreter for both sides. Per benchmark the
runner does `--rounds` rounds; each round runs the script once plainly and once with cpjit
(alternating which goes first), appending to one pyperf JSON file per side, so slow drift of the
machine hits both sides alike. The first plain run calibrates the loop count; every later run of
that benchmark uses the same `--loops`. Then it prints benchmark, median time per side,
speed-up (plain / cpjit) and the geometric mean of the speed-ups.

How cpjit is switched on in the cpjit runs (--cpjit-mode):
  pth   CPJIT=1 in the environment; cpjit must be installed (pip install .), whose
        cpjit-autoload.pth enables it at interpreter start-up in the pyperf master and workers.
  path  cpjit is not installed but built in a tree (.ci/dev-build puts the extension into
        python/cpjit/): the runner writes a sitecustomize.py that does what the .pth does into a
        temporary directory and puts it and --cpjit-path (default: this repo's python/) on
        PYTHONPATH. A sitecustomize of the system's is shadowed in the cpjit runs (warned).
  auto  (default) path if --cpjit-path holds a built extension (you are benchmarking this
        checkout), else pth.
Either way the runner checks in a fresh interpreter that cpjit really is enabled, and which copy
(and that the plain side has it off) before timing anything. pyperf starts its workers with a cleaned
environment; --inherit-environ passes CPJIT, CPJIT_THRESHOLD, PYTHONPATH and any other CPJIT_*
setting of the runner's own environment through (`CPJIT_WARM_WINDOW_MS=3 run_pyperformance.py`
times cpjit with that setting; plain python does not load cpjit, so it ignores them).

A benchmark that fails on one side (crash, exception, timeout) is reported in the table as an
error, with the end of its output below the table; the other benchmarks still run.

--check runs each benchmark's workload once in-process with and without cpjit
(benches/pyperf_probe.py) and compares a digest of its return value and printed output.
--stats runs the workload once in-process under cpjit and prints cpjit.stats() per benchmark:
compiled code objects, native frames, frames left to the interpreter and why, unsupported
opcodes.
"""
import argparse
import importlib.util
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROBE = HERE / "pyperf_probe.py"

# The set issue 8 measures (the bar: none below 1.0x, geometric mean at least 1.1x).
DEFAULT_BENCHMARKS = ("nbody float spectral_norm richards chaos go deltablue raytrace nqueens fannkuch "
                      "hexiom generators coroutines comprehensions deepcopy json_dumps logging "
                      "unpack_sequence").split()
INHERIT = ",".join(["CPJIT", "CPJIT_THRESHOLD", "PYTHONPATH"]
                   + sorted(k for k in os.environ if k.startswith("CPJIT_") and k != "CPJIT_THRESHOLD"))
CHECK_ENABLED = ("import sys; m = sys.modules.get('cpjit'); "
                 "print('enabled ' + m.__file__ if m is not None and m.is_enabled() else 'off')")
SITECUSTOMIZE = """\
# Written by benches/run_pyperformance.py (--cpjit-mode=path): what cpjit-autoload.pth does for
# an installed cpjit. Enables cpjit when CPJIT is set.
import cpjit._autoload
cpjit._autoload.autoload()
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def benchmarks_dir():
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("run_pyperformance.py: pyperformance is not installed; "
                 "pip install -r benches/requirements-bench.txt (or pass --benchmarks-dir)")
    return Path(list(spec.submodule_search_locations)[0]) / "data-files" / "benchmarks"


def tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


def failure(text, lines=12):
    """The informative end of a failed pyperf run: when the master's own traceback ("... failed
    with exit code N") comes last, the worker's output before it, plus that last line."""
    marker = "Traceback (most recent call last):"
    last = text.rfind(marker)
    if last > 0 and "failed with exit code" in text[last:]:
        return tail(text[:last], lines) + "\n" + tail(text, 1)
    return tail(text, lines)


class Side:
    """One way of running Python: its name and its environment."""

    def __init__(self, name, env):
        self.name = name
        self.env = env
        self.error = None  # set when the side cannot run at all

    def run(self, cmd, timeout):
        return subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)

    def cpjit_state(self, python):
        out = self.run([python, "-c", CHECK_ENABLED], timeout=120)
        return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() \
            else f"error: {tail(out.stdout, 5)}"


def make_sides(args, workdir):
    base = dict(os.environ)
    base.pop("CPJIT", None)
    plain = Side("plain", base)
    if plain.cpjit_state(args.python) != "off":
        sys.exit("run_pyperformance.py: cpjit is enabled without CPJIT=1 (sitecustomize?); "
                 "the plain side would not be plain")
    cp_env = dict(base, CPJIT="1")
    if args.threshold is not None:
        cp_env["CPJIT_THRESHOLD"] = str(args.threshold)
    cpjit = Side("cpjit", cp_env)
    if args.no_cpjit:
        cpjit.error = "not run (--no-cpjit)"
        return plain, cpjit
    path = Path(args.cpjit_path).resolve()
    built = bool(list((path / "cpjit").glob("_cpjit*.so")))
    mode = args.cpjit_mode
    if mode == "auto":
        mode = "path" if built else "pth"
    if mode == "pth":
        state = cpjit.cpjit_state(args.python)
        if state.startswith("enabled"):
            log(f"cpjit side: CPJIT=1, enabled by the installed cpjit-autoload.pth ({state.split()[1]})")
        else:
            cpjit.error = f"CPJIT=1 does not enable cpjit (is it pip-installed?): {state}"
        return plain, cpjit
    if not built:
        cpjit.error = f"{path}/cpjit has no built extension (run .ci/dev-build)"
        return plain, cpjit
    site = workdir / "cpjit-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    probe = plain.run([args.python, "-c", "import sitecustomize; print(sitecustomize.__file__)"], 60)
    if probe.returncode == 0:
        log(f"warning: cpjit runs shadow the system's sitecustomize ({probe.stdout.strip()})")
    pythonpath = [str(site), str(path)] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])
    cpjit.env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    state = cpjit.cpjit_state(args.python)
    expected = str(path / "cpjit" / "__init__.py")
    if not state.startswith("enabled"):
        cpjit.error = f"cpjit from {path} is not enabled by sitecustomize: {state}"
    elif state.split(maxsplit=1)[1] != expected:
        cpjit.error = f"CPJIT=1 enabled {state.split(maxsplit=1)[1]}, not {expected}"
    else:
        log(f"cpjit side: CPJIT=1, {expected} enabled by a generated sitecustomize.py")
    return plain, cpjit


class Result:
    def __init__(self, side):
        self.side = side
        self.json = None
        self.error = side.error
        self.seconds = 0.0

    def median(self):
        import pyperf
        suite = pyperf.BenchmarkSuite.load(str(self.json))
        return {b.get_name(): (b.median(), b.stdev() if b.get_nvalue() > 1 else 0.0, b.get_nvalue())
                for b in suite.get_benchmarks()}


def loops_of(json_file):
    import pyperf
    loops = {b.get_loops() for b in pyperf.BenchmarkSuite.load(str(json_file)).get_benchmarks()}
    return loops.pop() if len(loops) == 1 else None


def time_benchmark(name, script, sides, args, outdir):
    results = {s.name: Result(s) for s in sides}
    for r in results.values():
        r.json = outdir / f"{name}.{r.side.name}.json"
        r.json.unlink(missing_ok=True)
    loops = args.loops
    for rnd in range(args.rounds):
        order = sides if rnd % 2 == 0 else sides[::-1]
        for side in order:
            r = results[side.name]
            if r.error:
                continue
            cmd = [args.python, str(script), "--quiet", "-p", str(args.processes),
                   "-n", str(args.values), "-w", str(args.warmups),
                   f"--inherit-environ={INHERIT}", "--append", str(r.json)]
            if loops:
                cmd += ["--loops", str(loops)]
            if args.min_time:
                cmd += ["--min-time", str(args.min_time)]
            started = time.monotonic()
            try:
                out = side.run(cmd, timeout=args.timeout)
                failed = out.returncode != 0 and f"exit status {out.returncode}\n{failure(out.stdout)}"
            except subprocess.TimeoutExpired:
                out, failed = None, f"timed out after {args.timeout} s"
            r.seconds += time.monotonic() - started
            if args.verbose and out is not None and out.stdout.strip():
                log(f"[{name} {side.name} round {rnd + 1}]\n{out.stdout.rstrip()}")
            if failed:
                r.error = failed
                continue
            if not loops:
                loops = loops_of(r.json)
    return results


def probe(side, script, args):
    """Run the workload once in-process on `side`; the probe's JSON, or an error string."""
    try:
        out = side.run([args.python, str(PROBE), str(script)], timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {args.timeout} s"
    if out.returncode != 0:
        return f"exit status {out.returncode}\n{tail(out.stdout)}"
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"unreadable probe output\n{tail(out.stdout)}"


def fingerprint(p):
    return [(w["name"], w["digest"]) for w in p["workloads"]], p["stdout_digest"]


def check(name, script, plain, cpjit, args):
    """'same', 'DIFFERENT ...', 'nondeterministic' or an error description."""
    if cpjit.error:
        return "not checked: cpjit side unavailable"
    a = probe(plain, script, args)
    if isinstance(a, str):
        return f"plain run failed: {a}"
    b = probe(cpjit, script, args)
    if isinstance(b, str):
        return f"cpjit run FAILED: {b}"
    if fingerprint(a) == fingerprint(b):
        kinds = {w["kind"] for w in a["workloads"]}
        return "same" + ("" if kinds == {"result"} else " (output only: time-func benchmark)")
    again = probe(plain, script, args)
    if not isinstance(again, str) and fingerprint(again) != fingerprint(a):
        return "nondeterministic (two plain runs differ; not comparable)"
    return f"DIFFERENT: plain {fingerprint(a)} cpjit {fingerprint(b)}"


def format_stats(s):
    if not isinstance(s, dict):
        return f"  error: {s}"
    if not s.get("cpjit"):
        return "  cpjit was not enabled in the probe"
    labels = {"workload": "during one run of the workload",
              "total": "whole process, including start-up and imports"}
    return "\n".join(f"  {label}:\n" + format_counters(s["cpjit"][part]) for part, label in labels.items())


def format_counters(st):
    interp = {k: v for k, v in st.get("frames_interpreted", {}).items() if v}
    unsup = sorted(((k, v) for k, v in st.get("unsupported_opcodes", {}).items() if v), key=lambda kv: -kv[1])
    lines = [
        f"    compiled {st.get('compiled')} code objects ({st.get('instructions_compiled')} instructions, "
        f"{st.get('native_bytes')} bytes, {1e3 * st.get('compile_seconds', 0):.1f} ms), "
        f"{st.get('compile_failed')} failed",
        f"    frames native {st.get('frames_native')}, interpreted: "
        + (", ".join(f"{k} {v}" for k, v in interp.items()) or "none")
        + f"; exceptions unwound natively {st.get('exceptions_native', 0)}",
    ]
    by = {k: v for k, v in st.get("run_fallbacks_by", {}).items() if v}
    lines.append(f"    runs compiled {st.get('float_runs', 0)}, failed checks {st.get('run_fallbacks', 0)}"
                 + (" (" + ", ".join(f"{k} {v}" for k, v in by.items()) + ")" if by else ""))
    if unsup:
        lines.append("    instructions without stencil: " + ", ".join(f"{k} {v}" for k, v in unsup[:10])
                     + (" ..." if len(unsup) > 10 else ""))
    for e in st.get("recent_compile_errors", [])[:3]:
        lines.append(f"    compile error: {e}")
    return "\n".join(lines)


def fmt_time(t):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("benchmarks", nargs="*", help=f"default: {' '.join(DEFAULT_BENCHMARKS)}")
    ap.add_argument("--quick", action="store_true",
                    help="smoke mode: 1 round, 1 process, 3 values, short values (CI)")
    ap.add_argument("--rounds", type=int, default=3, help="plain/cpjit alternations (default 3)")
    ap.add_argument("-p", "--processes", type=int, default=2, help="pyperf processes per run (2)")
    ap.add_argument("-n", "--values", type=int, default=3, help="pyperf values per process (3)")
    ap.add_argument("-w", "--warmups", type=int, default=1, help="pyperf warm-up values (1)")
    ap.add_argument("--loops", type=int, default=0, help="loops per value (default: calibrated)")
    ap.add_argument("--min-time", type=float, default=None, help="pyperf --min-time (s)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per pyperf run (900)")
    ap.add_argument("--cpjit-mode", choices=("auto", "pth", "path"), default="auto")
    ap.add_argument("--cpjit-path", default=str(REPO / "python"),
                    help="directory holding the cpjit package, for --cpjit-mode=path")
    ap.add_argument("--threshold", type=int, default=None, help="CPJIT_THRESHOLD for cpjit runs")
    ap.add_argument("--no-cpjit", action="store_true", help="time the plain interpreter only")
    ap.add_argument("--check", action="store_true", help="compare workload results with/without cpjit")
    ap.add_argument("--stats", action="store_true", help="print cpjit.stats() of one workload run")
    ap.add_argument("--python", default=sys.executable, help="interpreter to benchmark")
    ap.add_argument("--benchmarks-dir", help="pyperformance's data-files/benchmarks")
    ap.add_argument("--output-dir", help="where the pyperf JSON files go "
                    "(default: bench-results/pyperformance-<time>)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pyperf's output")
    ap.add_argument("--json-out", help="also write the table as JSON to this file (for run_all.py)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.processes, args.values, args.warmups = 1, 1, 3, 1
        args.min_time = args.min_time or 0.02

    bdir = Path(args.benchmarks_dir) if args.benchmarks_dir else benchmarks_dir()
    names = args.benchmarks or DEFAULT_BENCHMARKS
    scripts = {}
    for n in names:
        script = bdir / f"bm_{n}" / "run_benchmark.py"
        if not script.is_file():
            sys.exit(f"run_pyperformance.py: no benchmark {n!r} ({script} is missing)")
        scripts[n] = script
    outdir = Path(args.output_dir) if args.output_dir else \
        REPO / "bench-results" / time.strftime("pyperformance-%Y%m%d-%H%M%S")
    outdir.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="cpjit-bench-"))
    try:
        plain, cpjit = make_sides(args, workdir)
        if cpjit.error:
            log(f"cpjit side unavailable: {cpjit.error}")
        rows, errors, extra = [], [], []
        for n, script in scripts.items():
            log(f"{n}: timing ({args.rounds} rounds) ...")
            res = time_benchmark(n, script, [plain, cpjit], args, outdir)
            meds = {}
            for side, r in res.items():
                if r.error:
                    if side == "plain" or not cpjit.error:
                        errors.append(f"{n} [{side}]: {r.error}")
                    continue
                try:
                    meds[side] = r.median()
                except Exception as exc:  # unreadable / empty JSON
                    errors.append(f"{n} [{side}]: cannot read {r.json}: {exc}")
            subnames = sorted(set().union(*[m.keys() for m in meds.values()])) or [n]
            for sub in subnames:
                p = meds.get("plain", {}).get(sub)
                c = meds.get("cpjit", {}).get(sub)
                rows.append((sub, p, c, p[0] / c[0] if p and c else None))
            if args.check:
                extra.append(f"check {n}: {check(n, script, plain, cpjit, args)}")
                log(extra[-1])
            if args.stats:
                s = probe(cpjit, script, args) if not cpjit.error else cpjit.error
                extra.append(f"stats {n}:\n{format_stats(s)}")

        def cell(x):
            return "error" if x is None else f"{fmt_time(x[0])} +- {fmt_time(x[1])}"

        print()
        print(f"{'benchmark':<16} {'interpreter (median)':>22} {'cpjit (median)':>22} {'speed-up':>9}")
        print("-" * 72)
        for sub, p, c, sp in rows:
            print(f"{sub:<16} {cell(p):>22} {cell(c) if not cpjit.error else 'n/a':>22} "
                  f"{f'{sp:.2f}x' if sp else '-':>9}")
        speedups = [sp for *_, sp in rows if sp]
        print("-" * 72)
        if speedups:
            gm = math.exp(statistics.fmean(math.log(s) for s in speedups))
            print(f"{'geometric mean':<16} {'':>22} {'':>22} {gm:>8.2f}x"
                  f"   ({len(speedups)} of {len(rows)} benchmarks)")
        else:
            print("geometric mean: no benchmark ran on both sides")
        print(f"pyperf JSON: {outdir}")
        if args.json_out:
            table = {"rows": [{"name": sub, "plain": p, "cpjit": c, "speedup": sp} for sub, p, c, sp in rows],
                     "errors": errors, "extra": extra, "cpjit_error": cpjit.error,
                     "settings": {k: getattr(args, k) for k in
                                  ("rounds", "processes", "values", "warmups", "min_time", "threshold")}}
            Path(args.json_out).write_text(json.dumps(table, indent=1))
        if cpjit.error:
            print(f"cpjit side: {cpjit.error}")
        for e in errors:
            print(f"\nERROR {e}")
        for x in extra:
            print(x)
        return 1 if errors else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
