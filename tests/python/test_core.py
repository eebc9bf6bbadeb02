"""Core differential tests: locals, constants, arithmetic, comparisons, jumps, loops, calls."""
import pytest

from differential import check


def test_loop_sum():
    out = check("""
        def f(n):
            s = 0
            for i in range(n):
                s += i * 2
            return s
        result = f(1000)
    """)
    assert out.result == "999000"


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"])
def test_binary_operators(op):
    check(f"""
        class M:
            def __matmul__(self, o): return ('matmul', o)
            def __rmatmul__(self, o): return ('rmatmul', o)
        def f(a, b):
            try:
                return a {op} b
            except Exception as e:
                return type(e).__name__
        result = [f(7, 3), f(7.5, 2), f(-7, 3), f(2, 10), f(M(), 1), f(1, M()), f("ab", 3)]
    """, native=False)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^="])
def test_inplace_operators(op):
    check(f"""
        def f(a, b):
            a {op} b
            return a
        result = [f(7, 3), f(9, 2), f(5, 1)]
    """)


def test_comparisons_and_branches():
    check("""
        def f(a, b):
            out = []
            if a < b: out.append('lt')
            if a <= b: out.append('le')
            if a == b: out.append('eq')
            if a != b: out.append('ne')
            if a > b: out.append('gt')
            if a >= b: out.append('ge')
            x = a and b
            y = a or b
            if not a: out.append('nota')
            while a < b:
                a += 1
            return out, x, y, a
        result = [f(1, 2), f(2, 2), f(3, 2), f(0, 5)]
    """)


def test_none_checks():
    check("""
        def f(x):
            if x is None:
                return 'none'
            if x is not None:
                return 'some'
        result = [f(None), f(0), f('')]
    """)


def test_calls_with_keywords_and_methods():
    check("""
        def g(a, b=2, *, c=3):
            return a + b * c
        class K:
            def m(self, x, y=1):
                return x - y
        k = K()
        bound = k.m
        result = [g(1), g(1, 5), g(1, c=10), g(a=4, b=1, c=1), k.m(5), k.m(5, y=3), bound(9), len([1, 2])]
    """)


def test_unbound_local_raises_with_line():
    check("""
        def f(flag):
            if flag:
                x = 1
            return x
        f(True)
        f(False)
    """)


def test_name_error_has_line_and_message():
    check("""
        def f():
            return undefined_name + 1
        f()
    """)


def test_exception_in_called_function_traceback():
    check("""
        def inner(x):
            return 1 / x
        def outer(x):
            y = x + 1
            return inner(y - 1)
        outer(0)
    """)


def test_exception_caught_in_loop():
    check("""
        def f(xs):
            out = []
            for x in xs:
                try:
                    out.append(10 // x)
                except ZeroDivisionError:
                    out.append('div0')
            return out
        result = f([1, 0, 5, 0, 2])
    """)


def test_recursion():
    check("""
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        result = fib(18)
    """)


def test_deep_recursion_raises_recursion_error():
    check("""
        def down(n):
            return down(n + 1)
        try:
            down(0)
        except RecursionError as e:
            result = 'RecursionError'
    """)


def test_print_output():
    check("""
        def f(n):
            for i in range(n):
                print(i, i * i)
        f(5)
    """)


def test_float_temporaries_are_reused_without_changing_variables():
    check("""
        def f(x, y):
            a = x * 3.0 - x          # temporary (x*3.0) reused, x untouched
            b = (x + y) / (y - x)    # both temporaries
            c = x / y
            d = x - x                # same object on both sides
            lst = [x, y]
            e = lst[0] * lst[1] + 1.0
            try:
                z = x / 0.0
            except ZeroDivisionError as err:
                z = str(err)
            return x, y, a, b, c, d, e, lst, z
        result = [f(2.0, 5.0), f(-1.5, 0.25)]
    """)


