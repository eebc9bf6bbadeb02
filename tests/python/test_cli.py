"""`python -m cpjit` behaves like `python`, and CPJIT=1 switches the JIT on at start-up through the
autoload .pth file (so subprocesses inherit it)."""
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PTH = ROOT / "python" / "cpjit-autoload.pth"


def run(args, env_extra=None, **kw):
    env = dict(os.environ)
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


def test_type_stub_matches_the_package():
    import ast

    import cpjit

    stub = ast.parse((ROOT / "python" / "cpjit" / "__init__.pyi").read_text())
    stubbed = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    assert stubbed == set(cpjit.__all__)
    for name in stubbed:
        assert callable(getattr(cpjit, name)), name
