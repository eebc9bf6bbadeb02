"""Switch cpjit on at interpreter start when CPJIT is set (imported by cpjit-autoload.pth).

CPJIT=1 (also true/on/yes, any case) enables the JIT in this interpreter and, because the
environment is inherited, in its subprocesses and multiprocessing workers too. CPJIT unset,
empty, 0, false, off or no leaves it off; any other value leaves it off with a one-line warning.

CPJIT_STATS_FILE=PATH additionally writes cpjit.stats() as JSON to PATH.<pid> when the process
exits, so that benchmark runners can collect what happened in worker processes.
"""
import os
import sys


def autoload():
    if "CPJIT" not in os.environ:
        return
    try:
        import cpjit

        if not cpjit._flag("CPJIT"):
            return
        cpjit.enable()
    except Exception as exc:  # never stop the interpreter from starting
        print(f"cpjit: not enabled: {exc}", file=sys.stderr)
        return
    path = os.environ.get("CPJIT_STATS_FILE")
    if path:
        import atexit

        atexit.register(_write_stats, path)


def _write_stats(prefix):
    """Write stats() to PREFIX.<pid>: the pid of the process that exits (a forked child that
    runs its exit handlers writes its own file, not its parent's), through a temporary file
    renamed into place, so a process killed while writing leaves no truncated file behind."""
    import json

    import cpjit

    path = f"{prefix}.{os.getpid()}"
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cpjit.stats(), f, default=repr)
        os.replace(tmp, path)
    except OSError as exc:
        print(f"cpjit: cannot write stats to {path}: {exc}", file=sys.stderr)
