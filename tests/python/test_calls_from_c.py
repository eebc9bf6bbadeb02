"""Python functions called from C code (built-ins, type slots, functools) once their code is
compiled: cpjit_function_vectorcall (csrc/calls.h) enters their native code without the
frame-evaluation hook. Each case is compared against the interpreter, and the stats show the
path ran (frames_from_c)."""
import subprocess
import sys
import textwrap

import cpjit
import pytest
from differential import check


def check_from_c(source, threshold=0):
    before = cpjit.stats()["frames_from_c"]
    check(source, threshold=threshold)
    assert cpjit.stats()["frames_from_c"] > before, "no call entered through the function's vectorcall"


def test_builtins_calling_back():
    check_from_c("""
        import functools
        def key(v):
            return -v
        def keep(v):
            return v % 3 != 0
        def add(a, b):
            return a + b
        out = []
        for i in range(3):
            xs = list(range(i, i + 10))
            out.append(sorted(xs, key=key))
            out.append(list(map(key, xs)))
            out.append(list(filter(keep, xs)))
            out.append(min(xs, key=key))
            out.append(functools.reduce(add, xs))
        result = out
    """)


def test_type_slots_calling_python_methods():
    check_from_c("""
        class P:
            def __init__(self, x, y=0, *, z=1):
                self.x, self.y, self.z = x, y, z
            def __eq__(self, other):
                return isinstance(other, P) and self.x == other.x
            def __hash__(self):
                return hash(self.x)
            def __lt__(self, other):
                return self.x < other.x
            def __len__(self):
                return self.x
            def __bool__(self):
                return self.x > 1
            def __repr__(self):
                return 'P(%d, %d, %d)' % (self.x, self.y, self.z)
            def __getattr__(self, name):
                return name * self.x
            def __iter__(self):
                return iter(range(self.x))
            def __call__(self, *args, **kw):
                return (self.x, args, sorted(kw.items()))
        out = []
        for i in range(4):
            ps = list(map(P, [3, 1, 2, i]))
            out.append(sorted(ps))
            out.append(len({p: 1 for p in ps}))
            out.append([len(p) for p in ps])
            out.append([bool(p) for p in ps])
            out.append(ps[0].missing)
            out.append(list(ps[0]))
            out.append(ps[1](1, 2, k=i))
            out.append(P(1, z=5))
            out.append(ps.index(P(2)))
        result = out
    """)


def test_arguments_bound_from_c_as_the_interpreter_binds_them():
    # functools.partial passes keywords through the vectorcall; bad calls raise the same errors.
    check_from_c("""
        import functools
        def f(a, b=2, *rest, c, d=4, **kw):
            return (a, b, rest, c, d, sorted(kw.items()))
        def g(a, b, /, c=3):
            return (a, b, c)
        out = []
        for i in range(3):
            out.append(functools.partial(f, c=i)(1))
            out.append(functools.partial(f, 1, 2, 3, c=0, e=i)(4, d=5))
            out.append(functools.partial(g, 1)(2))
            out.append(functools.partial(g, 1, 2)(c=i))
            for bad in (functools.partial(f), functools.partial(f, 1, c=1, a=2),
                        functools.partial(g, 1, b=2), functools.partial(g, 1, 2, 3, 4)):
                try:
                    bad()
                except TypeError as e:
                    out.append(str(e))
        result = out
    """)


def test_frames_and_tracebacks_through_c():
    check_from_c("""
        import sys, traceback
        seen = []
        def key(v):
            f = sys._getframe(1)
            seen.append((f.f_code.co_name, f.f_lineno, f.f_lasti))
            if v == 3:
                raise ValueError('three')
            return v
        def caller(xs):
            return sorted(xs, key=key)
        out = []
        for i in range(3):
            try:
                out.append(caller([5, 4, 3 + i]))
            except ValueError as e:
                out.append([(fs.name, fs.lineno) for fs in traceback.extract_tb(e.__traceback__)])
        result = out, seen
    """)


def test_generators_and_coroutines_made_from_c():
    check_from_c("""
        def gen(n):
            for i in range(n):
                yield i * n
        async def coro(n):
            return n + 1
        out = []
        for i in range(3):
            out.append([list(g) for g in map(gen, [1, 2, i])])
            for c in map(coro, [i, i + 1]):
                try:
                    c.send(None)
                except StopIteration as e:
                    out.append(e.value)
        result = out
    """)


def test_a_new_code_object_on_the_function_is_followed():
    check_from_c("""
        def f(v):
            return v + 1
        def g(v):
            return v * 10
        out = [list(map(f, [1, 2]))]
        f.__code__ = g.__code__
        out.append(list(map(f, [1, 2])))
        f.__code__ = (lambda v, w=5: v - w).__code__
        out.append(list(map(f, [1, 2])))
        result = out
    """)


