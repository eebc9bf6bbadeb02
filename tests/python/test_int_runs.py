"""Int runs (src/opt/float_runs.rs, stencils/ints.c): int expressions computed unboxed.

Where the interpreter specialised an operator to ints, a run keeps the expression's ints in
64-bit registers and boxes only its result; an int result a float operator takes next is
converted in the same run. What must hold is that nothing of this shows: the same values (floor
division and modulo of negative numbers, shifts, bitwise operators on negative numbers, results
past 64 bits), the same exceptions at the same lines (zero divisors, negative shifts, unbound
locals, operands that are not ints), the same objects where identity shows. Each function is
compiled after the interpreter quickened it with ints (the evidence), then called with
anything: floats, bools, big ints, int subclasses, which the baseline copy of the run takes.
"""
import io
import random

import cpjit
import pytest
from differential import Native, check


def listing(f):
    out = io.StringIO()
    cpjit.dis(f, file=out)
    return out.getvalue()


def quickened(src, name, warm_args, times=12):
    """Define `name` from `src`, call it with each of `warm_args` `times` times in the
    interpreter (so its operators take their int forms), then compile it."""
    ns = {}
    exec(src, ns)
    f = ns[name]
    for _ in range(times):
        for a in warm_args:
            try:
                f(*a)
            except Exception:  # noqa: BLE001 - only the quickening matters here
                pass
    assert cpjit.compile(f)
    return f


def native_outcomes(f, args, fallbacks=None):
    """outcomes(f, args) with every call entered natively (asserted); the runs' failed checks
    meanwhile are appended to `fallbacks` when given."""
    with Native() as n:
        out = outcomes(f, args)
    assert n.frames >= len(args), (n.frames, len(args))
    if fallbacks is not None:
        fallbacks.append(n.fallbacks)
    return out


def outcomes(f, args):
    out = []
    for a in args:
        try:
            out.append(repr(f(*a)))
        except Exception as e:  # noqa: BLE001 - the exception is the observation
            out.append((type(e).__name__, str(e)))
    return out


SPECTRAL = """
def eval_A(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
"""


def test_a_mixed_int_and_float_run_gives_the_interpreters_float():
    before = cpjit.stats()["float_runs"]
    f = quickened(SPECTRAL, "eval_A", [(3, 4), (10, 20)])
    assert cpjit.stats()["float_runs"] == before + 1
    text = listing(f)
    assert "INT_ADD" in text and "INT_FLOORDIV" in text and "FLOAT_DIV__BOX" in text, text
    ns = {}
    exec(SPECTRAL, ns)
    args = [(i, j) for i in (-7, 0, 1, 129, 2**29, 2**31, 2**52) for j in (-3, 0, 5, 2**26)]
    args += [(1.5, 2), (True, 2), (2**70, 1), (-2**62, -2**62), (2**53, 2**53)]
    assert native_outcomes(f, args) == outcomes(ns["eval_A"], args)


def test_an_int_run_is_off_with_opt_0():
    src = "def g(a, b):\n    return (a + b) * (a - b) + 7\n"
    ns = {}
    exec(src, ns)
    for _ in range(12):
        ns["g"](3, 4)
    cpjit._cpjit.set_opt(False)
    try:
        assert cpjit.compile(ns["g"])
    finally:
        cpjit._cpjit.set_opt(True)
    assert "INT_" not in listing(ns["g"])
    assert native_outcomes(ns["g"], [(3, 4), (2**62, 1)]) == [
        repr(0), repr((2**62 + 1) * (2**62 - 1) + 7)]


