"""Inline caches must never serve stale values.

Every cache (LOAD_GLOBAL; LOAD_ATTR / STORE_ATTR / LOAD_METHOD on instances, slots, dicts and
modules, with up to four entries per site) is keyed on something that changes whenever its answer
can change. Each test changes one such thing between runs of a compiled site and compares with the
interpreter (issue 7: the cache audit)."""
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


# ---- LOAD_GLOBAL: which dicts may be cached (issue 7 item 2) ----

def test_global_from_split_keys_dict_sees_assignment_to_instance():
    # vars(obj) of a plain instance is a split dict: a value can appear under a key the shared
    # keys already hold without any keys-version change.
    check("""
        import types
        class NS: pass
        other = NS(); other.len = 'x'      # the shared keys now hold 'len'
        obj = NS(); obj.a = 1
        def f():
            return len
        g = types.FunctionType(f.__code__, vars(obj))
        out = [g() is len for _ in range(3)]
        obj.len = 'mine'
        out += [g() for _ in range(3)]
        del obj.len
        out += [g() is len for _ in range(3)]
        result = out
    """)


def test_global_present_in_split_keys_dict_shadows_builtin():
    check("""
        import types
        class NS: pass
        obj = NS(); obj.len = 'mine'
        def f():
            return len
        g = types.FunctionType(f.__code__, vars(obj))
        result = [g() for _ in range(4)]
    """)


def test_global_in_dict_with_non_str_keys_shadows_builtin():
    check("""
        import types
        def f():
            return len
        g = {'__builtins__': __builtins__, 1: 'one', 'len': 'mine'}
        h = types.FunctionType(f.__code__, g)
        result = [h() for _ in range(4)]
    """)


def test_globals_dict_gains_non_str_key_then_shadows_builtin():
    check("""
        import types
        def f():
            return len
        g = {'__builtins__': __builtins__}
        h = types.FunctionType(f.__code__, g)
        out = [h() is len for _ in range(3)]
        g[1] = 'one'
        out += [h() is len for _ in range(3)]
        g['len'] = 'mine'
        out += [h() for _ in range(3)]
        result = out
    """)


def test_global_shadowing_builtin_added_deleted_readded():
    check("""
        def f():
            return len
        out = [f() is len for _ in range(3)]
        globals()['len'] = 'mine'
        out += [f() for _ in range(3)]
        del globals()['len']
        out += [f() is len for _ in range(3)]
        globals()['len'] = 'again'
        out += [f() for _ in range(3)]
        result = out
    """)


def test_global_rebound_and_builtin_rebound_are_seen():
    check("""
        import builtins
        counter = 0
        def f():
            return counter, abs(-1)
        out = []
        for i in range(4):
            counter = i
            out.append(f())
        saved = builtins.abs
        builtins.abs = lambda x: 'patched'
        try:
            out += [f() for _ in range(3)]
        finally:
            builtins.abs = saved
        out += [f() for _ in range(3)]
        result = out
    """)


def test_builtins_per_function_dict_module_and_split():
    # f_builtins comes from the function's globals['__builtins__'] (a module or a dict): one code
    # object run with several builtins must read each one's own.
    check("""
        import types, builtins
        def f():
            return len
        b1 = dict(vars(builtins)); b1['len'] = 'b1'
        h1 = types.FunctionType(f.__code__, {'__builtins__': b1})
        h2 = types.FunctionType(f.__code__, {'__builtins__': builtins})
        class NS: pass
        b3 = NS(); b3.x = 1; NS().len = 0
        h3 = types.FunctionType(f.__code__, {'__builtins__': vars(b3)})
        def call(h):
            try:
                return h()
            except NameError as e:
                return str(e)
        out = []
        for i in range(3):
            out += [call(h1), call(h2) is len, call(h3)]
        b1['len'] = 'b1b'
        b3.len = 'b3'
        for i in range(3):
            out += [call(h1), call(h2) is len, call(h3)]
        result = out
    """)


def test_globals_dict_subclass_goes_through_getitem():
    check("""
        class G(dict):
            def __missing__(self, key):
                return 'missing:' + key
        src = 'def f():\\n    return nothere, len\\n'
        g = G(__builtins__=__builtins__)
        exec(src, g)
        result = [g['f']() for _ in range(3)]
    """)


def test_global_lookup_in_large_dicts_with_deleted_entries():
    # Filling a global cache probes the dict's hash table: exercise 8-, 16- and 32-bit index
    # tables and deleted (dummy) slots.
    check("""
        import types
        def f():
            return (v0, v99, v5000, v69999, len)
        out = []
        for n in (100, 6000, 70000):
            g = {f'v{i}': i for i in range(n)}
            for i in range(1, n, 2):
                del g[f'v{i}']
            g.update(v99=99, v5000=5000, v69999=69999)
            g['__builtins__'] = __builtins__
            h = types.FunctionType(f.__code__, g)
            out += [h()[:4] for _ in range(3)]
        result = out
    """)


def test_first_call_reading_many_globals():
    # Each site's fill is one hash probe (it used to scan the whole dict: quadratic).
    check("""
        n = 3000
        src = '\\n'.join(f'g{i} = {i}' for i in range(n))
        src += '\\ndef f():\\n    s = 0\\n' + ''.join(f'    s += g{i}\\n' for i in range(n)) + '    return s\\n'
        ns = {}
        exec(src, ns)
        result = [ns['f']() for _ in range(2)]
    """)


# ---- module attributes (issue 7 item 3) ----

def test_module_class_set_to_subclass_with_properties():
    check("""
        import types
        class PM(types.ModuleType):
            @property
            def x(self):
                return 'prop'
            @property
            def meth(self):
                return lambda: 'prop meth'
        m = types.ModuleType('m')
        m.x = 'dict'
        m.meth = lambda: 'dict meth'
        def get():
            return m.x
        def call():
            return m.meth()
        out = [(get(), call()) for _ in range(3)]
        m.__class__ = PM
        out += [(get(), call()) for _ in range(3)]
        m.__class__ = types.ModuleType
        out += [(get(), call()) for _ in range(3)]
        result = out
    """)


def test_module_type_data_descriptors_win_over_module_dict():
    # Only two reads: CPython 3.11's own LOAD_ATTR_MODULE serves the dict value once specialised.
    check("""
        import types
        m = types.ModuleType('m')
        m.__dict__['__class__'] = 5
        m.__dict__['__dict__'] = 6
        def get():
            return m.__class__, type(m.__dict__).__name__
        result = [get() for _ in range(2)]
    """)


def test_module_getattr_hook_and_late_attribute():
    check("""
        import types
        m = types.ModuleType('m')
        m.__getattr__ = lambda name: 'hook:' + name
        def get():
            return m.a
        out = [get() for _ in range(3)]
        m.a = 'real'
        out += [get() for _ in range(3)]
        del m.a
        out += [get() for _ in range(3)]
        result = out
    """)


# ---- attribute and method caches: every way the answer can change (issue 7 audit) ----

def test_property_added_to_base_class_after_instance_value_cached():
    check("""
        class Base: pass
        class C(Base):
            def __init__(self):
                self.x = 'instance'
        def get(o):
            return o.x
        def put(o, v):
            o.x = v
        c = C()
        out = [get(c) for _ in range(3)]
        put(c, 'stored')
        out.append(get(c))
        seen = []
        Base.x = property(lambda self: 'property', lambda self, v: seen.append(v))
        out += [get(c) for _ in range(3)]
        put(c, 'through setter')
        out += [get(c), seen, vars(c)]
        del Base.x
        out += [get(c) for _ in range(2)]
        result = out
    """)


