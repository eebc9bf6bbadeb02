"""Micro benchmark: raising and catching exceptions, in the same frame and across frames, bare
re-raise through try/finally, a `with` block whose __exit__ swallows the exception, and
exceptions from builtins (KeyError, ValueError). Prints a checksum.
Usage: exceptions.py [N [name ...]] (names: same_frame across_frames with_swallow lookups)."""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


class ParseError(Exception):
    pass


def leaf(i):
    if i & 1:
        raise ParseError(i)
    return i


def middle(i):
    try:
        return leaf(i)
    finally:
        pass


def outer(i):
    try:
        return middle(i)
    except ParseError:
        raise


def same_frame(n):
    total = 0
    for i in range(n):
        try:
            if i & 3:
                raise KeyError(i)
            total += 1
        except KeyError as e:
            total += e.args[0] & 7
    return total


def across_frames(n):
    total = 0
    for i in range(n):
        try:
            total += outer(i)
        except ParseError as e:
            total -= e.args[0] & 3
    return total


class Swallow:
    def __enter__(self):
        return self

    def __exit__(self, typ, val, tb):
        return typ is not None


def with_swallow(n):
    total = 0
    for i in range(n):
        with Swallow():
            total += 1
            if i & 1:
                raise ValueError
    return total


def lookups(n):
    d = {i: i for i in range(0, 64, 2)}
    total = 0
    for i in range(n):
        try:
            total += d[i & 63]
        except KeyError:
            total += 1
        try:
            total += int("x" if i & 1 else "7")
        except ValueError:
            pass
    return total


def main():
    names = sys.argv[2:] or ["same_frame", "across_frames", "with_swallow", "lookups"]
    print(*[globals()[name](N) for name in names])


main()
