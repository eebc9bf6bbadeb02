#!/usr/bin/env python3
"""Measure the interpreter against cpjit and write BENCHMARKS.md and benches/speedups.png.

    pip install --target bench-deps/tools -r benches/requirements-bench.txt   # pyperf(ormance), matplotlib
    pip install --target bench-deps/real -r benches/requirements-real.txt     # the real programs' libraries
    .ci/dev-build
    nice -n 5 python3 benches/run_all.py            # full run (~30 min on a quiet 2-core machine)
    python3 benches/run_all.py --quick              # smoke run: same report, one round (~4 min)

What it measures, always with the same interpreter on both sides and the two sides interleaved
(each round runs every item plainly and with cpjit, alternating which goes first), medians:

1. pyperformance: the benchmarks issue 8 sets the bar on, through benches/run_pyperformance.py
   (pyperf wall time per loop; cpjit switched on with CPJIT=1 through a generated
   sitecustomize, see that script).
2. Real programs: benches/real/*.py, each a pure-Python library from PyPI (pinned in
   benches/requirements-real.txt) or one of the standard library's pure-Python modules
   (benches/real/stdlib_*.py) doing one to a few seconds of real work, run as a subprocess as
   `python prog.py` and as `python -m cpjit prog.py`. Each run's standard output must be the same
   on both sides (checked on every run). Timed by the CPU time (user + system) of the child
   process, which a shared machine disturbs far less than wall time; wall time is reported too.
3. Start-up: `python -c pass` against `python -m cpjit -c pass`, and an import-heavy program
   (asyncio, json, email, http.client, decimal, argparse, logging, typing, dataclasses, unittest)
   plainly and under `python -m cpjit`; wall and CPU milliseconds and peak RSS.
   Short programs: benches/short/*.py, standard-library scripts of 40-300 ms (a test run, a
   tokenizer, XML, CSV, diffs...), timed as the real programs are: what cpjit costs a script
   too short for compiled code to pay back its start-up and warm-up.
4. Compile figures from cpjit.stats() of one extra cpjit run of each real program and of the
   import-heavy program: code objects, instructions, compile time per instruction, machine code
   bytes per instruction. Optionally (--compile-bench) the criterion compile bench's summary.

The geometric mean of the speed-ups (interpreter time / cpjit time) is given per section.
The libraries come from --deps (default bench-deps/real), pyperf and pyperformance from
--tools (default bench-deps/tools) when they are not importable anyway; cpjit from --cpjit-path
(default this checkout's python/, built by .ci/dev-build).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REAL = HERE / "real"
SHORT = HERE / "short"
WITH_STATS = HERE / "with_stats.py"

# name -> (script, argument): each 1-3 s of CPU on the reference machine under the interpreter.
REAL_PROGRAMS = {
    "markdown": ("markdown_render.py", "Python-Markdown 3.7: render a 300-section document (tables, fenced code, toc), 3 times"),
    "pyparsing": ("pyparsing_arith.py", "pyparsing 3.2: parse and evaluate 400 generated arithmetic expressions (infix_notation grammar)"),
    "sqlparse": ("sqlparse_format.py", "sqlparse 0.5.3: split and reformat 400 generated SQL statements"),
    "pyflakes": ("pyflakes_check.py", "pyflakes 3.2: check 12 large standard-library modules"),
    "pycodestyle": ("pycodestyle_check.py", "pycodestyle 2.12: check 7 standard-library modules"),
    "sympy": ("sympy_algebra.py", "sympy 1.13: expand, factor, simplify, integrate, solve, series"),
    "networkx": ("networkx_graphs.py", "networkx 3.4: shortest paths, centrality, components, MST, max flow, cliques"),
    "docutils": ("docutils_render.py", "docutils 0.21: render a 250-section reStructuredText document to HTML"),
    # The standard library's own pure-Python modules, doing real work the way programs use them:
    # code no session tuned cpjit on (added in session 42 as a check of how it generalises).
    "email": ("stdlib_email.py", "email (stdlib): build, serialise and parse back 300 MIME messages with attachments"),
    "tomllib": ("stdlib_tomllib.py", "tomllib (stdlib): parse a 1,500-table TOML document, 10 times"),
    "html.parser": ("stdlib_htmlparser.py", "html.parser (stdlib): parse a 3,000-block HTML page with an HTMLParser subclass, 8 times"),
    "minidom": ("stdlib_minidom.py", "xml.dom.minidom (stdlib): parse, query and serialise a 4,000-element document, 6 times"),
    "pickle": ("stdlib_pickle.py", "pickle (stdlib, pure-Python pickler): round-trip 20,000 records, twice"),
    "argparse": ("stdlib_argparse.py", "argparse and logging (stdlib): build 3,000 parsers, parse, format help, log"),
}
# name -> (script, what): standard-library scripts of 40-300 ms of CPU under the interpreter,
# start-up included (added in session 54: no session tuned cpjit on them).
SHORT_PROGRAMS = {
    "unittest": ("unittest_run.py", "a TestCase of 1,500 generated tests run by TextTestRunner"),
    "re tokenizer": ("re_tokenize.py", "a regular-expression tokenizer and tokenize over argparse.py"),
    "fractions/decimal": ("fractions_decimal.py", "1,500 Fraction and 40,000 Decimal additions"),
    "difflib": ("difflib_diff.py", "unified diffs of six 600-line texts"),
    "pathlib": ("pathlib_walk.py", "glob and os.walk over three standard-library packages"),
    "ElementTree": ("etree_xml.py", "build, serialise, parse and query an 8,000-element document"),
    "asyncio": ("asyncio_tasks.py", "20 tasks draining a 30,000-item queue"),
    "enum/typing": ("enum_typing.py", "Enum and IntFlag lookups, a Generic class, lru_cache"),
    "textwrap": ("textwrap_string.py", "fill, dedent, shorten and Template over 300 paragraphs"),
    "dataclasses": ("dataclass_sim.py", "40,000 dataclass events through a heap"),
    "csv": ("csv_stats.py", "write and read back 60,000 CSV rows, statistics per group"),
    "json": ("json_roundtrip.py", "dumps/loads round trips of 60 nested documents"),
    "logging": ("logging_heavy.py", "40,000 records through 20 loggers and a formatter"),
    "ast": ("ast_walk.py", "parse, visit and unparse three standard-library packages"),
}
IMPORTS = "import asyncio, json, email, http.client, decimal, argparse, logging, typing, dataclasses, unittest"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Run:
    def __init__(self, wall, cpu, rss_kb, code, out, err):
        self.wall, self.cpu, self.rss_kb, self.code, self.out, self.err = wall, cpu, rss_kb, code, out, err


def run_once(cmd, env, timeout=600, cwd=None):
    """Run `cmd`; wall time, CPU time (user + sys of the child, from wait4) and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=cwd)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode,
                   out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=REPO).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine():
    cpu = "?"
    mem = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    commit = sh(["git", "rev-parse", "--short", "HEAD"])
    dirty = " (with uncommitted changes)" if sh(["git", "status", "--porcelain", "--untracked-files=no"]) else ""
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": mem,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "cpjit": f"{commit}{dirty}, branch {sh(['git', 'rev-parse', '--abbrev-ref', 'HEAD'])}",
    }


