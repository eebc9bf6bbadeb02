"""Micro benchmark: a recursive generator walk (`yield from`) over a tree of a dozen node
classes whose text leaves subclass str, the shape of docutils' Node._fast_findall: every
`self.children` and `child.walk(...)` site sees more classes than a cache has ways, and the
str leaves have no inline values and read a class attribute. Prints the median time of a walk
series and the count found.
Usage: tree_walk.py [WARMUP_SERIES [TIMED_SERIES]] (a series is 20 walks; defaults 3 and 7).
Under callgrind, (instructions with 1 3) - (with 1 1), / 40, is the cost of one walk."""
import random
import sys
import time


class Node:
    def walk(self, cls):
        if isinstance(self, cls):
            yield self
        for child in self.children:
            yield from child.walk(cls)


class Text(Node, str):
    children = ()


class Element(Node):
    def __init__(self, children):
        self.children = children


KINDS = [type(f"E{i}", (Element,), {}) for i in range(12)]


class Target(Element):
    pass


def build(depth, rng):
    if depth == 0:
        return Text("x")
    kind = rng.choice(KINDS + [Target])
    return kind([build(depth - 1, rng) for _ in range(3)] + [Text("t")])


TREE = build(7, random.Random(1))


def count():
    n = 0
    for _ in TREE.walk(Target):
        n += 1
    return n


def series(walks):
    t = time.perf_counter()
    for _ in range(walks):
        n = count()
    return time.perf_counter() - t, n


def main(argv):
    warmup = int(argv[0]) if argv else 3
    timed = int(argv[1]) if len(argv) > 1 else 7
    for _ in range(warmup):
        series(5)
    times = sorted(series(20)[0] for _ in range(timed))
    print(f"{times[len(times) // 2] * 1000:.1f} ms per 20 walks, {count()} targets")


if __name__ == "__main__":
    main(sys.argv[1:])
