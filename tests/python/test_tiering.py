"""Tiering: code runs in the interpreter until it is warm; only warm code is compiled.

Under a threshold N > 0 (the default for `cpjit.enable()`, `CPJIT=1` and `python -m cpjit`):
a function whose bytecode has a loop compiles at its first call if __main__ defines it (no
on-stack replacement out of the interpreter exists, so a loop in a function called once must
start native), and once its interpreted calls have spent a time budget if a library does;
anything else (module and class bodies included, loops or not) compiles after N interpreted
calls. Threshold 0 compiles every code object at its first call.

These rules are those of calls that reach cpjit's hook: the tests here run with cold regions
off (`sample_us=0`), since pytest's and the tests' own helpers are library functions whose
cold calls would otherwise run the code under test with the hook taken out
(test_cold_regions.py).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time
import types

import pytest

import cpjit
from differential import check

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The cpjit under test (this tree's python/ after .ci/dev-build, site-packages after pip install).
CPJIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(cpjit.__file__)))


def state(obj):
    info = cpjit.code_info(obj)
    return info["state"] if info else None


@pytest.fixture
def tiered():
    """cpjit enabled with threshold 5 (no warm window: the count alone decides, whatever the
    machine's load), disabled afterwards."""
    cpjit.enable(threshold=5, warm_window_ms=0, sample_us=0)
    try:
        yield 5
    finally:
        cpjit.disable()


def test_default_threshold_is_tiered():
    assert cpjit.DEFAULT_THRESHOLD > 0
    env = {k: v for k, v in os.environ.items() if k != "CPJIT_THRESHOLD"}
    r = subprocess.run([sys.executable, "-c", "import cpjit; print(cpjit.threshold_from_env())"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.stdout.strip() == str(cpjit.DEFAULT_THRESHOLD), r.stderr


LOOPS = """
    def main(n):
        total = 0
        for i in range(n):
            total += i * i
        return total
    def countdown(n):
        while n:
            n -= 1
        return n
    def gen(n):
        for i in range(n):
            yield i
"""


def _define_in(module_name, source):
    ns = {"__name__": module_name}
    exec(textwrap.dedent(source), ns)
    return ns


def _run_loops(ns):
    assert ns["main"](1000) == sum(i * i for i in range(1000))
    assert ns["countdown"](50) == 0
    assert list(ns["gen"](4)) == [0, 1, 2, 3]
    return {name: state(ns[name]) for name in ("main", "countdown", "gen")}


def test_loop_functions_of_main_compile_at_first_call(tiered):
    # A script's main() with a hot loop, called once, must run native.
    ns = _define_in("__main__", LOOPS)
    assert _run_loops(ns) == {"main": "compiled", "countdown": "compiled", "gen": "compiled"}


def test_library_loop_functions_wait_for_their_time_budget():
    ns = _define_in("some_library", LOOPS)
    cpjit.enable(threshold=100, loop_budget_ns=10**9, sample_us=0)
    try:
        assert _run_loops(ns) == {"main": "counting", "countdown": "counting", "gen": "counting"}
        info = cpjit.code_info(ns["main"])
        assert info["calls"] == 1 and info["interpreted_ns"] > 0
        # A budget of 1 ns per code unit is spent by any call: each compiles at its next call.
        cpjit.enable(threshold=100, loop_budget_ns=1, sample_us=0)
        assert _run_loops(ns) == {"main": "compiled", "countdown": "compiled", "gen": "compiled"}
    finally:
        cpjit.disable()


def test_loop_budget_zero_compiles_library_loops_at_first_call():
    ns = _define_in("some_library", LOOPS)
    cpjit.enable(threshold=100, loop_budget_ns=0, sample_us=0)
    try:
        assert _run_loops(ns) == {"main": "compiled", "countdown": "compiled", "gen": "compiled"}
    finally:
        cpjit.disable()


def test_loop_budget_is_checked_and_read_from_the_environment():
    with pytest.raises(ValueError):
        cpjit.enable(loop_budget_ns=-1)
    assert not cpjit.is_enabled()
    _check_env_reader("CPJIT_LOOP_BUDGET_NS", "loop_budget_from_env",
                      (("250", "250", False), ("lots", str(cpjit.DEFAULT_LOOP_BUDGET_NS), True)))


def _check_env_reader(var, reader, cases):
    """cpjit.<reader>() in a fresh interpreter, for each (value of `var`, printed result, whether
    a warning names the variable)."""
    probe = f"import cpjit; print(cpjit.{reader}())"
    for raw, expect, warned in cases:
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, **{var: raw}, PYTHONPATH=CPJIT_DIR))
        assert r.stdout.strip() == expect
        assert (f"invalid {var}" in r.stderr) == warned, r.stderr


def test_sample_period_is_checked_and_read_from_the_environment():
    # Cold regions' sampling period (test_cold_regions.py).
    with pytest.raises(ValueError):
        cpjit.enable(sample_us=-1)
    assert not cpjit.is_enabled()
    _check_env_reader("CPJIT_SAMPLE_US", "sample_from_env",
                      (("250", "250", False), ("often", str(cpjit.DEFAULT_SAMPLE_US), True)))


def test_top_level_grace_is_checked_and_read_from_the_environment():
    # How long a script's top level runs as a cold region at most (test_top_level.py).
    with pytest.raises(ValueError):
        cpjit.enable(top_level_ms=-1)
    assert not cpjit.is_enabled()
    _check_env_reader("CPJIT_TOP_LEVEL_MS", "top_level_from_env",
                      (("250", "250", False), ("0", "0", False),
                       ("soon", str(cpjit.DEFAULT_TOP_LEVEL_MS), True)))


def test_tier_down_threshold_is_checked_and_read_from_the_environment():
    # Tier-down trials' least time per root call (test_tier_trials.py).
    with pytest.raises(ValueError):
        cpjit.enable(tier_down_us=-1)
    assert not cpjit.is_enabled()
    _check_env_reader("CPJIT_TIER_DOWN_US", "tier_down_from_env",
                      (("50", "50", False), ("0", "0", False),
                       ("slow", str(cpjit.DEFAULT_TIER_DOWN_US), True)))


def test_loopless_code_compiles_only_when_its_calls_come_within_the_window():
    def quick(x):
        return x + 1

    def seldom(x):
        return x + 2

    cpjit.enable(threshold=4, warm_window_ms=200, sample_us=0)
    try:
        assert cpjit._cpjit.get_warm_window_ms() == 200
        for i in range(6):
            assert quick(i) == i + 1
        assert state(quick) == "compiled"
        # Four calls 100 ms apart take at least 300 ms: never warm, however often called.
        for i in range(9):
            assert seldom(i) == i + 2
            time.sleep(0.1)
        assert state(seldom) == "counting"
        # A burst within the window: a new window starts, and it fills.
        for i in range(8):
            assert seldom(i) == i + 2
        assert state(seldom) == "compiled"
    finally:
        cpjit.disable()


def test_warm_window_zero_leaves_the_count_alone_to_decide():
    def seldom(x):
        return -x

    cpjit.enable(threshold=3, warm_window_ms=0, sample_us=0)
    try:
        for i in range(4):
            assert seldom(i) == -i
            time.sleep(0.05)
        assert state(seldom) == "compiled"
    finally:
        cpjit.disable()


def test_warm_window_is_checked_and_read_from_the_environment():
    with pytest.raises(ValueError):
        cpjit.enable(warm_window_ms=-1)
    assert not cpjit.is_enabled()
    _check_env_reader("CPJIT_WARM_WINDOW_MS", "warm_window_from_env",
                      (("75", "75", False), ("0", "0", False),
                       ("soon", str(cpjit.DEFAULT_WARM_WINDOW_MS), True)))
    # `python -m cpjit` (and CPJIT=1, through the same enable()) applies it.
    probe = "import cpjit; print(cpjit.is_enabled(), cpjit._cpjit.get_warm_window_ms())"
    r = subprocess.run([sys.executable, "-m", "cpjit", "-c", probe], capture_output=True,
                       text=True, timeout=60,
                       env=dict(os.environ, CPJIT_WARM_WINDOW_MS="75", PYTHONPATH=CPJIT_DIR))
    assert r.stdout.strip() == "True 75", r.stderr


def test_loopless_function_waits_for_the_threshold(tiered):
    def leaf(x):
        return x + 1

    for i in range(tiered):
        assert leaf(i) == i + 1
        assert state(leaf) == "counting"
    assert leaf(1) == 2
    assert state(leaf) == "compiled"


def test_module_and_class_bodies_are_not_compiled(tiered):
    source = textwrap.dedent("""
        squares = []
        for i in range(100):
            squares.append(i * i)
        class C:
            for j in range(3):
                pass
            def method(self):
                return 1
        result = (sum(squares), C().method())
    """)
    code = compile(source, "<tiering>", "exec")
    ns = {}
    exec(code, ns)
    assert ns["result"] == (328350, 1)
    class_body = next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == "C")
    assert state(code) == "counting", "a module body with a loop must stay interpreted"
    assert state(class_body) == "counting", "a class body with a loop must stay interpreted"


