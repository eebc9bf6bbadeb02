"""Float runs (src/opt/float_runs.rs, stencils/floats.c): float expressions computed unboxed.

A run keeps intermediate values in registers and boxes only the result, so what must hold is
that nothing about a run can be told from the interpreter: the same bits in every result
(signed zeros, infinities, NaNs, rounding), the same exceptions at the same lines when a check
fails (a local that is not a float, a zero divisor, a negative base, an overflow, an unbound
local), the same objects where identity shows, and the baseline code running whatever the run
does not take (ints, subclasses, mixed types). Every snippet runs at threshold 0 (loops and
bodies compiled at their first call: a float constant is the evidence) and after a warm-up
(the interpreter's float forms are the evidence).
"""
import io
import struct

import cpjit
import pytest
from differential import Native, check, compiled_after_warm_up

THRESHOLD = 20


def bits(x):
    return struct.pack("<d", x).hex()


def listing(f):
    out = io.StringIO()
    cpjit.dis(f, file=out)
    return out.getvalue()


EXPRESSIONS = """
import struct
def bits(x):
    return struct.pack("<d", x).hex()


def listing(f):
    out = io.StringIO()
    cpjit.dis(f, file=out)
    return out.getvalue()

def energy(dt, dx, dy, dz):
    mag = dt * ((dx * dx + dy * dy + dz * dz) ** -1.5)
    return mag

def mixed(a, b):
    return (a * 2 + b) / 3 - -a

def chain(a, b, c, d):
    x = a * b + c * d
    x += a * c - b * d
    y = -(x * 0.5) + (a - b) * (c - d)
    return x, y

def pushed(a, b):
    return [a * b + 1.5, (a - b) * 0.25]
"""

CASES = """
out = []
values = [0.0, -0.0, 1.0, -1.5, 2.5, 1e308, -1e308, 5e-324, float("inf"), float("-inf"),
          float("nan"), 3, -7, 10**20, True, 0]
for a in values:
    for b in values:
        for f, args in ((energy, (0.01, a, b, 1.0)), (mixed, (a, b)), (chain, (a, b, 1.25, a)),
                        (pushed, (a, b))):
            try:
                r = f(*args)
            except Exception as e:
                out.append((f.__name__, type(e).__name__, str(e)))
                continue
            flat = r if isinstance(r, (tuple, list)) else (r,)
            out.append((f.__name__, [bits(v) if isinstance(v, float) else repr(v) for v in flat]))
result = out
"""


def test_results_are_the_interpreters_bits_whatever_the_operands():
    check(EXPRESSIONS + CASES)


def test_after_a_warm_up_the_float_forms_compile_as_runs():
    warm = f"""
for n in range({THRESHOLD + 5}):
    chain(n + 0.5, 1.5, 2.5, 3.5)
"""
    info = compiled_after_warm_up(EXPRESSIONS, "chain", warm, THRESHOLD)
    names = [stencil for _, stencil, _ in info["layout"]]
    assert any(n.startswith("FLOAT_") for n in names), names
    f = info["function"]
    assert f(1.0, 2.0, 3.0, 4.0) == (2.0 + 12.0 + 3.0 - 8.0, -(9.0 * 0.5) + 1.0)
    # The same function now sees ints and a float subclass: the baseline copy runs.
    class F(float):
        pass
    assert f(1, 2, 3, 4) == (9, -4.5 + 1)
    assert f(F(1.0), 2.0, 3.0, 4.0) == (9.0, -4.5 + 1.0)


def test_runs_are_counted_and_off_with_opt_0():
    src = "def g(a, b):\n    return a * b + 0.5 * a\n"
    ns = {}
    exec(src, ns)
    before = cpjit.stats()["float_runs"]
    assert cpjit.compile(ns["g"])
    assert cpjit.stats()["float_runs"] == before + 1
    assert ns["g"](2.0, 3.0) == 7.0
    assert "float 0.5" in listing(ns["g"])  # the constant's double, named in the listing
    ns = {}
    exec(src, ns)
    cpjit._cpjit.set_opt(False)
    try:
        assert cpjit.compile(ns["g"])
    finally:
        cpjit._cpjit.set_opt(True)
    assert cpjit.stats()["float_runs"] == before + 1
    names = [stencil for _, stencil, _ in cpjit.code_info(ns["g"])["layout"]]
    assert not any(n.startswith("FLOAT_") for n in names), names


