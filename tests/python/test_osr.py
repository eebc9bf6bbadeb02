"""On-stack replacement (csrc/osr.c): a library function with a loop whose interpreted call has
spent its time budget goes on in native code at the start of one of its lines, in the same call.

Each program runs under cpjit and under plain python and must print the same: results, a
traceback, line numbers seen through sys._getframe, trace events. The loop budget is 1 ns per
code unit (CPJIT_LOOP_BUDGET_NS=1), so the loop's first call spends it within its first calls.
The JIT run also reports stats()["osr_entries"] on a line of its own ("CPJIT ..."), which shows
the call did go on natively (or, under tracing, that it did not).
"""
from programs import run_with_lib

OSR_SETTINGS = {"CPJIT_LOOP_BUDGET_NS": "1", "CPJIT_WARM_WINDOW_MS": "0"}


def run(tmp_path, lib, main, jit=True, **env_extra):
    return run_with_lib(tmp_path, lib, main, jit, OSR_SETTINGS, **env_extra)


def same_both_ways(tmp_path, lib, main, **env_extra):
    """The program's output under cpjit (its report line taken off) and plain python, which must
    be equal; returns the report's osr_entries and the output."""
    jit = run(tmp_path, lib, main, **env_extra).splitlines()
    plain = run(tmp_path, lib, main, jit=False, **env_extra).splitlines()
    report = [line for line in jit if line.startswith("CPJIT ")]
    jit = [line for line in jit if not line.startswith("CPJIT ")]
    assert jit == plain
    return (int(report[0].split()[1]) if report else None), jit


REPORT = """
        import sys
        if "cpjit" in sys.modules:
            import cpjit
            print("CPJIT", cpjit.stats()["osr_entries"])
"""

# The input both libraries below read from.
READER = """
    class Reader:
        def __init__(self, data):
            self.data = data
            self.pos = 0

        def read(self, n):
            p = self.pos
            self.pos = p + n
            return self.data[p:p + n]
"""

# A parser loop over a reader, as a library's main loop: method calls, a bound method in a
# local, a nested loop whose iterator is on the value stack at a line's start, a try block
# inside the loop, a with-block, a closure cell, and a generator consumed by `for`.
PARSER_LIB = READER + """
    import contextlib

    def digits(text):
        for ch in text:
            if ch.isdigit():
                yield int(ch)

    @contextlib.contextmanager
    def guard(log):
        log.append("in")
        yield
        log.append("out")

    def parse(reader, n, fail_at=-1):
        read = reader.read
        total = 0
        counts = {}
        log = []
        scale = 3

        def scaled(v):
            return v * scale

        i = 0
        while i < n:
            chunk = read(4)
            for d in digits(chunk):
                total += scaled(d)
            try:
                if i == fail_at:
                    raise KeyError(i)
                counts[chunk[:1]] = counts.get(chunk[:1], 0) + 1
            except KeyError as e:
                log.append(repr(e))
            if i % 1000 == 0:
                with guard(log):
                    total -= 1
            i += 1
        return total, sorted(counts.items()), [e for e in log if e != "in" and e != "out"], len(log)
"""


def data_line(n):
    return f'"".join(str(k % 97) + "a" for k in range({n}))'


def test_a_long_library_loop_goes_on_natively_with_the_same_results(tmp_path):
    main = f"""
        import lib
        r = lib.Reader({data_line(20000)})
        print(lib.parse(r, 8000, fail_at=5000))
        print(lib.parse(lib.Reader({data_line(500)}), 300))
    """ + REPORT
    osr, out = same_both_ways(tmp_path, PARSER_LIB, main)
    assert osr is not None and osr >= 1, osr
    assert "KeyError(5000)" in out[0]


def test_an_exception_after_the_switch_has_the_interpreters_traceback(tmp_path):
    lib = PARSER_LIB + """
    def failing(reader, n):
        read = reader.read
        i = 0
        while True:
            chunk = read(2)
            if i == n:
                return int(chunk + "x")
            i += 1
    """
    main = f"""
        import traceback, lib
        try:
            lib.failing(lib.Reader({data_line(20000)}), 5000)
        except ValueError:
            print(traceback.format_exc().replace(lib.__file__, "LIB"))
    """ + REPORT
    osr, out = same_both_ways(tmp_path, lib, main)
    assert osr >= 1, osr
    assert any("int(chunk" in line for line in out), out


