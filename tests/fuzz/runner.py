"""Run fuzz programs under the interpreter and under cpjit and compare what they did.

Batches: the programs of a batch are written to one JSON file and each mode runs them all in one
worker process (worker.py), so process start-up is paid once per batch and mode, not per
program. Each program's output, exit status and escaping traceback are recorded separately and
compared program by program. A worker that dies (a crash in native code) is restarted after the
program that killed it, which is recorded as a crash.

Batching must not hide differences: every program that differs in a batch is re-run on its own
as a whole process (`python3 prog.py`, with CPJIT=1 for the JIT modes, through a
sitecustomize that does what the installed cpjit-autoload.pth does), comparing stdout, stderr
and exit status; every `standalone_every`-th program is run that way too even when its batch
agreed. A difference that only shows in the batch is reported as such (with the batch, since an
earlier program may be what it depends on).

Modes: "plain" is the reference; the others are JIT modes, each an environment (CPJIT_THRESHOLD
and whatever later tiers read). Add one with `--mode NAME:VAR=VALUE,VAR=VALUE`.
"""
from __future__ import annotations

import json
import marshal
import pickle
import re
import os
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("CPJIT_FUZZ_ROOT") or os.path.dirname(os.path.dirname(HERE))
def _cpjit_dir():
    """Where the cpjit to fuzz lives: this tree's python/ when it holds a build (.ci/dev-build),
    else wherever `import cpjit` finds it (pip install)."""
    local = os.path.join(ROOT, "python")
    pkg = os.path.join(local, "cpjit")
    if os.path.isdir(pkg) and any(n.startswith("_cpjit") and n.endswith(".so") for n in os.listdir(pkg)):
        return local
    import importlib.util
    spec = importlib.util.find_spec("cpjit")
    if spec is None or spec.origin is None:
        return local
    return os.path.dirname(os.path.dirname(spec.origin))


PYTHON_DIR = _cpjit_dir()
WORKER = os.path.join(HERE, "worker.py")

# The program's main code runs under the hook in the threshold modes (CPJIT_TOP_LEVEL_MS=0):
# a program is a few milliseconds, which by default would run as a cold region from start to end
# (csrc/cold_regions.c, cpjit_run_top_level), and these modes test tiering beneath the hook.
# .ci/test runs a batch with the top-level region on, its grace a millisecond.
DEFAULT_MODES = {
    "jit0": {"CPJIT_THRESHOLD": "0"},
    # No warm window: compiled at the second call whatever the machine's load.
    "jit2": {"CPJIT_THRESHOLD": "2", "CPJIT_WARM_WINDOW_MS": "0", "CPJIT_TOP_LEVEL_MS": "0"},
    # Past the interpreter's quickening (8 calls): compiled code is laid out by what ran
    # (src/profile.rs), and paths not taken during the warm-up run from code laid aside.
    # The default warm window (12 calls within it; code called more slowly stays interpreted).
    "jit12": {"CPJIT_THRESHOLD": "12", "CPJIT_TOP_LEVEL_MS": "0"},
}

SITECUSTOMIZE = """\
# Written by tests/fuzz/runner.py: what the installed cpjit-autoload.pth does.
import cpjit._autoload
cpjit._autoload.autoload()
"""


def parse_mode(spec: str) -> tuple[str, dict]:
    name, _, rest = spec.partition(":")
    env = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        env[k] = v
    return name, env


class Env:
    """The temporary directory and environments the runs use."""

    def __init__(self, workdir: str | None = None, gc_stress: int = 0, module: str | None = None):
        self.dir = workdir or tempfile.mkdtemp(prefix="cpjit-fuzz-")
        os.makedirs(self.dir, exist_ok=True)
        self.site = os.path.join(self.dir, "site")
        os.makedirs(self.site, exist_ok=True)
        with open(os.path.join(self.site, "sitecustomize.py"), "w", encoding="utf-8") as f:
            f.write(SITECUSTOMIZE)
        base = dict(os.environ)
        for k in list(base):
            if k.startswith("CPJIT"):
                del base[k]
        base["PYTHONHASHSEED"] = "0"
        base["PYTHONDONTWRITEBYTECODE"] = "1"
        base.pop("PYTHONSTARTUP", None)
        base["PYTHONPATH"] = os.pathsep.join([self.site, PYTHON_DIR])
        if gc_stress:
            base["CPJIT_FUZZ_GC_STRESS"] = str(gc_stress)
        if module:
            base["CPJIT_FUZZ_MODULE"] = module
        self.base = base

    def env(self, mode_env: dict | None) -> dict:
        env = dict(self.base)
        if mode_env is None:
            env["CPJIT"] = "0"
        else:
            env.update(mode_env)
        return env