@pytest.mark.parametrize("body, args", [
    ("return a / (b - b) + 1.0", "(1.0, 2.0)"),          # ZeroDivisionError in the run
    ("return (a - 3.0) ** 0.5 * 2.0", "(1.0, 2.0)"),    # negative base: complex, from the baseline
    ("return (a * 1e300) ** 2.0 + b", "(1e10, 2.0)"),   # OverflowError from pow
    ("return a * b + c * 1.5", "(1.0, 2.0)"),           # c is unbound: UnboundLocalError
    ("return a * 2.0 + b * 'x'", "(1.0, 2.0)"),         # str operand in the middle
    ("return (a + 1.5) * b - 1.0", "(1.0, [2])"),       # TypeError from the baseline
    ("return (a + 1.5) * b - 1.0", "(1.0, 2**2000)"),   # OverflowError: int too large
])
def test_errors_come_from_the_baseline_at_the_same_line(body, args):
    src = f"""
def f(a, b):
    if a is None:
        c = 1.0
    x = 0.5
    {body}

def run():
    return f{args}

out = []
for _ in range(3):
    try:
        out.append(run())
    except Exception as e:
        out.append((type(e).__name__, str(e)))
result = out
"""
    check(src)


def test_a_stored_result_keeps_identity_where_it_shows():
    # The run writes into the local's old float only when nothing else holds it.
    check("""
def f(a, b):
    x = a * 1.0
    kept = x
    x = a * b + b * 2.0     # x's old object is also `kept`: a new float
    y = a * 1.0
    y = a * b + b * 2.0     # y's old float is held by y alone
    return x, kept, y, x is kept

result = [f(1.5, 2.5), f(2, 3), f(1.5, 2)]
""")


def test_dealloc_of_the_old_value_runs_at_the_store():
    check("""
import sys
class Noisy:
    def __del__(self):
        f = sys._getframe(1)
        print("del at line", f.f_lineno, "in", f.f_code.co_name)

def f(a, b):
    x = Noisy()
    x = a * b + 0.5 * b
    return x

result = f(1.5, 2.5)
""")


def test_runs_in_loops_and_generators_and_after_jumps():
    check("""
def gen(n):
    t = 0.0
    for i in range(n):
        v = i * 0.5
        t = t * 0.5 + v * v - 1.0
        yield t * 2.0 + 0.25

def branches(a, b):
    if a > b:
        r = a * b + 1.5
    else:
        r = (a - b) * (a + b) * 0.5
    return r + 0.0 * a

result = (list(gen(20)), [branches(x * 0.5, 2.0) for x in range(8)],
          [branches(x, 2) for x in range(4)])
""")


def test_tracing_sees_every_line_of_a_run():
    check("""
import sys
lines = []
def tracer(frame, event, arg):
    if frame.f_code.co_name == "f":
        lines.append((event, frame.f_lineno))
    return tracer

def f(a, b):
    x = a * b + \\
        b * 2.0
    y = (x - a) * \\
        (x + b)
    return x, y

first = f(1.5, 2.5)
sys.settrace(tracer)
second = f(1.5, 2.5)
sys.settrace(None)
result = (first, second, lines)
""")


def test_deep_expressions_run_partly_unboxed():
    # Deeper than four registers: the planner takes the parts that fit.
    check("""
def f(a, b, c, d, e):
    return a * (b + (c * (d - (e * (a + (b * 0.5))))))

def g(a):
    return ((((a + 1.0) * 2.0 + 3.0) * 4.0 + 5.0) * 6.0 + 7.0) * 0.125

result = [f(1.0, 2.0, 3.0, 4.0, 5.0), f(1, 2, 3, 4, 5), g(1.5), g(3)]
""")


def test_nbody_style_advance_matches():
    check("""
def advance(dt, n, bodies, pairs):
    for i in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz

bodies = [([float(i), 2.0 * i, 0.5 - i], [0.1 * i, 0.0, -0.2], 1.0 + i) for i in range(4)]
pairs = [(bodies[i], bodies[j]) for i in range(4) for j in range(i + 1, 4)]
advance(0.01, 200, bodies, pairs)
result = [(tuple(r), tuple(v)) for r, v, m in bodies]
""")