def test_tracing_switched_on_in_a_function_called_from_c():
    check_from_c("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ('key', 'run'):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def key(v):
            if v == 2:
                sys.settrace(tracer)
            return -v
        def run():
            return sorted([1, 2, 3, 4], key=key)
        try:
            r = run()
        finally:
            sys.settrace(None)
        result = r, events
    """)


def test_interpreted_callers_keep_the_inlined_call_look():
    # At threshold 4, callers still counting run in the interpreter and call compiled functions
    # through CALL: the function's vectorcall takes those (run_as_inlined_call) and makes them
    # look inlined, so the caller's f_lasti and the release of the arguments are plain CPython's.
    check_from_c("""
        import sys
        log = []
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): log.append(('del', self.name))
        def callee(a, b):
            f = sys._getframe(1)
            log.append((f.f_code.co_name, f.f_lasti))
            return a.name + b.name
        out = []
        for i in range(12):
            exec("def caller(f):\\n    return f(Noisy('a'), Noisy('b'))", globals())
            out.append(caller(callee))
            out.append(list(map(callee, [Noisy('m')], [Noisy('n')])))
        result = out, log
    """, threshold=4)


def test_functions_called_from_c_after_cpjit_is_disabled():
    # The function keeps cpjit's vectorcall; with another evaluator (none) installed it must
    # call the way CPython does, and nothing enters native code.
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import cpjit, sys
        cpjit.enable(0)
        def f(v, k=1):
            return v * k
        first = list(map(f, range(5)))
        entered = cpjit.stats()['frames_from_c']
        cpjit.disable()
        after = cpjit.stats()['frames_native']
        second = list(map(f, range(5)))
        import functools
        third = functools.partial(f, k=3)(2)
        print(first == second, third, entered > 0, cpjit.stats()['frames_native'] == after)
    """)], capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "6", "True", "True"]


EVERY_SHAPE_PROGRAM = """
        import sys, traceback
        log = []
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): log.append(('del', self.name))
        def pos(a, b):
            log.append(('pos', sys._getframe(1).f_lasti))
            a = None
            return b.name
        def dflt(a, b=7):
            return (a.name, b)
        def kwonly(a, *, k=1):
            return (a.name, k)
        def star(a, *args, **kw):
            return (a.name, len(args), sorted(kw))
        def boom(a):
            raise ValueError(a.name)
        class K:
            def m(self, x):
                log.append(('m', sys._getframe(1).f_lasti))
                return x.name
        for warm in range(4):
            pos(Noisy('w'), Noisy('w')); dflt(Noisy('w')); kwonly(Noisy('w'), k=2)
            star(Noisy('w'), 1, z=2); K().m(Noisy('w'))
            try:
                boom(Noisy('w'))
            except ValueError:
                pass
        log.clear()
        class Calls:
            out = []
            for i in range(3):
                out.append(pos(Noisy('p1'), Noisy('p2')))
                out.append(dflt(Noisy('d')))
                out.append(dflt(Noisy('d'), b=Noisy('e').name))
                out.append(dflt(b=3, a=Noisy('f')))
                out.append(kwonly(Noisy('k'), k=Noisy('kk').name))
                out.append(star(Noisy('s'), Noisy('t'), u=Noisy('u')))
                out.append(K().m(Noisy('x')))
                bound = K().m
                out.append(bound(Noisy('y')))
                try:
                    boom(Noisy('b'))
                except ValueError as e:
                    tb = e.__traceback__
                    out.append((str(e), tb.tb_lasti, tb.tb_lineno))
                    del tb, e
        result = Calls.out, log
    """


def test_interpreted_callers_of_compiled_functions_every_argument_shape():
    # The callees compile (threshold 2) while the interpreter keeps running the callers (a class
    # body is never compiled at a threshold above 0), so every call goes from an interpreter-run
    # CALL through the callee's vectorcall: positional, defaults, keywords, keyword-only,
    # *args/**kwargs, methods, bound-method objects, a callee that raises (the caller's
    # traceback entry and f_lasti), finalizers of arguments the callee drops, and the caller's
    # f_lasti seen from inside the callee.
    check_from_c(EVERY_SHAPE_PROGRAM, threshold=2)


def test_interpreted_callers_of_cold_functions_every_argument_shape():
    # The same calls with nothing compiled: after its first call (through the hook) each callee
    # is called through its vectorcall, which pushes the frame and hands it to the interpreter.
    before = cpjit.stats()["frames_interpreted"]["cold"]
    check(EVERY_SHAPE_PROGRAM, threshold=10**6)
    assert cpjit.stats()["frames_interpreted"]["cold"] > before


@pytest.mark.parametrize("threshold", [0, 16])
def test_python_functions_c_code_calls_with_no_arguments(threshold):
    # PyObject_CallNoArgs passes no argument array at all (NULL): iter(f, sentinel), a
    # defaultdict's factory, a Future's loop lookup... made while the caller's CALL is running
    # (crashed between e26183f and its fix, reading below the NULL).
    check("""
        import collections
        n = [0]
        def f():
            n[0] += 1
            return n[0] if n[0] % 4 else None
        def g():
            return list(iter(f, None)), collections.defaultdict(f)['k']
        out = [g() for _ in range(30)]
        out.append(list(iter(f, None)))
        result = out
    """, threshold=threshold)
