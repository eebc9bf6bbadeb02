"""Calls native code jumps into (csrc/calls.h: CPJIT_CALL_ENTER, cpjit_frame_exit).

A positional call of a compiled Python function from native code pushes the callee's frame and
jumps into its code; the callee's frame exit pops it and goes on in the caller's code after the
CALL, with no C frame per Python call. Every way a frame can end is compared here against the
interpreter: a return, an exception caught by a caller several frames up or by none, a
generator created, a hand-over to the interpreter in the callee (tracing switched on, the
warm-up's quickening), frame objects that outlive their call, and recursion far deeper than the
C stack would allow.
"""
import os
import subprocess
import sys
import textwrap

from differential import check


def test_results_flow_back_through_nested_jumped_calls():
    check("""
        def leaf(a, b):
            return a * 10 + b
        def mid(a, b=3):
            return leaf(a, b) + leaf(b, a)
        def top(n):
            total = 0
            for i in range(n):
                total += mid(i) + mid(i, i)
            return total
        result = [top(50), mid(1), [mid(i, -i) for i in range(5)]]
    """)


def test_exception_caught_several_jumped_frames_up_keeps_its_traceback():
    check("""
        import traceback
        def fail(n):
            if n == 0:
                raise KeyError("deep")
            return fail(n - 1) + 1
        def catch(n):
            try:
                return fail(n)
            except KeyError as e:
                return [f.lineno for f in traceback.extract_tb(e.__traceback__)]
        def loop():
            out = []
            for i in range(4):
                out.append(catch(i))
            return out
        result = loop()
    """)


def test_exception_escaping_every_jumped_frame():
    check("""
        def fail(n):
            if n == 0:
                return 1 // n
            return fail(n - 1)
        def run():
            return fail(6)
        run()
    """)


def test_handler_in_the_caller_sees_the_stack_as_the_interpreter_does():
    check("""
        def boom(x):
            raise ValueError(x)
        def caller(xs):
            out = []
            for x in xs:
                try:
                    out.append((x, boom(x)))
                except ValueError as e:
                    out.append(("caught", e.args))
                finally:
                    out.append("finally")
            return out
        result = caller([1, 2, 3])
    """)


def test_generator_function_called_directly():
    check("""
        def gen(n):
            for i in range(n):
                yield i * i
        def use(n):
            g = gen(n)
            first = next(g)
            return first, list(g), list(gen(n + 1))
        result = [use(i) for i in range(1, 5)]
    """)


def test_frames_of_jumped_calls_seen_and_kept():
    check("""
        import sys
        kept = []
        def inner(n):
            f = sys._getframe()
            kept.append(f)
            chain = []
            while f is not None and f.f_code.co_name != "<module>":
                chain.append((f.f_code.co_name, f.f_lineno))
                f = f.f_back
            return chain
        def outer(n):
            return inner(n) + [n]
        def run():
            return [outer(i) for i in range(3)]
        result = [run(), [(f.f_code.co_name, sorted(f.f_locals)) for f in kept]]
    """)


def test_locals_released_when_a_jumped_frame_returns():
    check("""
        log = []
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): log.append(self.name)
        def callee(tag):
            a = Noisy(tag + "-a")
            b = Noisy(tag + "-b")
            log.append("return " + tag)
            return tag
        def caller():
            for t in ("x", "y"):
                log.append(callee(t))
            return log
        result = caller()
    """)


def test_recursion_limit_reached_through_jumped_calls():
    check("""
        import sys
        def down(n):
            return down(n + 1)
        def probe():
            try:
                down(0)
            except RecursionError as e:
                return type(e).__name__, str(e)
        result = probe()
    """)


def test_tracing_switched_on_in_a_jumped_callee():
    # The callee installs a trace function: its caller goes on in the interpreter from after
    # the CALL and the trace function sees the caller's remaining lines.
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("caller", "callee"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def callee():
            sys.settrace(tracer)
            return 5
        def caller():
            x = callee()
            y = x + 1
            return y
        def run():
            try:
                return caller()
            finally:
                sys.settrace(None)
        result = [run(), events]
    """, native=False)


def test_deep_recursion_with_exceptions_and_generators_in_a_subprocess():
    # Far past what a C frame per call would allow on the default 8 MiB stack.
    code = textwrap.dedent("""
        import sys
        sys.setrecursionlimit(400_000)
        def down(n):
            if n == 0:
                raise LookupError("bottom")
            return down(n - 1) + 1
        def gen_down(n):
            return 0 if n == 0 else sum(g for g in (gen_down(n - 1),)) + 1
        def run():
            try:
                down(300_000)
            except LookupError as e:
                depth = 0
                tb = e.__traceback__
                while tb is not None:
                    depth += 1
                    tb = tb.tb_next
                print("caught", depth)
            print(gen_down(2_000))
        run()
    """)
    env = dict(os.environ)  # cpjit importable as it is for this test run
    env.pop("CPJIT", None)
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=300)
    jit = subprocess.run([sys.executable, "-m", "cpjit", "-c", code], capture_output=True,
                         text=True, env=dict(env, CPJIT_THRESHOLD="0"), timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout
