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


def test_attribute_site_sees_inline_and_dict_backed_instances():
    check("""
        class C:
            def __init__(self, a, b):
                self.a = a
                self.b = b
        def get(o):
            return o.a, o.b
        plain = C(1, 2)
        with_dict = C(3, 4)
        with_dict.__dict__          # turns its inline values into a real dict
        combined = C(5, 6)
        vars(combined)['zz' + str(1)] = 0
        del combined.a              # a combined dict with a different layout
        combined.a = 7
        out = []
        for o in [plain, with_dict, combined, plain, with_dict, combined] * 3:
            out.append(get(o))
        with_dict.__dict__['a'] = 'changed'
        out.append(get(with_dict))
        del with_dict.b
        try:
            get(with_dict)
        except AttributeError as e:
            out.append(str(e))
        result = out
    """)