def test_random_float_expressions_match_the_interpreter():
    """Random expressions over locals and constants, with every kind of operand (ints, bools,
    big ints, a float subclass, infinities, NaNs, signed zeros), compiled at their first call
    and again after the interpreter quickened them. NaNs compare as NaN: the sign of a NaN made
    from two NaNs is not stable in CPython itself (float_mul gives the second operand's, the
    quickened BINARY_OP_MULTIPLY_FLOAT the first's)."""
    import random
    rng = random.Random(47)
    values = ["0.0", "-0.0", "1.5", "-2.25", "1e308", "-1e308", "5e-324", "float('inf')",
              "float('-inf')", "float('nan')", "3", "-7", "0", "2**70", "10**400", "True",
              "F(2.5)", "0.1", "7.0", "-1.0", "1e-300"]
    consts = ["0.5", "2", "-1.5", "3.0", "0", "1e10", "-2", "1"]

    def expr(d):
        r = rng.random()
        if d == 0 or r < 0.3:
            return rng.choice(["a", "b", "c", "d"] + consts)
        if r < 0.38:
            return f"-({expr(d - 1)})"
        op = rng.choice(["+", "-", "*", "/", "**"])
        if op == "**":
            return f"({expr(d - 1)} ** {rng.choice(['0.5', '2', '-1.5', '3.0', '-1'])})"
        return f"({expr(d - 1)} {op} {expr(d - 1)})"

    def key(v):
        if isinstance(v, float) and v != v:
            return ("nan", type(v).__name__)
        return (type(v).__name__, bits(v) if isinstance(v, float) else repr(v))

    def outcomes(f, args):
        out = []
        for a in args:
            try:
                out.append(tuple(key(v) for v in f(*a)))
            except Exception as e:  # noqa: BLE001 - the exception is the observation
                out.append((type(e).__name__, str(e)))
        return out

    runs_before = cpjit.stats()["float_runs"]
    fallbacks = 0
    for _ in range(150):
        body = "\n".join(
            f"    {rng.choice(['x', 'y', 'a'])} {rng.choice(['=', '+=', '*=', '-=', '/='])} "
            f"{expr(rng.randint(1, 5))}" for _ in range(rng.randint(1, 4)))
        src = ("class F(float): pass\ndef f(a, b, c, d):\n    x = 1.0\n    y = a\n" + body
               + "\n    return x, y, a\n")
        spaces = [{}, {}, {}]
        for ns in spaces:
            exec(src, ns)
        args = [tuple(eval(rng.choice(values), {"F": spaces[0]["F"]}) for _ in range(4))
                for _ in range(5)]
        plain = outcomes(spaces[0]["f"], args)
        assert cpjit.compile(spaces[1]["f"])
        for a in args * 3:  # quickened by the interpreter first
            try:
                spaces[2]["f"](*a)
            except Exception:  # noqa: BLE001
                pass
        assert cpjit.compile(spaces[2]["f"])
        with Native() as n:
            cold, warm = outcomes(spaces[1]["f"], args), outcomes(spaces[2]["f"], args)
        assert n.frames >= 2 * len(args)
        fallbacks += n.fallbacks
        assert cold == plain, src
        assert warm == plain, src
    assert cpjit.stats()["float_runs"] > runs_before + 50
    assert fallbacks > 100  # the odd operands reached the runs' checks: the runs ran


ATTRIBUTES = """
class V:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z
    def dot(self, other):
        return self.x * other.x + self.y * other.y + self.z * other.z
    def norm2(self):
        n = self.x * self.x + self.y * self.y + self.z * self.z
        return n

class S:
    __slots__ = ("x", "y", "z")
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z
    dot = V.dot
"""

WARM_ATTRIBUTES = f"""
for n in range({THRESHOLD + 5}):
    V(n + 0.5, 1.5, 2.5).dot(V(1.5, n + 0.25, 3.5))
    V(n + 0.5, 1.5, 2.5).norm2()
    S(n + 0.5, 1.5, 2.5).dot(S(1.5, n + 0.25, 3.5))
"""


