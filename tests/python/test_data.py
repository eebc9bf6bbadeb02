"""Differential tests of the "data" family: unary operators, `is`/`in`, subscripts and slices,
container displays and comprehensions, unpacking, f-strings and PRINT_EXPR.

Every snippet runs under the interpreter and under cpjit (see differential.py); error paths are
exercised on purpose, so the exception type, message and traceback lines are compared too.
Objects with a __del__ that prints check that error paths release what they own, in the same
order as the interpreter.
"""
import sys

import pytest

import cpjit
from differential import check, run_jit


# ---- unary operators ----------------------------------------------------------------------

def test_unary_operators():
    check("""
        class N:
            def __neg__(self): return 'neg'
            def __pos__(self): return 'pos'
            def __invert__(self): return 'inv'
        def f(x):
            return -x, +x, ~x, not x
        result = [f(5), f(-0), f(True), f(N()), f(2**100)]
    """)


def test_unary_not_truthiness():
    check("""
        class B:
            def __init__(self, v): self.v = v
            def __bool__(self): return self.v
        class L:
            def __len__(self): return 0
        def f(x):
            return not x
        result = [f(0), f(1), f(''), f('a'), f([]), f([0]), f(None), f(B(True)), f(B(False)),
                  f(L()), f(0.0), f({}), f(object())]
    """)


@pytest.mark.parametrize("expr", ["-x", "+x", "~x", "not x"])
def test_unary_errors(expr):
    check(f"""
        class Bad:
            def __bool__(self): raise ValueError('no bool')
        class NotBool:
            def __bool__(self): return 2
        def f(x):
            y = 1
            return {expr}
        out = []
        for v in ['s', 1.5, Bad(), NotBool(), [1]]:
            try:
                out.append(f(v))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f('s') if '{expr}' != 'not x' else f(Bad())
    """)


def test_unary_not_error_in_loop_releases_operand():
    check("""
        class Bad:
            def __init__(self, i): self.i = i
            def __bool__(self): raise RuntimeError(self.i)
            def __del__(self): print('del', self.i)
        def f(n):
            out = []
            for i in range(n):
                try:
                    out.append(not Bad(i))
                except RuntimeError as e:
                    out.append(str(e))
            return out
        result = f(3)
    """)


# ---- is / in / len -----------------------------------------------------------------------

def test_is_and_contains():
    check("""
        class C:
            def __contains__(self, x): return x == 3
        def f(a, b):
            return (a is b, a is not b, a in b, a not in b)
        s = 'abc'
        result = [f(1, [1, 2]), f(3, (4,)), f('b', s), f(None, {None: 1}), f(3, C()), f(4, C()),
                  f(s, s), f(2, {2, 3}), f(5, range(10)), f(2, iter([1, 2]))]
    """)


def test_contains_errors():
    check("""
        class Bad:
            def __contains__(self, x): raise KeyError(x)
        def f(a, b):
            x = 0
            return a in b
        out = []
        for b in [1, Bad(), {}, None]:
            try:
                out.append(f([], b))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f(1, 2)
    """)


def test_get_len_in_match():
    check("""
        class Seq(list):
            pass
        def f(x):
            match x:
                case [a]:
                    return ('one', a)
                case [a, b, *rest]:
                    return ('many', a, b, rest)
                case []:
                    return 'empty'
                case _:
                    return 'other'
        result = [f([1]), f((1, 2, 3)), f([]), f('ab'), f(Seq([4, 5])), f(range(4)), f(3)]
    """)
    # GET_LEN itself must have a stencil in this exact shape too.
    codes = []
    run_jit("""
def f(x):
    match x:
        case [a, b, *rest]:
            return rest
f([1, 2, 3])
""", 0, codes)
    unsupported = cpjit.code_info(codes[1])["unsupported"]
    assert "GET_LEN" not in unsupported


# ---- subscripts --------------------------------------------------------------------------