def test_bases_assignment_changes_method_and_attribute():
    check("""
        class A:
            def m(self): return 'A.m'
            k = 'A.k'
        class B:
            def m(self): return 'B.m'
            k = 'B.k'
        class C(A):
            __slots__ = ()
        class D(A): pass
        def call(o):
            return o.m(), o.k
        c, d = C(), D()
        out = [(call(c), call(d)) for _ in range(3)]
        C.__bases__ = (B,)
        D.__bases__ = (B,)
        out += [(call(c), call(d)) for _ in range(3)]
        result = out
    """)


def test_class_assignment_on_instance_switches_methods_and_slots():
    check("""
        class P:
            __slots__ = ('a',)
            def m(self): return 'P.m'
        class Q:
            __slots__ = ('a',)
            def m(self): return 'Q.m'
            @property
            def a(self): return 'Q.a property'
        class R:
            def m(self): return 'R.m'
        class S:
            m = property(lambda self: (lambda: 'S.m property'))
        def get(o):
            return o.m(), o.a
        p = P(); p.a = 'slot'
        out = [get(p) for _ in range(3)]
        try:
            p.__class__ = Q
        except TypeError as e:
            out.append(str(e))
        out += [get(p) for _ in range(2)]
        r = R(); r.a = 'value'
        out += [get(r) for _ in range(3)]
        r.__class__ = S
        out += [get(r) for _ in range(3)]
        result = out
    """)


def test_descriptor_type_gains_set_after_cache_fill():
    # A descriptor whose own type is mutable can become a data descriptor without the owner's
    # type changing: caches must not rely on such a descriptor staying non-data.
    check("""
        class D:
            def __get__(self, obj, objtype=None):
                return 'descriptor'
        class C:
            x = D()
        def get(o):
            return o.x
        c = C()
        c.__dict__['x'] = 'instance'
        out = [get(c) for _ in range(3)]
        D.__set__ = lambda self, obj, value: None
        out += [get(c) for _ in range(3)]
        del D.__set__
        out += [get(c) for _ in range(3)]
        result = out
    """)


def test_method_shadowed_by_instance_attribute_later():
    check("""
        class C:
            def __init__(self):
                self.v = 1
            def m(self):
                return 'method'
        def call(o):
            return o.m()
        a, b = C(), C()
        out = [(call(a), call(b)) for _ in range(3)]
        b.m = lambda: 'b attribute'          # a new key in the shared keys
        out += [(call(a), call(b)) for _ in range(3)]
        a.m = lambda: 'a attribute'          # an existing key, a new value
        out += [(call(a), call(b)) for _ in range(3)]
        del a.m
        out += [(call(a), call(b)) for _ in range(3)]
        vars(a)['m'] = lambda: 'via vars'
        out += [(call(a), call(b)) for _ in range(3)]
        result = out
    """)


def test_getattribute_and_setattr_added_to_class_later():
    check("""
        class C:
            def __init__(self):
                self.x = 'x'
            def m(self):
                return 'method'
        def use(o):
            o.y = 'y'
            return o.x, o.y, o.m()
        c = C()
        out = [use(c) for _ in range(3)]
        C.__getattribute__ = lambda self, name: 'intercepted ' + name
        out += [use(c) for _ in range(3)]
        del C.__getattribute__
        log = []
        C.__setattr__ = lambda self, name, v: log.append((name, v))
        out += [use(c) for _ in range(3)]
        out.append(log)
        result = out
    """)


def test_instance_dict_replaced_or_given_non_str_keys():
    check("""
        class C:
            def __init__(self):
                self.a = 'a'
            def m(self):
                return 'method'
        def get(o):
            return o.a, o.m()
        c = C()
        out = [get(c) for _ in range(3)]
        c.__dict__ = {'a': 'replaced', 'm': lambda: 'dict m'}
        out += [get(c) for _ in range(3)]
        vars(c)[1] = 'non-str key'
        vars(c)['a'] = 'general keys'
        out += [get(c) for _ in range(3)]
        class S(str): pass
        c.__dict__ = {S('a'): 'str subclass key'}
        out += [get(c) for _ in range(3)]
        result = out
    """)


def test_metaclass_and_class_attribute_changes():
    check("""
        class Meta(type):
            def m(cls):
                return 'Meta.m'
        class C(metaclass=Meta):
            k = 'C.k'
            def m(self):
                return 'C.m'
        def get(o):
            return o.k, o.m()
        c = C()
        out = [(get(c), get(C) if False else C.m(c), C.k) for _ in range(3)]
        Meta.k = property(lambda cls: 'Meta.k property')
        out += [(get(c), C.k) for _ in range(3)]
        C.k = 'C.k rebound'
        out += [(get(c), C.k) for _ in range(3)]
        del C.m
        out += [(C.m(), c.k) for _ in range(3)]
        result = out
    """)


def test_slot_replaced_by_property_in_subclass_and_readonly_member():
    check("""
        import types
        class P:
            __slots__ = ('x',)
        class Q(P):
            pass
        def get(o):
            return o.x
        def put(o, v):
            try:
                o.x = v
                return 'stored'
            except AttributeError as e:
                return str(e)
        q = Q(); q.x = 'slot'
        out = [(get(q), put(q, 'slot2')) for _ in range(3)]
        Q.x = property(lambda self: 'Q property')
        out += [(get(q), put(q, 'through property')) for _ in range(3)]
        sn = types.SimpleNamespace(x=1)
        out += [get(sn) for _ in range(2)]
        result = out
    """)


# ---- polymorphic sites: several entries per site, each keyed on its own type ----

def test_polymorphic_attribute_and_method_sites_with_eviction():
    check("""
        import types
        classes = []
        for i in range(6):
            ns = {'__init__': (lambda i: lambda self: setattr(self, 'x', i))(i),
                  'm': (lambda i: lambda self: ('m', i))(i)}
            if i % 3 == 1:
                ns['__slots__'] = ('x',)
            classes.append(type(f'C{i}', (), ns))
        objs = [c() for c in classes]
        objs[2].__dict__                  # a dict-backed instance
        def get(o):
            return o.x, o.m()
        def put(o, v):
            o.x = v
        out = []
        for rnd in range(4):
            for o in objs[:4] if rnd < 2 else objs:
                put(o, (rnd, type(o).__name__))
                out.append(get(o))
        classes[1].m = lambda self: 'rebound C1.m'
        classes[3].x = property(lambda self: 'C3 property')
        for o in objs:
            try:
                out.append(get(o))
            except AttributeError as e:
                out.append(str(e))
        result = out
    """)


def test_site_alternating_modules_and_instances():
    check("""
        import types, math
        m1 = types.ModuleType('m1'); m1.f = lambda: 'm1.f'; m1.v = 'm1.v'
        m2 = types.ModuleType('m2'); m2.f = lambda: 'm2.f'; m2.v = 'm2.v'
        class C:
            def __init__(self): self.v = 'C.v'
            def f(self): return 'C.f'
        class D:
            __slots__ = ('v',)
            def f(self): return 'D.f'
        d = D(); d.v = 'D.v'
        def use(o):
            return o.f(), o.v
        out = []
        for o in [m1, C(), m2, d, m1, m1, C(), d, m2] * 3:
            out.append(use(o))
        m1.f = lambda: 'm1.f rebound'
        m2.__class__ = type('M', (types.ModuleType,), {'v': property(lambda s: 'M.v')})
        for o in [m1, C(), m2, d]:
            out.append(use(o))
        result = out
    """)