def test_instance_attributes_are_leaves_of_runs():
    ns = {}
    exec(ATTRIBUTES, ns)
    cpjit.enable(threshold=THRESHOLD, warm_window_ms=0, sample_us=0)
    try:
        exec(WARM_ATTRIBUTES, ns)
    finally:
        cpjit.disable()
    info = cpjit.code_info(ns["V"].dot)
    assert info["state"] == "compiled", info
    names = [stencil for _, stencil, _ in info["layout"]]
    assert any(n.startswith("FLOAT_LOAD_ATTR") for n in names), names
    assert "attribute cache" in listing(ns["V"].dot)


def test_what_attribute_leaves_see_later_runs_like_the_interpreter():
    check(ATTRIBUTES + WARM_ATTRIBUTES + """
out = []
a, b = V(1.5, 2.5, -3.0), V(0.5, -1.0, 4.0)
out.append(a.dot(b))
b.y = 3                       # an int attribute
out.append(a.dot(b))
b.y = "s"                     # a str: TypeError from the baseline
try:
    a.dot(b)
except TypeError as e:
    out.append(str(e))
del b.y                       # a missing attribute: AttributeError at the right line
try:
    a.dot(b)
except AttributeError as e:
    out.append(str(e))
class W(V):                   # another type
    @property
    def z(self):
        return 10.0
    @z.setter
    def z(self, v):
        pass
out.append(V(1.0, 2.0, 3.0).dot(W(1.0, 1.0, 1.0)))
V.x = property(lambda self: 100.0)   # the class changes under the cached entries
out.append(V(1.0, 2.0, 3.0).dot(V(1.0, 1.0, 1.0)))
out.append(S(1.5, 2.5, 3.5).dot(S(2.0, 2.0, 2.0)))
s = S(1.0, 2.0, 3.0)
del s.z
try:
    s.dot(S(1.0, 1.0, 1.0))
except AttributeError as e:
    out.append(str(e))
result = out
""", threshold=THRESHOLD)


def test_errors_of_a_run_are_caught_by_the_handlers_around_it():
    check("""
def f(a, b):
    out = []
    for k in range(4):
        try:
            x = a * 2.0 + b / (k - 2.0) ** 2.0
            out.append(x)
        except ZeroDivisionError as e:
            out.append(("zde", str(e)))
        try:
            y = (a - k * 1.0) ** 0.5 * 2.0
            out.append(y)
        except Exception as e:
            out.append((type(e).__name__, str(e)))
        finally:
            out.append("finally")
    return out

result = [f(1.5, 2.5), f(1, 2), f(-1.0, 0.0)]
""")


def test_int_locals_next_to_a_float_are_converted_as_python_does():
    # `i * 0.5` and `t / n`: a one-digit int local meets a float constant or an operator's
    # result; anything else (a bool, a big int, an int subclass, both operands ints) is the
    # baseline's.
    check("""
class I(int):
    pass

def grid(n, x0):
    out = []
    for i in range(-3, n):
        x = x0 + i * 0.5
        y = 0.25 * i - x * 2.0
        t = (x * y) / n + i / (x * 4.0 + 1.0)
        out.append((x, y, t))
    return out

def odd(i, n):
    return (i * 0.5 + n * 1.5) / (i * 1.0)

result = [grid(5, 1.5), grid(3, 2)]
for args in [(3, 4), (True, 2), (2**40, 3), (-(2**29), 7), (I(3), 2), (0, 1), (3, 2**100),
             (1.5, False), (4, I(1))]:
    try:
        result.append(odd(*args))
    except Exception as e:
        result.append((type(e).__name__, str(e)))
""")