def test_binary_subscr_fast_paths_and_generic():
    check("""
        class G:
            def __getitem__(self, k): return ('G', k)
        class D(dict):
            def __missing__(self, k): return ('missing', k)
        def f(c, k):
            return c[k]
        l = [10, 20, 30]
        t = (1, 2, 3)
        d = {'a': 1, 2: 'b', (1, 2): 'tuple'}
        result = [f(l, 0), f(l, 2), f(l, -1), f(l, True), f(t, 0), f(t, -3), f(t, 2), f(d, 'a'),
                  f(d, 2), f(d, (1, 2)), f(d, 2.0), f('hello', 1), f(G(), 5), f(D(), 'x'),
                  f(l, slice(1, None)), f(b'xyz', 1), f(range(100), 50), f([1] * 5, 2**0)]
    """)


@pytest.mark.parametrize("container, key", [
    ("[1, 2, 3]", "3"), ("[1, 2, 3]", "-4"), ("[1, 2]", "2**40"), ("(1,)", "1"), ("[1]", "'a'"),
    ("{}", "'missing'"), ("{1: 2}", "(1, 2)"), ("{}", "[]"), ("{}", "()"), ("5", "0"),
    ("'abc'", "10"), ("None", "1"), ("[1]", "1.0"),
])
def test_binary_subscr_errors(container, key):
    check(f"""
        def f(c, k):
            a = 1
            return c[k]
        try:
            f({container}, {key})
        except Exception as e:
            result = (type(e).__name__, str(e), e.args)
        f({container}, {key})
    """)


def test_binary_subscr_key_error_in_comprehension():
    check("""
        class K:
            def __init__(self, n): self.n = n
            def __hash__(self): return 1
            def __eq__(self, o): return False
            def __repr__(self): return f'K{self.n}'
            def __del__(self): print('del', self.n)
        d = {1: 'a', 2: 'b'}
        def f(keys):
            return [d[k] for k in keys]
        try:
            f([1, 2, K(7)])
        except KeyError as e:
            result = repr(e)
        print('after')
    """)


def test_dict_subscr_hash_error():
    check("""
        class H:
            def __hash__(self): raise ZeroDivisionError('hash')
        def f(d, k):
            return d[k]
        f({1: 2}, H())
    """)


def test_store_subscr():
    check("""
        class S:
            def __init__(self): self.log = []
            def __setitem__(self, k, v): self.log.append((k, v))
        def f():
            l = [0, 0, 0]
            l[0] = 'a'
            l[2] = 'c'
            l[-2] = 'b'
            l[True] = 'B'
            d = {}
            d['x'] = 1
            d[(1, 2)] = 2
            d['x'] = 3
            s = S()
            s[1] = 2
            s['k'] = 'v'
            b = bytearray(b'abc')
            b[1] = 65
            l2 = list(range(6))
            l2[1:3] = ['x']
            l2[::2] = [7, 8, 9][:len(l2[::2])]
            return l, d, s.log, b, l2
        result = f()
    """)


@pytest.mark.parametrize("container, key", [
    ("[1, 2]", "2"), ("[1, 2]", "-3"), ("[]", "0"), ("(1, 2)", "0"), ("{}", "[]"),
    ("'abc'", "0"), ("[1]", "'x'"), ("[1, 2, 3]", "slice(None, None, 2)"),
])
def test_store_subscr_errors(container, key):
    check(f"""
        class V:
            def __del__(self): print('value released')
        def f(c, k):
            c[k] = V()
            return c
        try:
            f({container}, {key})
        except Exception as e:
            result = (type(e).__name__, str(e))
        print('after')
        f({container}, {key})
    """)


def test_store_subscr_releases_replaced_value():
    check("""
        class V:
            def __init__(self, n): self.n = n
            def __del__(self): print('del', self.n)
        def f():
            l = [V(1), V(2)]
            l[0] = V(3)
            print('stored')
            d = {'k': V(4)}
            d['k'] = V(5)
            print('stored dict')
            return l, d
        r = f()
        del r
        print('end')
    """)


