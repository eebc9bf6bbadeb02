"""Differential tests for the "names" family: name, global, attribute, import, cell and function
opcodes (LOAD_NAME ... LOAD_ASSERTION_ERROR), including their error paths and line numbers."""
from differential import check


# ---- LOAD_NAME / STORE_NAME / DELETE_NAME -------------------------------------------------------

def test_module_level_names():
    out = check("""
        a = 1
        b = a + 2
        c = len([a, b])          # builtins through LOAD_NAME
        del a
        try:
            a
        except NameError as e:
            err = (str(e), e.name)
        result = (b, c, err)
    """)
    assert "name 'a' is not defined" in out.result


def test_load_name_error_line():
    check("""
        x = 1
        y = x + \\
            undefined_name
    """)


def test_delete_name_missing():
    check("""
        q = 1
        del q
        del q
    """)


def test_names_in_non_dict_locals():
    # exec with a mapping that is not a dict: the PyObject_GetItem / SetItem / DelItem paths.
    check("""
        class NS(dict):
            def __getitem__(self, k):
                if k == 'magic':
                    return 42
                return dict.__getitem__(self, k)
        class Mapping:
            def __init__(self): self.d = {}
            def __getitem__(self, k): return self.d[k]
            def __setitem__(self, k, v): self.d[k] = ('set', v)
            def __delitem__(self, k): del self.d[k]
        src = "x = magic + 1\\ny = x\\ndel x\\nz = len('abc')"
        ns = NS()
        exec(src, {}, ns)
        m = Mapping()
        try:
            exec(src, {}, m)
        except NameError as e:
            err = str(e)
        m2 = Mapping()
        exec("a = 1\\nb = a\\ndel a\\ntry:\\n    del a\\nexcept NameError as e:\\n    c = str(e)", {}, m2)
        result = (sorted(ns.items()), err, sorted(m2.d.items()))
    """)


def test_load_name_globals_and_builtins_order():
    check("""
        g = {'__builtins__': {'len': lambda s: 'fake len', 'x': 'from builtins'}}
        exec("r1 = len('abc')\\nr2 = x\\nlen = 5\\nr3 = len", g)
        g2 = {'__builtins__': {}}
        try:
            exec("print('hi')", g2)
        except NameError as e:
            err = str(e)
        result = (g['r1'], g['r2'], g['r3'], err)
    """)


# ---- STORE_GLOBAL / DELETE_GLOBAL ---------------------------------------------------------------

def test_global_statements():
    check("""
        counter = 0
        def bump(n):
            global counter
            for i in range(n):
                counter += i
            return counter
        def make():
            global made
            made = 'yes'
        def unmake():
            global made
            del made
        bump(10)
        make()
        before = made
        unmake()
        result = (counter, before, 'made' in globals())
    """)


def test_delete_global_missing():
    check("""
        def unmake():
            global never_defined
            del never_defined
        unmake()
    """)


# ---- LOAD_ATTR / STORE_ATTR / DELETE_ATTR / LOAD_METHOD -----------------------------------------

def test_attributes():
    check("""
        class P:
            cls_attr = 'c'
            def __init__(self, x):
                self.x = x
            @property
            def double(self):
                return self.x * 2
        class G:
            def __getattr__(self, name):
                return 'dyn_' + name
        class S:
            __slots__ = ('a', 'b')
        def f():
            p = P(3)
            p.y = p.x + 1
            s = S()
            s.a = 1
            del p.y
            s.b = s.a + 1
            del s.a
            return (p.x, p.double, p.cls_attr, hasattr(p, 'y'), G().anything, s.b,
                    hasattr(s, 'a'), P.cls_attr, P.__name__)
        result = f()
    """)


def test_attribute_errors():
    check("""
        class P:
            def __init__(self): self.x = 1
        class RO:
            __slots__ = ()
        def get(o, n):
            try:
                return getattr(o, n)
            except AttributeError as e:
                return str(e)
        def f():
            out = []
            p = P()
            try:
                p.nope
            except AttributeError as e:
                out.append(str(e))
            try:
                del p.nope
            except AttributeError as e:
                out.append(str(e))
            try:
                RO().z = 1
            except AttributeError as e:
                out.append(str(e))
            try:
                (1).real = 5
            except AttributeError as e:
                out.append(str(e))
            try:
                None.foo
            except AttributeError as e:
                out.append(str(e))
            return out
        result = f()
    """)


def test_attribute_error_traceback():
    check("""
        class P:
            pass
        def inner(p):
            a = 1
            return p.missing
        def outer():
            return inner(P())
        outer()
    """)


