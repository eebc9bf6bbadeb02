"""Calls between compiled Python functions through the CALL stencil's per-site cache
(csrc/calls.h: cpjit_push_cached / cpjit_call_cached) and the general path behind it: every case
where what the cache remembers about a site stops being true, compared against the interpreter."""
import textwrap

import pytest

from differential import check


# The recursion-limit probes run in a thread of their own. Below the snippet, the harness's own
# frames can hold a C-level recursion count that depends on the interpreter's warm-up of the
# harness, not on the snippet: plain CPython counts a level for a built-in called from an
# unspecialised CALL (`exec` in differential._run) and none once that site is specialised, so
# the same snippet reached the limit one level apart from run to run. A new thread's count
# starts from its own bootstrap frames, the same in both runs.
IN_OWN_THREAD = """
def in_own_thread(fn, *args):
    import threading
    out = []
    worker = threading.Thread(target=lambda: out.append(fn(*args)))
    worker.start()
    worker.join()
    return out[0]
"""


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
    check(IN_OWN_THREAD + textwrap.dedent(f"""
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
            result = in_own_thread(probe), down(10)
        finally:
            sys.setrecursionlimit(old)
    """))


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


@pytest.mark.parametrize("limit", [80, 200])
def test_sites_that_remember_their_c_call_see_every_other_callee(limit):
    # A site that called a built-in or a method descriptor remembers that form (csrc/calls.c's
    # call_c_kind) and tries it first next time, under the same guards: here every site's
    # callee changes between forms (built-in <-> Python function <-> bound method <-> class,
    # len <-> another METH_O built-in, list.append <-> deque.append <-> a list subclass's
    # append, a descriptor called on an instance of another type, builtins shadowed by a
    # global), the C functions raise (traceback line and f_lasti of the CALL's PRECALL, as the
    # warm interpreter reports them), call back into Python that looks at the frame, and run
    # into the recursion limit.
    check(IN_OWN_THREAD + textwrap.dedent(f"""
        import collections, sys
        class L(list):
            def append(self, v):
                list.append(self, ('sub', v))
        def py_len(x):
            return 'py_len'
        class Box:
            def strip(self):
                return 'box strip'
        seen = []
        class Key:
            def __init__(self, v): self.v = v
            def __repr__(self): return 'Key(%d)' % self.v
            def __len__(self):
                f = sys._getframe(1)
                seen.append((f.f_code.co_name, f.f_lineno, f.f_lasti))
                if self.v < 0:
                    raise ValueError('negative')
                return self.v
        def one(f, x):
            return f(x)
        def app(target, v):
            target.append(v)
        def meth(o):
            return o.strip()
        def get(d, k):
            return d.get(k)
        def down_o(n):
            return abs(-n) if n == 0 else down_o(n - 1)      # METH_O: counts a level
        def down_len(n):
            return len('ab') if n == 0 else down_len(n - 1)   # len: counts none
        def down_fast(n):
            return isinstance(n, int) if n == 0 else down_fast(n - 1)
        def probe(down):
            # Relative to the frames below (the test harness differs between the two runs).
            below, f = 0, sys._getframe()
            while f is not None:
                below, f = below + 1, f.f_back
            depth = 0
            while True:
                try:
                    for _ in range(3):
                        down(depth)
                except RecursionError:
                    return depth + below
                depth += 1
        def run():
            out = []
            lists = [[], collections.deque(), L()]
            for i in range(60):
                f = [len, abs, py_len, str, len, Box, hex][i % 7]
                x = [[1, 2], -3, 'abc', Key(i % 5), Key(-1), (1,), 17][i % 7]
                try:
                    out.append(one(f, x))
                except (TypeError, ValueError) as e:
                    tb = e.__traceback__.tb_next
                    out.append((type(e).__name__, str(e), tb.tb_lineno, tb.tb_lasti))
                app(lists[(i // 3) % 3], i)
                try:
                    out.append(meth(['  a ', b' b ', Box(), 5][i % 4]))
                except AttributeError as e:
                    out.append(('AttributeError', str(e)))
                try:
                    out.append(get([{{1: 2}}, {{1: 3}}, collections.OrderedDict({{1: 4}}), 7][i % 4], 1))
                except AttributeError as e:
                    out.append(('AttributeError', str(e)))
                if i == 30:
                    globals()['len'] = lambda x: 'shadowed len'
                if i == 40:
                    del globals()['len']
            out.append([list(l) for l in lists])
            # METH_VARARGS callables (str.startswith, min with and without key=) take the
            # generic call; a site remembers that and re-checks the form each time.
            def starts(s, p):
                return s.startswith(p)
            def smallest(f, *a, **k):
                return f(*a, **k) if k else f(a[0], a[1])
            def neg(v):
                fr = sys._getframe(1)
                seen.append(('key', fr.f_code.co_name, fr.f_lineno, fr.f_lasti))
                return -v
            def smallest_key(f, a, b):
                return f(a, b, key=neg)
            for i in range(30):
                target = ['abc', b'abc', 'xyz', Box()][i % 4]
                try:
                    out.append(starts(target, 'a' if i % 4 != 1 else b'a'))
                except (AttributeError, TypeError) as e:
                    out.append((type(e).__name__, str(e)))
                f = [min, max, lambda a, b, **k: ('py', a, b), sorted][i % 4]
                try:
                    out.append(smallest(f, i, 3))
                    out.append(smallest_key(f, i, 3))
                except TypeError as e:
                    out.append(('TypeError', str(e)))
            # Sites that keep one form while what they are given changes: Python code run by
            # the C function (__len__, __abs__, __hash__, __eq__) sees the caller at the
            # PRECALL, and so do tracebacks through it.
            class Num:
                def __init__(self, v): self.v = v
                def __abs__(self):
                    f = sys._getframe(1)
                    seen.append(('abs', f.f_lineno, f.f_lasti))
                    return 1 // self.v
            class K:
                def __init__(self, v): self.v = v
                def __hash__(self):
                    f = sys._getframe(1)
                    seen.append(('hash', f.f_lineno, f.f_lasti))
                    return hash(1 // self.v)
                def __eq__(self, other): return True
            def length(x):
                return len(x)
            def absolute(x):
                return abs(x)
            def lookup(d, k):
                return d.get(k, 'missing')
            for i in range(30):
                for site, arg in ((length, [[1], Key(3), (1, 2), Key(-1)][i % 4]),
                                  (absolute, [-2, Num(1), 2.5, Num(0)][i % 4]),
                                  (lookup, ({{1: 'one'}}, [1, K(1), 2, K(0)][i % 4]))):
                    try:
                        out.append(site(*arg) if site is lookup else site(arg))
                    except (ValueError, ZeroDivisionError) as e:
                        tb = e.__traceback__.tb_next
                        out.append((type(e).__name__, tb.tb_lineno, tb.tb_lasti))
            return out
        old = sys.getrecursionlimit()
        sys.setrecursionlimit({limit})
        try:
            result = run(), seen, [in_own_thread(probe, d) for d in (down_o, down_len, down_fast)]
        finally:
            sys.setrecursionlimit(old)
    """))