def test_delete_subscr():
    check("""
        def f():
            l = list(range(10))
            del l[0]
            del l[-1]
            del l[1:3]
            del l[::2]
            d = {'a': 1, 'b': 2}
            del d['a']
            return l, d
        def g(c, k):
            del c[k]
        out = []
        for c, k in [([1], 5), ({}, 'x'), ((1, 2), 0), ('s', 0), ({}, [])]:
            try:
                g(c, k)
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = f(), out
        g({}, 'missing')
    """)


def test_slices():
    check("""
        class S:
            def __getitem__(self, k): return k
        def f(a, i, j):
            return (a[1:2], a[::2], a[1:], a[:-1], a[i:j], a[i:j:-1], a[::-1], a[-3::],
                    S()[1:2], S()[::], S()[i:j:'x'], S()['a':])
        result = [f([1, 2, 3, 4, 5], 1, 4), f('abcdef', None, -1), f((1, 2, 3), 0, 0)]
    """)


def test_slice_errors():
    check("""
        def f(a, i):
            x = 1
            return a[i:3]
        out = []
        for a, i in [([1, 2], 'x'), (5, 1), ([1], 1.5)]:
            try:
                out.append(f(a, i))
            except TypeError as e:
                out.append(str(e))
        result = out
        f([1], 'y')
    """)


# ---- container displays and comprehensions -----------------------------------------------

def test_build_containers():
    check("""
        def f(a, b, c):
            return ((), (a,), (a, b, c), [], [a], [a, b, c], {a}, {a, b, c, a},
                    {}, {a: b}, {a: 1, b: 2, c: 3}, {'x': a, 'y': b}, {'x': 1, 'x': 2},
                    {1: a, 1.0: b, True: c})
        result = f(1, 'two', 3.0)
    """)


def test_build_map_table_kind_and_size():
    # BUILD_MAP / BUILD_CONST_KEY_MAP presize like _PyDict_FromItems: same sizes and order.
    check("""
        import sys
        def f(a, b, c, d, e, g, h):
            return [
                {a: 1, b: 2, c: 3, d: 4, e: 5, g: 6, h: 7},
                {'a': a, 'b': b, 'c': c, 'd': d, 'e': e, 'f': g, 'g': h},
                {1: a, 2: b, 3: c, 4: d, 5: e, 6: g, 7: h},
                {a: 1, b: 2},
                {a: 1, 2: b, c: 3, 4: d, e: 5, 6: g},
                {'a': a, 'b': b},
            ]
        ds = f('p', 'q', 'r', 's', 't', 'u', 'v')
        result = [(d, sys.getsizeof(d)) for d in ds]
        ds[0]['w'] = 8
        result.append(sys.getsizeof(ds[0]))
    """)


def test_build_errors_release_items():
    check("""
        class V:
            def __init__(self, n): self.n = n
            def __del__(self): print('del', self.n)
            def __hash__(self): return self.n
            def __eq__(self, o): return self is o
        def s(a, b):
            return {V(1), a, V(2), b}
        def m(a, b):
            return {V(3): 1, a: V(4), b: 5}
        def k(a):
            return {'x': V(5), 'y': a}
        out = []
        for fn, args in [(s, ([], 0)), (s, (0, {})), (m, ([], 0)), (m, (0, set()))]:
            try:
                fn(*args)
            except TypeError as e:
                out.append(str(e))
            print('--')
        result = out, k(3)['y']
    """)


def test_build_map_key_hash_error_line():
    check("""
        def f(a):
            b = 2
            return {
                1: a,
                a: b,
            }
        f([])
    """)


