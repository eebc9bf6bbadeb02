"""Binary operators on instances of Python classes (csrc/dunders.c): `v - w` calling a Python
`__sub__` (or `w.__rsub__` for an int or float `v`) without PyNumber_Subtract's dispatch.

What must hold is the interpreter's protocol exactly: which method runs, how often, in which
order after a NotImplemented (the other class's reflected method, a builtin's own slot), the
TypeError's message, in-place operators with and without an in-place method, subclasses on the
right (whose reflected method goes first), sequence fallbacks, exceptions and their tracebacks,
and what a method sees of its caller's frame. Each snippet runs under the interpreter and under
cpjit (differential.check); the tests that need the direct path assert it was taken.
"""
import cpjit
import pytest
from differential import check

CLASSES = """
log = []
class V:
    def __init__(self, x): self.x = x
    def __repr__(self): return f"V({self.x!r})"
    def __add__(self, o):
        log.append(("V.add", type(o).__name__))
        return V(self.x + (o.x if isinstance(o, V) else o))
    def __sub__(self, o):
        log.append(("V.sub", type(o).__name__))
        if isinstance(o, (V, int, float)):
            return V(self.x - (o.x if isinstance(o, V) else o))
        return NotImplemented
    def __rsub__(self, o):
        log.append(("V.rsub", type(o).__name__))
        return V(o - self.x)
    def __mul__(self, o):
        log.append(("V.mul", type(o).__name__))
        return NotImplemented
    def __rmul__(self, o):
        log.append(("V.rmul", type(o).__name__))
        return V(o * self.x)
    def __truediv__(self, o): return V(self.x / o)
    def __floordiv__(self, o): return V(self.x // o)
    def __mod__(self, o): return V(self.x % o)
    def __and__(self, o): return ("and", o)
    def __or__(self, o): return ("or", o)
    def __xor__(self, o): return ("xor", o)
    def __lshift__(self, o): return ("lshift", o)
    def __rshift__(self, o): return ("rshift", o)
    def __matmul__(self, o): return ("matmul", o)

class W:
    def __init__(self, x): self.x = x
    def __repr__(self): return f"W({self.x!r})"
    def __sub__(self, o):
        log.append(("W.sub", type(o).__name__))
        return NotImplemented
    def __rsub__(self, o):
        log.append(("W.rsub", type(o).__name__))
        return ("W.rsub", o.x)
    def __rmul__(self, o):
        log.append(("W.rmul", type(o).__name__))
        return NotImplemented

class Sub(V):
    def __rsub__(self, o):
        log.append(("Sub.rsub", type(o).__name__))
        return "subclass first"

class Plain:
    pass

class IntLike(int):
    pass
"""


def test_same_class_every_operator():
    check(CLASSES + """
def ops(a, b, n):
    out = []
    for _ in range(n):
        out.append((a + b, a - b, a / 2, a // 2, a % 3, a & 1, a | 2, a ^ 3, a << 1, a >> 1,
                    a @ b))
    return out
result = (ops(V(7), V(2), 3), log)
""")


def test_direct_path_is_taken():
    source = CLASSES + """
def f(a, b, n):
    t = a
    for _ in range(n):
        t = t - b + a
    return t
result = (f(V(1), V(2), 50), f(V(3), V(1), 50))  # the first call quickens, interpreted
"""
    before = cpjit.stats()["operator_methods"]
    check(source)
    assert cpjit.stats()["operator_methods"] - before >= 100


def test_right_operand_builtin_and_reflected():
    check(CLASSES + """
def f(a, n):
    out = []
    for _ in range(n):
        out.append((a - 1, a - 2.5, 10 - a, 2.5 - a, 3 * a, 1.5 * a))
    return out
result = (f(V(4), 3), log)
""")


def test_not_implemented_chains():
    check(CLASSES + """
def f(a, b):
    try:
        return a - b
    except TypeError as e:
        return ("TypeError", str(e))
out = []
for _ in range(3):
    out.append(f(V(1), W(2)))      # V.sub -> NotImplemented -> W.rsub
    out.append(f(W(1), V(2)))      # W.sub -> NotImplemented -> V.rsub
    out.append(f(V(1), "s"))       # V.sub -> NotImplemented -> str has no slot -> TypeError
    out.append(f(V(1), Plain()))   # V.sub -> NotImplemented -> TypeError
    out.append(f(V(1), IntLike(3)))  # V.sub answers (isinstance int)
    out.append(f(W(1), W(2)))      # same class: NotImplemented -> TypeError
    out.append(f(V(1), Sub(5)))    # subclass on the right: Sub.rsub goes first
    out.append(f(Sub(1), V(5)))    # a subclass on the left
result = (out, log)
""")