def test_threshold_zero_compiles_everything_at_first_call():
    code = compile("result = [i for i in range(3)]\ndef f():\n    return 1\nresult.append(f())",
                   "<tiering>", "exec")
    ns = {}
    cpjit.enable(threshold=0, sample_us=0)
    try:
        exec(code, ns)
    finally:
        cpjit.disable()
    assert ns["result"] == [0, 1, 2, 1]
    assert state(code) == "compiled"
    assert state(ns["f"]) == "compiled"


def test_a_lowered_threshold_applies_to_code_already_counting():
    def leaf(x):
        return x * 2

    cpjit.enable(threshold=100, warm_window_ms=0, sample_us=0)
    try:
        leaf(1)
        assert state(leaf) == "counting"
        cpjit.enable(threshold=0, sample_us=0)
        assert leaf(2) == 4
        assert state(leaf) == "compiled"
    finally:
        cpjit.disable()


def test_results_agree_under_the_default_threshold():
    check("""
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def main():
            out = []
            for k in range(12):
                out.append(fib(k))
            return out
        class Point:
            def __init__(self, x):
                self.x = x
        result = (main(), [Point(i).x for i in range(5)])
    """, threshold=cpjit.DEFAULT_THRESHOLD)


def _userbase_with_pth(tmp_path):
    site = tmp_path / "userbase" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    shutil.copy(ROOT / "python" / "cpjit-autoload.pth", site)
    return str(tmp_path / "userbase")