def test_frames_seen_from_callees_after_the_switch(tmp_path):
    lib = """
    import sys

    seen = []

    def note(i):
        caller = sys._getframe(1)
        if i % 500 == 0:
            seen.append((caller.f_code.co_name, caller.f_lineno, sorted(caller.f_locals)))
        return i

    def loop(n):
        acc = 0
        for i in range(n):
            acc += note(i)
            acc ^= 1
        return acc
    """
    main = """
        import lib
        print(lib.loop(6000))
        for entry in lib.seen:
            print(entry)
    """ + REPORT
    osr, out = same_both_ways(tmp_path, lib, main)
    assert osr >= 1, osr
    assert len(out) == 13


def test_no_switch_under_a_trace_function_and_the_same_events(tmp_path):
    main = f"""
        import sys, lib
        events = []

        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("parse", "read"):
                events.append((event, frame.f_code.co_name, frame.f_lineno))
            return tracer

        sys.settrace(tracer)
        result = lib.parse(lib.Reader({data_line(3000)}), 1500)
        sys.settrace(None)
        print(result)
        print(len(events), events[:5], events[-5:])
    """ + REPORT
    osr, out = same_both_ways(tmp_path, PARSER_LIB, main)
    assert osr == 0, osr


def test_a_trace_function_set_inside_the_loop_sees_what_it_sees_without_cpjit(tmp_path):
    lib = """
    import sys

    events = []

    def tracer(frame, event, arg):
        events.append((event, frame.f_code.co_name))
        return tracer

    def step(i):
        if i == 3000:
            sys.settrace(tracer)
        if i == 3005:
            sys.settrace(None)
        return i & 7

    def loop(n):
        acc = 0
        for i in range(n):
            acc += step(i)
        return acc
    """
    main = """
        import lib
        print(lib.loop(6000))
        print(lib.events)
    """ + REPORT
    same_both_ways(tmp_path, lib, main)


def test_a_loop_in_another_thread_stays_interpreted_and_agrees(tmp_path):
    main = f"""
        import threading, lib
        out = []
        t = threading.Thread(target=lambda: out.append(lib.parse(lib.Reader({data_line(8000)}), 4000)))
        t.start()
        t.join()
        print(out)
    """ + REPORT
    osr, out = same_both_ways(tmp_path, PARSER_LIB, main)
    assert osr == 0, osr


def test_cpjit_disabled_from_inside_the_loop(tmp_path):
    lib = """
    import sys

    def step(i):
        if i == 4000 and "cpjit" in sys.modules:
            import cpjit
            cpjit.disable()
        return (i * 7) % 11

    def loop(n):
        acc = []
        for i in range(n):
            acc.append(step(i))
        return sum(acc), acc[-5:]
    """
    main = """
        import lib
        print(lib.loop(3000))
        print(lib.loop(8000))
    """
    same_both_ways(tmp_path, lib, main)


# A loop function reached through a loopless library function opens a cold region: the
# interpreter runs the loop inlined there, and when the sampler finds hot code and puts the
# hook back, the loop goes on natively from within the trace function (osr.c, run_rest_here).
REGION_LIB = READER + """
    def weigh(chunk):
        return sum(ord(c) for c in chunk) % 17

    def scan(reader, n, fail_at):
        total = 0
        seen = {}
        for i in range(n):
            chunk = reader.read(3)
            w = weigh(chunk)
            seen[w] = seen.get(w, 0) + 1
            total += w
            if i == fail_at:
                raise ValueError(f"bad chunk {chunk!r} at {i}")
        return total, sorted(seen.items())[:5]

    def run(text, n, fail_at=-1):
        return scan(Reader(text), n, fail_at)
"""

REGION_SETTINGS = {"CPJIT_SAMPLE_US": "100"}


def test_a_loop_inside_a_cold_region_goes_on_natively(tmp_path):
    main = """
        import lib
        text = "".join(chr(97 + k % 26) for k in range(600000))
        print(lib.run(text, 150000))
    """ + REPORT
    osr, out = same_both_ways(tmp_path, REGION_LIB, main, **REGION_SETTINGS)
    assert osr >= 1, osr


