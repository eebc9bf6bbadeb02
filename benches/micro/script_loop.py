"""Micro benchmark: a script's own main() loop, called once, as scripts are written. Prints
`median <ms>` of the call (for benches/ab_script.py); each run is a fresh process, so the call is
its function's first.

    python3 script_loop.py words      # counts[w] = counts.get(w, 0) + len(w): C calls only
    python3 script_loop.py words_call # the same with a Python call each round
    python3 script_loop.py ints       # t += i % 7: arithmetic only
    python3 script_loop.py toplevel   # the word count at the script's top level (module body)

Until session 54 a loop function defined in __main__ compiled at its first call, before the
interpreter had quickened it: with no evidence of the types at its sites the compiler emitted
generic paths, and the word count ran at 0.878x of plain python (`ab_script.py 5 script_loop.py
words -- plain cpjit@DIR`). Now such a call runs interpreted until its loop budget is spent and
goes on natively from there (csrc/osr.c; the sampler's sample checks a loop that makes no
Python call). `ab_script.py 7`, session 54: words 0.891x -> 1.108x, words_call 0.892x -> 1.109x,
ints 1.310x -> 1.310x, toplevel 0.915x -> 1.060x.
"""
import sys
import time

WORDS = "the quick brown fox jumps over the lazy dog".split()


def words(n):
    counts = {}
    for r in range(n):
        for w in WORDS:
            counts[w] = counts.get(w, 0) + len(w)
    return counts


def tick(r):
    return r


def words_call(n):
    counts = {}
    for r in range(n):
        tick(r)
        for w in WORDS:
            counts[w] = counts.get(w, 0) + len(w)
    return counts


def ints(n):
    t = 0
    for i in range(n):
        t += i % 7
    return t


TOPLEVEL = """
counts = {}
for r in range(n):
    for w in WORDS:
        counts[w] = counts.get(w, 0) + len(w)
"""

kind = sys.argv[1] if len(sys.argv) > 1 else "words"
t = time.perf_counter()
if kind == "toplevel":
    # A module body of its own (its namespace named __main__), run as the script's top level is.
    exec(compile(TOPLEVEL, "<toplevel>", "exec"), {"__name__": "__main__", "n": 60_000,
                                                  "WORDS": WORDS})
else:
    {"words": words, "words_call": words_call, "ints": ints}[kind](
        1_000_000 if kind == "ints" else 60_000)
print("median", (time.perf_counter() - t) * 1000)
