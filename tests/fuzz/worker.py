"""Run many fuzz programs in one process and record what each one printed.

    python3 worker.py PROGRAMS.pickle RESULTS.jsonl [--jit] [--start K]

PROGRAMS.pickle is a list of {"id": ..., "file": ..., "src": ..., "code": marshalled code or None}. Each program is compiled with
its own file name and executed in a fresh module namespace named `__main__`, with sys.stdout and
sys.stderr captured; an exception escaping the program is formatted as the interpreter's
excepthook would print it (traceback text and all), and the "exit status" is 1 then, else 0.
After each program the garbage collector runs (it is disabled while the program runs, so that
finalizers run at the same point in both runs). A program that runs longer than the time limit
is marked as timed out and is not compared. In a JIT mode each result also says how many frames
ran natively (and how many cold regions it opened), so that a run in which cpjit did nothing cannot pass for agreement. One JSON line per program is appended to
RESULTS.jsonl and flushed at once, so that when the process dies (a crash in native code) the
runner knows which program killed it and can resume after it with --start.

With CPJIT_FUZZ_MODULE=NAME (the runner's --as-library NAME) the programs' namespace is named NAME
instead of __main__.

With --jit, cpjit is enabled (threshold from CPJIT_THRESHOLD, like `CPJIT=1`) before the first
program runs; without it cpjit is never imported.

With CPJIT_FUZZ_GC_STRESS=N (the runner's --gc-stress N, set for every mode, the reference
included) the collector stays on while the programs run, with generation 0's threshold at N, and
every collection calls Python code (a gc callback that recurses through frames with many
locals): a collection started by any allocation in the middle of an instruction then runs code
that pushes frames on the data stack and writes over whatever lies above its top. Generated
programs define no finalizers and no weakref callbacks, so when collections happen changes
nothing they print.
"""
import gc
import io
import json
import marshal
import os
import pickle
import signal
import sys
import traceback
import types

TIME_LIMIT = 5.0


class FuzzTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise FuzzTimeout()


def _scribble(depth, a=None, b=None, c=None, d=None, e=None, f=None, g=None, h=None):
    """Fill data-stack slots with live objects (a frame of ten locals per level)."""
    x = (depth, a, b)
    if depth > 0:
        _scribble(depth - 1, x, x, x, x, x, x, x, x)


def _on_collection(phase, info):
    _scribble(4)


def _gc_stress_threshold():
    raw = os.environ.get("CPJIT_FUZZ_GC_STRESS", "")
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) <= 0:
        sys.exit(f"worker: CPJIT_FUZZ_GC_STRESS must be a positive integer, not {raw!r}")
    return int(raw)


GC_STRESS = _gc_stress_threshold()
# The name of each program's module namespace (the runner's --as-library NAME, set for every mode,
# the reference included): its functions are then library code to cpjit, and cold ones open cold
# regions. It is installed as sys.modules["__main__"] either way.
MODULE_NAME = os.environ.get("CPJIT_FUZZ_MODULE") or "__main__"


def run_one(src, filename):
    out = io.StringIO()
    module = types.ModuleType(MODULE_NAME)
    module.__file__ = filename
    ns = module.__dict__
    saved_main = sys.modules.get("__main__")
    saved = sys.stdout, sys.stderr
    status = 0
    timeout = False
    if GC_STRESS:
        saved_threshold = gc.get_threshold()
        gc.set_threshold(GC_STRESS)
        gc.callbacks.append(_on_collection)
    else:
        gc.disable()
    sys.modules["__main__"] = module
    sys.stdout = sys.stderr = out
    try:
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
        try:
            code = marshal.loads(src) if isinstance(src, bytes) else compile(src, filename, "exec")
            exec(code, ns)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except FuzzTimeout:
        timeout = True
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - the exception is the observation
        status = 1
        try:
            out.write("".join(traceback.format_exception(exc)))
        except Exception as exc2:  # noqa: BLE001
            out.write(f"<traceback formatting failed: {type(exc2).__name__}>\n")
    if GC_STRESS:
        gc.callbacks.remove(_on_collection)
        gc.set_threshold(*saved_threshold)
    try:
        ns.clear()
        del module, ns
        gc.collect()
    except FuzzTimeout:
        timeout = True
    except BaseException as exc:  # noqa: BLE001
        out.write(f"<after: {type(exc).__name__}>")
    finally:
        sys.stdout, sys.stderr = saved
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    gc.enable()
    return {"out": out.getvalue(), "status": status, "timeout": timeout}


def main(argv):
    progs_path, results_path = argv[0], argv[1]
    jit = "--jit" in argv
    start = int(argv[argv.index("--start") + 1]) if "--start" in argv else 0
    with open(progs_path, "rb") as f:
        progs = pickle.load(f)
    signal.signal(signal.SIGALRM, _alarm)
    if jit:
        import cpjit

        cpjit.enable()
    else:
        cpjit = None
    stats = cpjit.stats if jit else None
    with open(results_path, "a", encoding="utf-8") as res:
        for prog in progs[start:]:
            before = stats() if stats else None
            r = run_one(prog.get("code") or prog["src"], prog["file"])
            r["id"] = prog["id"]
            if stats:
                after = stats()
                r["native"] = after["frames_native"] - before["frames_native"]
                r["regions"] = after["cold_regions"] - before["cold_regions"]
                r["osr"] = after["osr_entries"] - before["osr_entries"]
                r["probes"] = after["hub_probes"] - before["hub_probes"]
                r["runs"] = after["float_runs"] - before["float_runs"]
            else:
                r["native"] = 0
            res.write(json.dumps(r) + "\n")
            res.flush()
    if jit:
        cpjit.disable()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