def test_an_exception_leaving_a_loop_moved_from_a_region(tmp_path):
    main = """
        import traceback, lib
        text = "".join(chr(97 + k % 26) for k in range(600000))
        try:
            lib.run(text, 150000, fail_at=149000)
        except ValueError:
            print(traceback.format_exc().replace(lib.__file__, "LIB"))
    """ + REPORT
    osr, out = same_both_ways(tmp_path, REGION_LIB, main, **REGION_SETTINGS)
    assert osr >= 1, osr
    assert any("raise ValueError" in line for line in out), out


def test_line_numbers_after_a_loop_moved_from_a_region(tmp_path):
    # The rest of such a loop runs inside cpjit's trace function, whose caller (call_trace) has
    # set the frame object's line: f_lineno must come from where native code is, as without
    # cpjit (found by the fuzzer: seed 42005, as a library, regions sampled every 20 us).
    lib = REGION_LIB + """
    import sys, traceback

    def lines(reader, n):
        out = []
        for i in range(n):
            chunk = reader.read(3)
            weigh(chunk)
            if i % 25000 == 0:
                out.append(sys._getframe().f_lineno)
                out.append(traceback.extract_stack(limit=1)[0].lineno)
        return out

    def run_lines(text, n):
        return lines(Reader(text), n)
    """
    main = """
        import lib
        text = "".join(chr(97 + k % 26) for k in range(600000))
        print(lib.run_lines(text, 150000))
    """ + REPORT
    osr, out = same_both_ways(tmp_path, lib, main, **REGION_SETTINGS)
    assert osr >= 1, osr


# A script run through runpy (a launcher's runpy.run_path, or `python -m module`, whose
# runpy._run_module_as_main runs the module as __main__) runs beneath a loopless library
# function, which opens a cold region: until session 51 its loop functions of __main__, which
# compile at their first call when the script is run directly, ran interpreted there for good
# (they were never on-stack replacement candidates, and a loop making no call was never armed).
PROGRAM = """
    import sys, traceback

    def squares(n):
        t = 0
        for i in range(n):
            t += i * i % 7
        return t, sys._getframe().f_lineno

    def step(i):
        if i == 399990:
            raise KeyError(i)
        return i % 5

    def with_calls(n):
        t = 0
        for i in range(n):
            t += step(i)
        return t

    def main():
        print(squares(2000000))
        try:
            with_calls(400000)
        except KeyError:
            print(traceback.format_exc().replace(__file__, "PROG"))

    if __name__ == "__main__":
        main()
"""


# The launcher reports, after the program, how its two loop functions ended up: compiled or
# still counting (each is called once: the first moves to native code mid-call, found hot by the
# sampler, which puts the hook back for good; the second then compiles at its first call, as a
# loop function of __main__ does). The library loop budget is cpjit's default, so no library
# loop moves.
MAIN_REPORT = """
        import sys
        if "cpjit" in sys.modules:
            import cpjit
            print("CPJIT", cpjit.stats()["osr_entries"],
                  *(cpjit.code_info(g[name])["state"] for name in ("squares", "with_calls")))
"""


def launched(tmp_path, launcher):
    jit = run(tmp_path, PROGRAM, launcher + MAIN_REPORT, CPJIT_LOOP_BUDGET_NS="1000",
              **REGION_SETTINGS).splitlines()
    plain = run(tmp_path, PROGRAM, launcher + MAIN_REPORT, jit=False).splitlines()
    report = [line.split() for line in jit if line.startswith("CPJIT ")]
    assert [line for line in jit if not line.startswith("CPJIT ")] == plain
    assert any("raise KeyError" in line for line in plain), plain
    return report[0][1:]


def test_a_main_loop_launched_through_run_path_goes_on_natively(tmp_path):
    launcher = """
        import os, runpy
        g = runpy.run_path(os.path.join(os.path.dirname(__file__), "lib.py"), run_name="__main__")
    """
    osr, squares, with_calls = launched(tmp_path, launcher)
    assert int(osr) >= 1 and squares == with_calls == "compiled", (osr, squares, with_calls)


def test_a_main_loop_run_as_a_module_goes_on_natively(tmp_path):
    launcher = """
        import runpy
        g = runpy.run_module("lib", run_name="__main__", alter_sys=True)
    """
    osr, squares, with_calls = launched(tmp_path, launcher)
    assert int(osr) >= 1 and squares == with_calls == "compiled", (osr, squares, with_calls)