def test_store_attr_raising_setter():
    check("""
        class V:
            @property
            def v(self): return 1
            @v.setter
            def v(self, value):
                raise ValueError('bad value %r' % (value,))
        def f():
            o = V()
            o.v = 7
        f()
    """)


def test_load_method_forms():
    check("""
        import math
        class C:
            def m(self, a): return ('m', a)
            @staticmethod
            def s(a): return ('s', a)
            @classmethod
            def c(cls, a): return ('c', cls.__name__, a)
        def f():
            o = C()
            o.inst = lambda a: ('inst', a)
            lst = []
            lst.append(1)
            lst.extend([2, 3])
            return (o.m(1), o.s(2), o.c(3), C.s(4), C.c(5), o.inst(6), math.floor(2.5),
                    'a,b'.split(','), lst, C.m(o, 7), (1).bit_length())
        result = f()
    """)


def test_load_method_missing():
    check("""
        class C:
            pass
        def f():
            x = C()
            return x.nothing_here(1, 2)
        f()
    """)


# ---- closures: MAKE_CELL, COPY_FREE_VARS, LOAD/STORE/DELETE_DEREF -------------------------------

def test_closures_and_nonlocal():
    check("""
        def counter(start):
            count = start          # cell variable
            def inc(step=1):
                nonlocal count
                count += step
                return count
            def get():
                return count
            return inc, get
        def arg_cell(a, b):        # arguments that are cells (MAKE_CELL keeps their value)
            def inner():
                return a + b
            a = a * 10
            return inner()
        def deep():
            x = 1
            def mid():
                def leaf():
                    return x
                return leaf()
            return mid()
        inc, get = counter(5)
        inc(); inc(10)
        result = (get(), arg_cell(1, 2), deep(), inc.__closure__ is not None,
                  [c.cell_contents for c in inc.__closure__])
    """)


def test_free_variable_unbound():
    out = check("""
        def outer():
            def inner():
                return late
            try:
                inner()
            except NameError as e:
                msg = str(e)
            late = 1
            return msg, inner()
        result = outer()
    """)
    assert "cannot access free variable 'late'" in out.result


def test_cell_variable_unbound_local():
    check("""
        def outer():
            y = x + 1
            x = 2
            def inner():
                return x
            return inner
        outer()
    """)


def test_delete_deref():
    check("""
        def outer():
            v = 'value'
            def inner():
                return v
            first = inner()
            del v
            try:
                inner()
            except NameError as e:
                second = str(e)
            try:
                del v
            except UnboundLocalError as e:
                third = str(e)
            return first, second, third
        result = outer()
    """)


def test_free_variable_error_traceback():
    check("""
        def outer():
            def inner():
                return 1 + \\
                    later
            inner()
            later = 3
        outer()
    """)


def test_class_deref():
    check("""
        def outer():
            x = 'outer x'
            y = 'outer y'
            class Meta(type):
                @classmethod
                def __prepare__(mcs, name, bases):
                    return {'x': 'prepared x'}
            class A(metaclass=Meta):
                got_x = x          # LOAD_CLASSDEREF finds the class namespace first
                got_y = y          # ...and falls back to the cell
            class B:
                got_y = y
                def m(self):
                    return __class__.__name__
            class NS(dict):
                def __getitem__(self, k):
                    if k == 'y':
                        return 'mapped y'
                    return dict.__getitem__(self, k)
            class Meta2(type):
                @classmethod
                def __prepare__(mcs, name, bases):
                    return NS()
                def __new__(mcs, name, bases, ns):
                    return type.__new__(mcs, name, bases, dict(ns))
            class C(metaclass=Meta2):
                got_y = y
                got_x = x
            return (A.got_x, A.got_y, B.got_y, B().m(), C.got_y, C.got_x)
        result = outer()
    """)


def test_class_deref_unbound():
    check("""
        def outer():
            class K:
                v = later
            later = 1
        outer()
    """)


# ---- MAKE_FUNCTION -------------------------------------------------------------------------------