PROBE = textwrap.dedent("""
    import sys, cpjit
    def leaf():
        return 1
    def loop():
        t = 0
        for i in range(10):
            t += i
        return t
    leaf(); loop()
    def state(code):
        info = cpjit.code_info(code)
        return info and info["state"]
    print(cpjit.is_enabled(), state(sys._getframe().f_code), state(leaf), state(loop))
""")


# With a threshold the script's top level runs as a cold region (cold_regions.c,
# cpjit_run_top_level), the interpreter inlining its calls: the hook sees only the top level,
# none of its callees (no state), as a short program needs. With CPJIT_TOP_LEVEL_MS=0 it runs
# under the hook, and `loop`, a loop function of __main__, runs interpreted until its loop
# budget is spent (ten rounds never spend it), then goes on natively (test_main_loops.py).
@pytest.mark.parametrize("threshold, expect", [
    (None, "True counting None None"),
    ("0", "True compiled compiled compiled"),
    ("3", "True counting None None"),
    ("3 hooked", "True counting counting counting"),
])
def test_env_threshold_is_honoured(tmp_path, threshold, expect):
    env = dict(os.environ, CPJIT="1", PYTHONUSERBASE=_userbase_with_pth(tmp_path),
               PYTHONPATH=CPJIT_DIR)
    env.pop("CPJIT_THRESHOLD", None)
    if threshold is not None:
        env["CPJIT_THRESHOLD"] = threshold.split()[0]
        if threshold.endswith("hooked"):
            env["CPJIT_TOP_LEVEL_MS"] = "0"
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expect


def test_python_m_cpjit_uses_the_tiered_default(tmp_path):
    env = dict(os.environ, PYTHONPATH=CPJIT_DIR)
    env.pop("CPJIT_THRESHOLD", None)
    r = subprocess.run([sys.executable, "-m", "cpjit", "-c", PROBE], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True counting None None"


def _exec_as_module(name, threshold):
    source = textwrap.dedent("""
        def setup(n):
            table = {}
            for i in range(n):
                table[i] = i * i
            return table
        TABLE = setup(50)
    """)
    ns = {"__name__": name}
    cpjit.enable(threshold=threshold, warm_window_ms=0, sample_us=0)
    try:
        exec(compile(source, f"<{name}>", "exec"), ns)
    finally:
        cpjit.disable()
    assert ns["TABLE"][7] == 49
    return state(ns["setup"])


def test_loops_run_while_a_module_initialises_wait_for_the_threshold():
    # Start-up code: a loop function called by an imported module's body is not compiled at
    # its first call; called by __main__'s body (a script's main()), it is.
    assert _exec_as_module("some_library", 5) == "counting"
    assert _exec_as_module("__main__", 5) == "compiled"
    assert _exec_as_module("some_library", 0) == "compiled"


def test_a_scripts_top_level_loop_compiles_at_first_call():
    # The module body of __main__ with a loop (a script's top-level hot loop) compiles at its
    # first call; the same body as another module's, or a class body in __main__, does not.
    source = textwrap.dedent("""
        def step(x):
            return x + 1
        n = 0
        for i in range(100):
            n = step(n)
        class K:
            for j in range(3):
                pass
    """)
    states = {}
    for name in ("__main__", "other"):
        code = compile(source, f"<{name}>", "exec")
        ns = {"__name__": name}
        cpjit.enable(threshold=5, warm_window_ms=0, sample_us=0)
        try:
            exec(code, ns)
        finally:
            cpjit.disable()
        assert ns["n"] == 100
        class_body = next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == "K")
        states[name] = (state(code), state(class_body))
    assert states == {"__main__": ("compiled", "counting"), "other": ("counting", "counting")}