# Worker threads started while the main thread waits in a region (Thread.join, a pool's
# futures: loopless library functions) begin with the hook out, interpreted like plain python,
# and once the hook is back (the sampler thread ends a region whose thread waits for more than
# 20 ms: the workers here run longer) each call their loop makes goes through it: until session
# 51 such a worker ran slower than without cpjit. A loop function of __main__ running
# interpreted when it makes a call that reaches cpjit becomes its thread's candidate (osr.c,
# cpjit_osr_unhooked_caller) and goes on natively after the call. Each program prints its
# results, a traceback from inside the moved loop and the recursion depth a callee reaches there
# (the moved frame's own level counted once, as by the interpreter).
THREADED = """
    import sys, threading, traceback
    from concurrent.futures import ThreadPoolExecutor

    def leaf(i):
        return (i * 7) & 63

    def probe(k=0):
        try:
            return probe(k + 1)
        except RecursionError:
            return k

    def busy(n, fail_at):
        total = 0
        depth = None
        for i in range(n):
            total += leaf(i)
            if i == n // 2:
                depth = probe()
            if i == fail_at:
                raise ValueError(f"at {i}")
        return total, depth

    out = []

    def work(tag, n, fail_at=-1):
        try:
            out.append((tag, busy(n, fail_at)))
        except ValueError:
            out.append((tag, traceback.format_exc().replace(__file__, "PROG")))

    for round in range(3):
        th = threading.Thread(target=work, args=(round, 10**6, 999000 if round == 2 else -1))
        th.start()
        th.join()
    with ThreadPoolExecutor(2) as ex:
        for r in ex.map(lambda k: busy(200000, -1), range(4)):
            out.append(("pool", r))
    for line in out:
        print(line)
"""

THREAD_REPORT = """
    if "cpjit" in sys.modules:
        import cpjit
        print("CPJIT", cpjit.stats()["osr_entries"], cpjit.code_info(busy)["state"])
"""


def test_worker_loops_started_unhooked_go_on_natively(tmp_path):
    jit = run(tmp_path, "", THREADED + THREAD_REPORT, CPJIT_LOOP_BUDGET_NS="1000").splitlines()
    plain = run(tmp_path, "", THREADED + THREAD_REPORT, jit=False).splitlines()
    report = [line.split() for line in jit if line.startswith("CPJIT ")]
    assert [line for line in jit if not line.startswith("CPJIT ")] == plain
    assert any("raise ValueError" in line for line in plain), plain
    osr, state = int(report[0][1]), report[0][2]
    assert osr >= 2 and state == "compiled", (osr, state)


# ---- a script's own loop functions (session 54) ----
#
# A loop function defined in __main__ runs interpreted until its loop budget is spent, as a
# library's does, so that the interpreter quickens it first and the compiler has its evidence
# (compiled at its first call, a word count's `counts.get(w, 0) + len(w)` ran generic paths:
# 0.88x of plain python; quickened first, 1.17x). Its call goes on natively from then on: after
# a call it makes returns, or, when its loop makes no call (only C calls, arithmetic), at a
# sample the sampler thread asks for (csrc/osr.c: cpjit_osr_watch_sample). Each program runs
# with the package's defaults but the threshold, and prints the same both ways.

SCRIPT_LOOPS = """
    import sys

    def count_words(n):             # no Python call in the loop: only the sampler's check
        words = "the quick brown fox jumps over the lazy dog".split()
        counts = {}
        for r in range(n):
            for w in words:
                counts[w] = counts.get(w, 0) + len(w)
        return sorted(counts.items())

    def tick(r):
        return r & 1

    def with_calls(n):              # a call each round: the check after it
        t = 0
        for r in range(n):
            t += tick(r) + r % 7
        return t

    def state(f):
        import cpjit
        return cpjit.code_info(f)["state"] if "cpjit" in sys.modules else "-"

    print(count_words(60_000)[:3])
    print(with_calls(200_000))
    if "cpjit" in sys.modules:
        import cpjit
        s = cpjit.stats()
        print("CPJIT", s["osr_entries"], state(count_words), state(with_calls))
"""

SCRIPT_SETTINGS = {"CPJIT_LOOP_BUDGET_NS": "1000", "CPJIT_SAMPLE_US": "1000",
                   "CPJIT_WARM_WINDOW_MS": "20"}