def run_worker(env: Env, progs: list[dict], mode_env: dict | None, tag: str) -> dict:
    """Run `progs` in one worker process (restarted after a crash); results by program id."""
    path = os.path.join(env.dir, f"batch-{tag}.pickle")
    res_path = os.path.join(env.dir, f"results-{tag}.jsonl")
    with open(path, "wb") as f:
        pickle.dump(progs, f)
    if os.path.exists(res_path):
        os.unlink(res_path)
    results: dict = {}
    start = 0
    args = [sys.executable, WORKER, path, res_path] + (["--jit"] if mode_env is not None else [])
    while start < len(progs):
        returncode, output = _run_watched(args + ["--start", str(start)], env.env(mode_env), res_path)
        with open(res_path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                results[r["id"]] = r
        done = sum(1 for p in progs if p["id"] in results)
        if returncode == 0 and done == len(progs):
            break
        # the first program without a result killed (or hung) the worker
        crashed = next(p for p in progs if p["id"] not in results)
        results[crashed["id"]] = {"id": crashed["id"], "crash": returncode, "out": output, "status": None,
                                  "timeout": False}
        start = progs.index(crashed) + 1
    os.unlink(res_path)
    return results


def make_program(pid, src: str, filename: str) -> dict:
    """A program as the worker takes it: compiled once here, marshalled for every mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = compile(src, filename, "exec")
    return {"id": pid, "file": filename, "src": src, "code": marshal.dumps(code)}


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")
# A brace or bracket display holding a NaN (nothing nested in it).
_NAN_DISPLAY = re.compile(r"[{\[][^{}\[\]]*\bnan\b[^{}\[\]]*[}\]]")


def _sorted_items(match) -> str:
    text = match.group(0)
    return text[0] + ", ".join(sorted(text[1:-1].split(", "))) + text[-1]


def normal(text: str) -> str:
    """Output with object addresses (in default reprs, "Exception ignored in: <generator object
    ... at 0x...>") blanked: they differ between any two runs. And with the items of a set or
    list display holding a NaN in sorted order: each NaN object hashes by its address (3.10+), so
    a set holding one, and a list made from such a set, come out in an order that differs between
    plain runs too (four reports in sessions 48-55, none cpjit's; a list's own order is thereby
    not compared where a NaN is in it)."""
    return _NAN_DISPLAY.sub(_sorted_items, _ADDRESS.sub("0x?", text))


def program_file(env: Env, pid, src: str, sub: str) -> dict:
    """make_program() for a source written to a real file (tracebacks then show its lines)."""
    d = os.path.join(env.dir, sub)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"c{pid}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(src)
    return make_program(pid, src, path)


HANG_SECONDS = 120


def _run_watched(args, env, res_path):
    """Run a worker; kill it when no program has finished for HANG_SECONDS (a program's own
    time limit is 5 s, so that is a hang: returncode "hang")."""
    open(res_path, "a").close()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        last_size, last_change = -1, time.monotonic()
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            size = os.path.getsize(res_path)
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            elif time.monotonic() - last_change > HANG_SECONDS:
                proc.kill()
                proc.wait()
                out.seek(0)
                return "hang", out.read()[-4000:].decode("utf-8", "replace")
        out.seek(0)
        return proc.returncode, out.read()[-4000:].decode("utf-8", "replace")


def differs(ref: dict, got: dict) -> str | None:
    """The kind of difference between two worker results, or None."""
    if ref is None or got is None:
        return "missing"
    if ref.get("timeout") or got.get("timeout"):
        return None
    if got.get("crash") is not None and ref.get("crash") is None:
        return "crash"
    if ref.get("crash") is not None:
        return None if got.get("crash") is not None else "reference-crash"
    if ref["status"] != got["status"]:
        return "status"
    if ref["out"] != got["out"] and normal(ref["out"]) != normal(got["out"]):
        return "output"
    return None


def run_standalone(env: Env, src: str, mode_env: dict | None, name: str = "prog", timeout: float = 30) -> dict:
    """Run `src` as a whole process: `python3 prog.py`, with CPJIT=1 for a JIT mode."""
    path = os.path.join(env.dir, f"{name}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(src)
    e = env.env(mode_env)
    if mode_env is not None:
        e["CPJIT"] = "1"
    try:
        proc = subprocess.run([sys.executable, path], env=e, cwd=env.dir, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "stdout": "", "stderr": "", "status": None}
    return {"timeout": False, "stdout": proc.stdout.decode("utf-8", "replace"),
            "stderr": proc.stderr.decode("utf-8", "replace"), "status": proc.returncode}


def standalone_differs(ref: dict, got: dict) -> str | None:
    if ref["timeout"] or got["timeout"]:
        return None
    if got["status"] is not None and got["status"] < 0 and not (ref["status"] or 0) < 0:
        return "crash"
    for k in ("status", "stdout", "stderr"):
        if ref[k] != got[k] and (k == "status" or normal(ref[k]) != normal(got[k])):
            return k
    return None


def diff_text(a: str, b: str, la="plain", lb="cpjit", n=20) -> str:
    import difflib

    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), la, lb, lineterm="", n=1))
    if len(lines) > n:
        lines = lines[:n] + [f"... ({len(lines) - n} more diff lines)"]
    return "\n".join(lines)
