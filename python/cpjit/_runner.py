# `python -m cpjit` (a comment, not a docstring: this module is imported at every start of it,
# and docstrings are unmarshalled with it).
#
# `python -m cpjit`: run a program with the JIT on, exactly as `python` would run it.
#
#     python -m cpjit [--stats] script.py [args]     a script, a directory or zip file with
#                                                    __main__.py, or a .pyc file
#     python -m cpjit [--stats] -m module [args]     a module or a package with __main__
#     python -m cpjit [--stats] -c code [args]       a command
#     python -m cpjit [--stats] - [args]             the program on stdin
#
# Each step follows CPython 3.11's Modules/main.c and Python/pythonrun.c, so what the program
# sees and what the user sees are what `python` gives: sys.argv, sys.path[0], the __main__ module
# (the same module object, its attributes in the same order), the messages and exit codes for a
# missing script (2), a directory without __main__.py, a missing module (1), a syntax error, and
# a program's own traceback. The program runs at the top of the frame stack (csrc/toplevel.c): no
# frame of cpjit's or runpy's is below it, so tracebacks, sys._getframe, warnings' stacklevel and
# the recursion limit are as under `python`. An exception that escapes is reported by
# sys.excepthook with the traceback plain python would give, KeyboardInterrupt exits by SIGINT,
# SystemExit exits as usual. Only sys.orig_argv and sys.modules still show cpjit.
#
import os
import sys

USAGE = ("usage: python -m cpjit [--stats] (script.py | -m module | -c code | -) [args...]\n"
         "  runs the program as `python` would, with the JIT on; --stats prints cpjit.stats() "
         "at exit")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    show_stats = False
    while argv and argv[0] == "--stats":
        show_stats = True
        argv = argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        sys.exit(0 if argv else 2)
    if argv[0] in ("-m", "-c") and len(argv) < 2:
        print(f"Argument expected for the {argv[0]} option\n{USAGE}", file=sys.stderr)
        sys.exit(2)

    import cpjit

    if show_stats:
        import atexit

        atexit.register(lambda: print(f"cpjit stats: {cpjit.stats()}", file=sys.stderr))
    main_dict = _fresh_main()
    kind = argv[0]
    if kind == "-c":
        sys.argv = ["-c"] + argv[2:]
        _set_path0("")
        sys.audit("cpython.run_command", argv[1])
        _run_code(lambda: compile(argv[1], "<string>", "exec", dont_inherit=True), main_dict)
    elif kind == "-m":
        # sys.path[0] stays the working directory `python -m cpjit` put there, as -m does.
        sys.argv = ["-m"] + argv[2:]
        import runpy

        _run_toplevel(runpy._run_module_as_main, (argv[1], True))
    elif kind == "-":
        sys.argv = argv[:]
        _set_path0("")
        main_dict["__file__"] = "<stdin>"
        main_dict["__cached__"] = None
        _run_toplevel(None, main_dict, flush=True, after=_forget(main_dict))
    else:
        sys.argv = argv[:]
        _run_path(argv[0], main_dict)


def _fresh_main():
    """Make the __main__ module (runpy ran cpjit's __main__.py in it) what it is at start-up."""
    import builtins

    from _frozen_importlib import BuiltinImporter  # not importlib: import no more than needed

    d = sys.modules["__main__"].__dict__
    d.clear()
    d.update(__name__="__main__", __doc__=None, __package__=None, __loader__=BuiltinImporter,
             __spec__=None, __annotations__={}, __builtins__=builtins)
    return d


def _set_path0(path0):
    """Replace the working directory `python -m cpjit` put first on sys.path (unless -P)."""
    if not sys.flags.safe_path:
        sys.path[0] = path0


def _sys_path0(argv0):
    """_PyPathConfig_ComputeSysPath0 for a script: its directory, symlinks resolved."""
    path0 = argv0
    try:
        link = os.readlink(path0)
    except (OSError, ValueError):
        link = ""
    if link:
        if link.startswith("/"):
            path0 = link
        elif "/" in link:
            q = path0.rfind("/")
            path0 = link if q < 0 else path0[:q + 1] + link
    try:
        path0 = os.path.realpath(path0, strict=True)
    except (OSError, ValueError):
        pass
    p = path0.rfind("/")
    if p < 0:
        return ""
    return path0[:p] if p > 0 else path0[:1]


def _get_importer(path):
    """PyImport_GetImporter: the path hook that takes `path` (a directory or zip file), or None."""
    cache = sys.path_importer_cache
    if path in cache:
        return cache[path]
    cache[path] = None
    for hook in sys.path_hooks:
        try:
            importer = hook(path)
        except ImportError:
            continue
        if importer is not None:
            cache[path] = importer
        return importer
    return None