@pytest.mark.parametrize("body, args", [
    ("return (a + b) // (a - a) + 1", "(1, 2)"),      # ZeroDivisionError from //
    ("return (a + b) % (b - b) * 2", "(1, 2)"),       # ZeroDivisionError from %
    ("return (a + b) << (a - b) | 1", "(1, 2)"),      # ValueError: negative shift count
    ("return (a + b) * c + 1", "(1, 2)"),             # c unbound: UnboundLocalError
    ("return (a + b) * b - 1", "(1, 'x')"),           # str operand: TypeError from the baseline
    ("return (a * b) << 70 | a", "(3, 5)"),           # past 64 bits: the baseline's big int
])
def test_errors_come_from_the_baseline_at_the_same_line(body, args):
    check(f"""
def f(a, b):
    if a == 0:
        c = 1
    {body}
for _ in range(12):
    try:
        f(3, 4)
    except Exception:
        pass
def run():
    try:
        return f{args}
    except Exception as e:
        import traceback
        return type(e).__name__, str(e), traceback.extract_tb(e.__traceback__)[-1].lineno
print(run())
""", threshold=12)


def test_a_stored_result_keeps_identity_where_it_shows():
    src = """
def f(a, b, n):
    x = a * 1000 + b
    y = x
    out = []
    for i in range(n):
        x = (x + a) * 3 % 1000003
        out.append(x)
    return x, y, out[-3:], y is x
"""
    f = quickened(src, "f", [(5, 7, 3)])
    ns = {}
    exec(src, ns)
    args = [(5, 7, 50), (-5, 7, 10), (2**40, 3, 5), (1, 2, 0)]
    assert native_outcomes(f, args) == outcomes(ns["f"], args)


def test_random_int_expressions_match_the_interpreter():
    """Random expressions of every operator the int runs take, quickened with small ints,
    then called with edge values: around digit and 64-bit bounds, negative numbers, zero,
    bools, big ints, floats, an int subclass."""
    rng = random.Random(48)
    values = ["0", "1", "-1", "7", "-13", "2**29", "2**30", "-2**30", "2**31 + 5", "2**59",
              "-2**60", "2**60", "2**62", "-2**63", "2**64", "True", "I(5)", "3.5", "-0.0",
              "10**30"]
    consts = ["1", "2", "3", "-5", "255", "256", "2**20", "0"]
    ops = ["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>"]

    def expr(d):
        r = rng.random()
        if d == 0 or r < 0.3:
            return rng.choice(["a", "b", "c", "d"] + consts)
        if r < 0.36:
            return f"-({expr(d - 1)})"
        op = rng.choice(ops)
        if op in ("<<", ">>"):
            return f"({expr(d - 1)} {op} {rng.choice(['1', '3', 'b % 7', '62', '64', 'c'])})"
        if op in ("//", "%") and rng.random() < 0.5:
            return f"({expr(d - 1)} {op} {rng.choice(['3', '-4', 'b', '7'])})"
        return f"({expr(d - 1)} {op} {expr(d - 1)})"

    runs_before = cpjit.stats()["float_runs"]
    fallbacks = []
    for _ in range(150):
        body = "\n".join(
            f"    {rng.choice(['x', 'y', 'a'])} {rng.choice(['=', '+=', '*=', '-=', '//='])} "
            f"{expr(rng.randint(1, 5))}" for _ in range(rng.randint(1, 4)))
        tail = rng.choice(["x, y, a", "x * 0.5 + y", "1.0 / (x % 97 + 1) + y"])
        src = ("class I(int): pass\ndef f(a, b, c, d):\n    x = 1\n    y = a\n" + body
               + f"\n    return {tail}\n")
        plain_ns, jit_ns = {}, {}
        exec(src, plain_ns)
        f = quickened(src, "f", [(rng.randint(-50, 50), rng.randint(1, 9), rng.randint(0, 5),
                                  rng.randint(-9, 9)) for _ in range(3)])
        exec(src, jit_ns)
        env = {"I": jit_ns["I"]}
        args = [tuple(eval(rng.choice(values), env) for _ in range(4)) for _ in range(6)]
        args += [(rng.randint(-10**6, 10**6), rng.randint(1, 60), rng.randint(0, 62),
                  rng.randint(-99, 99)) for _ in range(4)]
        plain_args = [tuple(plain_ns["I"](v) if type(v).__name__ == "I" else v for v in a)
                      for a in args]
        got = native_outcomes(f, args, fallbacks)
        assert got == outcomes(plain_ns["f"], plain_args), src
    assert cpjit.stats()["float_runs"] > runs_before + 50
    assert sum(fallbacks) > 100  # the edge values reached the runs' checks: the runs ran


