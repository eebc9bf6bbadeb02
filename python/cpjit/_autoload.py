"""Switch cpjit on at interpreter start when CPJIT is set (imported by cpjit-autoload.pth).

CPJIT=1 (or any value but 0/empty) enables the JIT in this interpreter and, because the
environment is inherited, in its subprocesses and multiprocessing workers too.
"""
import os
import sys


def autoload():
    flag = os.environ.get("CPJIT", "")
    if flag in ("", "0"):
        return
    try:
        import cpjit

        cpjit.enable()
    except Exception as exc:  # never stop the interpreter from starting
        print(f"cpjit: not enabled: {exc}", file=sys.stderr)