def test_polymorphic_method_site_shadowed_per_instance():
    check("""
        class A:
            def __init__(self): self.a = 1
            def m(self): return 'A.m'
        class B:
            def __init__(self): self.b = 1
            def m(self): return 'B.m'
        class S:
            __slots__ = ()
            def m(self): return 'S.m'
        def call(o):
            return o.m()
        objs = [A(), B(), S(), A(), B()]
        out = [[call(o) for o in objs] for _ in range(3)]
        objs[3].m = lambda: 'instance m'
        B.m = lambda self: 'B.m rebound'
        out += [[call(o) for o in objs] for _ in range(3)]
        result = out
    """)


def test_store_to_dict_backed_instances():
    # Instances whose attributes live in a dict of their own (a materialised __dict__, a
    # replaced one, or a dict subclass): stores go to that dict until the class changes.
    check("""
        class C:
            def __init__(self, i):
                self.a = i
        class MyDict(dict):
            def __setitem__(self, k, v):
                raise RuntimeError('not called by attribute stores')
        objs = [C(i) for i in range(4)]
        objs[0].__dict__                     # materialised
        objs[1].__dict__ = {'a': 'replaced'}
        objs[2].__dict__ = MyDict(a='subclass')
        def put(o, v):
            o.a = v
            o.fresh = v
        out = []
        for rnd in range(3):
            for o in objs:
                put(o, (rnd, o.a))
                out.append(sorted(vars(o).items()))
        log = []
        C.fresh = property(lambda self: 'prop', lambda self, v: log.append(v))
        for o in objs:
            put(o, 'after property')
            out.append((sorted(vars(o).items()), o.fresh))
        out.append(log)
        result = out
    """)


def test_method_on_instances_with_own_dicts():
    # CPJIT_METHOD_DICT: methods of instances whose attributes live in a dict of their own (each
    # instance's dict probed on every use): shadowing in one instance's dict, a dict with
    # non-str keys, a replaced dict, the class's method rebound, a staticmethod.
    check("""
        class C:
            def __init__(self, i):
                self.i = i
            def m(self):
                return ('m', self.i)
        objs = [C(i) for i in range(4)]
        for o in objs:
            o.__dict__ = {'i': o.i, 'extra': o.i}    # a dict of its own (not the class's keys)
        def call(o):
            return o.m()
        out = [[call(o) for o in objs] for _ in range(3)]
        objs[1].m = lambda: 'shadow'
        out += [[call(o) for o in objs] for _ in range(3)]
        vars(objs[2])[5] = 'non-str key'
        out += [[call(o) for o in objs] for _ in range(3)]
        objs[3].__dict__ = {'i': 'replaced', 'm': lambda: 'replaced dict m'}
        out += [[call(o) for o in objs] for _ in range(3)]
        del objs[1].m
        C.m = lambda self: ('rebound', self.i)
        out += [[call(o) for o in objs] for _ in range(3)]
        C.m = staticmethod(lambda: 'static')
        out += [[call(o) for o in objs] for _ in range(3)]
        class S(str): pass
        objs[0].__dict__ = {S('m'): lambda: 'str subclass key'}
        out += [[call(o) for o in objs] for _ in range(3)]
        result = out
    """)


def test_class_attribute_cache():
    # CPJIT_ATTR_CLASS: attributes read from a class object (metaclass `type`), as constants,
    # functions, static and class methods, through LOAD_ATTR and LOAD_METHOD, while the class,
    # a base, the value's own type (gaining __get__), and the metaclass change.
    check("""
        class Base:
            K = 'base K'
        class C(Base):
            ONE = 1
            def f(x):
                return ('f', x)
            @staticmethod
            def s(x):
                return ('s', x)
            @classmethod
            def c(cls, x):
                return ('c', cls.__name__, x)
        class V:
            pass
        v = V()
        C.V = v
        def read(cls):
            return cls.ONE, cls.K, cls.V is v, cls.f(1), cls.s(2), cls.c(3), cls.__name__
        def read_global():
            # `C.f(x)` is LOAD_GLOBAL (NULL + C) and LOAD_ATTR in 3.11: the function itself.
            return C.f(4), C.s(5), C.c(6), C.f is C.__dict__['f']
        out = [(read(C), read_global()) for _ in range(3)]
        C.f = staticmethod(lambda x: ('static now', x))
        out += [read_global() for _ in range(3)]
        C.f = lambda x: ('f again', x)
        out += [read_global() for _ in range(3)]
        C.ONE = 'one'
        out += [read(C) for _ in range(3)]
        Base.K = 'base K rebound'
        out += [read(C) for _ in range(3)]
        V.__get__ = lambda self, obj, owner: ('V.__get__', obj, owner.__name__)
        out += [read(C) for _ in range(3)]
        del V.__get__
        del C.ONE
        try:
            read(C)
        except AttributeError as e:
            out.append(str(e))
        C.ONE = 1
        class D(C):
            ONE = 'D one'
        out += [read(D), read(C), read(D), read(C)]
        class Meta(type):
            pass
        class M(metaclass=Meta):
            ONE = 'M'; K = 'MK'; V = v
            f = C.f; s = C.s; c = C.c
        out += [read(M) for _ in range(3)]
        Meta.ONE = property(lambda cls: 'Meta property')
        out += [read(M) for _ in range(3)]
        result = out
    """)


def test_class_attribute_cache_through_a_metaclass():
    # CPJIT_ATTR_CLASS for classes whose metaclass is a subclass of type (ABCMeta, a user's):
    # keyed on the metaclass's version too, so a data descriptor the metaclass gains, the class
    # moved to another metaclass (__class__ assignment), and metaclasses whose lookups are not
    # type's (__getattribute__, __getattr__) all answer as in the interpreter.
    check("""
        import abc
        class Base(abc.ABC):
            shared = 'Base.shared'
            def meth(self):
                return 'Base.meth'
            @classmethod
            def cm(cls):
                return ('cm', cls.__name__)
        class Leaf(Base):
            own = 'Leaf.own'
        def read(cls):
            cm, meth = cls.cm, cls.meth
            return (cls.shared, cls.own, cm() if callable(cm) else cm,
                    meth.__name__ if callable(meth) else meth)
        out = [read(Leaf) for _ in range(3)]
        Base.shared = 'Base.shared rebound'
        out += [read(Leaf) for _ in range(3)]
        abc.ABCMeta.own = 'ABCMeta.own (plain: the class wins)'
        out += [read(Leaf) for _ in range(3)]
        abc.ABCMeta.own = property(lambda cls: 'ABCMeta.own property')
        out += [read(Leaf) for _ in range(3)]
        del abc.ABCMeta.own
        out += [read(Leaf) for _ in range(3)]

        class Meta(type):
            pass
        class Other(type):
            shared = property(lambda cls: 'Other.shared property')
        class C(metaclass=Meta):
            shared = 'C.shared'
            own = 'C.own'
            cm = classmethod(lambda cls: ('lambda cm', cls.__name__))
            meth = lambda self: None
        out += [read(C) for _ in range(3)]
        C.__class__ = Other
        out += [read(C) for _ in range(3)]
        C.__class__ = Meta
        out += [read(C) for _ in range(3)]
        Meta.__getattribute__ = lambda cls, name: 'Meta.__getattribute__ ' + name
        out += [read(C) for _ in range(3)]
        del Meta.__getattribute__
        Meta.__getattr__ = lambda cls, name: 'Meta.__getattr__ ' + name
        del C.own
        out += [read(C) for _ in range(3)]
        result = out
    """)


