"""Micro benchmark: building a string in a local with `s += t` and `s = s + t` (the pattern
CPython 3.11 keeps linear by appending in place when the local holds the only reference; native
code must do the same or the loop turns quadratic). Prints the lengths.
Usage: strings.py [N]  (N appends of each form; 200000 takes ~0.1 s plain)."""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200000


def augmented(n):
    s = ''
    for i in range(n):
        s += 'abcdefgh'
    return len(s)


def rebound(n):
    s = ''
    for i in range(n):
        s = s + 'abcdefgh'
    return len(s)


if __name__ == "__main__":
    print(augmented(N), rebound(N))