def test_int_temporaries_are_reused_without_changing_variables():
    check("""
        def f(n):
            out = []
            k = 1000
            for i in range(n):
                t = (i * 7 + k) - (i - 300)   # temporaries, some reused in place
                out.append((i, t, k, i * i - 1, -i * 3, (i + 1000) - 1000))
            big = (1 << 29) + n
            out.append((big + big, big * 3 - big, 5 - 5, 300 - 44, -6 + 1))
            return out
        result = f(50)
    """)


def test_builtin_functions_and_method_descriptors_called_directly():
    check("""
        import re
        def f(xs):
            out = []
            out.append(len(xs))                    # METH_O
            out.append(sorted(xs, reverse=True))   # FASTCALL | KEYWORDS
            out.append(divmod(17, 5))              # FASTCALL
            out.append(xs.copy())                  # method descriptor, NOARGS
            xs.append(4)                           # method descriptor, METH_O
            out.append(xs.pop())
            out.append(str.upper('abc'))           # unbound descriptor
            out.append(re.compile('a+').match('aaab').group())   # METH_METHOD (Argument Clinic)
            out.append(getattr(xs, 'count')(1))
            out.append(dict.fromkeys('ab'))        # classmethod descriptor
            for bad in (lambda: len(1, 2), lambda: str.upper(5), lambda: xs.append(),
                        lambda: divmod(1, 0), lambda: sorted(xs, nope=1)):
                try:
                    bad()
                except Exception as e:
                    out.append((type(e).__name__, str(e)))
            return out
        result = f([3, 1, 2])
    """)


def test_direct_calls_with_defaults_keywords_and_generators():
    check("""
        def f(a, b=10, c=[]):
            c.append(a)
            return a + b, len(c)
        def g(a, *, k=5):
            return a * k
        def gen(n, step=1):
            for i in range(0, n, step):
                yield i
        def caller():
            out = []
            for i in range(4):
                out.append(f(i))
                out.append(f(i, 1))
                out.append(f(a=i, b=2))
                out.append(g(i))
                out.append(g(i, k=2))
                out.append(list(gen(5)))
                out.append(sum(gen(10, step=3)))
            try:
                f()
            except TypeError as e:
                out.append(str(e))
            try:
                f(1, 2, 3, 4)
            except TypeError as e:
                out.append(str(e))
            return out
        result = caller()
    """)


def test_comparisons_of_every_kind():
    check("""
        import math
        class K:
            def __init__(self, v): self.v = v
            def __lt__(self, o): return ('lt', self.v, o)
            def __eq__(self, o): return NotImplemented
            def __repr__(self): return f'K({self.v})'
        values = [1, -3, 2**40, 1.5, -0.0, 0.0, math.nan, math.inf, True, 'a', (1, 2), K(1)]
        def table():
            out = []
            for a in values:
                for b in values:
                    row = []
                    for cmp in (lambda: a < b, lambda: a <= b, lambda: a == b,
                                lambda: a != b, lambda: a > b, lambda: a >= b):
                        try:
                            row.append(repr(cmp()))
                        except TypeError as e:
                            row.append('TypeError')
                    out.append(row)
            return out
        result = table()
    """)


def test_compare_and_branch_pairs():
    check("""
        import math
        class Weird:
            def __lt__(self, o): return [1]         # truthy non-bool
            def __gt__(self, o): return []          # falsy non-bool
            def __eq__(self, o): raise ValueError('no eq')
        def f(a, b):
            out = []
            if a < b: out.append('lt')
            else: out.append('not lt')
            if a > b: out.append('gt')
            if not (a <= b): out.append('not le')
            while a != b and len(out) < 8:
                out.append('ne')
                break
            out.append('chain' if 0 < a < 10 else 'nochain')
            out.append(a >= b or b >= a)
            return out
        res = []
        for a, b in [(1, 2), (2, 1), (3, 3), (1.5, 1.5), (math.nan, 1.0), (2**40, 1), (-1, -1.0)]:
            res.append(f(a, b))
        w = Weird()
        res.append(f(w, 1) if False else None)
        try:
            if w < 1: res.append('weird lt true')
            if w > 1: res.append('weird gt true')
            if w == 1: res.append('never')
        except ValueError as e:
            res.append(str(e))
        result = res
    """)