def test_class_attribute_while_the_metaclass_attribute_may_become_a_data_descriptor():
    # CPython's test_opcache (test_metaclass_descriptor_added_after_optimization): the
    # metaclass has an attribute of the name that is no descriptor, so the class's own value
    # wins; then the attribute's type gains __get__ and __set__ (or the attribute gets a new
    # __class__ that has them) and type_getattro returns its __get__ instead. Neither the
    # metaclass's nor the class's version changes: the class entry must not be made at all.
    for threshold in (0, 16):
        check("""
            class Descriptor:
                pass
            class Swap:
                pass
            class DataDescriptor:
                def __get__(self, instance, owner):
                    return ('DataDescriptor.__get__', owner.__name__)
                def __set__(self, instance, value):
                    pass
            class Meta(type):
                attribute = Descriptor()
                method = Descriptor()
                swapped = Swap()
            class C(metaclass=Meta):
                attribute = 'C.attribute'
                def method():
                    return 'C.method'
                swapped = 'C.swapped'
            def read():
                a, m = C.attribute, C.method
                return (a() if callable(a) else a, m() if callable(m) else m, C.swapped)
            out = [read() for _ in range(40)]
            Descriptor.__get__ = lambda self, instance, owner: lambda: 'Descriptor.__get__'
            Descriptor.__set__ = lambda self, instance, value: None
            Meta.swapped.__class__ = DataDescriptor
            out += [read() for _ in range(40)]
            result = out
        """, threshold=threshold)


def test_methods_read_as_values():
    # LOAD_ATTR of a method (CPJIT_METHOD_* entries, bound out of line): instances with inline
    # values, with a dict of their own, without a dict, a builtin method descriptor, and every
    # way the answer can change: the instance shadows the name, the class rebinds or deletes
    # the method, the method becomes a staticmethod, __class__ changes.
    check("""
        class A:
            def m(self):
                return ('A.m', self.tag)
            def __init__(self, tag):
                self.tag = tag
        class Own(A):
            pass
        class NoDict:
            __slots__ = ('tag',)
            def m(self):
                return ('NoDict.m', self.tag)
        a, own, nd = A('a'), Own('own'), NoDict()
        nd.tag = 'nd'
        for i in range(30):
            setattr(own, f'extra{i}', i)          # a dict of its own, not the shared keys
        def take(o):
            f = o.m
            return f(), getattr(f, '__self__', None) is o, getattr(f, '__qualname__', None)
        objs = [a, own, nd]
        out = [[take(o) for o in objs] for _ in range(3)]
        a.m = lambda: 'instance a.m'
        own.m = lambda: 'instance own.m'
        out += [[take(o) for o in objs] for _ in range(3)]
        del a.m, own.m
        out += [[take(o) for o in objs] for _ in range(3)]
        A.m = lambda self: ('A.m rebound', self.tag)
        out += [[take(o) for o in objs] for _ in range(3)]
        A.m = staticmethod(lambda: 'static')
        out += [[(a.m(), own.m()) for o in objs] for _ in range(3)]
        del A.m
        try:
            a.m
        except AttributeError as e:
            out.append(str(e))
        class B:
            def m(self):
                return 'B.m'
        a.__class__ = B
        out += [a.m() for _ in range(3)]
        def upper(s):
            f = s.upper
            return f(), f.__self__
        out += [upper('x'), upper('y'), upper('z')]
        result = out
    """)


def test_class_data_descriptors_of_the_metaclass():
    # cls.__name__ and friends: the metaclass's data descriptors come first (CPJIT_ATTR_DATA_DESCR
    # keyed on the metaclass), through `type` and a metaclass of its own with a property, while
    # the class is renamed, the property is replaced, the class moves to another metaclass.
    check("""
        class Meta(type):
            @property
            def tag(cls):
                return ('Meta.tag', cls.__name__)
        class Other(type):
            tag = property(lambda cls: 'Other.tag')
        class C(metaclass=Meta):
            'doc of C'
            tag = 'C.tag (shadowed by the property)'
        class D:
            pass
        def read(cls):
            return cls.__name__, cls.__qualname__, cls.__doc__, cls.__module__
        def tag(cls):
            return cls.tag
        out = [(read(C), read(D), tag(C)) for _ in range(3)]
        C.__name__ = 'Renamed'
        D.__qualname__ = 'D.requalified'
        out += [(read(C), read(D), tag(C)) for _ in range(3)]
        Meta.tag = property(lambda cls: 'Meta.tag replaced')
        out += [tag(C) for _ in range(3)]
        del Meta.tag
        out += [tag(C) for _ in range(3)]
        Meta.tag = property(lambda cls: 'Meta.tag again')
        out += [tag(C) for _ in range(3)]
        C.__class__ = Other
        out += [tag(C) for _ in range(3)]
        def boom(cls):
            raise AttributeError('no tag here')
        Other.tag = property(boom)
        for _ in range(3):
            try:
                out.append(tag(C))
            except AttributeError as e:
                out.append(str(e))
        result = out
    """)


def test_attributes_in_a_dict_at_the_types_dict_offset():
    # CPJIT_ATTR_OFFSET_DICT_HINT: instances whose __dict__ is not managed but at the type's
    # tp_dictoffset (ast nodes, exceptions, SimpleNamespace, subclasses of them), while the key
    # is deleted and re-added, the dict is replaced (by a dict subclass too), the class gains a
    # property of the name, and the site sees several such types.
    check("""
        import ast, types
        tree = ast.parse('x = y + 1')
        name = tree.body[0].targets[0]
        class MyError(Exception):
            pass
        err = MyError('boom')
        err.code = 7
        ns = types.SimpleNamespace(code='ns', id='ns id')
        class Node(ast.Name):
            pass
        node = Node(id='node id', ctx=ast.Load())
        def get_id(o):
            return o.id
        def get_code(o):
            return o.code
        out = [[get_id(o) for o in (name, ns, node)] + [get_code(err), get_code(ns)]
               for _ in range(3)]
        name.id = 'renamed'
        del ns.code
        ns.code = 'ns re-added'
        out += [[get_id(o) for o in (name, ns, node)] + [get_code(err), get_code(ns)]
                for _ in range(3)]
        class D(dict):
            pass
        err.__dict__ = D(other='other', code='from a dict subclass')
        name.__dict__ = {'ctx': name.ctx, 'id': 'replaced dict'}   # id at another entry
        out += [[get_id(o) for o in (name, ns, node)] + [get_code(err), get_code(ns)]
                for _ in range(3)]
        del name.id
        try:
            get_id(name)
        except AttributeError as e:
            out.append(str(e))
        Node.id = property(lambda self: 'Node.id property')
        MyError.code = property(lambda self: 'MyError.code property')
        out += [[get_id(node), get_code(err)] for _ in range(3)]
        result = out
    """)


