"""python -m cpjit: run a program with the JIT, like `python` itself.

    python -m cpjit script.py [args]
    python -m cpjit -m module [args]
    python -m cpjit -c code [args]
"""
import os
import runpy
import sys

USAGE = "usage: python -m cpjit [--stats] (script.py | -m module | -c code) [args...]"


def main(argv):
    show_stats = False
    while argv and argv[0] == "--stats":
        show_stats = True
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0

    import cpjit

    if argv[0] == "-m":
        if len(argv) < 2:
            print("python -m cpjit: -m needs a module name\n" + USAGE, file=sys.stderr)
            return 2
        sys.argv = argv[1:]
        target = ("module", argv[1])
    elif argv[0] == "-c":
        if len(argv) < 2:
            print("python -m cpjit: -c needs code\n" + USAGE, file=sys.stderr)
            return 2
        sys.argv = ["-c"] + argv[2:]
        target = ("code", argv[1])
    else:
        sys.argv = argv[:]
        target = ("path", argv[0])
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))

    if show_stats:
        import atexit

        atexit.register(lambda: print(f"cpjit stats: {cpjit.stats()}", file=sys.stderr))

    cpjit.enable()
    kind, what = target
    if kind == "module":
        sys.path[0] = os.getcwd()
        runpy.run_module(what, run_name="__main__", alter_sys=True)
    elif kind == "code":
        import builtins
        import types

        sys.path[0] = ""
        code = compile(what, "<string>", "exec")
        runner = sys.modules["__main__"]  # this module; keep it alive while the code runs
        main_mod = types.ModuleType("__main__")
        main_mod.__builtins__ = builtins
        sys.modules["__main__"] = main_mod
        try:
            exec(code, main_mod.__dict__)
        finally:
            del runner
    else:
        runpy.run_path(what, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