def test_build_string_and_format_value():
    check("""
        class F:
            def __format__(self, spec): return f'F<{spec}>'
            def __repr__(self): return 'F()'
            def __str__(self): return 'strF'
        def f(x, w, p):
            return [f'{x}', f'{x!r}', f'{x!s}', f'{x!a}', f'a{x}b{x}c', f'{x:>10}',
                    f'{x!r:^{w}}', f'{x=}', f'{x = !s:{w}}', f'{3.14159:.{p}f}', f'{"é"!a}',
                    f'{x:{"<"}{w}}', f'{F()}', f'{F():xyz}', f'{F()!r}', f'{F()!s:>8}', f'']
        result = [f('v', 6, 2), f(12, 4, 3), f('é', 8, 0), f([1, 'a'], 12, 1)]
    """)


@pytest.mark.parametrize("fstring", [
    "f'{x:d}'", "f'{x!r:q}'", "f'{x:{y}}'", "f'{x!s}'", "f'{x!r}'", "f'{x!a}'", "f'{x}'",
    "f'a{x}b{y}'",
])
def test_format_value_errors(fstring):
    check(f"""
        class Bad:
            def __repr__(self): raise ValueError('repr')
            def __str__(self): raise ValueError('str')
            def __format__(self, spec): raise TypeError('format ' + spec)
        def f(x, y):
            a = 1
            return {fstring}
        out = []
        for x, y in [('s', 5), (1.5, 'q'), (Bad(), ''), (Bad(), '>3')]:
            try:
                out.append(f(x, y))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f(Bad(), 'z')
    """)


def test_comprehensions():
    check("""
        def f(n):
            l = [i * i for i in range(n) if i % 2]
            s = {i % 3 for i in range(n)}
            d = {i: str(i) for i in range(n)}
            d2 = {k: v for k, v in zip('abc', range(n))}
            nested = [[j for j in range(i)] for i in range(4)]
            big = [x for x in range(1000)]
            return l, sorted(s), d, d2, nested, len(big), sum(big)
        result = f(7)
    """)


def test_comprehension_errors():
    check("""
        def sets(xs):
            return {x for x in xs}
        def dicts(xs):
            return {x: 1 for x in xs}
        def dict_vals(xs):
            return {1: x for x in xs}
        out = []
        for fn in (sets, dicts, dict_vals):
            try:
                out.append(fn([1, 2, [3], 4]))
            except TypeError as e:
                out.append(str(e))
        result = out
        dicts([1, {}])
    """)


def test_list_set_dict_unpacking_displays():
    check("""
        def f(a, b, d1, d2):
            return ([*a, *b], [0, *a, 1], (*a, *b), (*a, 9), {*a, *b}, {0, *b},
                    {**d1, **d2}, {'z': 0, **d1, 'w': 1, **d2}, [*'ab', *range(2), *{3: 4}])
        result = f([1, 2], (3, 4), {'x': 1}, {'x': 2, 'y': 3})
    """)


@pytest.mark.parametrize("expr", [
    "[*x]", "[1, *x]", "(*x, 1)", "{*x}", "{1, *x}", "{**x}", "{'a': 1, **x}",
])
def test_unpacking_display_errors(expr):
    check(f"""
        def gen():
            yield 1
            raise TypeError('inside generator')
        class NoKeys:
            pass
        class BadKeys:
            def keys(self): raise AttributeError('keys')
        def f(x):
            y = 0
            return {expr}
        out = []
        for x in [1, None, gen(), NoKeys(), BadKeys(), [[1]], {{1: 2}}]:
            try:
                out.append(f(x))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f(3)
    """)


def test_call_star_and_double_star():
    check("""
        def g(*args, **kwargs):
            return args, sorted(kwargs.items())
        def f(a, k1, k2):
            return [g(*a), g(0, *a), g(*a, 1), g(**k1), g(**k1, **k2), g(1, *a, x=1, **k2),
                    g(*a, *a)]
        result = f([1, 2], {'x': 1}, {'y': 2})
    """)


