"""Comparisons at sites the interpreter specialised (stencils/binary.c, the hinted pairs).

A COMPARE_OP followed by a conditional jump is quickened to COMPARE_OP_INT_JUMP (two small
ints), COMPARE_OP_FLOAT_JUMP (two floats) or COMPARE_OP_STR_JUMP; the compiler gives the first
two a pair stencil with that kind's comparison in line (`COMPARE_OP_INT_JUMP__<op>__<jump>`),
the rest the generic pair stencil. Each test warms functions up in the interpreter on one kind,
lets them compile, checks the stencils they got, then hands them every other kind (big ints,
bools, int and float subclasses, NaN, infinities, mixed int and float, fresh temporaries that
die at the comparison, objects with rich comparisons that raise or recurse) and compares
everything with the interpreter, in `if` tests (forward jumps) and `while` loops (backward).
"""
import dis

from differential import check, compiled_after_warm_up

THRESHOLD = 20

SOURCE = """
def lt(a, b):
    if a < b:
        return "lt"
    return "ge"

def ops(a, b):
    out = []
    if a < b: out.append("<")
    if a <= b: out.append("<=")
    if a == b: out.append("==")
    if a != b: out.append("!=")
    if a > b: out.append(">")
    if a >= b: out.append(">=")
    if not a < b: out.append("!<")
    return out

def fresh(a, b):
    # Both operands die at the comparison (results of arithmetic, referenced nowhere else).
    if a + 0 < b + 0:
        return "lt"
    return "ge"

def count_up(a, b):
    n = 0
    while a < b:
        a = a + 1
        n += 1
    return n

def count_down(a, b):
    n = 0
    while True:
        n += 1
        if not a < b:
            break
        a = a + 1
    return n
"""

OTHERS = """
class I(int):
    def __lt__(self, other):
        return "I.lt"
class F(float):
    pass
class Cmp:
    def __init__(self, v):
        self.v = v
    def __lt__(self, other):
        return self.v < getattr(other, "v", other)
    def __ge__(self, other):
        return not self.__lt__(other)
    def __le__(self, other):
        return self.v <= getattr(other, "v", other)
    def __gt__(self, other):
        return self.v > getattr(other, "v", other)
class Bad:
    def __lt__(self, other):
        raise ValueError("no order")
    __le__ = __gt__ = __ge__ = __lt__
class Deep:
    def __lt__(self, other):
        return lt(self, other)  # recurses through the comparison until RecursionError
out = []
def describe(x):
    return repr(x) if type(x) in (int, float, str, bool, tuple, list, type(None)) else type(x).__name__
def attempt(f, *args):
    shown = [describe(x) for x in args]
    try:
        out.append((f.__name__, shown, f(*args)))
    except RecursionError as e:
        # Which check trips first (a frame's or the comparison's, whose messages differ) follows
        # the depth the snippet starts at, and differential.check runs the cpjit side one
        # Python frame deeper than the plain side.
        out.append((f.__name__, shown, type(e).__name__))
    except Exception as e:
        out.append((f.__name__, shown, type(e).__name__, str(e)[:40]))
nan = float("nan")
pairs = [(1, 2), (2, 1), (2, 2), (-5, 3), (2**30 - 1, 2**30), (2**40, 2**41), (-2**40, 0),
         (True, 2), (False, True), (I(3), 4), (1.5, 2.5), (2.5, 1.5), (nan, 1.0), (1.0, nan),
         (nan, nan), (float("inf"), 1e308), (-0.0, 0.0), (F(1.5), 2.0), (1, 1.5), (2.0, 1),
         (10**20, 1.0), ("a", "b"), ((1, 2), (1, 3)), (Cmp(1), Cmp(2)), (Cmp(2), 1), (1, Cmp(2)),
         (Bad(), 1), (None, 1), ([1], [1])]
for a, b in pairs:
    for f in (lt, ops, fresh):
        attempt(f, a, b)
for a, b in [(0, 5), (5, 0), (0.5, 3.0), (nan, 3.0), (2**40, 2**40 + 3), (True, 3), (Cmp(0), 2),
             (0, 2.5), (Bad(), 1)]:
    attempt(count_up, a, b)
    attempt(count_down, a, b)
import sys
old = sys.getrecursionlimit()
sys.setrecursionlimit(200)
try:
    attempt(lt, Deep(), 1)
finally:
    sys.setrecursionlimit(old)
result = out
"""


def _warm_up(a, b):
    """Every function called past the threshold with a and b (the arithmetic ones only with
    numbers)."""
    calls = ["lt", "ops"] + (["fresh", "count_up", "count_down"] if isinstance(a, (int, float)) else [])
    return (f"for n in range({THRESHOLD + 5}):\n"
            + "".join(f"    {f}({a!r}, {b!r})\n" for f in calls))


def _compare_sites(function):
    return {ins.offset // 2: ins.opname
            for ins in dis.get_instructions(function, adaptive=True)
            if ins.opname.startswith("COMPARE_OP")}


def test_each_specialised_comparison_gets_its_kinds_stencil():
    inline = ("COMPARE_OP_INT_JUMP", "COMPARE_OP_FLOAT_JUMP")
    for (a, b), kind in [((1, 2), "COMPARE_OP_INT_JUMP"), ((1.5, 2.5), "COMPARE_OP_FLOAT_JUMP"),
                         (("a", "b"), None)]:
        names = ("lt", "ops") + (("count_up", "count_down") if kind else ())
        for name in names:
            info = compiled_after_warm_up(SOURCE, name, _warm_up(a, b), THRESHOLD)
            sites = _compare_sites(info["function"])
            if kind:
                assert sites and set(sites.values()) == {kind}, (name, sites)
            stencils = {unit: s for unit, s, _ in info["layout"] if unit in sites}
            assert stencils.keys() == sites.keys(), (name, sites, stencils)
            for unit, form in sites.items():
                # Strs (COMPARE_OP_STR_JUMP for == and !=, adaptive for the rest) keep
                # COMPARE_OP's own pair stencil, whose shared fast path has them.
                expected = form if form in inline else "COMPARE_OP"
                assert stencils[unit].startswith(expected + "__"), (name, form, stencils)
                assert "POP_JUMP" in stencils[unit], (name, stencils)


def test_sites_specialised_for_one_kind_serve_every_other():
    for a, b in [(1, 2), (1.5, 2.5), ("a", "b")]:
        check(SOURCE + _warm_up(a, b) + OTHERS, threshold=THRESHOLD)