class Sides:
    """The environments of both sides. Same PYTHONPATH on both (cpjit's package and the real
    programs' libraries), so that only `-m cpjit` differs."""

    def __init__(self, args):
        base = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
        paths = [str(Path(args.cpjit_path).resolve())]
        if Path(args.deps).is_dir():
            paths.append(str(Path(args.deps).resolve()))
        if base.get("PYTHONPATH"):
            paths.append(base["PYTHONPATH"])
        base["PYTHONPATH"] = os.pathsep.join(paths)
        if args.threshold is not None:
            base["CPJIT_THRESHOLD"] = str(args.threshold)
        self.env = base
        self.python = args.python

    def cmd(self, side, argv):
        return [self.python] + (["-m", "cpjit"] if side == "cpjit" else []) + argv


def byte_compile(args):
    """Write the .pyc files of cpjit's package and of the real programs' libraries, as `pip
    install` does. A tree without them is compiled from source by every process that imports it
    when PYTHONDONTWRITEBYTECODE is set (the warm-up round cannot write them then), and start-up
    would measure CPython's compiler rather than cpjit (+4 ms on `python -m cpjit -c pass`)."""
    for path in (args.cpjit_path, args.deps):
        if Path(path).is_dir():
            log(f"byte-compiling {path}")
            subprocess.run([args.python, "-m", "compileall", "-q", "-j", "0", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def interleaved(items, sides, rounds, warmup=True):
    """items: name -> argv. Runs every item on both sides per round (alternating the order) and
    returns name -> side -> [Run]. A warm-up round (not counted) writes .pyc files first."""
    results = {n: {"plain": [], "cpjit": []} for n in items}
    for rnd in range(-1 if warmup else 0, rounds):
        for i, (name, argv) in enumerate(items.items()):
            order = ("plain", "cpjit") if (rnd + i) % 2 == 0 else ("cpjit", "plain")
            for side in order:
                r = run_once(sides.cmd(side, argv), sides.env)
                if rnd >= 0 or r.code != 0:
                    results[name][side].append(r)
        log(f"  round {rnd + 1}/{rounds} done" if rnd >= 0 else "  warm-up round done")
    return results


def summarise(runs):
    """Medians of one side's runs, or an error string."""
    bad = [r for r in runs if r.code != 0]
    if bad:
        return f"exit status {bad[0].code}: {bad[0].err.strip().splitlines()[-1:] or ''}"
    return {"wall": statistics.median(r.wall for r in runs), "cpu": statistics.median(r.cpu for r in runs),
            "rss_kb": statistics.median(r.rss_kb for r in runs), "n": len(runs),
            "outputs": {hashlib.sha256(r.out.encode()).hexdigest()[:16] for r in runs}}


def real_programs(args, sides):
    return program_rows("real programs", REAL_PROGRAMS, REAL, args.real, args.rounds_real, sides)


def short_programs(args, sides):
    return program_rows("short programs", SHORT_PROGRAMS, SHORT, list(SHORT_PROGRAMS),
                        args.rounds_short, sides)


def paired_speedup(runs, what):
    """The median over rounds of the round's interpreter time over its cpjit time (`what`: "cpu"
    or "wall"), kept in the JSON beside the ratio of medians the tables show. The two runs of a
    round ran one after the other, so the machine's drift from minute to minute cancels in their
    ratio; their own noise (5-10% a run on this VM) does not, and over 7-9 rounds the two
    estimates differ by a few percent either way (session 57's runner: unittest 0.95x paired,
    1.01x of medians), so the tables keep the figure their "extra" column agrees with. For a
    millisecond's difference, benches/ab_paired.py with 21-41 rounds."""
    return statistics.median(getattr(p, what) / getattr(c, what)
                             for p, c in zip(runs["plain"], runs["cpjit"]))


def program_rows(title, programs, directory, names, rounds, sides):
    """Each program of `programs` (name -> (script in `directory`, what)) named in `names`, both
    sides interleaved for `rounds` rounds: one row per program, outputs compared."""
    items = {n: [str(directory / script)] for n, (script, _) in programs.items() if n in names}
    log(f"{title}: {', '.join(items)} ({rounds} rounds)")
    res = interleaved(items, sides, rounds)
    rows = []
    for name in items:
        p, c = summarise(res[name]["plain"]), summarise(res[name]["cpjit"])
        row = {"name": name, "what": programs[name][1], "plain": p, "cpjit": c}
        if isinstance(p, dict) and isinstance(c, dict):
            row["same_output"] = p["outputs"] == c["outputs"] and len(p["outputs"]) == 1
            row["speedup"] = p["cpu"] / c["cpu"]
            row["speedup_wall"] = p["wall"] / c["wall"]
            row["speedup_paired"] = paired_speedup(res[name], "cpu")
            p["outputs"], c["outputs"] = sorted(p["outputs"]), sorted(c["outputs"])
        else:
            for s in (p, c):
                if isinstance(s, dict):
                    s["outputs"] = sorted(s["outputs"])
        rows.append(row)
    return rows


def startup(args, sides):
    items = {"python -c pass": ["-c", "pass"], "import-heavy program": ["-c", IMPORTS]}
    log(f"start-up ({args.rounds_startup} rounds)")
    res = interleaved(items, sides, args.rounds_startup)
    rows = []
    for name, argv in items.items():
        p, c = summarise(res[name]["plain"]), summarise(res[name]["cpjit"])
        row = {"name": name, "command": argv, "plain": p, "cpjit": c}
        if isinstance(p, dict) and isinstance(c, dict):
            row["speedup"] = p["wall"] / c["wall"]
            row["extra_ms"] = 1e3 * (c["wall"] - p["wall"])
            p["outputs"], c["outputs"] = sorted(p["outputs"]), sorted(c["outputs"])
        rows.append(row)
    return rows


# The compile-cost bar's program: the import-heavy one with every code object compiled at its
# first call (at the default threshold it compiles nothing). Its figure is the run with the median
# time per instruction of FIRST_CALL_RUNS: about one run in four on this shared VM has a compile
# or two held up for milliseconds outside cpjit (benches/README.md, session 38).
FIRST_CALL = "import-heavy program, CPJIT_THRESHOLD=0 (*)"
FIRST_CALL_RUNS = 5


def compile_figures(args, sides):
    """cpjit.stats() after one cpjit run of each real program and of the import-heavy program
    (and FIRST_CALL_RUNS runs of the latter compiling everything at its first call)."""
    out = []
    dump = ["-c", IMPORTS + "\nimport cpjit, json, sys\n"
            "json.dump(cpjit.stats(), open(sys.argv[1], 'w'), default=repr)"]
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {"import-heavy program": (dump, {}, 1),
                FIRST_CALL: (dump, {"CPJIT_THRESHOLD": "0"}, FIRST_CALL_RUNS)}
        for n, (script, _) in REAL_PROGRAMS.items():
            if n in args.real:
                jobs[n] = ([str(WITH_STATS), "OUT", str(REAL / script)], {}, 1)
        for name, (argv, extra_env, runs) in jobs.items():
            path = os.path.join(tmp, "stats.json")
            argv = [path if a == "OUT" else a for a in argv]
            if argv[0] == "-c":
                argv = argv + [path]
            stats = []
            for _ in range(runs):
                r = run_once(sides.cmd("cpjit", argv), dict(sides.env, **extra_env))
                try:
                    stats.append(json.load(open(path)))
                    os.unlink(path)
                except (OSError, ValueError):
                    break
            if len(stats) < runs:
                out.append({"name": name, "error": f"exit {r.code}: {r.err.strip()[-300:]}"})
                continue
            per_instruction = lambda st: st.get("compile_seconds", 0) / max(1, st.get("instructions_compiled") or 0)
            st = sorted(stats, key=per_instruction)[len(stats) // 2]
            n = st.get("instructions_compiled") or 0
            out.append({"name": name, "compiled": st.get("compiled"), "failed": st.get("compile_failed"),
                        "instructions": n, "compile_ms": 1e3 * st.get("compile_seconds", 0),
                        "ns_per_instruction": 1e9 * st.get("compile_seconds", 0) / n if n else None,
                        "native_bytes": st.get("native_bytes"),
                        "bytes_per_instruction": st.get("native_bytes", 0) / n if n else None,
                        "frames_native": st.get("frames_native"),
                        "frames_interpreted": sum((st.get("frames_interpreted") or {}).values())})
    return out


def pyperformance(args):
    names = args.pyperformance
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        json_out = f.name
    cmd = [args.python, str(HERE / "run_pyperformance.py"), "--json-out", json_out,
           "--cpjit-path", str(Path(args.cpjit_path).resolve())]
    if args.quick:
        cmd.append("--quick")
    else:
        cmd += ["--rounds", str(args.rounds_pyperf)]
    if args.threshold is not None:
        cmd += ["--threshold", str(args.threshold)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    if Path(args.tools).is_dir():
        env["PYTHONPATH"] = os.pathsep.join([str(Path(args.tools).resolve())] +
                                            ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    log(f"pyperformance: {' '.join(names)}")
    p = subprocess.run(cmd + names, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        table = json.loads(Path(json_out).read_text() or "{}")
    except (OSError, ValueError):
        table = {}
    finally:
        Path(json_out).unlink(missing_ok=True)
    if not table:
        table = {"rows": [], "errors": [f"run_pyperformance.py failed:\n{p.stdout[-2000:]}"]}
    table["command"] = " ".join(shlex.quote(c) for c in cmd + names)
    return table


def compile_bench():
    log("cargo bench --bench compile_speed")
    p = subprocess.run(["cargo", "bench", "--bench", "compile_speed"], cwd=REPO, capture_output=True,
                       text=True, env=dict(os.environ, PYO3_PYTHON=sys.executable))
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("compile_stdlib: ")]
    return lines[:12] or [f"cargo bench failed: {(p.stderr or p.stdout)[-500:]}"]


def fmt_s(t):
    return f"{t * 1e3:.0f} ms" if t < 10 else f"{t:.1f} s"


def fmt_t(t):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"


def chart(path, pyperf_rows, real_rows, start_rows, short_rows=()):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [("pyperformance", [(r["name"], r.get("speedup")) for r in pyperf_rows]),
              ("real programs", [(r["name"], r.get("speedup")) for r in real_rows]),
              ("short programs", [(r["name"], r.get("speedup")) for r in short_rows]),
              ("start-up (wall)", [(r["name"].replace("python ", ""), r.get("speedup")) for r in start_rows])]
    labels, values, colours, ticks = [], [], [], []
    palette = {"pyperformance": "#4c72b0", "real programs": "#55a868", "short programs": "#64b5cd",
               "start-up (wall)": "#8172b2"}
    for g, items in groups:
        for name, sp in items:
            labels.append(name)
            values.append(sp or 0)
            colours.append(palette[g] if sp and sp >= 1 else "#c44e52")
        gm = geomean([sp for _, sp in items])
        if gm:
            labels.append(f"geomean ({g})")
            values.append(gm)
            colours.append("#333333")
            ticks.append(len(labels) - 1)
        labels.append("")
        values.append(0)
        colours.append("white")
    labels, values, colours = labels[:-1], values[:-1], colours[:-1]
    fig, ax = plt.subplots(figsize=(8, 0.24 * len(labels) + 1.2))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color=colours)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.tick_params(axis="y", length=0)
    for t in ticks:
        ax.get_yticklabels()[t].set_fontweight("bold")
    for yy, v in zip(y, values):
        if v:
            ax.text(v + 0.01, yy, f"{v:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("speed-up over CPython 3.11 (interpreter time / cpjit time; red: slower)")
    ax.set_xlim(0, max([1.5] + [v * 1.15 for v in values]))
    ax.set_title("cpjit vs CPython 3.11", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def program_table(add, rows, fmt_cpu, extra_cpu, rss):
    """The table of a set of programs (program_rows): CPU times by `fmt_cpu`, with the extra CPU
    time cpjit took (`extra_cpu`) and the peak RSS of both sides (`rss`) as columns of their
    own, and a geometric-mean row."""
    add("| program | work | interpreter CPU | cpjit CPU |" + (" extra CPU |" if extra_cpu else "")
        + " speed-up | wall speed-up |" + (" peak RSS plain / cpjit |" if rss else "") + " output |")
    add("|---|---|---:|---:|" + ("---:|" if extra_cpu else "") + "---:|---:|" + ("---:|" if rss else "")
        + "---|")
    for r in rows:
        p, c = r["plain"], r["cpjit"]
        if isinstance(p, dict) and isinstance(c, dict):
            add(f"| {r['name']} | {r['what']} | {fmt_cpu(p['cpu'])} | {fmt_cpu(c['cpu'])} | "
                + (f"{1e3 * (c['cpu'] - p['cpu']):+.1f} ms | " if extra_cpu else "")
                + f"{r['speedup']:.2f}x | {r['speedup_wall']:.2f}x | "
                + (f"{p['rss_kb'] / 1024:.0f} / {c['rss_kb'] / 1024:.0f} MiB | " if rss else "")
                + f"{'same' if r['same_output'] else '**DIFFERENT**'} |")
        else:
            add(f"| {r['name']} | {r['what']} | {p if isinstance(p, str) else fmt_cpu(p['cpu'])} | "
                f"{c if isinstance(c, str) else fmt_cpu(c['cpu'])} | " + ("| " if extra_cpu else "")
                + "- | - | " + ("- | " if rss else "") + "**error** |")
    gm = geomean([r.get("speedup") for r in rows])
    if gm:
        add("| **geometric mean** | | | | " + ("| " if extra_cpu else "")
            + f"**{gm:.2f}x** | {geomean([r.get('speedup_wall') for r in rows]):.2f}x | "
            + ("| " if rss else "") + "|\n")


def report(args, info, started, finished, pp, real, start, comp, cbench, chart_path, loads, short=()):
    L = []
    add = L.append
    add("# Benchmarks: CPython 3.11 interpreter vs cpjit\n")
    add(f"Written by `benches/run_all.py` on {started:%Y-%m-%d %H:%M} UTC "
        f"(took {(finished - started).total_seconds() / 60:.0f} min){' in --quick mode: few rounds, rough figures' if args.quick else ''}. "
        "Regenerate with the command below; the figures move with every change to cpjit and with "
        "the load on the machine.\n")
    add("```sh\n" + args.command + "\n```\n")
    add("| machine | |\n|---|---|")
    for k, v in info.items():
        add(f"| {k} | {v} |")
    add(f"| load average | {loads[0]:.1f} at the start, {loads[1]:.1f} at the end (other jobs shared the "
        f"{info['cores']} cores: single figures can move by 10-20% between runs) |")
    add(f"| cpjit settings | `python -m cpjit` / `CPJIT=1` defaults"
        f"{f', CPJIT_THRESHOLD={args.threshold}' if args.threshold is not None else ''} |\n")
    add(f"![speed-ups]({os.path.relpath(chart_path, Path(args.output).parent)})\n")

    add("## pyperformance\n")
    s = pp.get("settings", {})
    add(f"pyperformance {pkg_version('pyperformance', args)} benchmark scripts through pyperf, run by "
        f"`benches/run_pyperformance.py` ({s.get('rounds')} interleaved rounds x {s.get('processes')} processes x "
        f"{s.get('values')} values, loops calibrated once per benchmark). Times are pyperf medians of "
        "wall time per loop; speed-up = interpreter / cpjit.\n")
    add("| benchmark | interpreter | cpjit | speed-up |\n|---|---:|---:|---:|")
    for r in pp.get("rows", []):
        p, c = r["plain"], r["cpjit"]
        add(f"| {r['name']} | {fmt_t(p[0]) if p else 'error'} | {fmt_t(c[0]) if c else 'error'} | "
            f"{'%.2fx' % r['speedup'] if r.get('speedup') else '-'} |")
    gm = geomean([r.get("speedup") for r in pp.get("rows", [])])
    worst = min(pp.get("rows", []), key=lambda r: r.get("speedup") or 9e9, default=None)
    if gm:
        rows = pp.get("rows", [])
        add(f"| **geometric mean** | | | **{gm:.2f}x** |\n")
        add(f"The geometric mean is over the {len([r for r in rows if r.get('speedup')])} results of "
            f"{len(args.pyperformance or []) or '?'} benchmark scripts (deepcopy and logging time "
            "three workloads each).\n")
        add(f"Bar (issue 8): none below 1.0x, geometric mean at least 1.1x. Slowest here: "
            f"{worst['name']} {worst['speedup']:.2f}x.\n")
    for e in pp.get("errors", []):
        add(f"- error: `{e.splitlines()[0]}`")
    add("")

    add("## Real programs\n")
    add("Each is a pure-Python library doing real work: from PyPI (pinned in "
        "`benches/requirements-real.txt`, installed with `pip install --target bench-deps/real`), or "
        "one of the standard library's own pure-Python modules (marked stdlib). Each runs as a subprocess: "
        "`python benches/real/X.py` against `python -m cpjit benches/real/X.py`, after one warm-up "
        f"round, {args.rounds_real} interleaved rounds. Time = median CPU time (user + system) of the "
        "process, start-up included; wall-time speed-ups beside it. Output = the standard output of "
        "every run on both sides is identical.\n")
    program_table(add, real, fmt_s, extra_cpu=False, rss=True)
    add("Bar (issue 8): none slower than without cpjit (within noise, 3%).\n")

    add("## Start-up\n")
    add(f"Wall and CPU time of the whole process, medians of {args.rounds_startup} interleaved rounds. "
        f"The import-heavy program is `python -c \"{IMPORTS}\"`.\n")
    add("| program | interpreter wall | cpjit wall | cpjit extra | interpreter CPU | cpjit CPU | cpjit extra CPU | peak RSS plain / cpjit |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in start:
        p, c = r["plain"], r["cpjit"]
        if isinstance(p, dict) and isinstance(c, dict):
            add(f"| `{r['name']}` | {p['wall'] * 1e3:.1f} ms | {c['wall'] * 1e3:.1f} ms | {r['extra_ms']:+.1f} ms | "
                f"{p['cpu'] * 1e3:.1f} ms | {c['cpu'] * 1e3:.1f} ms | {1e3 * (c['cpu'] - p['cpu']):+.1f} ms | "
                f"{p['rss_kb'] / 1024:.1f} / {c['rss_kb'] / 1024:.1f} MiB |")
        else:
            add(f"| `{r['name']}` | {p} | {c} | | | | |")
    add("\nBar (issue 8): `python -m cpjit -c pass` within 3 ms of `python -c pass`; short programs no slower.\n")
    if short:
        add("## Short programs\n")
        add("Standard-library scripts of 40-300 ms (`benches/short/`), timed as the real programs are: "
            f"`python benches/short/X.py` against `python -m cpjit benches/short/X.py`, {args.rounds_short} "
            "interleaved rounds after a warm-up round, median CPU time (user + system) of the whole process, "
            "start-up included; extra = cpjit's median minus the interpreter's. Output = the standard "
            "output of every run on both sides is identical.\n")
        program_table(add, short, lambda t: f"{t * 1e3:.1f} ms", extra_cpu=True, rss=False)

    add("## Compile figures\n")
    add("From `cpjit.stats()` at the end of one more cpjit run of each program "
        "(`benches/with_stats.py`). Compile time per instruction is compile seconds / instructions "
        "compiled; code size is the native bytes (code, stencil data, GOT) still mapped at exit / "
        "instructions compiled (code of code objects that died is no longer counted, so this "
        "understates the size slightly).\n")
    add("| program | code objects compiled | failed | instructions | compile time | per instruction | native code | bytes per instruction | frames native / interpreted |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in comp:
        if "error" in r:
            add(f"| {r['name']} | error: {r['error'][:80]} | | | | | | | |")
            continue
        add(f"| {r['name']} | {r['compiled']} | {r['failed']} | {r['instructions']} | {r['compile_ms']:.1f} ms | "
            f"{r['ns_per_instruction'] or 0:.0f} ns | {(r['native_bytes'] or 0) / 1024:.0f} KiB | "
            f"{r['bytes_per_instruction'] or 0:.0f} | {r['frames_native']} / {r['frames_interpreted']} |")
    add(f"\n(*) The median of {FIRST_CALL_RUNS} runs by time per instruction.\n")
    add("Bars (issue 8): at most 150 ns per instruction in a real process (the import-heavy program "
        "compiling every code object at its first call, (*)); at most 80 bytes per instruction in the "
        "compile bench (`cargo bench --bench compile_speed`).\n")
    if cbench:
        add("Compile bench (`cargo bench --bench compile_speed`):\n\n```\n" + "\n".join(cbench) + "\n```\n")
    return "\n".join(L) + "\n"


def pkg_version(name, args):
    try:
        from importlib import metadata
        sys.path.insert(0, str(Path(args.tools).resolve()))
        return metadata.version(name)
    except Exception:
        return "?"
    finally:
        if sys.path and sys.path[0] == str(Path(args.tools).resolve()):
            sys.path.pop(0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few rounds, short pyperf runs (smoke test)")
    ap.add_argument("--rounds-real", type=int, default=None, help="rounds per real program (5; quick 1)")
    ap.add_argument("--rounds-startup", type=int, default=None, help="start-up rounds (20; quick 5)")
    ap.add_argument("--rounds-short", type=int, default=None, help="rounds per short program (9; quick 1)")
    ap.add_argument("--rounds-pyperf", type=int, default=3, help="run_pyperformance.py --rounds (3)")
    ap.add_argument("--pyperformance", nargs="*", default=None, help="benchmarks (default: issue 8's 18)")
    ap.add_argument("--real", nargs="*", default=list(REAL_PROGRAMS), help="real programs to run")
    ap.add_argument("--skip", nargs="*", default=[], choices=["pyperformance", "real", "startup", "short", "compile"])
    ap.add_argument("--compile-bench", action="store_true", help="also run cargo bench --bench compile_speed")
    ap.add_argument("--threshold", type=int, default=None, help="CPJIT_THRESHOLD for the cpjit side")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--cpjit-path", default=str(REPO / "python"))
    ap.add_argument("--deps", default=str(REPO / "bench-deps" / "real"))
    ap.add_argument("--tools", default=str(REPO / "bench-deps" / "tools"))
    ap.add_argument("--output", default=str(REPO / "BENCHMARKS.md"))
    ap.add_argument("--chart", default=str(HERE / "speedups.png"))
    ap.add_argument("--json", default=str(REPO / "bench-results" / time.strftime("run_all-%Y%m%d-%H%M%S.json")),
                    help="where all figures go as JSON too (default: bench-results/run_all-<time>.json)")
    ap.add_argument("--from-json", default=None,
                    help="measure nothing: rewrite the report and chart from a --json file of an earlier run")
    args = ap.parse_args(argv)
    args.rounds_real = args.rounds_real or (1 if args.quick else 5)
    args.rounds_startup = args.rounds_startup or (5 if args.quick else 20)
    args.rounds_short = args.rounds_short or (1 if args.quick else 9)
    args.command = "nice -n 5 python3 benches/run_all.py" + (" " + " ".join(shlex.quote(a) for a in sys.argv[1:])
                                                             if argv is None and sys.argv[1:] else "")
    if args.pyperformance is None:
        sys.path.insert(0, str(HERE))
        from run_pyperformance import DEFAULT_BENCHMARKS
        args.pyperformance = list(DEFAULT_BENCHMARKS)
    if not list(Path(args.cpjit_path, "cpjit").glob("_cpjit*.so")):
        sys.exit(f"run_all.py: no built extension in {args.cpjit_path}/cpjit (run .ci/dev-build)")

    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        args.command = saved["command"]
        args.pyperformance = saved.get("pyperformance_names", args.pyperformance)
        for k in ("rounds_real", "rounds_startup", "rounds_short", "quick", "threshold"):
            setattr(args, k, saved["settings"].get(k))
        write(args, saved["machine"], datetime.datetime.fromisoformat(saved["started"]),
              datetime.datetime.fromisoformat(saved["finished"]), saved["pyperformance"], saved["real"],
              saved["startup"], saved["compile"], saved.get("compile_bench"), saved["loads"],
              saved.get("short", []))
        return 0
    started = datetime.datetime.now(datetime.timezone.utc)
    loads = [os.getloadavg()[0]]
    info = machine()
    byte_compile(args)
    sides = Sides(args)
    check = run_once(sides.cmd("cpjit", ["-c", "import cpjit; print(cpjit.is_enabled(), cpjit.__file__)"]), sides.env)
    if not check.out.startswith("True"):
        sys.exit(f"run_all.py: python -m cpjit does not enable cpjit: {check.out}{check.err}")
    log(f"cpjit: {check.out.split()[1]}")
    pp = pyperformance(args) if "pyperformance" not in args.skip and args.pyperformance else {"rows": []}
    real = real_programs(args, sides) if "real" not in args.skip else []
    start = startup(args, sides) if "startup" not in args.skip else []
    short = short_programs(args, sides) if "short" not in args.skip else []
    comp = compile_figures(args, sides) if "compile" not in args.skip else []
    cbench = compile_bench() if args.compile_bench else None
    loads.append(os.getloadavg()[0])
    finished = datetime.datetime.now(datetime.timezone.utc)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        settings = {k: getattr(args, k) for k in ("rounds_real", "rounds_startup", "rounds_short", "quick", "threshold")}
        Path(args.json).write_text(json.dumps({
            "command": args.command, "settings": settings, "pyperformance_names": args.pyperformance, "machine": info, "started": started.isoformat(),
            "finished": finished.isoformat(), "loads": loads, "pyperformance": pp, "real": real,
            "startup": start, "short": short, "compile": comp, "compile_bench": cbench}, indent=1, default=str))
    write(args, info, started, finished, pp, real, start, comp, cbench, loads, short)
    return 0


def write(args, info, started, finished, pp, real, start, comp, cbench, loads, short=()):
    try:
        chart(args.chart, pp.get("rows", []), real, start, short)
    except ImportError as exc:
        log(f"no chart: {exc} (pip install --target bench-deps/tools -r benches/requirements-bench.txt)")
    text = report(args, info, started, finished, pp, real, start, comp, cbench, args.chart, loads, short)
    Path(args.output).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    tools = REPO / "bench-deps" / "tools"
    if tools.is_dir():
        sys.path.append(str(tools))  # matplotlib for the chart
    sys.exit(main())
