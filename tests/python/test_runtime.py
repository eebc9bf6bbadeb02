"""Runtime behaviour of native frames: frame introspection, tracing, signals, threads, recursion,
enable/disable. Each test compares against the interpreter or asserts what CPython guarantees."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import cpjit
from differential import check


def run_python(code, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_getframe_and_line_numbers():
    check("""
        import sys
        def where():
            f = sys._getframe(1)
            return f.f_code.co_name, f.f_lineno, f.f_back.f_code.co_name
        def caller():
            a = 1
            return where()
        def outer():
            return caller()
        result = outer()
    """)


def test_f_locals_of_a_running_native_frame():
    check("""
        import sys
        def peek():
            return dict(sys._getframe(1).f_locals)
        def f(x):
            y = x * 2
            z = [y]
            return peek()
        result = f(21)
    """)


def test_frame_object_outlives_its_frame():
    check("""
        import sys
        def keep():
            return sys._getframe()
        def f():
            a = 'local'
            return keep()
        frame = f()
        result = (frame.f_code.co_name, frame.f_locals, frame.f_back is not None, frame.f_lineno)
    """)


def test_traceback_frames_and_lines_through_many_levels():
    check("""
        def a(n):
            if n == 0:
                raise ValueError('bottom')
            return b(n - 1)
        def b(n):
            x = n
            return a(x)
        a(5)
    """)


def test_settrace_active_runs_frames_in_interpreter_with_same_events():
    code = """
        import sys, cpjit
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == 'work':
                events.append((event, frame.f_lineno))
            return tracer
        def work(n):
            s = 0
            for i in range(n):
                s += i
            return s
        work(3)
        if JIT: cpjit.enable(0)
        work(3)
        sys.settrace(tracer)
        work(3)
        sys.settrace(None)
        print(events)
    """
    plain = run_python("JIT = False\n" + textwrap.dedent(code))
    jit = run_python("JIT = True\n" + textwrap.dedent(code))
    assert plain.returncode == 0, plain.stderr
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout
    assert "'line'" in jit.stdout


def test_traced_call_trees_match_plain_python_and_the_hook_comes_back():
    # A traced or profiled frame runs with the hook taken out, its callees inlined by the
    # interpreter: the events (recursion, an exception through traced frames, a generator,
    # tracing stopped half-way down, a profiler's C calls), the results and a thread working
    # natively meanwhile must match plain python, and native code must run again afterwards.
    code = """
        import sys, threading, cpjit
        events = []
        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def profiler(frame, event, arg):
            events.append(('profile', event, getattr(arg, '__name__', None)))
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def fails(n):
            if n == 0:
                raise ValueError('bottom')
            return fails(n - 1)
        def gen(n):
            for i in range(n):
                yield fib(i)
        def stops_tracing(n):
            if n == 2:
                sys.settrace(None)
            return fib(n) + (stops_tracing(n - 1) if n else 0)
        def hot(n):
            s = 0
            for i in range(n):
                s += i * i
            return s
        if JIT: cpjit.enable(0)
        worker_results = []
        def worker():
            for _ in range(50):
                worker_results.append(hot(2000))
        t = threading.Thread(target=worker)
        t.start()
        sys.settrace(tracer)
        a = fib(6)
        try:
            fails(3)
        except ValueError as e:
            b = str(e)
        c = list(gen(5))
        sys.settrace(None)
        sys.settrace(tracer)
        d = stops_tracing(4)
        sys.settrace(None)
        sys.setprofile(profiler)
        e = sorted([3, 1, 2], key=lambda x: fib(x))
        sys.setprofile(None)
        t.join()
        print(a, b, c, d, e, len(set(worker_results)), worker_results[0])
        print(events)
        if JIT:
            before = cpjit.stats()['frames_native']
            hot(10)
            assert cpjit.is_enabled()
            assert cpjit.stats()['frames_native'] > before, 'native code must run after tracing'
    """
    plain = run_python("JIT = False\n" + textwrap.dedent(code))
    jit = run_python("JIT = True\n" + textwrap.dedent(code))
    assert plain.returncode == 0, plain.stderr
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout
    assert "'exception'" in plain.stdout and "'c_call'" in plain.stdout


def test_disabling_cpjit_inside_a_traced_call_keeps_it_off():
    code = """
        import sys, cpjit
        def tracer(frame, event, arg):
            return tracer
        def inner():
            cpjit.disable()
            return cpjit.is_enabled()
        def outer():
            return inner()
        cpjit.enable(0)
        sys.settrace(tracer)
        during = outer()
        sys.settrace(None)
        def f(x):
            return x + 1
        before = cpjit.stats()['frames_native']
        f(1)
        print(during, cpjit.is_enabled(), cpjit.stats()['frames_native'] == before)
    """
    out = run_python(textwrap.dedent(code))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]


def test_tracing_switched_on_mid_frame_traces_the_rest_of_it():
    code = """
        import sys, cpjit
        events = []
        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def start():
            sys._getframe(1).f_trace = tracer
            sys.settrace(tracer)
        def work():
            a = 1
            start()
            b = 2
            c = a + b
            return c
        if JIT: cpjit.enable(0)
        work()
        sys.settrace(None)
        print([e for e in events if e[0] == 'work'])
    """
    plain = run_python("JIT = False\n" + textwrap.dedent(code))
    jit = run_python("JIT = True\n" + textwrap.dedent(code))
    assert plain.returncode == 0 and jit.returncode == 0, (plain.stderr, jit.stderr)
    assert jit.stdout == plain.stdout
    assert "'line'" in plain.stdout


def test_tracing_switched_on_by_a_signal_at_a_conditional_backward_jump():
    # A `while` loop whose test is at its bottom (POP_JUMP_BACKWARD_IF_TRUE) serves the eval
    # breaker when it jumps: a signal handler that switches tracing on there must see the rest
    # of the frame traced, from the jump's target on, as in the interpreter.
    code = """
        import signal, sys, cpjit
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == 'loop':
                events.append((event, frame.f_lineno - frame.f_code.co_firstlineno))
            return tracer
        def on_alarm(signum, frame):
            frame.f_trace = tracer
            sys.settrace(tracer)
        def loop():
            n = 0
            while not events and n < 500_000_000:
                n += 1
            return n < 500_000_000
        signal.signal(signal.SIGALRM, on_alarm)
        if JIT: cpjit.enable(0)
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        stopped = loop()
        sys.settrace(None)
        print(stopped, events)
    """
    plain = run_python("JIT = False\n" + textwrap.dedent(code))
    jit = run_python("JIT = True\n" + textwrap.dedent(code))
    assert plain.returncode == 0 and jit.returncode == 0, (plain.stderr, jit.stderr)
    assert plain.stdout.startswith("True [('line'"), plain.stdout
    assert jit.stdout == plain.stdout


def test_pdb_set_trace_in_native_frame():
    code = """
        import cpjit
        def work():
            x = 10
            import pdb; pdb.set_trace()
            y = x + 1
            return y
        if JIT: cpjit.enable(0)
        print('result', work())
    """
    outs = []
    for jit in (False, True):
        p = subprocess.run([sys.executable, "-c", f"JIT = {jit}\n" + textwrap.dedent(code)],
                           input="p x\nn\np y\nc\n", capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    assert "result 11" in outs[1] and "(Pdb) 10" in outs[1]


def test_ctrl_c_stops_a_hot_native_loop():
    code = """
        import cpjit, os, signal, threading, time
        # A shell runs background jobs with SIGINT ignored, and children inherit that: install
        # Python's own handler so the test does not depend on how it was started.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cpjit.enable(0)
        def spin():
            i = 0
            while True:
                i += 1
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            spin()
        except KeyboardInterrupt:
            print('interrupted')
        print(cpjit.stats()['frames_native'] > 0)
    """
    p = run_python(code, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["interrupted", "True"]


def test_signal_handler_runs_inside_native_loop():
    code = """
        import cpjit, signal, os
        cpjit.enable(0)
        hits = []
        signal.signal(signal.SIGUSR1, lambda s, f: hits.append(f.f_code.co_name))
        def loop():
            n = 0
            for i in range(2_000_000):
                if i == 1000:
                    os.kill(os.getpid(), signal.SIGUSR1)
                n += 1
            return n
        print(loop(), hits)
    """
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "2000000 ['loop']"


def test_threads_share_the_gil_with_native_loops():
    cpjit.enable(0)
    try:
        progress = {"other": 0}
        stop = threading.Event()

        def other():
            while not stop.is_set():
                progress["other"] += 1

        def hot(n):
            s = 0
            for i in range(n):
                s += i
            return s

        t = threading.Thread(target=other)
        t.start()
        try:
            before = progress["other"]
            total = 0
            deadline = time.time() + 1.0
            while time.time() < deadline:
                total += hot(200_000)
            assert progress["other"] > before, "the other thread never got the GIL"
        finally:
            stop.set()
            t.join()
    finally:
        cpjit.disable()


def test_threads_compute_the_same_results():
    check("""
        import threading
        def work(k, out):
            s = 0
            for i in range(20000):
                s += (i * k) % 7
            out[k] = s
        out = {}
        ts = [threading.Thread(target=work, args=(k, out)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        result = sorted(out.items())
    """, native=False)


def test_recursion_limit_is_enforced_natively():
    code = """
        import cpjit, sys
        cpjit.enable(0)
        sys.setrecursionlimit(300)
        def down(n):
            return down(n + 1) + 1
        try:
            down(0)
        except RecursionError as e:
            print('RecursionError', str(e))
        def count(n):
            return 0 if n == 0 else count(n - 1) + 1
        print(count(250))
    """
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["RecursionError maximum recursion depth exceeded", "250"]


def test_disable_restores_previous_frame_evaluator():
    assert not cpjit.is_enabled()
    cpjit.enable(0)
    assert cpjit.is_enabled()
    cpjit.enable(0)  # idempotent
    cpjit.disable()
    assert not cpjit.is_enabled()

    def f(x):
        return x + 1

    before = cpjit.stats()["frames_native"]
    assert f(1) == 2
    assert cpjit.stats()["frames_native"] == before, "a disabled JIT must not run frames"


def test_threshold_delays_compilation():
    def g(x):
        return x * 3

    cpjit.enable(threshold=3, warm_window_ms=0)
    try:
        for _ in range(3):
            g(1)
        assert cpjit.code_info(g)["state"] == "counting"
        g(1)
        assert cpjit.code_info(g)["state"] == "compiled"
    finally:
        cpjit.disable()


def test_compile_api_and_bad_input():
    def h(a, b):
        return a - b

    assert cpjit.compile(h) is True
    assert cpjit.code_info(h)["state"] == "compiled"
    with pytest.raises(TypeError):
        cpjit.compile(42)
    with pytest.raises(ValueError):
        cpjit.enable(-1)


def test_stats_shape():
    s = cpjit.stats()
    for key in ("compiled", "compile_failed", "native_bytes", "compile_seconds", "frames_native",
                "frames_interpreted"):
        assert key in s
    assert set(s["frames_interpreted"]) >= {"cold", "tracing", "exception", "unsupported"}


def test_code_replaced_on_a_live_function():
    check("""
        def f():
            return 1
        def g():
            return 2
        a = f()
        f.__code__ = g.__code__
        result = (a, f())
    """)


def test_globals_changed_under_a_running_loop():
    check("""
        K = 1
        def bump():
            global K
            K += 1
        def loop():
            out = []
            for i in range(5):
                out.append(K)
                if i == 2:
                    bump()
            return out
        result = loop()
    """)


def test_builtins_shadowed_after_compilation():
    check("""
        def f():
            return len([1, 2, 3])
        a = f()
        import builtins
        old = builtins.len
        builtins.len = lambda x: 'patched'
        try:
            b = f()
        finally:
            builtins.len = old
        result = (a, b, f())
    """)


def test_fork_with_compiled_code_alive():
    code = """
        import cpjit, os
        cpjit.enable(0)
        def f(n):
            return sum(i for i in range(n)) if False else n * 2
        f(1)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if f(21) == 42 else 1)
        _, status = os.waitpid(pid, 0)
        print(os.WEXITSTATUS(status), f(5))
    """
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "10"]


def test_dis_shows_the_native_layout():
    import io

    def add(a, b):
        return a + b

    out = io.StringIO()
    cpjit.dis(add, file=out)
    assert "not compiled (never called)" in out.getvalue()
    cpjit.compile(add)
    out = io.StringIO()
    cpjit.dis(add, file=out)
    text = out.getvalue()
    assert "BINARY_OP__0" in text and "RETURN_VALUE" in text and "EXIT_ERROR" in text


def test_recursion_deeper_than_the_c_stack_allows_for_native_frames():
    # Plain CPython 3.11 runs Python-to-Python calls without C recursion, so with a raised
    # recursion limit it goes very deep. So does native code for the calls it jumps into (no C
    # frame per call); calls it makes through C (keyword arguments here) go on on C stack
    # segments of cpjit's own (csrc/stack_segments.c) instead of overflowing the C stack.
    code = """
        import sys, cpjit
        sys.setrecursionlimit(1_000_000)
        def down(n):
            return 0 if n == 0 else down(n - 1) + 1
        def down_kw(n):
            return 0 if n == 0 else down_kw(n=n - 1) + 1
        if JIT: cpjit.enable(0)
        print(down(150_000), cpjit.is_enabled() == JIT)
        print(down_kw(150_000))
        def again(n):
            return 0 if n == 0 else again(n - 1) + 1
        print(again(100))
        if JIT: print(cpjit.stats()['stack_segment_switches'] > 0)
    """
    plain = run_python("JIT = False\n" + textwrap.dedent(code))
    jit = run_python("JIT = True\n" + textwrap.dedent(code))
    assert plain.returncode == 0, plain.stderr
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout + "True\n"


@pytest.mark.parametrize("stack_kib", [32, 64, 128, 256])
def test_a_small_stack_threads_loop_does_not_cross_to_a_stack_segment_at_every_call(stack_kib,
                                                                                  tmp_path):
    # A thread with a small stack (threading.stack_size) keeps three quarters of it as the
    # reserve before deep recursion moves to a stack segment (csrc/stack_segments.c); with the
    # move at an eighth, a loop just above the mark crossed to a segment and back at every call
    # (1.9 million crossings for 2 million calls, 2-4x slower than plain CPython; found by a
    # probe round). Under `python -m cpjit` the thread's first frames start while the main
    # thread waits in Thread.start in a cold region (hook taken out), so the loop's frame is
    # interpreted on the thread's own stack and each call reaches the hook.
    script = tmp_path / "small_stack_thread.py"
    script.write_text(textwrap.dedent(f"""
        import threading, cpjit
        threading.stack_size({stack_kib} * 1024)
        def helper(x):
            return x + 1
        def worker(out):
            s = 0
            for i in range(200000):
                s = helper(s)
            out.append(s)
        out = []
        t = threading.Thread(target=worker, args=(out,))
        t.start(); t.join()
        print(out[0], cpjit.stats()["stack_segment_switches"] < 100)
    """))
    p = subprocess.run([sys.executable, "-m", "cpjit", str(script)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "200000 True\n"


def test_other_co_extra_users_are_not_called_for_code_cpjit_touched():
    # CPython calls every registered co_extra free function for every slot of a dying code
    # object's extra array, NULL or not. cpjit must not make later users see code objects they
    # never touched (test_code's CoExtra tests crash at exit otherwise).
    code = """
        import ctypes, cpjit
        cpjit.enable(0)
        py = ctypes.pythonapi
        freefunc = ctypes.CFUNCTYPE(None, ctypes.c_voidp)
        request = py._PyEval_RequestCodeExtraIndex
        request.argtypes = (freefunc,)
        request.restype = ctypes.c_ssize_t
        calls = []
        FREE = freefunc(lambda ptr: calls.append(ptr))
        index = request(FREE)
        def make():
            return eval('lambda x: x + 1')
        for i in range(50):
            f = make()
            f(i)
            del f
        print(len(calls))
    """
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0"


def test_another_frame_evaluator_installed_over_cpjit_sees_every_call():
    import _testinternalcapi

    def inner():
        return 1

    def outer():
        return inner() + inner()

    def driver(n, calls):
        total = 0
        for i in range(n):
            if i == 3:
                _testinternalcapi.set_eval_frame_record(calls)
            total += outer()
        return total

    calls = []
    cpjit.enable(0)
    try:
        assert driver(6, calls) == 12
    finally:
        _testinternalcapi.set_eval_frame_default()
        cpjit.disable()
    assert calls == ["outer", "inner", "inner"] * 3


def test_recursion_depth_seen_through_builtins_matches_cold_and_warm_interpreter():
    # The interpreter calls built-ins through vectorcall (one recursion level) until a code
    # object is quickened, then through specialised instructions (none for FASTCALL built-ins).
    check("""
        from _testinternalcapi import get_recursion_depth
        base = get_recursion_depth()   # the harness's own frames differ between its two runs
        def gen():
            yield get_recursion_depth() - base
        def probe():
            return next(gen()), sorted([3, 1], key=lambda x: get_recursion_depth() - base + x)
        result = [probe() for _ in range(20)]
    """)


def test_quickening_and_specialisation_as_in_the_interpreter():
    # The call that ends a code object's warm-up countdown runs in the interpreter, which
    # quickens and specialises the bytecode: dis(adaptive=True) shows what it shows without cpjit
    # (super-instructions, specialised BINARY_OP / LOAD_ATTR / CALL forms).
    check("""
        import dis, io
        class P:
            def __init__(self):
                self.v = 3
        def f(a, b, p):
            x, y = a, b
            return str(x + y) + str(p.v)
        for _ in range(8):
            f(1, 2, P())
        out = io.StringIO()
        dis.dis(f, adaptive=True, file=out)
        result = out.getvalue()
        assert 'RESUME_QUICK' in result and 'BINARY_OP_ADD_INT' in result, result
    """)


def test_quickening_in_a_short_last_loop_as_in_the_interpreter():
    # A loop that ends the warm-up countdown with few items left: the interpreter runs the rest
    # of the frame and specialises the loop body as it would have (LIST_APPEND, LOAD_FAST__...).
    check("""
        import dis, io
        def f():
            l = []
            for i in range(42):
                l.append(i)
            return l
        f()
        out = io.StringIO()
        dis.dis(f, adaptive=True, show_caches=True, file=out)
        result = out.getvalue()
        assert 'PRECALL_NO_KW_LIST_APPEND' in result, result
    """)


def test_long_loop_that_ends_warm_up_stays_native():
    # The same loop with many items left: native to the end (nothing handed over), so the loop
    # keeps its speed; the code stays unquickened.
    from differential import run_jit
    source = textwrap.dedent("""
        def f(n):
            total = 0
            for i in range(n):
                total += i
            return total
        result = f(100_000)
    """)
    outcome, before, after = run_jit(source)
    assert outcome.result == repr(sum(range(100_000)))
    assert after["frames_interpreted"] == before["frames_interpreted"]


def test_enable_under_an_audit_hook_that_refuses_compile():
    # enable() measures the interpreter's call depth with a few lines of Python, compiled at
    # build time and embedded marshalled (runtime.c: calibration_module_code), compiled from
    # source only when the unmarshalling fails: an audit hook refusing both (marshal.loads, then
    # compile) must not make enable() fail or leave an exception set.
    code = """
        import sys, cpjit
        refused = []
        def hook(event, args):
            if event in ("compile", "marshal.loads"):
                refused.append(event)
                raise RuntimeError("refused")
        sys.addaudithook(hook)
        cpjit.enable(0)
        def f(x):
            return x + 1
        before = cpjit.stats()["frames_native"]
        total = sum(f(i) for i in range(100))
        print(cpjit.is_enabled(), refused, total, cpjit.stats()["frames_native"] > before)
    """
    out = run_python(textwrap.dedent(code))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "['marshal.loads',", "'compile']", "5050", "True"]