def test_class_and_name_read_through_their_getters():
    # x.__class__ and cls.__name__ are data descriptors (getsets of object and type) whose
    # getters the first tier answers for itself (CPJIT_DESCR_*): across __class__ assignment,
    # renamed classes, static types (whose name is made afresh), metaclasses, a subclass that
    # shadows __class__ with a property, a metaclass that defines __name__ (a class moved to it
    # and back), and the
    # descriptors copied into classes they do not belong to (type's __name__ then raises).
    check("""
        class A:
            pass
        class B(A):
            pass
        class Meta(type):
            pass
        class C(metaclass=Meta):
            pass
        class NamedMeta(type):
            @property
            def __name__(cls):
                return 'named by its metaclass'
        class D(metaclass=NamedMeta):
            pass
        class Shadow(A):
            @property
            def __class__(self):
                return 'shadowed'
        class Weird:
            __name__ = type.__dict__['__name__']
        class Copied:
            __class__ = object.__dict__['__class__']
        def cls_of(o):
            return o.__class__
        def name_of(c):
            return c.__name__
        def name_of_weird(o):
            try:
                return o.__name__
            except TypeError as e:
                return str(e)
        def cls_of_few(o):
            return o.__class__
        def name_of_few(c):
            return c.__name__
        objs = [A(), B(), C(), 1, 'str', [], Copied(), Shadow()]
        classes = [A, B, C, int, str, Meta, type, Copied, D]
        out = []
        for i in range(40):
            # A site of many types backs off; sites of up to four types keep their entries.
            out.append([cls_of(o) for o in objs])
            out.append([name_of(c) for c in classes])
            out.append([cls_of_few(o) for o in objs[i % 3:i % 3 + 3]])
            out.append([name_of_few(c) for c in classes[i % 5:i % 5 + 3]])
            out.append(name_of_weird(Weird()))
            B.__name__ = 'B%d' % (i % 3)
            if i == 20:
                objs[0].__class__ = B
                C.__class__ = NamedMeta
            if i == 30:
                C.__class__ = Meta
        result = out
    """)


def test_class_values_and_methods_through_instances_with_dicts_of_their_own():
    # CPJIT_ATTR_CLASS_DICT and CPJIT_METHOD_DICT serve a class's plain value and its method
    # through instances whose attributes live in a dict of their own, or that have none yet:
    # subclasses of str (managed dict, no inline values), int and tuple (a negative
    # tp_dictoffset), Exception and ast nodes (a positive one), and plain classes whose values
    # became a dict. Each site sees at most four types, while instances gain the name in their
    # dict (shadowing the class), lose it again, get a dict with a non-str key, and the class
    # changes its value.
    check("""
        import ast
        class Node:
            kids = ()
            def name(self):
                return type(self).__name__
        class Text(Node, str):
            pass
        class Num(Node, int):
            pass
        class Pair(Node, tuple):
            pass
        class Err(Node, Exception):
            pass
        class Leaf(Node, ast.Name):
            pass
        class Plain(Node):
            pass
        def kids(o):
            return o.kids
        def name(o):
            return o.name()
        def row(objs):
            return [(kids(o), name(o)) for o in objs]
        t, n, p, e, l, pl = Text('t'), Num(7), Pair((1, 2)), Err('e'), Leaf(id='x'), Plain()
        pl.__dict__  # its values become a dict of its own
        groups = [(t, n, p), (e, l, pl), (t, e, pl)]
        out = []
        for i in range(30):
            out.append([row(g) for g in groups])
            if i == 5:
                t.kids = ['own']            # the instance shadows the class's value
                n.name = lambda: 'own name'  # and the method
            if i == 10:
                del t.kids
                del n.name
                e.kids = 'err kids'
            if i == 15:
                Node.kids = ('new',)
                l.__dict__[1] = 'a non-str key'
            if i == 20:
                Node.name = lambda self: 'replaced'
                p.extra = 1
            if i == 25:
                del e.kids
        pl.name = 'not callable'
        try:
            name(pl)
        except TypeError as exc:
            out.append(str(exc))
        result = out
    """)


def test_namedtuple_fields():
    # A namedtuple's field is a _tuplegetter, a data descriptor the first tier answers for
    # (CPJIT_DESCR_TUPLE_ITEM): the owner's item at the descriptor's index. Across namedtuples
    # with the field at different indices at one site, a tuple built too short for the field
    # (IndexError, as the descriptor raises), the field replaced by a property and a plain class
    # value, __class__ assignment between namedtuple classes, and the descriptor copied into a
    # class that is no tuple (TypeError, as the descriptor raises).
    check("""
        from collections import namedtuple
        P = namedtuple('P', 'x y')
        Q = namedtuple('Q', 'y x z')
        class R(namedtuple('R', 'x')):
            __slots__ = ()
        class NotATuple:
            x = P.x
        def get_x(o):
            return o.x
        def get_y(o):
            return o.y
        def safe(f, o):
            try:
                return f(o)
            except (IndexError, TypeError) as e:
                return type(e).__name__ + ': ' + str(e)
        items = [P(1, 2), Q(3, 4, 5), R(6)]
        out = []
        for i in range(30):
            out.append([get_x(o) for o in items])
            out.append([get_y(o) for o in items[:2]])
            out.append(safe(get_x, tuple.__new__(P, ())))
            out.append(safe(get_y, tuple.__new__(P, (1,))))
            out.append(safe(get_x, NotATuple()))
            if i == 10:
                items[0] = Q(7, 8, 9)
            if i == 15:
                P.x = property(lambda self: ('property', self[0]))
                items.append(P(10, 11))
            if i == 20:
                Q.x = 'plain class value'
            if i == 25:
                r = R(12)
                items.append(r)
        result = out
    """)


def test_megamorphic_attribute_sites():
    # A site that sees more types than its cache has ways backs off and looks attributes up
    # itself (megamorphic_load): inline values, dicts of their own, dicts at a tp_dictoffset,
    # class values, methods, set-only and raising descriptors, properties and __getattr__ (left
    # to the generic lookup), missing attributes, and changes while the site is backing off.
    check("""
        import types
        class Base:
            shared = 'Base.shared'
            def meth(self):
                return 'Base.meth'
        kinds = []
        for i in range(10):
            kinds.append(type(f'K{i}', (Base,), {'k': i}))
        objs = []
        for i, K in enumerate(kinds):
            o = K()
            o.attr = f'inline {i}'
            objs.append(o)
        for i in range(30):
            setattr(objs[1], f'extra{i}', i)            # a dict of its own
        class Err(Exception):
            shared = 'Err.shared'
            def meth(self):
                return 'Err.meth'
        e = Err()
        e.attr = 'exception dict'
        objs.append(e)
        ns = types.SimpleNamespace(attr='namespace', shared='ns.shared', meth=lambda: 'ns.meth')
        objs.append(ns)
        class SetOnly:
            def __set__(self, obj, value):
                raise AttributeError('read only')
        class WithSetOnly(Base):
            attr = SetOnly()
        w = WithSetOnly()
        w.__dict__['attr'] = 'dict beats a set-only descriptor'
        objs.append(w)
        class Prop(Base):
            attr = property(lambda self: 'property')
        objs.append(Prop())
        class Hook(Base):
            def __getattr__(self, name):
                return 'hook ' + name
        objs.append(Hook())
        class Slotted(Base):
            __slots__ = ('attr',)
        sl, unset = Slotted(), Slotted()
        sl.attr = 'slot'
        objs += [sl, unset]
        def read(o):
            r = [o.__class__.__name__]
            for name in ('attr', 'shared', 'meth', 'k'):
                try:
                    v = getattr_site(o, name)
                    r.append(v() if callable(v) else v)
                except AttributeError as ex:
                    r.append('AttributeError: ' + str(ex))
            return r
        def getattr_site(o, name):
            if name == 'attr':
                return o.attr
            if name == 'shared':
                return o.shared
            if name == 'meth':
                return o.meth
            return o.k
        out = []
        for round in range(40):
            out.append([read(o) for o in objs])
            if round == 10:
                Base.shared = 'Base.shared rebound'
            if round == 15:
                objs[0].shared = 'instance shadows'
                objs[2].meth = lambda: 'instance meth'
            if round == 20:
                del objs[3].attr
                kinds[4].attr = 'class value behind a deleted one'
                del objs[4].attr
            if round == 25:
                class Raising:
                    def __get__(self, obj, owner):
                        raise AttributeError('raising __get__')
                Base.meth = Raising()
            if round == 30:
                e.__dict__ = {'other': 1, 'attr': 'replaced exception dict'}
                sl.attr = 'slot rebound'
                unset.attr = 'slot set'
            if round == 35:
                Prop.attr = property(lambda self: 'property replaced')
                del sl.attr
        result = out
    """)