def test_int_leaves_appear_only_next_to_a_sure_float():
    src = """
def a(i, x):
    return i * 0.5 + x * 2.0

def b(i, j):
    return i * j + i * j

def c(x, y):
    return x * y + 1.5
"""
    ns = {}
    exec(src, ns)
    assert cpjit.compile(ns["a"]) and cpjit.compile(ns["b"]) and cpjit.compile(ns["c"])
    layout = {f: [s for _, s, _ in cpjit.code_info(ns[f])["layout"]] for f in "abc"}
    # i next to 0.5 and x next to 2.0 may be ints
    assert layout["a"][1:2] == ["FLOAT_LOAD_NUM__0"] and "FLOAT_LOAD_NUM__1" in layout["a"]
    # no evidence of floats: no run
    assert not any(n.startswith("FLOAT_") for n in layout["b"]), layout["b"]
    # two locals meet: both must be floats
    assert layout["c"][1:3] == ["FLOAT_LOAD_FAST__0", "FLOAT_LOAD_FAST__1"], layout["c"]
    with Native() as n:
        results = ns["a"](3, 1.5), ns["b"](3, 4), ns["c"](2, 3), ns["c"](2.0, 3.0)
    assert n.frames == 4 and n.fallbacks == 1  # c's two ints fail the run's check
    assert results == (4.5, 24, 7.5, 7.5)


ITEMS = """
import sys
class D:
    def __del__(self):
        print("del at line", sys._getframe(1).f_lineno)
class L(list):
    pass
def items(v, a, i, dx, k, j=1):
    v[0] -= dx * k
    s = a[i] * a[i] + v[-1] * 0.5
    a[i] = dx * k + 1.0
    v[i] += s * 2.0
    a[j] = dx * dx - k
    return s
def shown(x):
    return [v if isinstance(v, (int, float)) else type(v).__name__ for v in x]
def run(*args):
    try:
        return items(*args), shown(args[0]), shown(args[1])
    except Exception as e:
        return type(e).__name__, str(e), sys.exc_info()[2].tb_next.tb_lineno
for _ in range(30):
    items([1.0, 2.0, 3.0], [1.5, 2.5], 1, 0.5, 0.25)
print(run([1.0, 2.0, 3.0], [1.5, 2.5], 1, 0.5, 0.25))
print(run([1.0, 2.0, 3.0], [1.5, 2.5], -1, 0.5, 0.25))
print(run([1.0, 2.0, 3.0], [1.5, 2.5], -3, 0.5, 0.25))       # a[-3]: IndexError
print(run([1.0, 2.0, 3.0], [1.5, 2.5], 2, 0.5, 0.25))        # a[2]: IndexError
print(run([1.0, 2.0, 3.0], [1.5, 2.5], True, 0.5, 0.25))     # a bool index
print(run([1, 2, 3], [1.5, 2.5], 0, 0.5, 0.25))              # int items
print(run([1.0, 2.0, 3.0], [D(), 2.5], 0, 0.5, 0.25))        # a[0] is no number
print(run([1.0, 2.0, 3.0], [1.5, D()], 0, 0.5, 0.25))        # old item released at the store
print(run([1.0, 2.0, 3.0], [1.5, 2.5, D()], 0, 0.5, 0.25, 2))  # the same, index a local
print(run(L([1.0, 2.0, 3.0]), [1.5, 2.5], 1, 0.5, 0.25))     # a list subclass
print(run((1.0, 2.0, 3.0), [1.5, 2.5], 1, 0.5, 0.25))        # a tuple
print(run([1.0, 2.0], [1.5, 2.5], 2**70, 0.5, 0.25))         # a big index
print(run([], [1.5, 2.5], 0, 0.5, 0.25))                     # an empty list
v = [1.0, 2.0, 3.0]
first = v[0]
print(run(v, [1.5, 2.5], 1, 0.5, 0.25), first, v[0] is first)  # an item someone else holds
"""


def test_list_items_in_runs_match_the_interpreter():
    """List items as leaves (`a[i]`, `v[-1]`) and as the stored result (`v[0] -= ...`,
    `a[i] = ...`): negative and bad indexes, non-float items, subclasses, tuples, an old item
    released at the store, and an item held elsewhere (written as a new float)."""
    check(ITEMS, threshold=20)


def test_list_item_runs_compile_after_a_warm_up():
    warm = """
for n in range(25):
    items([1.0, 2.0, 3.0], [1.5, 2.5], 1, 0.5, 0.25)
"""
    info = compiled_after_warm_up(ITEMS.split("def run")[0], "items", warm, THRESHOLD)
    names = [stencil for _, stencil, _ in info["layout"]]
    assert "FLOAT_STORE_ITEM_CONST" in names and "FLOAT_STORE_ITEM_LOCAL" in names, names
    assert "FLOAT_LOAD_ITEM_LOCAL__0" in names, names


