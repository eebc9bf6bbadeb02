"""The two FOR_ITER stencils (stencils/iter.c): FOR_ITER with the list, tuple and range paths in
line, and FOR_ITER_SEQUENCE without the range path, which the compiler picks for loops over a
value no call just made (src/compiler.rs: iterates_a_value). Both must run every iterator the
same way; the choice only decides what is in line.
"""
import cpjit

from differential import check

SOURCE = """
def loops(xs, n, d):
    t = []
    for x in xs:                  # a value: FOR_ITER_SEQUENCE
        t.append(x)
    for i in range(n):            # a call's result: FOR_ITER
        t.append(i)
    for k in d:                   # a value
        t.append(k)
    for c in (1, 2):              # a constant
        t.append(c)
    t.append([i * 2 for i in range(n)])   # a comprehension's argument: FOR_ITER
    return t
"""


def _for_iter_stencils(function):
    info = cpjit.code_info(function)
    assert info and info["state"] == "compiled", info
    return [stencil for _, stencil, _ in info["layout"] if stencil.startswith("FOR_ITER")]


def test_loops_over_values_get_the_stencil_without_the_range_path():
    ns = {}
    exec(SOURCE, ns)
    cpjit.enable(threshold=0)
    try:
        ns["loops"]([1], 1, {})
    finally:
        cpjit.disable()
    assert _for_iter_stencils(ns["loops"]) == [
        "FOR_ITER_SEQUENCE", "FOR_ITER", "FOR_ITER_SEQUENCE", "FOR_ITER_SEQUENCE"]


def test_every_iterator_runs_the_same_under_either_stencil():
    check(SOURCE + """
class Counting:
    def __init__(self, n):
        self.n = n
    def __iter__(self):
        return self
    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n
def gen(n):
    yield from range(n)
big = 2**62
out = []
for value in [[1, 2, 3], (4, 5), range(3), range(-5, 5, 4), range(big, big + 3),
              range(10, 0, -3), iter([7, 8]), iter((9,)), iter(range(2)), "ab", {"k": 1},
              {3, 4} and sorted({3, 4}), Counting(3), gen(2), reversed([1, 2]), b"xy",
              enumerate("pq"), zip([1], [2]), map(abs, [-1]), [], ()]:
    out.append(loops(value, 2, {}))
# A range held in a variable and walked with in-place stores of its ints.
def walk(r):
    total = 0
    for i in r:
        total += i
    return total, i
out.append(walk(range(1000, 1010)))
out.append(walk(range(2**40, 2**40 + 3)))
# A list that grows while it is walked, one that shrinks, an iterator whose __next__ raises.
grow = [1]
for x in grow:
    if len(grow) < 5:
        grow.append(x + 1)
out.append(grow)
shrink = [1, 2, 3, 4]
for x in shrink:
    shrink.pop()
out.append(shrink)
class Bad:
    def __iter__(self):
        return self
    def __next__(self):
        raise ValueError("bad next")
try:
    loops(Bad(), 1, {})
except ValueError as e:
    out.append((str(e), e.__traceback__.tb_next.tb_lineno))
result = out
""")


def test_threshold_and_quickened_code_pick_the_same_forms():
    # Compiled after quickening (the hints' path): the FOR_ITER choice is the same.
    check(SOURCE + """
out = []
for n in range(40):
    out.append(loops(range(n % 3), n % 4, {n: n}))
result = out[-5:]
""", threshold=20)