def _run_path(script, main_dict):
    """pymain_run_python for a file name: a directory or zip file with __main__, else a file."""
    # config_run_filename_abspath: the working directory joined, not normalised.
    filename = script if script.startswith("/") else (
        os.getcwd() if script in ("", ".") else os.getcwd() + "/" + script)
    if _get_importer(filename) is not None:
        if sys.flags.safe_path:
            sys.path.insert(0, filename)
        else:
            sys.path[0] = filename
        import runpy

        _run_toplevel(runpy._run_module_as_main, ("__main__", False))
        return
    _set_path0(_sys_path0(script))
    sys.audit("cpython.run_file", filename)
    program = sys.orig_argv[0] if sys.orig_argv else "python"
    try:
        f = open(filename, "rb")
    except OSError as exc:
        print(f"{program}: can't open file {filename!r}: [Errno {exc.errno}] "
              f"{os.strerror(exc.errno)}", file=sys.stderr)
        sys.exit(2)
    with f:
        if os.path.isdir(filename):
            print(f"{program}: {filename!r} is a directory, cannot continue", file=sys.stderr)
            sys.exit(1)
        data = f.read(2)
    from _frozen_importlib_external import MAGIC_NUMBER

    main_dict["__file__"] = filename
    main_dict["__cached__"] = None
    if filename.endswith(".pyc") or data[:2] == MAGIC_NUMBER[:2]:
        from _frozen_importlib_external import SourcelessFileLoader

        main_dict["__loader__"] = SourcelessFileLoader("__main__", filename)

        def load():
            import marshal

            with open(filename, "rb") as f:
                data = f.read()
            if data[:4] != MAGIC_NUMBER:
                raise RuntimeError("Bad magic number in .pyc file")
            code = marshal.loads(data[16:])
            if not isinstance(code, type(load.__code__)):
                raise RuntimeError("Bad code object in .pyc file")
            return code
    else:
        from _frozen_importlib_external import SourceFileLoader

        main_dict["__loader__"] = SourceFileLoader("__main__", filename)
        # Parsed from the file by CPython's own file tokenizer, as python does.
        _run_toplevel(filename, main_dict, flush=True, after=_forget(main_dict))
        return
    _run_code(load, main_dict, filename=filename, flush=True)


def _run_code(load, main_dict, filename=None, flush=False):
    """Compile (`load`) and run the program's code in __main__, as PyRun_* does. For a file
    (`filename`, whose __file__ and __cached__ are set), they are taken away again once it ran,
    after the report of an exception, but not after SystemExit."""
    def forget_file():
        if filename is not None:
            main_dict.pop("__file__", None)
            main_dict.pop("__cached__", None)

    try:
        code = load()
    except SystemExit:
        raise
    except BaseException as exc:
        _flush_io(flush)
        _report_at_exit(exc, None, forget_file)
        raise
    _run_toplevel(code, main_dict, flush=flush, after=forget_file)


def _forget(main_dict):
    """After a file ran: PyRun_SimpleFile takes __file__ and __cached__ away again."""
    def forget():
        main_dict.pop("__file__", None)
        main_dict.pop("__cached__", None)
    return forget


def _run_toplevel(target, arg, flush=False, after=None):
    """Run the program (`target`, see toplevel.rs) with the JIT on. The JIT is switched on here,
    just before the program's first frame, so that the runner's own code stays interpreted:
    the functions that still run after this point (here, _flush_io, _report_at_exit) have no
    loops, so none of them is compiled (a function with a loop compiles at its first call)."""
    import cpjit
    from cpjit import _cpjit

    here = sys._getframe()
    cpjit.enable()
    try:
        _cpjit.run_toplevel(target, arg)
    except SystemExit:
        raise
    except BaseException as exc:
        _flush_io(flush)
        _report_at_exit(exc, _program_traceback(exc, here), after)
        raise
    _flush_io(flush)
    if after is not None:
        after()


def _program_traceback(exc, here):
    """The program's traceback: the entries after `here`'s, if they start at the top."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame is not here:
        tb = tb.tb_next
    tb = tb.tb_next if tb is not None else None
    if tb is not None and tb.tb_frame.f_back is not None:
        tb = None
    return tb


def _flush_io(flush):
    """flush_io in Python/pythonrun.c: stderr, then stdout, errors ignored."""
    if flush:
        _flush(sys.stderr)
        _flush(sys.stdout)


def _flush(stream):
    try:
        if stream is not None:
            stream.flush()
    except Exception:  # flush_io ignores errors
        pass


def _report_at_exit(exc, tb, after):
    """Let `exc` escape as an unhandled exception (so that the interpreter exits as `python`
    does: status 1, or SIGINT for KeyboardInterrupt), but have sys.excepthook report it with
    the program's own traceback `tb`, without cpjit's frames."""
    missing = object()
    hook = getattr(sys, "excepthook", missing)

    def excepthook(exc_type, value, traceback, /):
        if value is exc:
            value.__traceback__ = traceback = tb
            sys.last_traceback = tb
        try:
            if hook is missing:  # the program deleted it: what PyErr_Print does then
                del sys.excepthook
                print("sys.excepthook is missing", file=sys.stderr)
                sys.__excepthook__(exc_type, value, traceback)
                return
            sys.excepthook = hook
            try:
                hook(exc_type, value, traceback)  # None or any object: called as C calls it
            except SystemExit:
                raise  # the interpreter exits with its status, as after the hook itself
            except BaseException as failed:
                # What PyErr_Print reports when the hook fails, with the hook's own traceback
                # (this frame taken off: the interpreter calls the hook from C).
                failed_tb = failed.__traceback__.tb_next
                print("Error in sys.excepthook:", file=sys.stderr)
                sys.__excepthook__(type(failed), failed.with_traceback(failed_tb), failed_tb)
                print("\nOriginal exception was:", file=sys.stderr)
                sys.__excepthook__(exc_type, value, traceback)
        finally:
            if after is not None:
                after()

    sys.excepthook = excepthook