def test_random_compares_ending_runs_match_the_interpreter():
    """A run may end in a compare and a forward jump (no bool made): random float and int
    expressions compared, quickened with floats or ints, then called with edge values (NaNs,
    infinities, signed zeros, big ints, bools, mixed kinds)."""
    rng = random.Random(49)
    values = ["0.0", "-0.0", "1.5", "-2.5", "float('nan')", "float('inf')", "3", "-7", "0",
              "2**62", "2**70", "True", "1e300", "2**53 + 1"]
    compares = ["<", "<=", "==", "!=", ">", ">="]

    def expr(d, floats):
        r = rng.random()
        if d == 0 or r < 0.3:
            return rng.choice(["a", "b", "c"] + (["0.5", "2.0", "-1.5"] if floats else ["3", "-2", "7"]))
        op = rng.choice(["+", "-", "*"] + ([] if floats else ["//", "%", "&"]))
        return f"({expr(d - 1, floats)} {op} {expr(d - 1, floats)})"

    runs_before = cpjit.stats()["float_runs"]
    fallbacks = []
    for n in range(120):
        floats = n % 2 == 0
        tests = "\n".join(
            f"    if {expr(rng.randint(1, 3), floats)} {rng.choice(compares)} "
            f"{expr(rng.randint(0, 2), floats)}:\n        k += {1 << j}"
            for j in range(rng.randint(1, 4)))
        src = f"def f(a, b, c):\n    k = 0\n{tests}\n    return k\n"
        plain_ns = {}
        exec(src, plain_ns)
        warm = [tuple(rng.uniform(-3, 3) if floats else rng.randint(-9, 9) for _ in range(3))
                for _ in range(3)]
        f = quickened(src, "f", warm)
        args = [tuple(eval(rng.choice(values)) for _ in range(3)) for _ in range(8)] + warm
        assert native_outcomes(f, args, fallbacks) == outcomes(plain_ns["f"], args), src
    assert cpjit.stats()["float_runs"] > runs_before + 30
    assert sum(fallbacks) > 50


ATTRS = """
class P:
    def __init__(self, n):
        self.n = n
class Q:
    __slots__ = ("n",)
    def __init__(self, n):
        self.n = n
def f(o, i, k):
    j = i + o.n - k
    return j * 2 + 1, (i - k) * o.n
"""


def test_int_attributes_in_runs_match_the_interpreter():
    """`o.n` as an int leaf (inline values and __slots__): then a float, a big int, a bool, a
    missing attribute, another class."""
    ns = {}
    exec(ATTRS, ns)
    P, Q, f = ns["P"], ns["Q"], ns["f"]
    for _ in range(12):
        f(P(3), 4, 1)
    assert cpjit.compile(f)
    assert "INT_LOAD_ATTR" in listing(f), listing(f)
    gone = P(1)
    del gone.n
    empty = Q.__new__(Q)
    objs = [P(3), P(-2**40), P(2**61), P(2.5), P(True), gone, Q(7), Q(2**59), empty, 5]
    plain = {}
    exec(ATTRS, plain)
    for o in objs:
        for args in [(4, 1), (-2**40, 3), (2**62, 2**62)]:
            assert native_outcomes(f, [(o,) + args]) == outcomes(plain["f"], [(o,) + args])


