"""greenlet (a C extension that switches between Python stacks on one thread by copying the C
stack) under cpjit: the frames suspended in one greenlet while another runs include cold regions
(csrc/cold_regions.c) and native frames, so regions end in another order than they opened.

Each program runs plainly and under cpjit, and its output must be plain python's. greenlet is a
test dependency (.ci/setup installs it).
"""
import pytest

from programs import run_with_lib as run

LIB = """
    import sys

    def step(i, switch):
        # Loopless and cold: a region, suspended by the switch beneath it.
        v = helper(i)
        w = switch(v)
        return helper(v + w) + caller_line()

    def helper(x):
        return (x * 7 + 3) % 101

    def caller_line():
        return sys._getframe(1).f_lineno

    def outer(i, switch):
        try:
            return step(i, switch) * 2
        except ZeroDivisionError as e:
            return str(e)
"""

MAIN = """
    import traceback, greenlet, lib

    def make(k):
        def run(n):
            total = 0
            for i in range(n):
                r = lib.outer(i + k, lambda v: main_g.switch(v))
                total += r if isinstance(r, int) else len(r)
            return total
        return run

    def failing():
        def boom(v):
            return 1 // 0
        return lib.outer(3, lambda v: (main_g.switch(v), boom(v))[1])

    main_g = greenlet.getcurrent()
    gs = [greenlet.greenlet(make(k)) for k in range(5)] + [greenlet.greenlet(failing)]
    alive = list(gs)
    first = {g: (2000,) for g in gs[:5]}
    first[gs[5]] = ()
    results, acc = [], 0
    while alive:
        for g in list(alive):
            r = g.switch(*first.pop(g)) if g in first else g.switch(acc % 7)
            if g.dead:
                alive.remove(g)
                results.append(r)
            else:
                acc += lib.helper(r)  # the main greenlet's own cold calls between switches
    print(results, acc)

    def thrower(n):
        try:
            lib.outer(n, lambda v: main_g.switch(v))
        except KeyError as e:
            return "caught " + traceback.format_exception_only(type(e), e)[0].strip()
    g = greenlet.greenlet(thrower)
    g.switch(5)  # suspended in lib.step, beneath lib.outer
    print(g.throw(KeyError, "thrown into a suspended region"))
"""


@pytest.mark.parametrize("env", [
    {"CPJIT_THRESHOLD": "2", "CPJIT_SAMPLE_US": "50"},
    {"CPJIT_THRESHOLD": "16", "CPJIT_SAMPLE_US": "100"},
    {"CPJIT_THRESHOLD": "256"},
    {"CPJIT_THRESHOLD": "0"},
], ids=["threshold2-sample50", "threshold16-sample100", "defaults", "threshold0"])
def test_greenlets_switching_inside_regions_match_plain_python(tmp_path, env):
    plain = run(tmp_path, LIB, MAIN, jit=False)
    jit = run(tmp_path, LIB, MAIN, **env)
    assert jit == plain
    assert plain.splitlines()[-1] == "caught KeyError: 'thrown into a suspended region'"


STATS_MAIN = MAIN + """
    import cpjit
    s = cpjit.stats()
    print("REGIONS", s["cold_regions"] > 50)
"""


def test_regions_open_across_greenlets(tmp_path):
    # The differential test above means something only if regions opened while greenlets
    # switched beneath them. (Samples are taken in most runs, 0-6 of them: too few to assert.)
    out = run(tmp_path, LIB, STATS_MAIN, CPJIT_THRESHOLD="16", CPJIT_SAMPLE_US="50")
    assert out.splitlines()[-1] == "REGIONS True"