def test_sites_that_remember_a_class_call_or_a_keywords_form_see_every_other_callee():
    # Calls of built-in classes (type(x), str(x), and PRECALL_BUILTIN_CLASS's classes, with or
    # without a vectorcall) and of METH_FASTCALL | METH_KEYWORDS built-ins and method
    # descriptors without keyword names are remembered per site too (csrc/calls.c's
    # call_c_kind): each polymorphic site here sees other classes, Python classes, functions
    # and instances in turn; Python code the call runs (__str__, __index__, __lt__, __iter__)
    # sees the caller's frame. f_lasti and tb_lasti are compared at the sites that see one
    # callable only: where the interpreter de-specialises with back-off they may differ
    # (COMPATIBILITY.md, "Built-in call sites that see several different callables").
    check("""
        import sys
        seen = []
        def where(tag, lasti):
            f = sys._getframe(2)
            seen.append((tag, f.f_code.co_name, f.f_lineno, f.f_lasti if lasti else None))
        class S:
            lasti = False
            def __repr__(self): return type(self).__name__
            def __str__(self):
                where('str', self.lasti)
                return 'S!'
            def __index__(self):
                where('index', self.lasti)
                return 7
            def __iter__(self):
                where('iter', self.lasti)
                return iter((1, 2))
        class T(S):
            lasti = True
        class Lt:
            lasti = False
            def __init__(self, v): self.v = v
            def __lt__(self, other):
                where('lt', self.lasti)
                return self.v < other.v
            def __repr__(self): return 'Lt(%d)' % self.v
        class Lt1(Lt):
            lasti = True
        class Meta(type):
            def __call__(cls, *a):
                return ('Meta call', a)
        class WithMeta(metaclass=Meta):
            pass
        class Py:
            def __init__(self, *a): self.a = a
            def __repr__(self): return 'Py%r' % (self.a,)
        class D(dict):
            def __init__(self, *a):
                where('D init', True)  # mutable class: the CALL, whatever the site saw
                dict.__init__(self, x=len(a))
        class N:
            def __init__(self, *a): self.a = a
            def __repr__(self): return 'N%r' % (getattr(self, 'a', None),)
        def one(f, x):
            return f(x)
        def none(f):
            return f()
        def split(s):
            return s.split(',')
        def order(f, x):
            return f(x)
        def only_str(x):
            return str(x)
        def only_int(x):
            return int(x)
        def only_tuple(x):
            return tuple(x)
        def only_type(x):
            return type(x)
        def only_sorted(x):
            return sorted(x)
        def only_split(x):
            return x.split(',')
        class Check(type):
            def __instancecheck__(cls, obj):
                where('instancecheck', True)
                if obj == 'raise':
                    raise ValueError('no check')
                return obj == 1
        class Checked(metaclass=Check):
            pass
        def only_isinstance(x):
            return isinstance(x, Checked)
        def two(f, a, b):
            return f(a, b)
        import gc
        def noargs_with(x):
            return gc.isenabled(x)  # METH_NOARGS: the generic call, never specialised
        def run():
            out = []
            for i in range(70):
                f = [int, str, type, tuple, bool, list, frozenset, Py, WithMeta, float,
                     hex, D, N][i % 13]
                x = [S(), S(), 3.5, S(), [], 'ab', 'ba', 1, 2, 'x', S(), 'z', 12][(i // 13 + i) % 13]
                try:
                    out.append(one(f, x))
                except (TypeError, ValueError) as e:
                    out.append((type(e).__name__, str(e), e.__traceback__.tb_next.tb_lineno))
                if i == 40:
                    N.__new__ = staticmethod(lambda cls, *a: ('N new', a))
                if i == 55:
                    del N.__new__
                g = [dict, list, set, object, Py, tuple, int, str, D, N, N, gc.isenabled][i % 12]
                r = none(g)
                out.append(type(r).__name__ if g is object else r)
                try:
                    out.append(split(['a,b', b'c,d', 'e', 5][i % 4] if i % 5 else 'x,y'))
                except (TypeError, AttributeError) as e:
                    out.append((type(e).__name__, str(e)))
                k = [isinstance, isinstance, issubclass, getattr, hasattr, isinstance][i % 6]
                try:
                    out.append(two(k, [1, int, 'ab', Checked][i % 4],
                                   [int, (str, int), 'upper', Checked, 'raise'][i % 5]))
                except (TypeError, ValueError, AttributeError) as e:
                    out.append((type(e).__name__, str(e)))
                h = [sorted, sorted, max, lambda v: ('py', v), sorted][i % 5]
                try:
                    out.append(order(h, [Lt(3), Lt(1), Lt(2)] if i % 3 else [3, 'a']))
                except TypeError as e:
                    out.append(('TypeError', str(e), e.__traceback__.tb_next.tb_lineno))
                # one callable per site: f_lasti and tb_lasti as the warm interpreter has them
                for site, arg in ((only_str, [T(), 5][i % 2]), (only_int, [T(), '9', 'x'][i % 3]),
                                  (only_tuple, [T(), 'ab', 3][i % 3]), (only_type, i),
                                  (only_sorted, [[Lt1(2), Lt1(1)], [1, 'a']][i % 2]),
                                  (only_split, 'p,q'),
                                  (only_isinstance, [1, 2, 'raise'][i % 3]),
                                  (noargs_with, i)):
                    try:
                        out.append(site(arg))
                    except (TypeError, ValueError) as e:
                        tb = e.__traceback__.tb_next
                        out.append((type(e).__name__, str(e), tb.tb_lineno, tb.tb_lasti))
            return out
        result = run(), seen
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


# Classes with a Python __init__, instantiated through the site's class cache (csrc/calls.c:
# call_init / init_direct): one test per guard of that cache, and the behaviour type_call has.

def test_class_cache_follows_init_reassigned_on_the_class_and_on_a_base():
    check("""
        class Base:
            def __init__(self, x): self.v = ("base", x)
        class C(Base):
            def __init__(self, x, y=2): self.v = ("C", x, y)
        class D(Base): pass
        def other(self, x): self.v = ("other", x)
        def run():
            out = []
            for i in range(12):
                if i == 3: C.__init__ = other
                if i == 5: Base.__init__ = lambda self, x: setattr(self, "v", ("lambda", x))
                if i == 7: del C.__init__
                if i == 9: C.__bases__ = (object,)
                for cls in (C, D):
                    try:
                        out.append(cls(i).v)
                    except (TypeError, AttributeError) as e:
                        out.append((type(e).__name__, str(e)))
            return out
        result = run()
    """)


def test_class_cache_with_classes_that_die_and_objects_that_take_their_place():
    # One site instantiating a new class each round: the one it cached is gone by the next round,
    # and its memory may hold another class (a new version) or an object that is no class at all.
    check("""
        import gc
        def make(i):
            class K:
                def __init__(self, x): self.v = (i, x)
            return K
        def build(cls, x):
            return cls(x)
        class NotAClass:
            def __call__(self, x): return ("called", x)
        def run():
            out = []
            for i in range(40):
                k = make(i)
                out.append(build(k, i).v)
                del k
                gc.collect()
                fillers = [NotAClass() for _ in range(50)]
                out.append(build(fillers[i % 50], i))
            return out
        result = run()
    """)


def test_class_cache_follows_init_code_and_defaults_reassigned():
    check("""
        class C:
            def __init__(self, a, b=1): self.v = (a, b)
        def g(self, a, b, c): self.v = (a * b * c,)
        def run():
            out = []
            for i in range(10):
                if i == 3: C.__init__.__defaults__ = (7,)
                if i == 5: C.__init__.__defaults__ = None
                if i == 7: C.__init__.__code__ = g.__code__
                try:
                    out.append(C(i).v if i % 2 else C(i, 2).v)
                except TypeError as e:
                    out.append(str(e))
            return out
        result = run()
    """)


def test_class_cache_sees_a_metaclass_call_added_later():
    # Setting Meta.__call__ changes Meta's version, not C's: the metaclass is checked per call.
    check("""
        class Meta(type): pass
        class C(metaclass=Meta):
            def __init__(self, x): self.x = x
        def run():
            out = []
            for i in range(6):
                if i == 3: Meta.__call__ = lambda cls, *a: ("meta", a)
                r = C(i)
                out.append(getattr(r, "x", r))
            return out
        result = run()
    """)


def test_class_cache_sees_new_and_abstract_methods_set_later():
    check("""
        class C:
            def __init__(self, x): self.x = x
        class E:
            def __init__(self, x): self.x = x
        def run():
            out = []
            for i in range(10):
                if i == 2: C.__new__ = staticmethod(lambda cls, *a: "from __new__")
                if i == 4: del C.__new__
                if i == 6: E.__abstractmethods__ = frozenset({"f", "g"})
                if i == 8: E.__abstractmethods__ = frozenset()
                for cls in (C, E):
                    try:
                        r = cls(i)
                        out.append(getattr(r, "x", r))
                    except TypeError as e:
                        out.append(str(e))
            return out
        result = run()
    """)


def test_class_cache_with_custom_new_object_init_and_builtin_bases():
    check("""
        class N:
            def __new__(cls, x): return super().__new__(cls)
            def __init__(self, x): self.x = x
        class O: pass
        class L(list):
            def __init__(self, x): super().__init__([x, x])
        class DI(dict): pass
        class S:
            __slots__ = ("a",)
            def __init__(self, a): self.a = a
        def run():
            out = []
            for i in range(4):
                out.append(N(i).x)
                out.append(type(O()).__name__)
                out.append(L(i))
                out.append(DI(a=i))
                out.append(S(i).a)
                for bad in (lambda: O(i), lambda: S(), lambda: S(1, 2), lambda: N()):
                    try:
                        bad()
                    except TypeError as e:
                        out.append(str(e))
            return out
        result = run()
    """)


def test_init_returning_something_else_and_raising():
    check("""
        class R:
            def __init__(self, x):
                if x == 1: return 5
                if x == 2: return None
                if x == 3: raise ValueError("bad %d" % x)
                self.x = x
        def run():
            out = []
            for i in range(5):
                try:
                    out.append(vars(R(i)))
                except (TypeError, ValueError) as e:
                    out.append((type(e).__name__, str(e)))
            return out
        result = run()
        R(3)
    """)


def test_frames_and_tracebacks_seen_from_init():
    check("""
        import sys
        class P:
            def __init__(self, x):
                f = sys._getframe(1)
                self.seen = (f.f_code.co_name, f.f_lineno, f.f_lasti, sys._getframe().f_code.co_name)
                if x > 2:
                    self.fail(x)
            def fail(self, x):
                raise KeyError(x)
        def make(x):
            return P(x).seen
        def run():
            out = [make(i) for i in range(3)]
            try:
                make(5)
            except KeyError as e:
                tb = e.__traceback__
                lines = []
                while tb:
                    lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno, tb.tb_lasti))
                    tb = tb.tb_next
                out.append(lines)
            return out
        result = run()
    """)


@pytest.mark.parametrize("limit", [60, 100])
def test_recursion_limit_through_the_class_cache(limit):
    # Each level costs two (the type call and __init__'s frame), so the depth reached moves by
    # one for every two frames below: measured with and without one more frame below, the larger
    # of 2 * depth + frames below does not depend on the harness.
    check(IN_OWN_THREAD + textwrap.dedent(f"""
        import sys
        class Node:
            def __init__(self, n):
                self.child = Node(n - 1) if n else None
        def search():
            below, f = 0, sys._getframe()
            while f is not None:
                below, f = below + 1, f.f_back
            depth = 0
            while True:
                try:
                    Node(depth)
                except RecursionError:
                    return 2 * depth + below
                depth += 1
        def wrapped():
            return search()
        old = sys.getrecursionlimit()
        sys.setrecursionlimit({limit})
        try:
            result = max(in_own_thread(search), in_own_thread(wrapped))
        finally:
            sys.setrecursionlimit(old)
    """))


def test_class_instantiation_under_a_tracer_and_a_tracer_set_in_init():
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("__init__", "run"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        class T:
            def __init__(self, on):
                if on:
                    sys.settrace(tracer)
                self.on = on
        def run():
            out = []
            for i in range(5):
                out.append(T(i == 2).on)
            return out
        try:
            result = run()
            result = result, run()
        finally:
            sys.settrace(None)
        result = result, events
    """)