def script_loops(tmp_path, **env_extra):
    jit = run(tmp_path, "", SCRIPT_LOOPS, **{**SCRIPT_SETTINGS, **env_extra}).splitlines()
    plain = run(tmp_path, "", SCRIPT_LOOPS, jit=False).splitlines()
    report = [line.split() for line in jit if line.startswith("CPJIT ")]
    assert [line for line in jit if not line.startswith("CPJIT ")] == plain
    return report[0][1:]


def test_a_scripts_loop_functions_go_on_natively_once_quickened(tmp_path):
    # Both calls start interpreted and finish natively: the one without calls by the sampler's
    # sample, the other after one of its calls returns. (A one-off test against a build where
    # the watch was missing: count_words stayed interpreted to its end, state "counting".)
    osr, words, calls = script_loops(tmp_path)
    assert (int(osr), words, calls) == (2, "compiled", "compiled")


def test_without_a_sampler_a_scripts_loop_functions_compile_at_their_first_call(tmp_path):
    # CPJIT_SAMPLE_US=0: nothing could check a loop that makes no call, so the old rule holds:
    # compiled at the first call, no move mid-call.
    osr, words, calls = script_loops(tmp_path, CPJIT_SAMPLE_US="0")
    assert (int(osr), words, calls) == (0, "compiled", "compiled")


WORKER_SCRIPT_LOOP = """
    import sys, threading

    def busy(n):
        t = 0
        for i in range(n):
            t += i % 7
        return t

    out = []
    def work():                     # its first calls run while the main thread's join has the
        for k in range(300):        # hook out (a cold region), until the sampler puts it back
            out.append(busy(20_000))  # (after 20 ms: the work lasts long enough for a loaded
                                      # machine's sampler to get there first)
    th = threading.Thread(target=work)
    th.start()
    th.join()
    print(out[-1], len(out))
    if "cpjit" in sys.modules:
        import cpjit
        print("CPJIT", cpjit.stats()["osr_entries"], cpjit.code_info(busy)["state"])
"""


def test_a_scripts_loop_function_on_a_worker_thread_is_compiled(tmp_path):
    # Only the main thread's calls can move mid-call: on another thread a script's loop
    # function compiles at its first call the hook sees, as before. (`work` itself, started
    # while the hook was out, moves mid-call by session 51's rule.)
    jit = run(tmp_path, "", WORKER_SCRIPT_LOOP, **SCRIPT_SETTINGS).splitlines()
    plain = run(tmp_path, "", WORKER_SCRIPT_LOOP, jit=False).splitlines()
    assert [line for line in jit if not line.startswith("CPJIT ")] == plain
    assert [line.split()[2] for line in jit if line.startswith("CPJIT ")] == ["compiled"]


# A script's top level with a loop (the module body of __main__) is watched the same way: it
# runs interpreted until its budget is spent, then natively from one of its next instructions.
# What it does after the move must be what plain python does: names stored and deleted at module
# level, functions and classes defined in the loop, a traceback's lines, frames seen from
# callees, and globals() written through.
SCRIPT_TOP_LEVEL = """
    import sys, traceback
    total = 0
    seen = []
    for i in range(300_000):
        total += i % 7
        if i % 100_000 == 99_999:
            def f(x, i=i):
                return x + i
            class K:
                n = i
            seen.append((f(1), K.n, sys._getframe().f_lineno, sys._getframe(0).f_code.co_name))
            globals()["extra"] = i
            del f
    print(total, seen, extra, "f" in globals())
    try:
        for j in range(200_000):
            total -= 1
            if j == 199_999:
                {}["missing"]
    except KeyError:
        print([(fs.lineno, fs.name) for fs in traceback.extract_tb(sys.exc_info()[2])], total)
    if "cpjit" in sys.modules:
        import cpjit
        print("CPJIT", cpjit.stats()["osr_entries"], cpjit.code_info(sys._getframe().f_code)["state"])
"""


def test_a_scripts_top_level_loop_goes_on_natively_with_the_same_results(tmp_path):
    jit = run(tmp_path, "", SCRIPT_TOP_LEVEL, **SCRIPT_SETTINGS).splitlines()
    plain = run(tmp_path, "", SCRIPT_TOP_LEVEL, jit=False).splitlines()
    assert [line for line in jit if not line.startswith("CPJIT ")] == plain
    assert [line for line in jit if line.startswith("CPJIT ")] == ["CPJIT 1 compiled"]

