"""Calls between compiled Python functions through the CALL stencil's per-site cache
(csrc/calls.h: cpjit_push_cached / cpjit_call_cached) and the general path behind it: every case
where what the cache remembers about a site stops being true, compared against the interpreter."""
import pytest

from differential import check


def test_site_cache_follows_the_callee_when_it_changes():
    check("""
        def a(x): return ("a", x)
        def b(x, y=5): return ("b", x, y)
        def c(x, *, k=1): return ("c", x, k)
        def d(*args): return ("d", args)
        class K:
            def __call__(self, x): return ("K", x)
        out = []
        for f in [a, a, b, a, c, d, len, K(), b, b, a]:
            try:
                out.append(f([1]))
            except TypeError as e:
                out.append(str(e))
        result = out
    """)


def test_site_cache_with_closures_of_one_code_object_uses_each_functions_cells():
    check("""
        def make(k):
            def inner(a, b=10):
                return a + b + k
            return inner
        fs = [make(i) for i in range(5)]
        result = [f(1) for f in fs] + [f(1, 2) for f in fs]
    """)


def test_site_cache_sees_code_and_defaults_reassigned():
    check("""
        def f(a, b=1): return a + b
        def g(a, b, c): return a * b * c
        def h(a, b=100, c=1000): return a - b - c
        out = []
        for i in range(12):
            if i == 3: f.__defaults__ = (7,)
            if i == 5: f.__defaults__ = None
            if i == 7: f.__code__ = g.__code__
            if i == 9: f.__code__ = h.__code__; f.__defaults__ = (2, 3)
            try:
                out.append(f(i, 2) if i % 2 else f(i))
            except TypeError as e:
                out.append(str(e))
        result = out
    """)


def test_method_and_plain_function_at_one_load_method_site():
    check("""
        class C:
            def m(self, a): return ("method", a)
        c1 = C()
        c2 = C()
        c2.m = lambda a: ("instance attribute", a)
        bound = C().m
        def call_all(objs):
            return [o.m(3) for o in objs]
        def call_value(fs):
            return [f(4) for f in fs]
        result = call_all([c1, c2, c1, c2, c2, c1]), call_value([bound, len.__self__.abs, bound])
    """)


def test_defaults_that_do_not_cover_the_missing_arguments_raise_as_the_interpreter():
    check("""
        def f(a, b, c=3): return a, b, c
        out = []
        for args in [(1, 2), (1, 2, 4), (1,), (), (1, 2, 3, 4), (1, 2)]:
            try:
                out.append(f(*args) if len(args) != 2 else f(args[0], args[1]))
            except TypeError as e:
                out.append(str(e))
        def g(a, b=2): return a, b
        for i in range(4):
            try:
                out.append(g() if i == 2 else g(i))
            except TypeError as e:
                out.append(str(e))
        result = out
    """)


def test_exception_from_a_directly_called_function_has_the_interpreters_traceback():
    check("""
        def inner(x):
            return 1 // x
        def middle(x, y=0):
            return inner(x) + y
        def outer():
            total = 0
            for i in (3, 2, 1, 0):
                total += middle(i)
            return total
        result = outer()
    """)


def test_frames_seen_from_a_directly_called_function():
    check("""
        import sys
        def callee(keep):
            f = sys._getframe()
            keep.append(f)
            return (f.f_code.co_name, f.f_back.f_code.co_name, f.f_back.f_lineno,
                    sys._getframe(1).f_lasti == sys._getframe(1).f_lasti)
        def caller():
            keep = []
            out = [callee(keep) for _ in range(3)]
            out.append([(fr.f_code.co_name, fr.f_lineno, sorted(fr.f_locals)) for fr in keep])
            return out
        def with_locals(a, b=2):
            c = a + b
            return sorted(locals().items())
        result = caller(), [with_locals(i) for i in range(3)]
    """)


def test_arguments_are_released_with_the_callees_locals_in_order():
    check("""
        log = []
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): log.append(self.name)
        def f(a, b, c=None):
            log.append("body")
            return 1
        def g(self, x):
            return 2
        class H:
            m = g
        def run():
            for i in range(3):
                f(Noisy("a%d" % i), Noisy("b%d" % i))
                log.append("between")
                f(Noisy("x"), Noisy("y"), Noisy("z"))
                H().m(Noisy("arg"))
            log.append("end")
        run()
        result = log
    """)


@pytest.mark.parametrize("limit", [60, 100])
def test_recursion_limit_through_the_site_cache(limit):
    check(f"""
        import sys
        def down(n, acc=0):
            return acc if n == 0 else down(n - 1, acc + 1)
        def probe():
            # Relative to the frames below (the test harness differs between the two runs).
            below, f = 0, sys._getframe()
            while f is not None:
                below, f = below + 1, f.f_back
            depth = 0
            while True:
                try:
                    down(depth)
                except RecursionError:
                    return depth + below
                depth += 1
        old = sys.getrecursionlimit()
        sys.setrecursionlimit({limit})
        try:
            result = probe(), down(10)
        finally:
            sys.setrecursionlimit(old)
    """)


def test_code_objects_dying_while_a_site_remembers_one():
    # exec'd functions die each round; later ones may reuse the dead code object's address.
    check("""
        def call(f, x):
            return f(x)
        out = []
        for i in range(200):
            ns = {}
            exec("def f(x, y=%d):\\n    return x * %d + y" % (i, i), ns)
            out.append(call(ns["f"], i))
            del ns
        result = sum(out), out[:5]
    """)


def test_tracing_switched_on_inside_a_directly_called_function():
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("callee", "caller"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def callee(on):
            if on:
                sys.settrace(tracer)
            return on
        def caller():
            for i in range(4):
                callee(i == 2)
            x = 1
            return x
        try:
            caller()
        finally:
            sys.settrace(None)
        result = events
    """)


def test_builtins_called_as_the_warm_interpreters_specialised_instructions_call_them():
    # Enough iterations for the code to be past the interpreter's warm-up: built-ins are then
    # called straight into their C function (csrc/calls.c's call_other).
    check("""
        import sys
        class Sub(list): pass
        class C: pass
        def run():
            out = []
            lst = [3, 1, 2]
            for i in range(40):
                args = [lst, (1, 2), "ab", Sub([1]), 5, None][i % 6]
                for f in (len, type, str, tuple, abs, repr, isinstance):
                    try:
                        out.append(f(args) if f is not isinstance else f(args, list))
                    except TypeError as e:
                        out.append(("TypeError", str(e)))
                try:
                    out.append(min(i, 3, key=lambda v: -v))
                    out.append(sorted(lst, reverse=bool(i % 2)))
                    out.append(list.__len__(args))
                    out.append(list.append(args, i))
                    out.append(dict.fromkeys(lst, i))
                    out.append("x".join(["a", "b"]))
                    out.append("x".upper())
                    out.append(len())
                except TypeError as e:
                    out.append(("TypeError", str(e)))
                lst.append(i)
                x = lst.append(i)
                out.append(x)
                lst.pop()
                lst.pop()
                out.append(type(C()).__name__)
                out.append(sys.getrecursionlimit())
            return out
        result = run()
    """)


def test_frame_seen_by_python_code_that_a_builtin_calls_back():
    check("""
        import sys
        seen = []
        def key(v):
            f = sys._getframe(1)
            seen.append((f.f_code.co_name, f.f_lineno))
            return -v
        def run():
            out = []
            for i in range(30):
                out.append(sorted([1, 2, 3], key=key))
                out.append(max(1, 2, key=key))
                out.append(list(map(key, [i])))
            return out
        result = run(), seen[:8], len(seen)
    """)