def test_make_function_variants():
    check("""
        def plain(a, b): return a + b
        def defaults(a, b=2, c=3): return (a, b, c)
        def kwonly(a, *, k=10, j): return (a, k, j)
        def annotated(a: int, b: 'str' = 'x') -> list: return [a, b]
        def everything(a, b: int = 1, *args, c: float = 2.0, **kw) -> None:
            def closure():
                return (a, b, args, c, kw)
            return closure
        class Holder:
            def method(self): pass
        def outer():
            def nested(): pass
            return nested
        result = (
            plain(1, 2), defaults(1), defaults(1, c=9), kwonly(1, j=2),
            annotated(3), annotated.__annotations__, defaults.__defaults__,
            kwonly.__kwdefaults__, everything.__defaults__, everything.__kwdefaults__,
            everything.__annotations__, everything(1, 2, 3, c=4, z=5)(),
            outer().__qualname__, Holder.method.__qualname__, outer.__name__,
            (lambda x=5: x)(), (lambda: 0).__qualname__,
            plain.__module__, plain.__globals__ is globals(),
        )
    """)


def test_decorators():
    check("""
        import functools
        calls = []
        def trace(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                calls.append((fn.__name__, len(args), kwargs))
                return fn(*args, **kwargs)
            return wrapper
        def tagged(tag):
            def deco(fn):
                fn.tag = tag
                return fn
            return deco
        @trace
        @tagged('t1')
        def work(a, b=1):
            return a * b
        class K:
            @trace
            def m(self, v):
                return v + 1
        result = (work(3, b=4), work(2), K().m(1), work.tag, work.__name__, calls)
    """)


# ---- CALL_FUNCTION_EX ----------------------------------------------------------------------------

def test_call_function_ex():
    check("""
        def f(*args, **kwargs):
            return args, kwargs
        def g(a, b, c=0):
            return a + b + c
        def gen():
            yield 1
            yield 2
        def run():
            t = (1, 2)
            l = [3, 4]
            d = {'c': 5}
            return (f(*t), f(*l), f(*gen()), g(*t), g(*t, **d), f(**d), g(*'ab', **{}),
                    max(*l), dict(**d), f(*range(3), **{'x': 1}), print(*l, **{'sep': '-'}))
        result = run()
    """)


def test_call_function_ex_not_iterable():
    check("""
        def f(*a): return a
        def run(x):
            return f(*x)
        run(5)
    """)


def test_call_function_ex_raising_callee():
    check("""
        def bad(*a, **k):
            raise KeyError(a, k)
        def run():
            args = (1, 2)
            return bad(*args, **{'z': 3})
        run()
    """)


def test_call_function_ex_non_dict_kwargs():
    # The compiler always builds a dict for **kwargs (DICT_MERGE); hand-edited bytecode is the
    # only way to reach CALL_FUNCTION_EX's own mapping conversion and its error messages.
    check("""
        import dis, types
        def h(fn, a, k):
            return fn(*a, **k)
        co = h.__code__
        code = bytearray(co.co_code)
        ops = [(i.offset, i.opname) for i in dis.get_instructions(co)]
        pos = {name: off for off, name in ops}
        load_k = code[pos['DICT_MERGE'] - 2:pos['DICT_MERGE']]
        code[pos['BUILD_MAP']:pos['BUILD_MAP'] + 2] = load_k
        code[pos['DICT_MERGE'] - 2:pos['DICT_MERGE'] - 1] = bytes([dis.opmap['NOP']])
        code[pos['DICT_MERGE']:pos['DICT_MERGE'] + 1] = bytes([dis.opmap['NOP']])
        h2 = types.FunctionType(co.replace(co_code=bytes(code)), globals())
        class M:
            def __init__(self, keys): self.k = keys
            def keys(self): return self.k
            def __getitem__(self, key): return key.upper()
        def f(*args, **kwargs): return args, kwargs
        out = [h2(f, (1,), M(['a', 'b'])), h2(f, (), {'d': 1})]
        for bad in (5, M(['a', 'a'])):
            try:
                h2(f, (), bad)
            except TypeError as e:
                out.append(str(e))
        result = out
    """)


# ---- LOAD_BUILD_CLASS / SETUP_ANNOTATIONS / LOAD_ASSERTION_ERROR -------------------------------

def test_classes_and_annotations():
    check("""
        x: int = 5
        y: 'later'
        class Base:
            a: int
            b: str = 'b'
            def hello(self): return 'base'
        class Child(Base):
            c: list = []
            def hello(self): return 'child+' + super().hello()
        def f():
            class Local:
                z: float = 1.0
            return Local.__annotations__, Local.__qualname__
        result = (__annotations__, Base.__annotations__, Child.__annotations__,
                  Child().hello(), Child.b, f(), x)
    """)