def test_multiply_not_implemented_and_sequences():
    check(CLASSES + """
class L(list):
    def __mul__(self, o):
        log.append(("L.mul", o))
        return NotImplemented
    def __add__(self, o):
        log.append(("L.add", o))
        return NotImplemented
def f(a, b):
    try:
        return a * b
    except TypeError as e:
        return ("TypeError", str(e))
def g(a, b):
    try:
        return a + b
    except TypeError as e:
        return ("TypeError", str(e))
out = []
for _ in range(3):
    out.append(f(V(2), V(3)))      # V.mul -> NotImplemented, same class -> TypeError
    out.append(f(V(2), W(3)))      # V.mul -> NotImplemented -> W.rmul -> NotImplemented
    out.append(f(V(2), 3))         # V.mul -> NotImplemented -> int's slot -> TypeError
    out.append(f(V(2), "ab"))      # str repeats: the sequence fallback
    out.append(f(L([1]), 2))       # L.mul -> NotImplemented -> list repeat
    out.append(g(L([1]), [2]))     # L.add -> NotImplemented -> list concat
result = (out, log)
""")


def test_in_place_operators():
    check(CLASSES + """
class I(V):
    def __isub__(self, o):
        log.append(("I.isub", o))
        self.x -= o
        return self
def f(a, n):
    for i in range(n):
        a -= 1
        a += V(i)
        a *= 2
    return a
def g(a, n):
    for i in range(n):
        a -= i
    return a
def h(x, a):
    x -= a
    return x
result = (f(V(3), 3), g(I(10), 4), h(5, V(2)), h(2.5, V(1)), log)
""")


def test_exceptions_and_tracebacks():
    check(CLASSES + """
class E:
    def __sub__(self, o):
        return 1 / o
def f(a, b):
    return a - b
for _ in range(3):
    try:
        f(E(), 0)
    except ZeroDivisionError as e:
        print("caught", e)
f(E(), 0)
""")


def test_method_sees_callers_frame():
    check(CLASSES + """
import sys
class F:
    def __sub__(self, o):
        caller = sys._getframe(1)
        return (caller.f_code.co_name, caller.f_lineno, caller.f_lasti)
def f(a):
    x = 1
    return a - x
result = [f(F()) for _ in range(3)]
""")


def test_method_changed_or_not_a_function():
    check(CLASSES + """
class S:
    @staticmethod
    def __sub__(a, b):
        return ("static", b)
class C:
    @classmethod
    def __sub__(cls, b):
        return ("class", cls.__name__, b)
class B:
    __sub__ = max
class M:
    def __sub__(self, o):
        M.__sub__ = lambda self, o: "replaced"
        return "first"
def f(a, b):
    return a - b
result = [(f(S(), 1), f(C(), 2), f(B(), 3)) for _ in range(3)]
m = M()
result.append([f(m, 0) for _ in range(3)])
""")


def test_recursion_through_operators():
    check(CLASSES + """
class R:
    def __init__(self, n): self.n = n
    def __sub__(self, o):
        return 0 if self.n == 0 else 1 + (R(self.n - 1) - o)
def f(n):
    return R(n) - None
print(f(50))
import sys
try:
    f(sys.getrecursionlimit() + 10)
except RecursionError as e:
    print("RecursionError")
""")


@pytest.mark.parametrize("left", ["V(3)", "3", "2.5"])
def test_generated_grid(left):
    check(CLASSES + f"""
OPS = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
       lambda a, b: a // b, lambda a, b: a % b, lambda a, b: a & b, lambda a, b: a | b,
       lambda a, b: a ^ b, lambda a, b: a << b, lambda a, b: a >> b, lambda a, b: a @ b]
def inplace(a, b):
    a -= b
    a *= b
    return a
def one(a, b):
    out = []
    for op in OPS + [inplace]:
        try:
            out.append(repr(op(a, b)))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out
result = [one({left}, b) for b in (V(2), W(1), 4, 1.5, "x", None, Sub(1))]
result.append(log)
""")
