"""The script's top level as a cold region (csrc/cold_regions.c, cpjit_run_top_level): a
program's main code runs with the hook taken out, as plain python runs it, until a sample finds
hot code beneath it or CPJIT_TOP_LEVEL_MS have passed; then the hook goes back in and the loop
running, the top level's own or a function's, goes on natively (csrc/osr.c). Each program runs
in a fresh interpreter under `python -m cpjit` and under plain python, and prints the same."""
import textwrap

from programs import run_with_lib

STATS = """
import cpjit
s = cpjit.stats()
print("stats", s["cold_region_top_level"], s["cold_region_top_level_grace_ended"],
      s["compiled"] > 0, s["osr_entries"] > 0, s["cold_region_hot_found"] > 0)
"""


def both(tmp_path, main, **env):
    """The program's output under plain python and under cpjit (the stats line split off)."""
    env = {"CPJIT_TOP_LEVEL_MS": "100", "CPJIT_SAMPLE_US": "200", **env}
    main = textwrap.dedent(main)
    plain = run_with_lib(tmp_path, "", main, jit=False)
    jit = run_with_lib(tmp_path, "", main + STATS, **env)
    lines = jit.splitlines()
    assert lines[:-1] == plain.splitlines()
    return lines[-1].split()[1:]


def test_a_short_program_runs_as_plain_python(tmp_path):
    # Nothing in it is hot, and it ends within its grace: no hook, nothing compiled.
    main = """
        import json
        def encode(i):
            return json.dumps({"i": i, "sq": [i, i * i]})
        out = [encode(i) for i in range(300)]
        print(len(out), out[7])
    """
    assert both(tmp_path, main) == ["1", "0", "False", "False", "False"]


def test_a_hot_top_level_loop_goes_on_natively(tmp_path):
    # The top level's own loop, calling a function of the script: found hot, the hook goes back
    # in, and the loop goes on in native code (where its calls are native calls).
    main = """
        def step(t, i):
            return (t * 31 + i) % 1000003
        t = 0
        for i in range(3_000_000):
            t = step(t, i)
        print(t)
    """
    assert both(tmp_path, main) == ["1", "0", "True", "True", "True"]


def test_a_hot_main_function_goes_on_natively(tmp_path):
    # main(), called once by a top level with a loop of its own: main's loop is moved into
    # native code, not the top level's.
    main = """
        for name in ("a", "b"):
            globals()[name] = len(name)
        def g(x):
            return x * 2 + a
        def main():
            t = 0
            for i in range(3_000_000):
                t = (t + g(i)) % 1000003
            return t
        print(main(), b)
    """
    assert both(tmp_path, main) == ["1", "0", "True", "True", "True"]


def test_the_top_levels_loop_goes_native_after_a_loop_beneath_it(tmp_path):
    # When the hook comes back a library loop runs beneath the top level's: that call goes on
    # natively first (its candidacy parks the top level's), and the top level's loop after a
    # call returns to it (osr.c, unpark): two moves.
    lib = """
        def churn(n):
            t = 0
            for i in range(n):
                t = (t + i * i) % 65521
            return t
    """
    main = textwrap.dedent("""
        import lib
        total = 0
        for k in range(600):
            total = (total * 3 + lib.churn(4000)) % 1000003
        print(total)
    """)
    plain = run_with_lib(tmp_path, lib, main, jit=False)
    jit = run_with_lib(tmp_path, lib, main + STATS.replace(
        's["osr_entries"] > 0', 's["osr_entries"] >= 2'), CPJIT_TOP_LEVEL_MS="100",
        CPJIT_SAMPLE_US="200")
    assert jit.splitlines()[0] == plain.strip()
    assert jit.splitlines()[-1].split()[1:] == ["1", "0", "True", "True", "True"]


def test_work_spread_thin_gets_the_hook_when_the_grace_ends(tmp_path):
    # Forty functions taking turns: no code object is innermost in an eighth of the samples, so
    # the top level's grace (20 ms here) ends it, and the functions compile from then on.
    main = """
        fs = []
        for k in range(40):
            exec(f"def f{k}(x):\\n    return (x * {k + 3} + 1) & 0xffff\\n")
            fs.append(globals()[f"f{k}"])
        def main():
            t = 0
            for i in range(40_000):
                for f in fs:
                    t = f(t)
            return t
        print(main())
    """
    stats = both(tmp_path, main, CPJIT_TOP_LEVEL_MS="20")
    assert stats[0] == "1" and stats[2] == "True"
    assert stats[1] == "1" or stats[4] == "True"  # grace ended (or a sample found main hot)


def test_exceptions_and_tracebacks_before_and_after_the_hook_is_back(tmp_path):
    # An exception caught in the region, then one raised by the native top level after the
    # switch: the same traceback, line numbers included, as plain python's.
    main = """
        import traceback
        def fail(x):
            return 1 // x
        try:
            fail(0)
        except ZeroDivisionError as e:
            print("caught", traceback.format_exception(e)[-2].strip())
        t = 0
        for i in range(2_000_000):
            t += i & 7
        try:
            fail(t - t)
        except ZeroDivisionError as e:
            print("caught", [f.lineno for f in traceback.extract_tb(e.__traceback__)])
        print(t)
    """
    assert both(tmp_path, main)[0] == "1"


def test_frames_seen_from_the_top_level_and_beneath(tmp_path):
    # sys._getframe, f_back and f_lineno from a callee, in the region and after the switch.
    main = """
        import sys
        def where():
            f = sys._getframe(1)
            return f.f_code.co_name, f.f_lineno, f.f_back is None
        print(where())
        t = 0
        for i in range(2_000_000):
            t += i % 3
        print(where(), t)
    """
    assert both(tmp_path, main)[0] == "1"


def test_a_thread_started_by_the_top_level(tmp_path):
    # The main thread waits in a join inside the region (the stall rule puts the hook back for
    # the worker); the worker's work is the same.
    main = """
        import threading
        res = []
        def work(n):
            t = 0
            for i in range(n):
                t = (t * 7 + i) % 65521
            res.append(t)
        th = threading.Thread(target=work, args=(1_500_000,))
        th.start()
        th.join()
        print(res)
    """
    assert both(tmp_path, main)[0] == "1"


def test_zero_keeps_the_top_level_under_the_hook(tmp_path):
    # CPJIT_TOP_LEVEL_MS=0: no top-level region; the functions the top level calls are counted
    # and compile when warm, as before session 56.
    main = """
        def sq(x):
            return x * x
        print(sum(sq(i) for i in range(5000)))
        print(sum(map(sq, range(10))))
    """
    stats = both(tmp_path, main, CPJIT_TOP_LEVEL_MS="0")
    assert stats[0] == "0" and stats[2] == "True"