def test_annotations_in_non_dict_namespace():
    check("""
        class NS(dict):
            def __getitem__(self, k):
                return dict.__getitem__(self, k)
        class Meta(type):
            @classmethod
            def __prepare__(mcs, name, bases):
                return NS()
            def __new__(mcs, name, bases, ns):
                return type.__new__(mcs, name, bases, dict(ns))
        class A(metaclass=Meta):
            p: int = 1
            q: str
        result = A.__annotations__
    """)


def test_build_class_missing():
    check("""
        import builtins
        saved = builtins.__build_class__
        del builtins.__build_class__
        try:
            class X:
                pass
        except NameError as e:
            msg = str(e)
        finally:
            builtins.__build_class__ = saved
        result = msg
    """)


def test_assertions():
    check("""
        def f(x):
            assert x > 0
            assert x < 10, 'too big: %d' % x
            return x
        out = [f(5)]
        for v in (-1, 20):
            try:
                f(v)
            except AssertionError as e:
                out.append(repr(e))
        result = out
        f(30)
    """)


# ---- IMPORT_NAME / IMPORT_FROM / IMPORT_STAR ----------------------------------------------------

def test_imports():
    check("""
        import os
        import os.path
        import collections.abc as cabc
        from os import path, sep
        from os.path import join as j
        def inner():
            import json
            from math import sqrt, pi
            return json.dumps([sqrt(4.0), round(pi, 2)])
        result = (os.path is path, sep, j('a', 'b'), cabc.Mapping.__name__, inner())
    """)


def test_import_errors():
    check("""
        import sys, types
        out = []
        try:
            import no_such_module_cpjit
        except ImportError as e:
            out.append((type(e).__name__, str(e), e.name))
        try:
            from os import no_such_name_cpjit
        except ImportError as e:
            out.append((str(e).split(' (')[0], e.name, e.path == __import__('os').__file__))
        try:
            from sys import no_such_name_cpjit
        except ImportError as e:
            out.append((str(e), e.name, e.path))
        try:
            from . import sibling
        except ImportError as e:
            out.append(str(e))
        result = out
    """)


def test_import_from_traceback():
    check("""
        def f():
            x = 1
            from math import not_there
        f()
    """)


def test_import_from_fake_modules():
    check("""
        import sys, types
        fake = types.ModuleType('cpjit_fake')
        fake.__file__ = '/nowhere/cpjit_fake.py'
        fake.__spec__ = types.SimpleNamespace(_initializing=True)
        sub = types.ModuleType('cpjit_fake.sub')
        sys.modules['cpjit_fake'] = fake
        sys.modules['cpjit_fake.sub'] = sub
        out = []
        try:
            from cpjit_fake import sub as got     # the circular-import fallback: sys.modules
            out.append(got is sub)
            try:
                from cpjit_fake import missing
            except ImportError as e:
                out.append((str(e), e.name, e.path))
            fake.__spec__ = None
            try:
                from cpjit_fake import missing
            except ImportError as e:
                out.append(str(e))
            nameless = types.ModuleType('cpjit_nameless')
            del nameless.__name__
            sys.modules['cpjit_nameless'] = nameless
            try:
                from cpjit_nameless import missing
            except ImportError as e:
                out.append((str(e), e.name))
        finally:
            for k in ('cpjit_fake', 'cpjit_fake.sub', 'cpjit_nameless'):
                sys.modules.pop(k, None)
        result = out
    """)


def test_replaced_import_hook():
    check("""
        import builtins
        seen = []
        original = builtins.__import__
        def hook(name, globals=None, locals=None, fromlist=(), level=0):
            seen.append((name, type(globals).__name__, locals is None,
                         locals is globals, fromlist, level))
            return original(name, globals, locals, fromlist, level)
        def in_function():
            import math
            from os import sep
            return math.e > 2, sep
        builtins.__import__ = hook
        try:
            import json
            from json import dumps
            r = in_function()
        finally:
            builtins.__import__ = original
        result = (seen, r)
    """)


def test_import_hook_raises_and_missing():
    check("""
        import builtins
        original = builtins.__import__
        def hook(*args):
            raise RuntimeError('no imports today: %s' % args[0])
        out = []
        builtins.__import__ = hook
        try:
            try:
                import json
            except RuntimeError as e:
                out.append(str(e))
            del builtins.__import__
            try:
                import json
            except ImportError as e:
                out.append(str(e))
        finally:
            builtins.__import__ = original
        result = out
    """)