def test_megamorphic_class_attribute_sites():
    # cls.NAME read on more classes than the cache holds: type_getattro's steps run at the site
    # (megamorphic_class_load): a metaclass data descriptor first, then the class's MRO (values,
    # functions, classmethods, staticmethods), then the metaclass's other attributes, and the
    # missing-attribute error from the generic lookup, while classes and metaclasses change.
    check("""
        class Meta(type):
            @property
            def described(cls):
                return 'Meta.described ' + cls.__name__
            meta_plain = 'Meta.meta_plain'
            def meta_method(cls):
                return 'Meta.meta_method ' + cls.__name__
        class Base(metaclass=Meta):
            value = 'Base.value'
            described = 'shadowed by the metaclass property'
            @classmethod
            def cm(cls):
                return 'cm ' + cls.__name__
            @staticmethod
            def sm():
                return 'sm'
        # Each class with a metaclass of its own: the metaclass-keyed ways overflow too.
        classes = [type(f'M{i}', (Meta,), {})(f'C{i}', (Base,), {'own': i}) for i in range(9)]
        class Plain:
            value = 'Plain.value'
            own = 'Plain.own'
        classes.append(Plain)
        def read(cls):
            r = []
            for name in ('value', 'own', 'described', 'meta_plain', 'meta_method', 'cm', 'sm'):
                try:
                    v = get(cls, name)
                    r.append(v() if callable(v) else v)
                except AttributeError as e:
                    r.append('AttributeError: ' + str(e))
            return r
        def get(cls, name):
            if name == 'value':
                return cls.value
            if name == 'own':
                return cls.own
            if name == 'described':
                return cls.described
            if name == 'meta_plain':
                return cls.meta_plain
            if name == 'meta_method':
                return cls.meta_method
            if name == 'cm':
                return cls.cm
            return cls.sm
        out = []
        for round in range(30):
            out.append([read(c) for c in classes])
            if round == 8:
                Base.value = 'Base.value rebound'
                classes[3].value = 'C3 value'
            if round == 14:
                Meta.described = property(lambda cls: 'replaced property')
                Meta.meta_plain = 'Meta.meta_plain rebound'
            if round == 20:
                del Meta.described
                classes[5].meta_method = 'C5 shadows the metaclass method'
            if round == 24:
                Base.cm = classmethod(lambda cls: 'cm rebound ' + cls.__name__)
        result = out
    """)


def test_method_calls_on_modules_and_class_constants():
    # LOAD_METHOD's first tier for the whole-cache kinds: module.func(...) and Cls.CONST(...)
    # where CONST has no __get__ (a builtin, a callable instance), while the module attribute
    # and the class constant are rebound, the constant's type gains __get__, and the owner is a
    # temporary that dies at the call (its last reference on the stack).
    check("""
        import types
        m = types.ModuleType('m')
        m.f = len
        class Callable:
            def __call__(self, *args):
                return ('Callable', args)
        class C:
            f = len
            g = Callable()
        def calls(mod, cls):
            return mod.f([1, 2]), cls.f([1, 2, 3]), cls.g(4)
        def temp():
            t = types.ModuleType('t')
            t.f = lambda: 'temp module'
            return t
        def on_temp():
            return temp().f(), type('T', (), {'f': staticmethod(lambda: 'temp class')}).f()
        out = [(calls(m, C), on_temp()) for _ in range(3)]
        m.f = abs
        C.f = sum
        out += [(calls(m, C) if False else (m.f(-5), C.f([1, 2, 3]), C.g(5)), on_temp())
                for _ in range(3)]
        out += [calls(types.SimpleNamespace(f=len), C) for _ in range(2)]
        def g_of(cls, x):
            return cls.g(x)
        out += [g_of(C, i) for i in range(3)]
        Callable.__get__ = lambda self, obj, owner: (lambda *a: ('bound by __get__', a))
        out += [g_of(C, i) for i in range(3)]
        del Callable.__get__
        out += [g_of(C, i) for i in range(3)]
        result = out
    """)


def test_class_attribute_cache_class_getattr_raises():
    # A class attribute whose descriptor raises on __get__ through a cached class site.
    check("""
        class Boom:
            def __get__(self, obj, owner):
                if owner.fail:
                    raise ValueError('boom')
                return 'fine'
        class C:
            fail = False
            b = Boom()
        def read():
            return C.b
        out = [read() for _ in range(3)]
        Boom.fail = True                     # Boom's class attribute, not C's
        C.fail = True
        for _ in range(3):
            try:
                out.append(read())
            except ValueError as e:
                out.append(str(e))
        result = out
    """)


def test_store_by_hint_into_instance_dicts():
    # STORE_ATTR into an instance's own dict at the cached entry: the value is replaced in
    # place; a dict shared with a module still invalidates the module's attribute caches; an
    # untracked dict that gains a container is tracked (the cycle through it is collected).
    check("""
        import gc, types, weakref
        class C:
            pass
        m = types.ModuleType('m')
        m.x = 'module x'
        objs = []
        for i in range(3):
            o = C()
            # A dict of its own, ints only (untracked), 'x' at the entry it has in m's dict.
            o.__dict__ = {k: i for k in list(vars(m))[:list(vars(m)).index('x')] + ['x']}
            objs.append(o)
        alias = C()
        alias.__dict__ = m.__dict__
        def put(o, v):
            o.x = v
        def get_m():
            return m.x
        out = []
        for rnd in range(3):
            for o in objs:
                put(o, (rnd, o.x))
            out.append([o.x for o in objs])
            out.append(get_m())
            put(alias, ('via alias', rnd))
            out.append(get_m())
        o = objs.pop()
        put(o, [o])                            # a cycle through the dict
        ref = weakref.ref(o)
        del o
        gc.collect()
        out.append(ref() is None)
        result = out
    """)