def test_init_arguments_and_instance_released_as_the_interpreter_does():
    check("""
        log = []
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): log.append(self.name)
        class Holder:
            def __init__(self, a, b=None):
                tmp = Noisy("local")
                log.append("init")
            def __del__(self): log.append("holder")
        def run():
            for i in range(3):
                Holder(Noisy("a%d" % i), Noisy("b%d" % i))
                log.append("between")
                h = Holder(Noisy("x"))
                del h
            log.append("end")
        run()
        result = log
    """)


def test_class_changed_by_a_finalizer_while_the_instance_is_allocated():
    # type_call looks __init__ up after allocating: a collection run by the allocation may have
    # replaced it (init_direct checks the class's version again after the allocation).
    check("""
        import gc
        class C:
            def __init__(self, x): self.v = ("old", x)
        def new_init(self, x): self.v = ("new", x)
        class Trap:
            def __del__(self):
                C.__init__ = new_init
        def run():
            out = []
            old = gc.get_threshold()
            try:
                for i in range(6):
                    if i == 3:
                        t = Trap(); t.me = t; del t
                        gc.set_threshold(1)
                    out.append(C(i).v)
                    gc.set_threshold(*old)
            finally:
                gc.set_threshold(*old)
            return out
        result = run()
    """)


def test_exception_from_the_eval_breaker_after_a_call():
    # A signal handler that raises runs at the eval-breaker check after the call that tripped it.
    check("""
        import signal, _thread
        class Stop(Exception): pass
        def handler(signum, frame):
            raise Stop("stopped")
        def callee(i):
            if i == 3:
                _thread.interrupt_main()
            return i
        def run():
            out = []
            try:
                for i in range(6):
                    out.append(callee(i))
            except Stop as e:
                out.append(str(e))
            return out
        old = signal.signal(signal.SIGINT, handler)
        try:
            result = run()
        finally:
            signal.signal(signal.SIGINT, old)
    """)