def test_an_int_attribute_next_to_a_float_is_converted_in_the_run():
    """`self.w * 2.0 + self.n` with n an int: read as a double in the run (FLOAT_LOAD_ATTR_NUM),
    exactly as float_add converts it; a big int or a str goes to the baseline."""
    src = """
class P:
    def __init__(self, w, n):
        self.w = w
        self.n = n
def f(o):
    return o.w * 2.0 + o.n, o.n - o.w * 0.5
"""
    ns, plain = {}, {}
    exec(src, ns)
    exec(src, plain)
    P, f = ns["P"], ns["f"]
    for _ in range(12):
        f(P(1.5, 2.5))
    assert cpjit.compile(f)
    assert "FLOAT_LOAD_ATTR_NUM" in listing(f), listing(f)
    objs = [P(1.5, 3), P(1.5, -7), P(0.1, 2**29 + 1), P(1.5, 2**70), P(1.5, True), P(1, 2),
            P(float("nan"), 0), P(1.5, "x")]
    assert native_outcomes(f, [(o,) for o in objs]) == outcomes(plain["f"], [(o,) for o in objs])


CELLS = """
class P:
    def __init__(self, n, w):
        self.n = n
        self.w = w
def f(o, i, k, base):
    # o, base and step are cells (the comprehension and the closure use them): their leaves
    # are LOAD_DEREF, and o.n / o.w attributes of a cell's contents.
    step = i - k
    firsts = [o.n + base + j for j in range(2)]
    def inner(m):
        return m * step + base - step * 3, (m - base) * o.w + o.n * 0.5
    j = i + o.n - k
    x = (base + i) * step - o.n
    y = o.w * 2.0 + base * 0.5 - step
    return firsts, j * 2 + 1, x, y, inner(i + 1), inner(k)
def unbound(i):
    def g():
        return (late + i) * 2 - i
    try:
        r = g()
    except NameError as e:
        r = str(e)
    late = 4
    return r, g()
"""


def test_cells_and_free_variables_are_leaves_of_runs():
    """Cell and free variables (LOAD_DEREF) as int and float leaves, and attributes of an
    object held in a cell: then other types, big ints, bools, an unbound free variable."""
    ns, plain = {}, {}
    exec(CELLS, ns)
    exec(CELLS, plain)
    P, f, unbound = ns["P"], ns["f"], ns["unbound"]
    for _ in range(12):
        f(P(3, 1.5), 4, 1, 7)
        unbound(3)
    inner = [c for c in f.__code__.co_consts if getattr(c, "co_name", "") == "inner"][0]
    g = [c for c in unbound.__code__.co_consts if getattr(c, "co_name", "") == "g"][0]
    # The nested functions' code objects: their leaves are free variables (COPY_FREE_VARS).
    assert cpjit.compile(f) and cpjit.compile(unbound) and cpjit.compile(inner)
    assert cpjit.compile(g)
    assert "INT_LOAD_DEREF" in listing(g) and "INT_LOAD_DEREF" in listing(inner)
    for name in ("INT_LOAD_DEREF", "INT_LOAD_ATTR_DEREF", "FLOAT_LOAD_ATTR_NUM_DEREF",
                 "FLOAT_LOAD_NUM_DEREF"):
        assert name in listing(f), (name, listing(f))
    args = [(P(3, 1.5), 4, 1, 7), (P(-2**40, 2.5), 2**61, 3, -1), (P(2.5, 3), 4, 1, 7),
            (P(True, 1.0), 4, 1, 2**62), (P(3, "x"), 4, 1, 7), (P(3, 1.5), 4.5, 1, 7),
            (P(3, 1.5), 4, 1, 2.5)]
    fallbacks = []
    assert native_outcomes(f, args, fallbacks) == outcomes(plain["f"], args)
    assert fallbacks[0] > 0  # the odd types reached the runs' checks
    with Native() as n:
        clean = outcomes(f, args[:1] * 5)
    assert clean == outcomes(plain["f"], args[:1] * 5) and n.fallbacks == 0, n.fallbacks
    assert native_outcomes(unbound, [(3,), (2**62,), (2.5,)]) == outcomes(
        plain["unbound"], [(3,), (2**62,), (2.5,)])