def test_import_star():
    check("""
        import sys, types
        from math import *
        m = types.ModuleType('cpjit_star')
        m.__all__ = ['visible', 'also']
        m.visible, m.also, m.hidden = 1, 2, 3
        n = types.ModuleType('cpjit_star_noall')
        n.pub, n._priv = 'p', 'q'
        bad = types.ModuleType('cpjit_star_bad')
        bad.__all__ = ['ok', 3]
        bad.ok = 1
        sys.modules.update({'cpjit_star': m, 'cpjit_star_noall': n, 'cpjit_star_bad': bad,
                            'cpjit_star_int': 5})
        errors = []
        try:
            from cpjit_star import *
            from cpjit_star_noall import *
            try:
                from cpjit_star_bad import *
            except TypeError as e:
                errors.append(str(e))
            try:
                from cpjit_star_int import *
            except ImportError as e:
                errors.append(str(e))
        finally:
            for k in ('cpjit_star', 'cpjit_star_noall', 'cpjit_star_bad', 'cpjit_star_int'):
                sys.modules.pop(k, None)
        result = (sqrt(16), floor(2.5), visible, also, 'hidden' in dir(), pub,
                  '_priv' in dir(), errors)
    """)


def test_import_star_missing_attribute():
    check("""
        import sys, types
        m = types.ModuleType('cpjit_star_missing')
        m.__all__ = ['here', 'not_here']
        m.here = 1
        sys.modules['cpjit_star_missing'] = m
        try:
            from cpjit_star_missing import *
        finally:
            del sys.modules['cpjit_star_missing']
    """)


# ---- attribute caches: every way a cached attribute or method can stop being valid --------------

def test_attr_cache_invalidation():
    check("""
        class A:
            def __init__(self, x): self.x = x
            def m(self): return 'A.m'
        class B:
            def __init__(self, x): self.x = x * 10
            def m(self): return 'B.m'
        def get(o): return o.x
        def call(o): return o.m()
        def put(o, v): o.x = v
        out = []
        a, b = A(1), B(2)
        for i in range(3):
            out.append((get(a), get(b), call(a), call(b)))   # polymorphic sites
        put(a, 5); put(b, 6); out.append((get(a), get(b)))
        del a.x
        try:
            get(a)
        except AttributeError as e:
            out.append(str(e))
        put(a, 7)                                              # re-adds through the cache
        out.append((get(a), list(vars(a))))
        a.m = lambda: 'instance m'                             # shadows the method
        out.append(call(a))
        del a.m
        out.append(call(a))
        A.m = lambda self: 'patched A.m'                       # type changed
        out.append(call(a))
        A.x = property(lambda self: 'property wins')           # data descriptor added
        out.append(get(a))
        try:
            put(a, 1)
        except AttributeError as e:
            out.append(str(e))
        del A.x
        out.append(get(a))
        a.__class__ = B                                         # class reassigned
        out.append((get(a), call(a)))
        d = a.__dict__                                          # materialised dict
        d['x'] = 'via dict'
        out.append((get(a), call(a)))
        put(a, 'stored')
        out.append((get(a), d['x']))
        result = out
    """)


def test_attr_cache_insertion_order_and_many_attrs():
    check("""
        class O:
            pass
        def setall(o, names):
            for n in names:
                setattr(o, n, n.upper())
        def set_ab(o, a, b):
            o.a = a
            o.b = b
        def get_ab(o):
            return o.a, o.b
        out = []
        p, q = O(), O()
        set_ab(p, 1, 2)
        q.b = 'qb'
        set_ab(q, 3, 4)
        out.append((vars(p), vars(q), get_ab(p), get_ab(q)))
        big = O()
        setall(big, ['n%d' % i for i in range(40)])             # beyond shared-keys capacity
        set_ab(big, 5, 6)
        out.append((get_ab(big), len(vars(big))))
        class S:
            __slots__ = ('a', 'b')
        s = S()
        set_ab(s, 7, 8)
        out.append(get_ab(s))
        class G:
            def __getattribute__(self, name):
                return 'ga:' + name
        out.append(get_ab(G()))
        result = out
    """)


def test_method_cache_builtins_and_subclasses():
    check("""
        def app(l, v):
            l.append(v)
            return l
        def up(s):
            return s.upper()
        class L(list):
            def append(self, v):
                list.append(self, ('wrapped', v))
        class Str(str):
            pass
        out = []
        for i in range(3):
            out.append((app([], i), up('ab%d' % i)))
        out.append((app(L(), 1), up(Str('xy'))))
        class K:
            __slots__ = ()
            def m(self): return 'slot m'
        def call(o): return o.m()
        out.append(call(K()))
        K.m = lambda self: 'patched slot m'
        out.append(call(K()))
        result = out
    """)