@pytest.mark.parametrize("call", [
    "g(**k1, **k1)", "g(x=0, **k1)", "g(**k1, x=5)", "g(**3)", "g(**k1, **None)",
    "g(*3)", "g(1, *None)", "g(**{1: 2})", "O().m(**k1, **k1)", "g(**BadKeys())",
    "g(**k1, **BadKeys())", "g(**NoKeys())", "g(**KeyErr())", "g(**KeyErr2())",
])
def test_call_unpacking_errors(call):
    check(f"""
        def g(*args, **kwargs):
            return args, kwargs
        class O:
            def m(self, **kw): return kw
        class NoKeys:
            pass
        class BadKeys:
            def keys(self): raise AttributeError('keys')
        class KeyErr:
            def keys(self): return ['a']
            def __getitem__(self, k): raise KeyError(k)
        class KeyErr2:
            def keys(self): return ['a']
            def __getitem__(self, k): raise KeyError(k, 2)
        def f(k1):
            return {call}
        try:
            f({{'x': 1}})
        except Exception as e:
            result = (type(e).__name__, str(e))
        f({{'x': 1}})
    """)


# ---- unpacking ---------------------------------------------------------------------------

def test_unpack_sequence():
    check("""
        def gen(n):
            yield from range(n)
        def f(t, l, s):
            a, b = t
            c, d, e = l
            x, y = s
            (p, q), r = (1, 2), 3
            g1, g2, g3, g4 = gen(4)
            [m] = [l]
            i, j = {'i': 1, 'j': 2}
            return a, b, c, d, e, x, y, p, q, r, g1, g2, g3, g4, m, i, j
        result = f((1, 2), [3, 4, 5], 'xy')
    """)


def test_unpack_sequence_swap_and_loop():
    check("""
        def f(pairs):
            a, b = 1, 2
            a, b = b, a
            out = []
            for k, v in pairs:
                out.append((v, k))
            for x, (y, z) in enumerate(pairs):
                out.append(x + y + z)
            return a, b, out
        result = f([(1, 2), [3, 4], (5, 6)])
    """)


@pytest.mark.parametrize("value", [
    "(1, 2, 3)", "[1]", "()", "'abcd'", "5", "None", "iter([1])", "gen_err()", "range(7)",
    "{1: 2}",
])
def test_unpack_sequence_errors(value):
    check(f"""
        def gen_err():
            yield 1
            raise OSError('in generator')
        def f(v):
            x = 0
            a, b = v
            return a, b
        def g(v):
            a, b, c, d, e = v
        out = []
        for fn in (f, g):
            try:
                out.append(fn({value}))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f({value})
    """)


def test_unpack_error_releases_partial_values():
    check("""
        class V:
            def __init__(self, n): self.n = n
            def __del__(self): print('del', self.n)
        def gen():
            yield V(1)
            yield V(2)
        def f():
            a, b, c = gen()
        try:
            f()
        except ValueError as e:
            print(e)
        print('end')
    """)


def test_unpack_ex():
    check("""
        def f(seq):
            a, *b = seq
            *c, d = seq
            e, *f_, g = seq
            h, i, *j, k, l = seq
            [*m] = seq
            return a, b, c, d, e, f_, g, h, i, j, k, l, m
        result = [f([1, 2, 3, 4]), f('abcdef'), f(range(4)), f(iter((9, 8, 7, 6, 5)))]
    """)


@pytest.mark.parametrize("value", ["[1]", "()", "'ab'", "7", "iter([1, 2, 3])", "gen_err()"])
def test_unpack_ex_errors(value):
    check(f"""
        def gen_err():
            yield 1
            yield 2
            yield 3
            yield 4
            raise OSError('late')
        def f(v):
            x = 0
            a, b, *c, d = v
            return a, b, c, d
        def g(v):
            *a, b = v
            return a, b
        out = []
        for fn in (f, g):
            try:
                out.append(fn({value}))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        f({value})
    """)