def test_out_of_line_paths_with_extended_arg_names_and_locals():
    # The out-of-line paths decode their instruction's oparg (EXTENDED_ARG prefixes included)
    # from the bytecode: names and locals past index 255 must still be the right ones, in
    # results and in error messages.
    check("""
        import types
        n = 300
        lines = ['def f(o, m, flag):']
        lines += [f'    v{i} = {i}' for i in range(n)]
        lines += ['    if flag:', '        del v299']
        lines += ['    out = []']
        lines += [f'    o.a{i} = {i}' for i in range(n)]              # STORE_ATTR, names > 255
        lines += ['    out.append(o.a299 + o.a0)']                     # LOAD_ATTR
        lines += ['    out.append(m.g299())']                          # LOAD_METHOD on a module
        lines += ['    for attempt in ("o.zz", "m.zz()", "gzz", "v299"):',
                  '        try:',
                  '            out.append(eval(attempt) if False else None)',
                  '        except Exception as e:',
                  '            out.append(str(e))']
        lines += ['    try:', '        out.append(o.zz_missing_attribute)',
                  '    except AttributeError as e:', '        out.append(str(e))']
        lines += ['    try:', '        out.append(m.zz_missing_function())',
                  '    except AttributeError as e:', '        out.append(str(e))']
        lines += ['    try:', '        out.append(gzz_missing_global)',
                  '    except NameError as e:', '        out.append(str(e))']
        lines += ['    try:', '        out.append(v299)',
                  '    except NameError as e:', '        out.append(type(e).__name__ + str(e))']
        lines += ['    return out']
        ns = {}
        exec(compile('\\n'.join(lines), 'gen', 'exec'), ns)
        f = ns['f']
        class O: pass
        m = types.ModuleType('m')
        m.g299 = lambda: 'g299'
        result = [f(O(), m, flag) for flag in (False, True, False, True)]
        body = ['x0 = 0'] + [f'name{i} = {i}' for i in range(n)] + ['total = name299 + name0']
        mod = {}
        exec(compile('\\n'.join(body), 'mod', 'exec'), mod)       # STORE_NAME past 255
        result.append(mod['total'])
    """)


def test_second_tier_attribute_kinds_out_of_line():
    # LOAD_ATTR/STORE_ATTR/LOAD_METHOD serve only their first tier in line; __slots__ members,
    # module attributes and dict-held attributes go to the shared out-of-line paths, which
    # serve them first without publishing the instruction: these are the cases where they
    # must not (an owner or an old value that dies, a finalizer that looks at the frame).
    check("""
        import sys, math
        log = []
        class Fin:
            def __del__(self):
                log.append(sys._getframe(1).f_lineno)
        class P:
            __slots__ = ('x', 'y')
            def __init__(self, x):
                self.x = x
        class D:
            def __init__(self, x):
                self.x = x
        def read_tmp(cls, x):
            return cls(x).x
        def store(p, v):
            p.x = v
        def mod():
            return math.pi, math.floor(2.5), sys.maxsize > 0
        def read(o):
            return o.x
        out = [read_tmp(P, i) + read_tmp(D, i) for i in range(5)]
        p = P(Fin())
        d = D(Fin())
        for i in range(4):
            store(p, Fin())
            store(d, Fin())
            store(p, i)
        out.append(log)
        out.append([mod() for _ in range(5)])
        d.__dict__  # attributes now in a dict: the hint kinds
        out.append([type(read(d)).__name__ for _ in range(3)])
        try:
            read(P.__new__(P))
        except AttributeError as e:
            out.append(str(e))
        result = out
    """)


def test_first_tier_stores_release_old_values_as_the_interpreter_does():
    # STORE_ATTR's shared first tier (csrc/hits.c) replaces inline values and dict entries at
    # the hint, releasing the old value itself only when that runs no code (an exact int, float
    # or str, or a value referenced elsewhere); an old value whose release runs a __del__ goes
    # the generic way, which publishes the instruction first: the finalizer sees the frame at the
    # store (line, f_lasti) as under the interpreter. Inline and dict-backed instances, both
    # warm and cold.
    check("""
        import sys
        seen = []
        class Noisy:
            def __init__(self, tag): self.tag = tag
            def __del__(self):
                try:
                    f = sys._getframe(1)
                except ValueError:   # released at interpreter exit, no caller
                    return
                seen.append((self.tag, f.f_code.co_name, f.f_lineno, f.f_lasti))
        class C:
            def __init__(self):
                self.n = 0
                self.x = 0.5
                self.s = 'a'
                self.o = Noisy('init')
        def bump(c, i):
            c.n += 10 ** 20          # a big int: the old one dies each time
            c.x = c.x * 1.5          # a float
            c.s = c.s + str(i)       # a new str
            c.o = (
                Noisy(i))            # the old Noisy dies at this store
            return c.n, c.x, len(c.s)
        class Slots:
            __slots__ = ('n', 'x', 's', 'o')
            __init__ = C.__init__
        inline, backed = C(), C()
        backed.__dict__              # attributes in a real dict from here on
        own = C()
        own.__dict__ = dict(own.__dict__)   # a dict of its own
        slots = Slots()              # __slots__ members
        out = []
        for i in range(30):
            for c in (inline, backed, own, slots):
                out.append(bump(c, i))
        result = out, seen
    """)


def test_first_tier_loads_from_dict_backed_instances():
    # LOAD_ATTR's and LOAD_METHOD's shared first tiers serve instances whose attributes live in
    # a real dict (sharing the class's keys, or a dict of their own) at the cached hint; the
    # entry is re-checked on each use: deleted and re-added attributes, a key that is an equal
    # but different str, attributes added past the class's keys, a method shadowed in one dict.
    check("""
        class C:
            def __init__(self, i):
                self.a = i
                self.b = -i
            def m(self):
                return ('m', self.a)
        objs = [C(i) for i in range(5)]
        objs[1].__dict__                             # a dict sharing the class's keys
        objs[2].__dict__ = {'b': 'own b', 'a': 'own a'}
        objs[3].__dict__                             # shared keys, then grown
        for k in range(40):
            setattr(objs[3], 'extra%d' % k, k)
        def read(o):
            return o.a, o.b, o.m()
        out = [[read(o) for o in objs] for _ in range(4)]
        del objs[1].a
        objs[1].a = 'readded'
        vars(objs[2])[''.join(['a'])] = 'same text, other str'
        objs[4].__dict__['m'] = lambda: 'shadowed'
        out += [[read(o) for o in objs] for _ in range(4)]
        del objs[0].b
        try:
            read(objs[0])
        except AttributeError as e:
            out.append(str(e))
        result = out
    """)


def test_slot_stores_on_a_class_with_a_getattr_hook():
    # A __getattr__ hook changes how attributes are read, not how they are stored: STORE_ATTR to
    # a __slots__ member goes straight to the slot (as 3.11's STORE_ATTR_SLOT), loads still see
    # the hook for empty slots, and a __setattr__ added later (a new type version) is honoured.
    check("""
        log = []
        class P:
            __slots__ = ('a', 'b')
            def __getattr__(self, name):
                log.append(('getattr', name))
                return 'hook:' + name
        def put(p, i):
            p.a = i
            p.b = [i]
            return p.a, p.b
        def read(p):
            return p.a, p.b
        ps = [P() for _ in range(3)]
        out = [read(ps[0])]
        for i in range(20):
            out.append(put(ps[i % 3], i))
        del ps[1].b
        out.append(read(ps[1]))
        P.__setattr__ = lambda self, k, v: (log.append(('setattr', k)),
                                              object.__setattr__(self, k, v))
        for i in range(5):
            out.append(put(ps[i % 3], -i))
        result = out, log
    """)