ATTR_STORES = """
import sys
class D:
    def __del__(self):
        print("del at line", sys._getframe(1).f_lineno)
class F(float):
    pass
class S:
    __slots__ = ("x", "y", "w")
    def __init__(self, x, y):
        self.x = x * 1.5 + 0.5
        self.y = y
class V:
    def __init__(self, x, y):
        self.x = x * 1.5 + 0.5
        self.y = y
class W(V):
    def __setattr__(self, name, value):
        print("setattr", name)
        object.__setattr__(self, name, value)
def update(o, k, n):
    o.x = o.x * 0.5 + k
    o.y /= n
    o.x -= k * 2.0
    o.w = k * 3.0 + 1.0
    return o.x, o.y
def state(o):
    d = list(vars(o)) if hasattr(o, "__dict__") else None
    return d, [repr(getattr(o, a, "<unset>")) for a in ("x", "y", "w")]
def run(o, k, n):
    try:
        r = update(o, k, n)
    except Exception as e:
        r = type(e).__name__, str(e), sys.exc_info()[2].tb_next.tb_lineno
    return r, state(o)
for _ in range(30):
    update(V(1.0, 2.0), 0.25, 2.0)
print(run(V(1.0, 2.0), 0.25, 2.0))
print(run(S(1.0, 2.0), 0.25, 2.0))             # another type at the site
print(run(V(1.0, 3), 0.25, 2))                 # ints divided: a float, as the interpreter's
print(run(V(1.0, -7), 0.25, 2))
print(run(V(1.0, 2.0), 0.25, 0))               # ZeroDivisionError at its line
print(run(V(1.0, True), 0.25, 2.0))            # a bool
print(run(V(1.0, 2**70), 0.25, 3))             # a big int
print(run(V(1.0, F(2.0)), 0.25, 2.0))          # a float subclass
print(run(V(1.0, "s"), 0.25, 2.0))             # TypeError at its line
print(run(W(1.0, 2.0), 0.25, 2.0))             # __setattr__ runs for every store
v = V(1.0, 2.0)
v.w = D()
print(run(v, 0.25, 2.0))                       # the old value released at its store's line
v = V(1.0, 2.0)
first = v.x
print(run(v, 0.25, 2.0), first, v.x is first)  # a value someone else holds is not changed
v = V(1.0, 2.0)
vars(v)                                        # the values become a dict
print(run(v, 0.25, 2.0))
v = V(1.0, 2.0)
del v.y
print(run(v, 0.25, 2.0))                       # AttributeError at its line
V.w = property(lambda self: 5.0)               # the class changes under the caches
print(run(V(1.0, 2.0), 0.25, 2.0))
"""


def test_attribute_stores_of_runs_match_the_interpreter():
    """A run's float result stored as an attribute (`o.x = ...`, `o.y /= n`): first stores in
    __init__ (inline values, slots), another type at the site, ints and other numbers divided,
    errors at their lines, __setattr__, an old value released at the store, a value held
    elsewhere, values turned into a dict, a missing attribute, a class changed meanwhile."""
    check(ATTR_STORES, threshold=20)


def test_attribute_store_runs_compile_and_run_natively():
    warm = """
for n in range(25):
    update(V(1.0, 2.0), 0.25, 2.0)
"""
    info = compiled_after_warm_up(ATTR_STORES.split("def state")[0], "update", warm, THRESHOLD)
    names = [stencil for _, stencil, _ in info["layout"]]
    assert names.count("FLOAT_STORE_ATTR") == 4, names
    update, V = info["function"], info["function"].__globals__["V"]
    o = V(1.0, 2.0)
    update(o, 0.25, 2.0)  # the stores' caches filled by the baseline copies
    with Native() as n:
        for _ in range(10):
            r = update(o, 0.25, 2)
    assert n.frames == 10 and n.fallbacks == 0, (n.frames, n.fallbacks)
    assert r == (o.x, o.y) and o.y == 2.0 / 2**11