# ---- PRINT_EXPR ---------------------------------------------------------------------------

def test_print_expr_via_single_mode():
    check("""
        import sys
        def run(src, ns):
            exec(compile(src, '<s>', 'single'), ns)
        ns = {}
        run('1+1', ns)
        run("'text'", ns)
        run('None', ns)
        run('[1, 2][0]', ns)
        run('if True:\\n  3\\n  4\\n', ns)
        shown = []
        old = sys.displayhook
        sys.displayhook = shown.append
        try:
            run('5*5', ns)
            run('(1, 2)', ns)
        finally:
            sys.displayhook = old
        result = shown, ns.get('_')
    """)


def test_print_expr_errors():
    check("""
        import sys
        def hook(v):
            raise ValueError(f'hook got {v}')
        def run(src):
            exec(compile(src, '<s>', 'single'), {})
        out = []
        old = sys.displayhook
        sys.displayhook = hook
        try:
            run('6*7')
        except ValueError as e:
            out.append(str(e))
        del sys.displayhook
        try:
            run('1')
        except RuntimeError as e:
            out.append(str(e))
        finally:
            sys.displayhook = old
        result = out
    """)


def test_print_expr_is_native():
    code = compile("1+1\n", "<s>", "single")
    cpjit.enable(0)
    try:
        exec(code, {})
    finally:
        cpjit.disable()
    info = cpjit.code_info(code)
    assert info is not None and info["state"] == "compiled"
    assert "PRINT_EXPR" not in info["unsupported"]


# ---- every opcode of the family is native --------------------------------------------------

FAMILY = {
    "UNARY_POSITIVE", "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", "BINARY_SUBSCR",
    "STORE_SUBSCR", "DELETE_SUBSCR", "GET_LEN", "BUILD_TUPLE", "BUILD_LIST", "BUILD_SET",
    "BUILD_MAP", "BUILD_CONST_KEY_MAP", "BUILD_SLICE", "BUILD_STRING", "LIST_APPEND", "SET_ADD",
    "MAP_ADD", "LIST_EXTEND", "SET_UPDATE", "DICT_MERGE", "DICT_UPDATE", "LIST_TO_TUPLE",
    "UNPACK_SEQUENCE", "UNPACK_EX", "FORMAT_VALUE", "IS_OP", "CONTAINS_OP", "PRINT_EXPR",
}


def test_family_opcodes_all_have_stencils():
    import dis
    src = """
def f(a, b, d):
    x = (-a, +a, ~a, not a, a is b, a in d, a[0], a[1:2], f'{a!r:>3}{b}')
    a[0] = 1
    del a[0]
    l = [a, b]; s = {1, 2}; m = {b: 1}; k = {'x': 1, 'y': 2}
    c1 = [i for i in l]; c2 = {i for i in l}; c3 = {i: i for i in l}
    e = [*l, *l]; t = (*l, 1); u = {*l, 3}; v = {**m, **k}
    g(**m, **k)
    p, q = l
    r, *s2 = l
    match l:
        case [z, *_]:
            pass
    return x
"""
    codes = []
    run_jit(src + "\ntry:\n    f([1, 2, 3], 2, {})\nexcept Exception:\n    pass\n", 0, codes)
    seen = set()
    for code in codes:
        seen.update(i.opname for i in dis.get_instructions(code))
    single = compile("1\n", "<s>", "single")
    seen.update(i.opname for i in dis.get_instructions(single))
    assert FAMILY <= seen, FAMILY - seen
    for code in codes + [single]:
        cpjit.enable(0)
        try:
            if code is single:
                exec(code, {})
        finally:
            cpjit.disable()
        info = cpjit.code_info(code)
        if info:
            assert not (set(info["unsupported"]) & FAMILY), (code.co_qualname, info["unsupported"])