def test_class_level_values_read_through_instances():
    # CPJIT_ATTR_CLASS_VALUES / _NO_DICT: a plain value on the class (or a base) read through an
    # instance. Every way the answer can change: the instance shadows it (inline, after its
    # keys grew, through a materialised or replaced __dict__), the class or a base rebinds or
    # deletes it, the value's class gains a __get__ (only values of immutable types are
    # cached), __class__ is reassigned, slots-only instances.
    check("""
        class Base:
            limit = 10
            tag = 'base'
        class C(Base):
            color = 'red'
            items = (1, 2)
            def __init__(self, i):
                self.i = i
        class Slotted(Base):
            __slots__ = ('x',)
        class Thing:
            pass
        C.thing = Thing()
        def read(o):
            return o.limit, o.tag, o.color, o.items, o.thing.__class__.__name__
        def read_s(s):
            return s.limit, s.tag
        objs = [C(i) for i in range(4)]
        s = Slotted()
        out = [[read(o) for o in objs] + [read_s(s)] for _ in range(3)]
        objs[0].color = 'own'                  # shadowed inline (the keys grow)
        objs[1].__dict__['limit'] = 'dict'     # shadowed in a materialised dict
        objs[2].__dict__ = {'tag': 'replaced'} # a dict of its own
        out += [[read(o) for o in objs] + [read_s(s)] for _ in range(3)]
        C.color = 'blue'
        Base.limit = 20
        Thing.__get__ = lambda self, obj, owner: 'got'
        out += [[read(o) for o in objs] + [read_s(s)] for _ in range(3)]
        del Base.tag
        try:
            read(objs[3])
        except AttributeError as e:
            out.append(str(e))
        try:
            read_s(s)
        except AttributeError as e:
            out.append(str(e))
        class Other:
            limit, tag, color, items, thing = 'o', 'o', 'o', 'o', 'o'
        objs[3].__class__ = Other
        out.append(read(objs[3])[:4])
        result = out
    """)


def test_data_descriptors_read_through_instances():
    # CPJIT_ATTR_DATA_DESCR: properties and C getset/member descriptors called without the type
    # lookup. Everything that can change the answer: the getter raises (AttributeError too), the
    # getter replaces or deletes its own property while it runs, the property is replaced by a
    # plain value, a property subclass (a mutable type: not cached), an instance dict holding
    # the same name (the data descriptor still wins), frames seen by the getter, getset
    # descriptors of built-in types, __class__ reassigned.
    check("""
        import sys
        seen = []
        class MyProp(property):
            pass
        class C:
            def __init__(self, i):
                self.i = i
            @property
            def p(self):
                f = sys._getframe(1)
                seen.append((f.f_code.co_name, f.f_lineno, f.f_lasti))
                if self.i == 3:
                    raise AttributeError('no p for 3')
                if self.i == 4:
                    raise ValueError('bad 4')
                return self.i * 10
            @property
            def selfdestruct(self):
                del C.selfdestruct
                C.selfdestruct = 'plain now'
                return 'first'
            q = MyProp(lambda self: 'q%d' % self.i)
        def read(o):
            try:
                return o.p, o.q
            except (AttributeError, ValueError) as e:
                return (type(e).__name__, str(e))
        def boom(o):
            return o.selfdestruct
        def names(f):
            return f.__name__, f.__qualname__
        objs = [C(i) for i in range(6)]
        objs[5].__dict__['p'] = 'shadow?'
        out = [[read(o) for o in objs] for _ in range(3)]
        out.append([boom(objs[0]) for _ in range(3)])
        C.p = property(lambda self: 'replaced')
        out.append([read(o) for o in objs])
        C.p = 'plain value'
        out.append([read(o) for o in objs])
        out.append([names(f) for f in (read, boom, names, len)])
        class D:
            p = property(lambda self: 'D.p')
            q = 'D.q'
        objs[1].__class__ = D
        out.append([read(o) for o in objs])
        class Desc:                      # a data descriptor of a mutable type
            def __get__(self, obj, owner): return 'desc'
            def __set__(self, obj, value): raise AttributeError('read-only')
        class E:
            d = Desc()
        e = E()
        e.__dict__['d'] = 'instance'
        def get_d(o):
            return o.d
        out.append([get_d(e) for _ in range(3)])
        del Desc.__set__                 # now a non-data descriptor: the instance dict wins
        out.append([get_d(e) for _ in range(3)])
        result = out, seen
    """)


def test_classes_with_a_getattr_hook():
    # A __getattr__ hook runs only when the generic lookup raises AttributeError, so inline
    # values, slots and plain class values of such classes are served from the cache; a missing
    # attribute, a deleted one, a property raising AttributeError, and a __getattribute__ added
    # later (on the class or a base) all reach the hook or the new method as in the interpreter.
    check("""
        log = []
        class Base:
            pass
        class H(Base):
            kind = 'class value'
            def __init__(self, i):
                self.i = i
            def __getattr__(self, name):
                log.append(('hook', name))
                return 'hooked ' + name
            @property
            def prop(self):
                if not isinstance(self.i, int) or self.i % 2:
                    raise AttributeError('odd')
                return 'even'
        class S:
            __slots__ = ('a',)
            def __getattr__(self, name):
                return 'slot hook ' + name
        def read(o):
            return o.i, o.kind, o.prop, o.missing
        def read_s(s):
            return s.a
        hs = [H(i) for i in range(3)]
        s = S()
        out = [[read(h) for h in hs] for _ in range(3)]
        out.append(read_s(s))
        s.a = 'set'
        out += [read_s(s) for _ in range(3)]
        del s.a
        out.append(read_s(s))
        del hs[0].i
        out.append([read(h) for h in hs])
        Base.__getattribute__ = lambda self, name: 'base getattribute ' + name
        out += [[read(h) for h in hs] for _ in range(3)]
        del Base.__getattribute__
        out += [[read(h) for h in hs] for _ in range(3)]
        result = out, log
    """)


def test_class_attribute_under_a_metaclass_getattr():
    # A metaclass defining __getattr__ (3.11's EnumType does): class attributes without __get__
    # are cached (keyed on the class's and the metaclass's versions), since type's
    # __getattribute__ answers them before __getattr__ is asked. Here the attribute is rebound
    # and deleted (then __getattr__ answers), its value's type gains a __get__ that raises
    # AttributeError (__getattr__ must answer then), the metaclass gains and loses
    # __getattribute__ and loses __getattr__, and Enum members are read.
    check("""
        import enum
        log = []
        class Meta(type):
            def __getattr__(cls, name):
                log.append(name)
                return 'getattr ' + name
        class V:
            def __init__(self, v): self.v = v
            def __repr__(self): return 'V(%r)' % self.v
        class C(metaclass=Meta):
            a = V(1)
            b = 'plain'
        def read():
            return C.a, C.b, C.missing
        def meth():
            return C.b.upper()
        out = [(read(), meth()) for _ in range(3)]
        C.a = V(2)
        out += [read() for _ in range(3)]
        del C.b
        out += [read() for _ in range(3)]
        C.b = 'back'
        out += [(read(), meth()) for _ in range(3)]
        def raising_get(self, obj, owner):
            raise AttributeError('from __get__')
        V.__get__ = raising_get          # no version of C or Meta changes
        out += [read() for _ in range(3)]
        del V.__get__
        out += [read() for _ in range(3)]
        Meta.__getattribute__ = lambda cls, name: 'getattribute ' + name
        out += [read() for _ in range(3)]
        del Meta.__getattribute__
        out += [read() for _ in range(3)]
        del Meta.__getattr__
        try:
            read()
        except AttributeError as e:
            out.append(str(e))
        out += [(C.a, C.b) for _ in range(3)]
        class Color(enum.Enum):
            RED = 1
            GREEN = 2
        def colors():
            return Color.RED, Color.GREEN.value, Color.RED is Color(1), Color.RED.name
        out += [colors() for _ in range(3)]
        result = out, log
    """)