# Instances of classes with a Python __call__ (csrc/calls.c: call_slot), one test per guard.

def test_call_cache_follows_call_reassigned_class_changed_and_instance_attributes():
    check("""
        class A:
            def __call__(self, x, y=1): return ("A", x, y)
        class B(A): pass
        class C:
            def __call__(self, x): return ("C", x)
        def other(self, x): return ("other", x)
        def run():
            out = []
            a, b = A(), B()
            a.__call__ = lambda x: "instance attribute: not used by a call"
            for i in range(12):
                if i == 3: A.__call__ = other
                if i == 5: B.__call__ = lambda self, x: ("B", x)
                if i == 7: b.__class__ = C
                if i == 9: del A.__call__
                for f in (a, b):
                    try:
                        out.append(f(i))
                    except TypeError as e:
                        out.append(str(e))
            return out
        result = run()
    """)


def test_call_cache_code_defaults_generators_and_errors():
    check("""
        import functools
        class G:
            def __call__(self, n):
                yield from range(n)
        class E:
            def __call__(self, x):
                if x == 2: raise ValueError(x)
                return x
        class P(functools.partial): pass
        def g(self, a, b, c): return (a, b, c)
        class D:
            def __call__(self, a, b=5): return (a, b)
        def run():
            out = []
            d, e, gen = D(), E(), G()
            p = P(max, 3)
            for i in range(8):
                if i == 4: D.__call__.__defaults__ = (6,)
                if i == 6: D.__call__.__code__ = g.__code__; D.__call__.__defaults__ = (1, 2)
                try:
                    out.append(d(i))
                    out.append(list(gen(i)))
                    out.append(p(i))
                    out.append(e(i))
                except (TypeError, ValueError) as ex:
                    out.append((type(ex).__name__, str(ex)))
            return out
        result = run()
        E()(2)
    """)


@pytest.mark.parametrize("limit", [60, 100])
def test_recursion_limit_through_the_call_cache(limit):
    check(IN_OWN_THREAD + textwrap.dedent(f"""
        import sys
        class Down:
            def __call__(self, n):
                return self(n - 1) if n else 0
        down = Down()
        def search():
            below, f = 0, sys._getframe()
            while f is not None:
                below, f = below + 1, f.f_back
            depth = 0
            while True:
                try:
                    down(depth)
                except RecursionError:
                    return 2 * depth + below
                depth += 1
        def wrapped():
            return search()
        old = sys.getrecursionlimit()
        sys.setrecursionlimit({limit})
        try:
            result = max(in_own_thread(search), in_own_thread(wrapped))
        finally:
            sys.setrecursionlimit(old)
    """))