def _cold_stats():
    return cpjit.stats()["frames_interpreted"]


LEAF_CALLED_FROM_A_CLASS_BODY = """
    import sys
    def leaf(x):
        return (x, sys._getframe(1).f_lasti, sys._getframe(1).f_lineno)
    class C:
        seen = []
        for i in range(12):
            seen.append(leaf(i))
"""


def test_cold_calls_from_interpreted_code_are_counted_then_compile(tiered):
    # Calls made by interpreted code (a class body) to a loopless function below the threshold:
    # the hook's in-line cold case counts each one and interprets it; at the threshold it
    # compiles, and the results and the caller's view stay the interpreter's.
    ns = {}
    exec(textwrap.dedent(LEAF_CALLED_FROM_A_CLASS_BODY), ns)
    leaf = ns["leaf"]
    assert [s[0] for s in ns["C"].seen] == list(range(12))
    assert len({s[1:] for s in ns["C"].seen}) == 1  # the same CALL, whichever tier ran leaf
    assert state(leaf) == "compiled"
    check(LEAF_CALLED_FROM_A_CLASS_BODY + "    result = C.seen\n", native=False, threshold=5)


def test_cold_case_counts_exactly_the_interpreted_calls(tiered):
    def leaf():
        return 1

    before = _cold_stats()["cold"]
    exec("for _ in range(3): leaf()", {"leaf": leaf})
    info = cpjit.code_info(leaf)
    assert (info["state"], info["calls"], info["interpreted_ns"]) == ("counting", 3, 0)
    assert _cold_stats()["cold"] - before >= 3


def test_cold_case_guards(tiered):
    # Each condition of the in-line cold case falls back to the general decision: a loop
    # function compiles at its first call (here with no time budget), a module body counts (the
    # general path) and compiles at the threshold, a traced call is not counted, and a function
    # at the threshold compiles.
    cpjit.enable(threshold=tiered, loop_budget_ns=0, warm_window_ms=0, sample_us=0)

    def loop():
        t = 0
        for i in range(3):
            t += i
        return t

    def leaf():
        return 2

    ns = {"__name__": "__main__", "loop": loop, "leaf": leaf}
    exec("for _ in range(2): loop()", ns)
    assert state(loop) == "compiled"

    body = compile("x = leaf()", "<body>", "exec")
    for _ in range(tiered):
        exec(body, ns)
        assert state(body) == "counting"
    exec(body, ns)
    assert state(body) == "compiled"

    calls = cpjit.code_info(leaf)["calls"]
    events = []
    sys.settrace(lambda frame, event, arg: events.append(event) or None)
    try:
        exec("leaf()", ns)
    finally:
        sys.settrace(None)
    assert "call" in events
    assert cpjit.code_info(leaf)["calls"] == calls, "a traced call is not counted"

    for _ in range(tiered):
        exec("leaf()", ns)
    assert state(leaf) == "compiled"


COLD_CALLEES_OF_NATIVE_CODE = """
    import sys
    class K:
        def meth(self, a, b=2):
            return (a, b, sys._getframe(1).f_lasti, sys.getrefcount(self) > 1)
    def leaf(a, b):
        return (a + b, sys._getframe(1).f_lasti, sys._getframe(1).f_lineno)
    def with_default(a, b=10, c=20):
        return a + b + c
    def fails(n):
        if n == 3:
            raise ValueError(n)
        return n
    def caller(n):
        out = []
        k = K()
        bound = k.meth
        for i in range(n):
            out.append(leaf(i, 1))
            out.append(with_default(i))
            out.append(with_default(i, 1))
            out.append(k.meth(i))
            out.append(bound(i, 3))
            try:
                out.append(fails(i))
            except ValueError as e:
                tb = e.__traceback__
                out.append(("caught", e.args, tb.tb_lineno, tb.tb_lasti, tb.tb_next.tb_lineno))
        return out
    result = caller(8)
"""


