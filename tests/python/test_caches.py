"""Inline caches must never serve stale values: module attributes, __slots__ members, globals."""
from differential import check


def test_module_attribute_cache_sees_rebinding():
    check("""
        import types
        m = types.ModuleType('m')
        m.f = lambda: 'one'
        m.k = 1
        def use():
            return m.f(), m.k
        out = [use()]
        m.f = lambda: 'two'
        out.append(use())
        m.k = 2
        out.append(use())
        del m.k
        try:
            use()
        except AttributeError as e:
            out.append(str(e))
        result = out
    """)


def test_module_attribute_cache_per_module_identity():
    check("""
        import types
        a = types.ModuleType('a'); a.v = 'a'
        b = types.ModuleType('b'); b.v = 'b'
        def get(mod):
            return mod.v
        result = [get(a), get(b), get(a), get(b)]
    """)


def test_slots_cache():
    check("""
        class P:
            __slots__ = ('x', 'y')
            def __init__(self, x):
                self.x = x
        class Q(P):
            __slots__ = ('z',)
        def read(p):
            return p.x
        def write(p, v):
            p.x = v
        p = P(1)
        out = [read(p)]
        write(p, 5)
        out.append(read(p))
        q = Q(7)
        out.append(read(q))
        del p.x
        try:
            read(p)
        except AttributeError as e:
            out.append(str(e))
        write(p, 9)
        out.append(read(p))
        P.x = property(lambda self: 'prop')
        out.append(read(p))
        result = out
    """)


def test_math_functions_through_module_attribute():
    check("""
        import math
        def f(n):
            s = 0.0
            for i in range(n):
                s += math.sqrt(i) + math.sin(i)
            return round(s, 6)
        result = f(1000)
    """)
