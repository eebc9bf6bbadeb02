"""`python -m cpjit` behaves like `python`, and CPJIT=1 switches the JIT on at start-up through the
autoload .pth file (so subprocesses inherit it)."""
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

import cpjit

ROOT = pathlib.Path(__file__).resolve().parents[2]
PTH = ROOT / "python" / "cpjit-autoload.pth"
# Where the cpjit under test lives: this tree's python/ after .ci/dev-build (PYTHONPATH=python),
# site-packages after pip install (CI). Subprocesses get it on PYTHONPATH, never the tree's python/
# unconditionally: without a build there, it would shadow the installed package.
CPJIT_DIR = pathlib.Path(cpjit.__file__).resolve().parents[1]


def run(args, env_extra=None, **kw):
    env = dict(os.environ)
    # Absolute: some tests run in another working directory.
    env["PYTHONPATH"] = os.pathsep.join([str(CPJIT_DIR)] + [
        os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "prog.py"
    p.write_text(textwrap.dedent("""
        import sys, cpjit
        def work(n):
            return sum(i * i for i in range(n))
        print(__name__, sys.argv[1:], work(10), cpjit.is_enabled())
        if sys.argv[1:] == ['fail']:
            def boom():
                raise ValueError('boom')
            boom()
        if sys.argv[1:] == ['exit']:
            sys.exit(3)
    """))
    return p


def test_script_argv_and_main(script):
    plain = run([str(script), "a", "b"])
    jit = run(["-m", "cpjit", str(script), "a", "b"])
    assert plain.returncode == jit.returncode == 0, jit.stderr
    assert plain.stdout == "__main__ ['a', 'b'] 285 False\n"
    assert jit.stdout == "__main__ ['a', 'b'] 285 True\n"


def test_script_traceback_and_exit_codes(script):
    plain = run([str(script), "fail"])
    jit = run(["-m", "cpjit", str(script), "fail"])
    assert plain.returncode == jit.returncode == 1
    tail = lambda s: [l for l in s.stderr.splitlines() if l.strip().startswith(("File", "raise", "boom", "ValueError"))]
    assert tail(jit)[-3:] == tail(plain)[-3:]
    assert run(["-m", "cpjit", str(script), "exit"]).returncode == 3


def test_dash_c_and_dash_m(script):
    c = run(["-m", "cpjit", "-c", "import sys, cpjit; print(sys.argv, cpjit.is_enabled())", "x"])
    assert c.returncode == 0, c.stderr
    assert c.stdout == "['-c', 'x'] True\n"
    m = run(["-m", "cpjit", "-m", "prog", "y"], cwd=script.parent)
    assert m.returncode == 0, m.stderr
    assert m.stdout == "__main__ ['y'] 285 True\n"


def test_relative_pythonpath_still_finds_cpjit(script):
    # PYTHONPATH relative to the working directory, as `PYTHONPATH=python ...` in the README.
    rel = os.path.relpath(CPJIT_DIR, script.parent)
    m = run(["-m", "cpjit", "-m", "prog", "y"], {"PYTHONPATH": rel}, cwd=script.parent)
    assert m.returncode == 0, m.stderr
    assert m.stdout == "__main__ ['y'] 285 True\n"


def test_usage_errors():
    r = run(["-m", "cpjit"])
    assert r.returncode == 2 and "usage" in r.stderr


def userbase_with_pth(tmp_path):
    site = tmp_path / "userbase" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    shutil.copy(PTH, site / PTH.name)
    return str(tmp_path / "userbase")


def test_env_switch_enables_at_startup_and_is_inherited(tmp_path):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": "1", "CPJIT_THRESHOLD": "0"}
    code = textwrap.dedent("""
        import cpjit, subprocess, sys
        child = subprocess.run([sys.executable, '-c', 'import cpjit; print(cpjit.is_enabled())'],
                               capture_output=True, text=True)
        print(cpjit.is_enabled(), child.stdout.strip())
    """)
    r = run(["-c", code], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "True True\n"
    off = run(["-c", "import cpjit; print(cpjit.is_enabled())"], {**env, "CPJIT": "0"})
    assert off.stdout == "False\n"


@pytest.mark.parametrize("value", ["0", "", "false", "False", "OFF", "off", "no", "No", " 0 "])
def test_env_switch_off_spellings(tmp_path, value):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": value}
    r = run(["-c", "import cpjit; print(cpjit.is_enabled())"], env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "False\n", "")


@pytest.mark.parametrize("value", ["1", "true", "True", "ON", "yes", "YES"])
def test_env_switch_on_spellings(tmp_path, value):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": value}
    r = run(["-c", "import cpjit; print(cpjit.is_enabled())"], env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "True\n", "")


@pytest.mark.parametrize("value", ["maybe", "2", "jit", "offf"])
def test_env_switch_unrecognised_warns_once_and_stays_off(tmp_path, value):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": value}
    r = run(["-c", "import cpjit; print(cpjit.is_enabled())"], env)
    assert r.returncode == 0 and r.stdout == "False\n"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "CPJIT" in lines[0] and repr(value) in lines[0], r.stderr


@pytest.mark.parametrize("value", ["lots", "-1", "1.5", "99999999999"])
def test_bad_threshold_warns_once_and_uses_the_default(tmp_path, value):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": "1", "CPJIT_THRESHOLD": value}
    code = "import cpjit; cpjit.enable(); print(cpjit.is_enabled(), cpjit._cpjit.get_threshold())"
    r = run(["-c", code], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"True {__import__('cpjit').DEFAULT_THRESHOLD}\n"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "CPJIT_THRESHOLD" in lines[0] and repr(value) in lines[0], r.stderr


def test_good_threshold_is_used(tmp_path):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": "1", "CPJIT_THRESHOLD": " 7 "}
    r = run(["-c", "import cpjit; print(cpjit._cpjit.get_threshold())"], env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "7\n", "")


def test_stats_file_is_written_at_exit(tmp_path):
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": "1",
           "CPJIT_STATS_FILE": str(tmp_path / "stats")}
    r = run(["-c", "def f(x):\n    return x + 1\nprint(f(1))"], env)
    assert r.returncode == 0, r.stderr
    files = list(tmp_path.glob("stats.*"))
    assert len(files) == 1
    import json
    stats = json.loads(files[0].read_text())
    assert stats["frames_native"] >= 1 and stats["compiled"] >= 1


def test_stats_file_of_a_forked_child_is_its_own(tmp_path):
    # A child forked after start-up that exits through its exit handlers writes stats under its
    # own pid, never over its parent's file.
    env = {"PYTHONUSERBASE": userbase_with_pth(tmp_path), "CPJIT": "1",
           "CPJIT_STATS_FILE": str(tmp_path / "stats")}
    code = ("import os, sys\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    print('child', os.getpid(), flush=True)\n"
            "    sys.exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "print('parent', os.getpid())\n")
    r = run(["-c", code], env)
    assert r.returncode == 0, r.stderr
    pids = sorted(int(line.split()[1]) for line in r.stdout.splitlines())
    names = sorted(p.name for p in tmp_path.glob("stats.*"))
    assert names == sorted(f"stats.{pid}" for pid in pids)
    import json
    for name in names:
        assert "frames_native" in json.loads((tmp_path / name).read_text())


def test_type_stub_matches_the_package():
    import ast

    import cpjit

    stub = ast.parse((ROOT / "python" / "cpjit" / "__init__.pyi").read_text())
    stubbed = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    assert stubbed == set(cpjit.__all__)
    for name in stubbed:
        assert callable(getattr(cpjit, name)), name


# `python -m cpjit ARGS` against `python ARGS`: the same stdout, stderr (byte for byte, object
# addresses aside) and exit status.

def both(args, cwd, stdin=None, merged=False):
    import re

    procs = []
    for prefix in ([], ["-m", "cpjit"]):  # side by side: half the wall time
        env = dict(os.environ)
        env["PYTHONPATH"] = str(CPJIT_DIR)
        procs.append(subprocess.Popen(
            [sys.executable, *prefix, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE))
    out = []
    for p in procs:
        stdout, stderr = p.communicate(stdin, timeout=120)
        clean = lambda b: re.sub(rb"0x[0-9a-f]+", b"0x?", b or b"")
        out.append((p.returncode, clean(stdout), clean(stderr)))
    plain, jit = out
    assert jit == plain, f"\nplain: {plain}\ncpjit: {jit}"
    return plain


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


SHOW = """
    import sys, warnings
    def frames():
        f, n = sys._getframe(1), 0
        while f:
            n, f = n + 1, f.f_back
        return n
    print(sys.argv, sys.path[0], __name__, __package__, __spec__ and __spec__.name)
    print(list(globals()))
    print(globals().get('__file__'), globals().get('__cached__'), type(__loader__).__name__,
          __loader__.__name__ if isinstance(__loader__, type) else '', type(__builtins__).__name__)
    print('frames', frames(), sys.modules['__main__'].__dict__ is globals())
    warnings.warn('top', stacklevel=2)
    import atexit
    atexit.register(lambda: print('at exit:', '__file__' in sys.modules['__main__'].__dict__))
"""


def test_cli_script_main_module_and_paths(tmp_path):
    write(tmp_path / "sub" / "show.py", SHOW)
    both(["sub/show.py", "a", "-b"], tmp_path)
    both([str(tmp_path / "sub" / "show.py")], tmp_path / "sub")
    both(["./sub/../sub/show.py"], tmp_path)


def test_cli_script_through_a_symlink(tmp_path):
    write(tmp_path / "real" / "show.py", SHOW)
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "show.py").symlink_to(tmp_path / "real" / "show.py")
    both(["link/show.py"], tmp_path)


def test_cli_dash_c_and_stdin(tmp_path):
    both(["-c", textwrap.dedent(SHOW), "x", "y"], tmp_path)
    both(["-", "z"], tmp_path, stdin=textwrap.dedent(SHOW).encode())


def test_cli_dash_m_module_and_package(tmp_path):
    write(tmp_path / "mod.py", SHOW)
    write(tmp_path / "pkg" / "__init__.py", "import sys; print('init', sys.argv)\n")
    write(tmp_path / "pkg" / "__main__.py", SHOW)
    both(["-m", "mod", "1"], tmp_path)
    both(["-m", "pkg", "2"], tmp_path)


def test_cli_directory_and_zip_with_main(tmp_path):
    import zipfile

    write(tmp_path / "app" / "__main__.py", SHOW)
    both(["app", "q"], tmp_path)
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as z:
        z.writestr("__main__.py", textwrap.dedent(SHOW))
    both(["app.zip", "r"], tmp_path)


def test_cli_pyc_file(tmp_path):
    import py_compile

    src = write(tmp_path / "show.py", SHOW)
    py_compile.compile(str(src), cfile=str(tmp_path / "show.pyc"), doraise=True)
    src.unlink()
    both(["show.pyc"], tmp_path)


def test_cli_errors_before_the_program_runs(tmp_path):
    (tmp_path / "empty").mkdir()
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "bad.py", "x = 1\ndef (:\n")
    write(tmp_path / "badmod.py", "x = (\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\0\n")
    cases = [
        ["nosuch.py"],              # can't open file, exit 2
        [str(tmp_path / "nosuch.py")],
        ["empty"],                  # can't find '__main__' module
        ["-m", "nosuch"],           # No module named
        ["-m", "pkg"],              # a package without __main__
        ["-m", "pkg.nosuch"],
        ["bad.py"],                 # SyntaxError: no Traceback header
        ["-c", "def (:"],
        ["-m", "badmod"],           # SyntaxError through runpy
        ["nul.py"],                 # the file tokenizer's own message
    ]
    status = [both(args, tmp_path)[0] for args in cases]
    assert status == [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]


def test_cli_source_encodings(tmp_path):
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nprint('caf\xe9')\n")
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfprint('bom')\n")
    (tmp_path / "wrong.py").write_bytes(b"print('caf\xe9')\n")
    for name in ("latin.py", "bom.py", "wrong.py"):
        both([name], tmp_path)


PROGRAM = """
    import sys
    def inner(n):
        if n == 0:
            {raise_}
        return inner(n - 1)
    def outer():
        try:
            inner(3)
        except KeyError as e:
            raise ValueError('chained') from e
    print('before')
    outer()
"""


@pytest.mark.parametrize("raise_", [
    "raise KeyError('k')",
    "raise SystemExit('message to stderr')",
    "raise SystemExit(None)",
    "raise SystemExit(7)",
    "sys.exit()",
    "raise KeyboardInterrupt",
    "raise RecursionError('r')",
])
def test_cli_program_exceptions_and_exit_status(tmp_path, raise_):
    source = PROGRAM.replace("{raise_}", raise_)
    write(tmp_path / "prog.py", source)
    write(tmp_path / "progmod.py", source)
    both(["prog.py"], tmp_path)
    if "KeyError" in raise_ or "message" in raise_ or "Interrupt" in raise_:
        both(["-c", textwrap.dedent(source)], tmp_path)
        both(["-m", "progmod"], tmp_path)
    if raise_.startswith("raise KeyError"):
        # One stream: stdout is flushed before the traceback for a script, not for -m.
        both(["prog.py"], tmp_path, merged=True)
        both(["-m", "progmod"], tmp_path, merged=True)


def test_cli_recursion_limit_is_the_programs(tmp_path):
    write(tmp_path / "deep.py", """
        import sys
        def depth(n):
            try:
                return depth(n + 1)
            except RecursionError:
                return n
        sys.setrecursionlimit(200)
        print(depth(0) > 150, len(__import__('traceback').extract_stack()))
    """)
    both(["deep.py"], tmp_path)


def test_cli_excepthook_set_by_the_program_gets_the_programs_traceback(tmp_path):
    write(tmp_path / "hook.py", """
        import sys, traceback
        def hook(t, v, tb):
            print('hook', t.__name__, [f.name for f in traceback.extract_tb(tb)], tb is v.__traceback__)
        sys.excepthook = hook
        def f():
            raise OSError('x')
        f()
    """)
    both(["hook.py"], tmp_path)


def test_cli_program_that_deleted_excepthook(tmp_path):
    write(tmp_path / "nohook.py", """
        import sys
        del sys.excepthook
        def f():
            raise ValueError(1)
        f()
    """)
    both(["nohook.py"], tmp_path)


@pytest.mark.parametrize("hook", [
    "None",
    "5",
    "lambda t, v, tb: 1 / 0",
    "lambda t, v, tb: sys.exit(4)",
    "lambda t, v, tb: exec('raise KeyError(7)')",
])
def test_cli_program_whose_excepthook_fails(tmp_path, hook):
    # PyErr_Print calls the hook from C: "Error in sys.excepthook", the hook's error with the
    # hook's own frames only, then the original exception; a SystemExit from the hook exits.
    write(tmp_path / "badhook.py", f"""
        import sys
        sys.excepthook = {hook}
        def f():
            raise ValueError(1)
        f()
    """)
    both(["badhook.py"], tmp_path)
    both(["badhook.py"], tmp_path, merged=True)


@pytest.mark.parametrize("ending", ["", "raise ValueError('x')", "sys.exit(3)"])
def test_a_program_that_leaves_a_very_low_recursion_limit(tmp_path, ending):
    # The runner's epilogue (flushing, reporting) runs Python frames below the program's level;
    # a limit of 5 left by the program made it fail with a RecursionError (exit 1). The limit
    # is raised for the epilogue and given back before the program's atexit callbacks run.
    p = tmp_path / "low.py"
    p.write_text(textwrap.dedent("""
        import sys, atexit
        sys.setrecursionlimit(5)
        atexit.register(lambda: print("atexit sees", sys.getrecursionlimit()))
        print("ok")
    """) + ending + "\n")
    plain = run([str(p)])
    jit = run(["-m", "cpjit", str(p)])
    assert (jit.returncode, jit.stdout, jit.stderr.replace(str(p), "P")) == \
        (plain.returncode, plain.stdout, plain.stderr.replace(str(p), "P"))