def test_frames_seen_from_call_and_a_tracer_set_there():
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("__call__", "run"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        class T:
            def __call__(self, on):
                f = sys._getframe(1)
                if on:
                    sys.settrace(tracer)
                return (f.f_code.co_name, f.f_lineno, f.f_lasti)
        def run():
            t = T()
            return [t(i == 2) for i in range(4)]
        try:
            result = run()
        finally:
            sys.settrace(None)
        result = result, events
    """)


def test_call_cache_at_one_site_sees_call_reassigned():
    # One instance per site: the cache is filled once and must notice the class changing.
    check("""
        class A:
            def __call__(self, x): return ("A", x)
        class B(A): pass
        def other(self, x): return ("other", x)
        def run(f):
            out = []
            for i in range(10):
                if i == 3: A.__call__ = other
                if i == 5: B.__call__ = lambda self, x: ("B", x)
                if i == 7: del A.__call__
                try:
                    out.append(f(i))
                except TypeError as e:
                    out.append(str(e))
            return out
        result = run(B()), run(A())
    """)


def test_one_site_calling_a_class_and_its_instances():
    # The class's __init__ and its __call__ share the class (and its version): the site cache
    # records which of the two it holds.
    check("""
        class T:
            def __init__(self, x): self.x = x
            def __call__(self, x): return ("call", self.x, x)
        def run():
            out = []
            t = T(-1)
            for i in range(6):
                for f in (T, t, t, T):
                    r = f(i)
                    out.append(r if isinstance(r, tuple) else ("init", r.x))
            return out
        result = run()
    """)


def test_functions_with_star_args_and_keywords_called_from_native_code():
    # *args / **kwargs callees and keyword calls: their frame is built whole (cpjit_call_function)
    # and entered natively; results, frames seen, tracebacks and the order arguments are bound
    # and released match the interpreter.
    check("""
        import sys, traceback
        log = []
        class Noisy:
            def __init__(self, tag): self.tag = tag
            def __del__(self): log.append(('del', self.tag))
        def star(a, *args, k=1, **kw):
            f = sys._getframe()
            return a, args, k, sorted(kw.items()), f.f_back.f_code.co_name, f.f_lineno
        def only_kw(**kw):
            return sorted(kw)
        def boom(*args, **kw):
            return args[5]
        def caller(n):
            out = []
            for i in range(n):
                out.append(star(i))
                out.append(star(i, 2, 3))
                out.append(star(i, k=5))
                out.append(star(i, 2, k=6, z=7))
                out.append(only_kw(x=i, y=2))
                star(Noisy(i), Noisy(-i), kw=Noisy(100 + i))
                log.append(('after', i))
            try:
                boom(1, 2)
            except IndexError:
                out.append(traceback.format_exc().splitlines()[-3:])
            return out
        result = caller(3), log
    """)


# Callees taking *args and/or **kwargs called with positional arguments only: the site's cache
# names the callee (csrc/calls.c: call_varargs) and binds the call there, as initialize_locals
# binds it. Each test calls from a loop so that the cache is filled and then used.
def test_varargs_site_cache_binds_as_the_interpreter_binds():
    check("""
        def va(a, *args, **kwargs):
            kwargs.setdefault("seen", 0)
            kwargs["seen"] += 1
            return a, args, sorted(kwargs.items()), args is type(args)()
        def only_star(*args):
            return args
        def only_kw(a, b=2, **kwargs):
            return a, b, kwargs
        def defaults(a, b=10, c=20, *rest):
            return a, b, c, rest
        class K:
            def m(self, *args, **kw):
                return type(self).__name__, args, kw
        def run():
            out = []
            k = K()
            for i in range(6):
                out.append(va(i))
                out.append(va(i, i + 1, i + 2))
                out.append(only_star())
                out.append(only_star(i, i))
                out.append(only_kw(i))
                out.append(only_kw(i, 5))
                out.append(defaults(i))
                out.append(defaults(i, 1, 2, 3, 4))
                out.append(k.m(i, "x"))
                out.append(k.m())
                for bad in ((), (1, 2, 3)):
                    try:
                        out.append(only_kw(*bad) if not bad else only_kw(bad[0], bad[1], bad[2]))
                    except TypeError as e:
                        out.append(str(e))
                try:
                    out.append(defaults())
                except TypeError as e:
                    out.append(str(e))
            return out
        result = run()
    """)


def test_varargs_site_cache_follows_callee_code_and_defaults():
    check("""
        def a(x, *rest): return ("a", x, rest)
        def b(x, y=5, **kw): return ("b", x, y, kw)
        def c(x): return ("c", x)
        def d(x, *rest, k=1): return ("d", x, rest, k)
        class Call:
            def __call__(self, *args): return ("Call", args)
        def run():
            out = []
            f = a
            for i in range(16):
                if i == 4: f = b
                if i == 6: f = c
                if i == 8: f = d
                if i == 9: f = Call()
                if i == 10: f = a
                if i == 12: a.__code__ = b.__code__; a.__defaults__ = (9,)
                if i == 14: a.__defaults__ = None
                try:
                    out.append(f(i) if i % 2 else f(i, i))
                except TypeError as e:
                    out.append(str(e))
            return out
        result = run()
    """)


def test_varargs_callee_frames_tracebacks_and_release_order():
    check("""
        import sys, traceback
        log = []
        class Noisy:
            def __init__(self, tag): self.tag = tag
            def __del__(self): log.append(("del", self.tag))
        def callee(a, *args, **kw):
            back = sys._getframe(1)
            log.append(("body", len(args)))
            return back.f_code.co_name, back.f_lineno, back.f_lasti == back.f_lasti
        def boom(a, *args):
            return args[3]
        def caller():
            out = []
            for i in range(4):
                out.append(callee(Noisy(i), Noisy(-i), Noisy(10 + i)))
                log.append(("after", i))
                out.append(callee(i))
            try:
                boom(1, 2)
            except IndexError:
                out.append(traceback.format_exc().splitlines()[-4:])
            return out
        result = caller(), log
    """)


def test_tracing_switched_on_inside_a_varargs_callee():
    check("""
        import sys
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("callee", "caller"):
                events.append((frame.f_code.co_name, event, frame.f_lineno))
            return tracer
        def callee(on, *rest, **kw):
            if on:
                sys.settrace(tracer)
            return on
        def caller():
            for i in range(5):
                callee(i == 3, i)
            x = 1
            return x
        try:
            caller()
        finally:
            sys.settrace(None)
        result = events
    """)


def test_property_getters_run_as_the_interpreter_runs_them():
    # Exact `property` objects whose getter is a Python function: the getter's frame, its
    # caller, tracebacks through it, AttributeError from it, a getter that removes its own
    # property, defaults, metaclass properties and properties on many classes (megamorphic).
    check("""
        import sys, traceback
        class Meta(type):
            @property
            def label(cls):
                return 'meta:' + cls.__name__
        class P(metaclass=Meta):
            def __init__(self, v): self.v = v
            @property
            def double(self):
                return self.v * 2, sys._getframe(1).f_code.co_name, sys._getframe().f_lineno
            @property
            def broken(self):
                return self.missing
            @property
            def with_default(self, extra=10):
                return self.v + extra
            def vanish(self):
                del P.vanishing
                return 'gone'
            vanishing = property(vanish)
        class Sub(P):
            pass
        kinds = [type('K%d' % i, (P,), {}) for i in range(7)]
        def reader(objs):
            out = []
            for o in objs:
                out.append(o.double)
                out.append(o.with_default)
                out.append(type(o).label)
                try:
                    o.broken
                except AttributeError as e:
                    out.append(('AttributeError', str(e), traceback.format_exc().splitlines()[-4:]))
            return out
        objs = [P(1), Sub(2)] + [k(i) for i, k in enumerate(kinds)]
        out = [reader(objs) for _ in range(3)]
        out.append(P(5).vanishing)
        try:
            P(5).vanishing
        except AttributeError as e:
            out.append(str(e))
        result = out
    """)


def test_python_getitem_runs_as_the_interpreter_runs_it():
    # A class's Python __getitem__ called by BINARY_SUBSCR: frames, tracebacks, exceptions from
    # it, replacement on the class, an instance attribute (ignored: special methods are looked
    # up on the type), dict subclasses, *args and default parameters, non-function __getitem__.
    check("""
        import sys, traceback
        class Seq:
            def __getitem__(self, i):
                if i >= 3:
                    raise IndexError(i)
                return i * 10, sys._getframe(1).f_code.co_name, sys._getframe().f_lineno
        class Star:
            def __getitem__(self, *k, extra='e'):
                return k, extra
        class D(dict):
            def __getitem__(self, k):
                return ('D', k, dict.__getitem__(self, k) if k in self else None)
        class Builtin:
            __getitem__ = dict.fromkeys
        def reader():
            out = []
            s = Seq()
            for i in range(5):
                try:
                    out.append(s[i])
                except IndexError as e:
                    out.append(('IndexError', e.args, traceback.format_exc().splitlines()[-3:]))
            out.append(Star()[1, 2])
            d = D(a=1)
            out.append((d['a'], d['b']))
            out.append(Builtin()['xy'])
            s.__getitem__ = lambda i: 'instance'
            out.append(s[0])
            return out
        out = [reader(), reader()]
        Seq.__getitem__ = lambda self, i: ('replaced', i)
        out.append(reader())
        del Seq.__getitem__
        try:
            Seq()[0]
        except TypeError as e:
            out.append(str(e))
        result = out
    """)


def test_init_with_star_args_keywords_only_and_kwargs():
    # __init__ methods that do not take the arguments one to one: the frame is built whole.
    check("""
        import sys, traceback
        class Rec:
            def __init__(self, name, level, *args, flag=False, **kw):
                self.name, self.level, self.args, self.flag, self.kw = name, level, args, flag, kw
                self.caller = sys._getframe(1).f_code.co_name
        class Bad:
            def __init__(self, *a, **k):
                return 42
        class Boom:
            def __init__(self, *a, **k):
                raise ValueError(a)
        class Many:
            def __init__(self, *a):
                self.n = len(a)
        def make(i):
            out = []
            r = Rec('n', i)
            out.append(vars(r))
            out.append(vars(Rec('n', i, 1, 2, 3)))
            try:
                Bad(i)
            except TypeError as e:
                out.append(str(e))
            try:
                Boom(i, i)
            except ValueError as e:
                out.append(traceback.format_exc().splitlines()[-3:])
            out.append(Many(*range(i * 7)).n)
            out.append(Many(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17).n)
            return out
        out = [make(i) for i in range(4)]
        Rec.__init__ = lambda self, *a, **k: setattr(self, 'replaced', (a, k))
        out.append(vars(Rec(1, 2)))
        result = out
    """)


def test_calls_with_star_args_and_double_star_kwargs():
    # CALL_FUNCTION_EX: functions and bound methods get their frame built whole; errors, key
    # kinds and argument counts as PyObject_Call has them.
    check("""
        import sys, traceback
        class S(str):
            pass
        def f(a, b=2, *rest, c=3, **kw):
            return a, b, rest, c, sorted(kw.items()), sys._getframe(1).f_code.co_name
        def posonly(a, /, b):
            return a, b
        class K:
            def m(self, *a, **k):
                return type(self).__name__, a, sorted(k.items())
        def boom(*a, **k):
            raise KeyError(a)
        def caller():
            out = []
            args, kw = (1,), {'c': 9, 'z': 0}
            out.append(f(*args, **kw))
            out.append(f(*(1, 2, 3, 4)))
            out.append(f(**{'a': 5}))
            out.append(K().m(*args, **kw))
            out.append(f(*range(40)))
            out.append(f(1, **{S('zz'): 1}))
            for bad in (lambda: f(1, **{'a': 2}), lambda: posonly(**{'a': 1, 'b': 2}),
                        lambda: f(*(), **{}), lambda: f(**{1: 2}), lambda: len(*(1, 2))):
                try:
                    bad()
                except TypeError as e:
                    out.append(str(e))
            try:
                boom(*args, **kw)
            except KeyError:
                out.append(traceback.format_exc().splitlines()[-3:])
            out.append(max(*(3, 9, 4), **{'key': lambda v: -v}))
            return out
        result = [caller() for _ in range(3)]
    """)


# Calls native code enters from C paths (keywords and *args/**kwargs, property getters,
# __getitem__): the depth reached before RecursionError, relative to the frames below the probe
# (the test harness differs between the two runs), as the interpreter reaches it.
RECURSION_CASES = {
    "star_args": ("""
        def down(n, *rest, **kw):
            return 0 if n == 0 else 1 + down(n - 1, *rest, **kw)
        def pos_down(n, *rest, **kw):
            return 0 if n == 0 else 1 + pos_down(n - 1, 1, 2)
        def kw_down(n, acc=0):
            return acc if n == 0 else kw_down(n - 1, acc=acc + 1)
    """, "in_own_thread(probe, down), in_own_thread(probe, kw_down), "
        "in_own_thread(probe, pos_down), down(10, 1, x=2), pos_down(10)"),
    "property_getter": ("""
        class Node:
            def __init__(self, n): self.n = n
            @property
            def depth(self):
                return 0 if self.n == 0 else 1 + Node(self.n - 1).depth
    """, "in_own_thread(probe, lambda d: Node(d).depth), Node(10).depth"),
    "getitem": ("""
        class Down:
            def __getitem__(self, n):
                return 0 if n == 0 else 1 + self[n - 1]
    """, "in_own_thread(probe, lambda d: Down()[d]), Down()[10]"),
    # C code calling a compiled function: through its vectorcall (test_calls_from_c.py)
    "c_callback": ("""
        def down(n):
            return 0 if n == 0 else 1 + sum(map(down, [n - 1]))
    """, "in_own_thread(probe, down), down(10)"),
}


@pytest.mark.parametrize("case", sorted(RECURSION_CASES))
@pytest.mark.parametrize("limit", [60, 100])
def test_recursion_limit_through_calls_entered_from_c_paths(case, limit):
    definitions, measured = RECURSION_CASES[case]
    check(IN_OWN_THREAD + textwrap.dedent(definitions) + textwrap.dedent(f"""
        import sys
        def probe(f):
            below, fr = 0, sys._getframe()
            while fr is not None:
                below, fr = below + 1, fr.f_back
            depth = 0
            while True:
                try:
                    f(depth)
                except RecursionError:
                    return depth + below
                depth += 1
        old = sys.getrecursionlimit()
        sys.setrecursionlimit({limit})
        try:
            result = {measured}
        finally:
            sys.setrecursionlimit(old)
    """))


# A garbage collection run by the allocation of a callee's *args tuple or **kwargs dict runs
# finalizers, which push frames of their own at the data stack's top: where the callee's frame
# was being bound. Each round leaves a cycle with a finalizer that calls a function with many
# locals (to write over that room); low collection thresholds, each tried, make one of the
# allocations at the call the one that collects. Found through test_asyncio.test_tasks (a WeakValueDictionary's update, which takes
# **kwargs, ran with another object as self).
GC_DURING_BINDING_CASES = {
    "kwargs_ex": "target(obj, 1, **extra)",
    "kwargs_names": "target(obj, 1, k=i)",
    "kwargs_positional": "target(obj, 1)",
    "method_varargs": "holder.star_method(1, 2)",
    "varargs_ex": "star(obj, *rest)",
    "varargs": "star(obj, 1, 2, 3)",
    "method_ex": "holder.method(1, **extra)",
}


@pytest.mark.parametrize("case", sorted(GC_DURING_BINDING_CASES))
def test_garbage_collection_while_a_callees_frame_is_bound(case):
    call = GC_DURING_BINDING_CASES[case]
    check(f"""
        import gc
        log = []
        def scribble(a, b, c, d, e, f, g, h):
            i = j = k = l = m = n = o = p = q = (a, b, c, d)
            log.append(len(q))
        class Cycle:
            def __init__(self):
                self.me = self
            def __del__(self):
                scribble(1, 2, 3, 4, 5, 6, 7, 8)
        def target(self, other=None, /, **kwargs):
            return self, other, sorted(kwargs)
        def star(self, *args):
            return self, args
        class Holder:
            def method(self, other=None, /, **kwargs):
                return self, other, sorted(kwargs)
            def star_method(self, *args, **kwargs):
                return self, args, kwargs
        holder = Holder()
        rest = (1, 2, 3)
        def run():
            out = []
            for i in range(60):
                Cycle()
                obj = object()
                extra = {{'k': i}}
                r = {call}
                expected = holder if {"holder" in call} else obj
                out.append(r[0] is expected)
            return out
        old = gc.get_threshold()
        outcome = []
        try:
            for threshold in range(1, 9):
                gc.collect()
                gc.set_threshold(threshold)
                outcome += run()
        finally:
            gc.set_threshold(*old)
        result = (len(outcome), all(outcome), len(log) > 0)
    """)


def test_sites_that_remember_a_c_object_callee_see_it_change():
    # A site whose callee is an object no case of the general path serves (an lru_cache
    # wrapper, a partial, an itemgetter, a subclass of partial) remembers that the call goes
    # the generic way (CPJIT_C_OBJECT, keyed on the callee's type and its version) and makes
    # the next ones straight away. Here the type gains a Python __call__ (its version changes),
    # the site's callee changes to a function, a class, a built-in and a bound method and back,
    # the calls take keyword arguments, and the callees raise (traceback lines compared).
    check("""
        import functools, operator
        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        class P(functools.partial):
            pass
        def add(a, b=0, *, c=0):
            if a == 'boom':
                raise ValueError('boom')
            return (a, b, c)
        def call(f, *a, **k):
            return f(*a, **k)
        def call1(f, x):
            return f(x)
        def callkw(f, x):
            return f(x, c=2)
        out = []
        for i in range(30):
            fib.cache_clear()
            out.append(fib(i))
        p = P(add, 1)
        g = operator.itemgetter(1)
        for i in range(40):
            if i == 20:
                P.__call__ = lambda self, *a, **k: ('python call', a, k)
            if i == 30:
                del P.__call__
            out.append(call1(p, i))
            out.append(callkw(p, i))
            out.append(call1(g, (i, -i)))
            f = [p, add, g, len, str, out.append, fib][i % 7] if i % 3 == 0 else p
            try:
                out.append(call1(f, (i, i)))
            except TypeError as e:
                out.append(('TypeError', str(e)))
        q = P(add)
        for i in range(12):
            try:
                out.append(call1(q, 'boom' if i % 4 == 3 else i))
            except ValueError as e:
                out.append(('ValueError', e.args, e.__traceback__.tb_next.tb_lineno))
        def first_fails(f, x):
            return f(x)                # the site's first call raises
        for x in ('boom', 1, 'boom', 2):
            try:
                out.append(first_fails(q, x))
            except ValueError as e:
                out.append(('first', e.args))
        try:
            first_fails(5, 1)
        except TypeError as e:
            out.append(str(e))
        result = out
        call1(q, 'boom')
    """)


def test_keyword_only_defaults_from_a_dict_whose_key_runs_python_code():
    # A __kwdefaults__ key of a str subclass compares by its own __eq__: binding the default
    # runs Python code, whose frames must not land on the callee's frame being bound (its
    # locals were overwritten by them: `a + k` saw a str). Also with *args/**kwargs, and a
    # function called from interpreted code and from native code.
    check("""
        seen = []
        class S(str):
            def __eq__(self, other):
                def deep(n):
                    pad = [n, n, n]
                    return deep(n - 1) if n else pad
                deep(12)
                seen.append(str(self))
                return str.__eq__(self, other)
            __hash__ = str.__hash__
        def f(a, *, k=1, j=2):
            return a + k + j
        f.__kwdefaults__ = {S('k'): 5, 'j': 7}
        def g(a, b=3, *args, k=1, **kw):
            return (a, b, args, k, sorted(kw))
        g.__kwdefaults__ = {S('k'): 11}
        out = [f(i) for i in range(40)]
        out += [g(i, x=1) for i in range(40)]
        out += [g(i, 2, 3, y=2) for i in range(40)]
        out.append(eval("f(100)"))
        result = (out, len(seen))
    """)


def test_keyword_only_defaults_follow_their_dict_mutated_replaced_and_shared():
    # The defaults read from __kwdefaults__ are remembered per code object, keyed on the dict
    # and its version: every mutation, a new dict at a freed one's address, closures of one
    # code object with dicts of their own, and a key removed (the TypeError) must show.
    check("""
        def make(d):
            def f(a, *, k=d, j=2, **kw):
                return (a, k, j, sorted(kw))
            return f
        f = make(1)
        out = []
        for i in range(30):
            out.append(f(i))
            if i == 5:
                f.__kwdefaults__['k'] = 'mutated'
            if i == 8:
                f.__kwdefaults__ = {'k': 'replaced', 'j': 'too'}
            if i == 11:
                f.__kwdefaults__['j'] = f.__kwdefaults__['j']  # same value: same answer
            if i == 13:
                f.__kwdefaults__ = dict(f.__kwdefaults__, k=i)  # the old dict dies
            if i == 16:
                del f.__kwdefaults__['j']
                try:
                    f(0)
                except TypeError as e:
                    out.append(str(e))
                f.__kwdefaults__['j'] = 'back'
            if i == 20:
                f.__kwdefaults__ = None
                try:
                    f(0, x=1)
                except TypeError as e:
                    out.append(str(e))
                f.__kwdefaults__ = {'k': 'none before', 'j': 0}
        gs = [make(n) for n in range(4)]
        for i in range(12):
            out.append(gs[i % 4](i, x=i))
        result = out
    """)


@pytest.mark.parametrize("threshold", [0, 2, 16])
def test_a_site_that_calls_the_methods_of_many_classes(threshold):
    # `handler(node)` with a bound method the site has not cached (a visitor): the method is
    # split as PRECALL splits it and the call retargeted (csrc/calls.c: call_bound); callees
    # with defaults, keyword-only parameters, *args, generators, a method object that dies at
    # the split (its weakref callback sees the frame), exceptions with their tracebacks, and
    # methods of built-in functions and of callable objects at the same site.
    check("""
        import operator, sys, traceback, types, weakref
        out = []
        refs = []
        class V:
            def visit(self, node):
                if isinstance(node, J):
                    handler = types.MethodType(operator.is_, node)  # a built-in's method
                else:
                    handler = getattr(self, 'visit_' + type(node).__name__)
                if isinstance(node, E):
                    del handler
                    return self.getm('visit_E')(node)  # dies at the call's split
                return handler(node)
            def getm(self, name):
                m = getattr(self, name)
                refs.append(weakref.ref(m, lambda r: out.append(
                    ('method gone', sys._getframe(1).f_code.co_name,
                     sys._getframe(1).f_lasti))))
                return m
            def visit_A(self, n): return 'A'
            def visit_B(self, n, extra=7): return ('B', extra)
            def visit_C(self, n, *, k=3): return ('C', k)
            def visit_D(self, n, *rest): return ('D', rest)
            def visit_E(self, n): return ('E', sys._getframe(1).f_lasti)
            def visit_F(self, n): return list(self._gen(n))
            def _gen(self, n):
                yield 'F'
            def visit_G(self, n): raise ValueError('G')
            def visit_H(self, n): return self.visit(A())
        V.visit_I = lambda self, n: "I"
        class A: pass
        class B: pass
        class C: pass
        class D: pass
        class E: pass
        class F: pass
        class G: pass
        class H: pass
        class I: pass
        class J: pass
        v = V()
        nodes = [A(), B(), C(), D(), E(), F(), G(), H(), I(), J()]
        for round in range(40):
            for node in nodes:
                try:
                    out.append(v.visit(node))
                except ValueError as e:
                    out.append(('raised', [f.lineno for f in traceback.extract_tb(e.__traceback__)]))
        def deep(n):
            class R:
                def step(self, k): return k if k == 0 else getattr(self, names[k % 2])(k - 1)
                def other(self, k): return self.step(k)
            names = ['step', 'other']
            try:
                return R().step(n)
            except RecursionError:
                return 'recursion'
        out.append(deep(50))
        result = out
    """, threshold=threshold)


@pytest.mark.parametrize("threshold", [0, 16])
def test_a_site_cycling_through_callees_its_older_entries_hold(threshold):
    # One site calling two, three and four functions in turn: the callees the site's entry
    # named before live in its cache's second slot (csrc/calls.h: CpjitCallCache.older) and are
    # swapped back in. Everything an older entry could get wrong: defaults read from each
    # function (and changed), a function given another code object, a new function object with
    # an old one's code, compiled code objects that die (and new ones that may take their
    # addresses) while the site remembers them, RecursionError through the swapped-in callee at
    # the interpreter's depth, and each callee's tracebacks.
    import cpjit
    before = cpjit.stats()["calls_older_callee"]
    check(IN_OWN_THREAD + textwrap.dedent("""
        import sys, traceback
        def a(x, y=1): return ("a", x, y)
        def b(x, y=2): return ("b", x, y)
        def c(x, y=3):
            if x == 13: raise KeyError(x)
            p, q, r = x + 1, x + 2, [x] * 2
            return ("c", x, y, p + q, r)
        def d(x, y=4, *, k=None):
            t = 0
            for i in range(x % 5):
                t += i * y
            return ("d", x, y, t)
        def site(f, x): return f(x)
        out = []
        def cycle(fs, n):
            for i in range(n):
                try:
                    out.append(site(fs[i % len(fs)], i))
                except KeyError as e:
                    out.append(("raised", e.args, [fr.lineno for fr in traceback.extract_tb(e.__traceback__)]))
        cycle([a, b], 40)
        cycle([a, b, c], 60)
        cycle([a, b, c, d], 80)
        b.__defaults__ = (20,)
        cycle([a, b, c], 30)
        c.__code__ = d.__code__
        cycle([a, b, c], 30)
        def make(tag):
            def e(x, y=5): return (tag, x, y)
            return e
        for k in range(30):
            f1, f2 = make("e%d" % k), make("f%d" % k)
            cycle([a, f1, f2], 9)
        for k in range(20):
            ns = {}
            exec("def g(x, y=%d): return ('g', x, y * %d)" % (k, k), ns)
            exec("def h(x): return ('h', x, %d)" % k, ns)
            cycle([ns["g"], ns["h"], a], 9)
            del ns
        reached = [0]
        def down(n):
            reached[0] = n
            return 0 if n == 0 else 1 + site(down, n - 1)
        def up(n):
            reached[0] = n
            return 0 if n == 0 else 1 + site(up, n - 1)
        def probe(limit):
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(limit)
            try:
                got = []
                for f in (down, up, down, up):
                    try:
                        got.append(f(10**6))
                    except RecursionError:
                        got.append(("RecursionError at depth", 10**6 - reached[0]))
                return got
            finally:
                sys.setrecursionlimit(old)
        out.append(in_own_thread(probe, 60))
        result = out
    """), threshold=threshold)
    assert cpjit.stats()["calls_older_callee"] > before