def test_failed_checks_are_counted_by_what_failed():
    """stats()["run_fallbacks_by"]: each kind of failed check counted under its name, the
    total under "run_fallbacks", and code_info's "runs" says how many runs a function has."""
    src = """
class V:
    def __init__(self, x):
        self.x = x
class W:
    x = 1.5
def f(a, b, v, seq, i):
    s = a * 2.0 + b / 4.0
    t = v.x * 0.5 + a * a
    u = seq[i] * 3.0 - a * 0.25
    return s, t, u
def g(n, k):
    return (n * k + 1) * (n - k)
"""
    ns, plain = {}, {}
    exec(src, ns)
    exec(src, plain)
    f, g, V, W = ns["f"], ns["g"], ns["V"], ns["W"]
    for _ in range(20):
        f(1.5, 2.5, V(0.5), [1.0, 2.0], 1)
        g(3, 4)
    assert cpjit.compile(f) and cpjit.compile(g)
    assert cpjit.code_info(f)["runs"] == 3 and cpjit.code_info(g)["runs"] == 1
    f(1.5, 2.5, V(0.5), [1.0, 2.0], 1)  # fills the attribute cache of the run's copy
    cases = [
        ("type", f, (1.5, "s", V(0.5), [1.0, 2.0], 1)),   # b is a str
        ("attribute", f, (1.5, 2.5, W(), [1.0, 2.0], 1)),  # another type at v.x
        ("index", f, (1.5, 2.5, V(0.5), [1.0, 2.0], 5)),   # seq[5]
        ("range", g, (2**40, 2**40)),                      # n * k past 64 bits
        ("type", g, (3.5, 4)),                             # a float where ints were seen
    ]
    for why, fn, args in cases:
        before = cpjit.stats()
        with Native():
            try:
                got = fn(*args)
            except Exception as e:  # noqa: BLE001 - the exception is the observation
                got = type(e).__name__
        after = cpjit.stats()
        try:
            want = plain[fn.__name__](*args)
        except Exception as e:  # noqa: BLE001
            want = type(e).__name__
        assert got == want
        by = {k: after["run_fallbacks_by"][k] - before["run_fallbacks_by"][k]
              for k in after["run_fallbacks_by"]}
        assert by[why] >= 1, (why, by)
        assert sum(by.values()) == after["run_fallbacks"] - before["run_fallbacks"]


def test_powers_of_negative_and_special_bases_are_the_interpreters():
    """`x ** y` in a run: a negative base to an integral power is computed in the run (the
    power of its magnitude, negated for an odd exponent, as float_pow does); zero bases, a
    negative base to a fractional power (complex), infinities, NaNs and overflows are the
    baseline's. Every result's bits, every exception, against the interpreter."""
    import itertools

    src = """
def f(a, b):
    return (a * 1.0) ** b + 0.0
def g(a, b):
    return (a * 1.0) ** (b * 1.0) * 1.0
"""
    ns, plain = {}, {}
    exec(src, ns)
    exec(src, plain)
    bases = [-3.5, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.5, -1e-300, -1e300,
             float("inf"), float("-inf"), float("nan"), -7.0, -3]
    exps = [2, 3, -1, -2, 0, 1, 0.5, -0.5, 2.0, 3.0, 1e300, -1e300, 1e16 + 2, float("inf"),
            float("nan"), -3.0, 53.0, 1075.0, -1075.0, 2**70]

    def outcomes(fn):
        out = []
        for a, b in itertools.product(bases, exps):
            try:
                v = fn(a, b)
                out.append(bits(v) if isinstance(v, float) else repr(v))
            except Exception as e:  # noqa: BLE001 - the exception is the observation
                out.append((type(e).__name__, str(e)))
        return out

    for _ in range(20):
        ns["f"](1.5, 2)
        ns["g"](1.5, 2.0)
    assert cpjit.compile(ns["f"]) and cpjit.compile(ns["g"])
    assert "FLOAT_POW" in listing(ns["f"]) and "FLOAT_POW" in listing(ns["g"])
    with Native() as n:
        got = outcomes(ns["f"]), outcomes(ns["g"])
    assert got == (outcomes(plain["f"]), outcomes(plain["g"]))
    assert n.frames == 2 * len(bases) * len(exps)