def test_cold_callees_of_native_code_run_as_the_interpreter_runs_them():
    # A native caller's call of a Python function that stays cold: the frame is pushed with the
    # arguments moved in and interpreted, counted (calls.c: enter_direct's cold case); the
    # callee sees the caller's f_lasti and line as under an inlined call, the arguments' owners
    # are the same, and an exception unwinds through the same entries.
    cpjit.enable(threshold=10, loop_budget_ns=0, warm_window_ms=0, sample_us=0)
    try:
        ns = {"__name__": "__main__"}
        exec(textwrap.dedent(COLD_CALLEES_OF_NATIVE_CODE.replace("result = caller(8)", "")), ns)
        ns["caller"](3)
        assert state(ns["caller"]) == "compiled"
        for name in ("leaf", "with_default", "fails"):
            info = cpjit.code_info(ns[name])
            assert (info["state"], info["calls"]) == ("counting", 3 if name == "leaf" else
                                                      6 if name == "with_default" else 3), name
        ns["caller"](3)
        # The threshold reached through the hook: with_default compiles, leaf counts on.
        assert (state(ns["with_default"]), cpjit.code_info(ns["leaf"])["calls"]) == ("compiled", 6)
    finally:
        cpjit.disable()
    # Run as __main__, so that `caller` (a loop function) is native from its first call.
    source = textwrap.dedent(COLD_CALLEES_OF_NATIVE_CODE)

    def run():
        ns = {"__name__": "__main__"}
        exec(compile(source, "<cold>", "exec"), ns)  # new code objects, no state yet
        return ns["result"], state(ns["caller"]), state(ns["leaf"])

    plain = run()[0]
    for threshold, leaf_state in ((0, "compiled"), (5, "compiled"), (100, "counting")):
        cpjit.enable(threshold=threshold, warm_window_ms=0, sample_us=0)
        try:
            cold_before = cpjit.stats()["frames_interpreted"]["cold"]
            assert run() == (plain, "compiled", leaf_state), threshold
            cold = cpjit.stats()["frames_interpreted"]["cold"] - cold_before
        finally:
            cpjit.disable()
        assert (cold > 0) == (threshold > 0), (threshold, cold)


SUSPENDED_LIBRARY_GENERATORS = """
    def walk(items, log):
        total = 0
        for i, x in enumerate(items):
            try:
                got = yield total + x
            except KeyError as e:
                log.append(("caught", i, e.args))
                got = -1
            finally:
                log.append(("step", i))
            total += got if got is not None else x
        return total
    log = []
    g1 = walk(range(20), log)
    g2 = walk(range(5, 30), log)
    out = [next(g1), next(g2)]
    for k in range(8):
        out.append(g1.send(k))
        out.append(next(g2))
    out.append(g1.throw(KeyError("x")))
    g2.close()
    try:
        while True:
            out.append(g1.send(1))
    except StopIteration as stop:
        out.append(("done", stop.value))
    result = (out, log)
"""


def test_generators_suspended_in_the_interpreter_resume_natively_once_the_budget_is_spent(
        monkeypatch):
    # A library generator with a loop runs interpreted until its resumptions have spent the
    # budget (here 1 ns per code unit: the first resumption spends it); it then compiles, and
    # the instances suspended mid-loop in the interpreter resume in native code at their yield,
    # with the same values, exceptions, finally blocks, throw() and close() as plain python.
    from differential import _run, run_jit
    monkeypatch.setenv("CPJIT_LOOP_BUDGET_NS", "1")
    source = textwrap.dedent(SUSPENDED_LIBRARY_GENERATORS)
    plain = _run(source)
    codes = []
    jit, before, after = run_jit(source, 100, codes)
    assert jit == plain
    assert plain.exception is None
    walk = next(c for c in codes if c.co_name == "walk")
    info = cpjit.code_info(walk)
    assert info["state"] == "compiled" and info["calls"] >= 1 and info["interpreted_ns"] > 0
    assert after["frames_native"] > before["frames_native"]
