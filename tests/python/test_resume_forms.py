"""RESUME's two forms (stencils/frame.c). Code compiled before the interpreter quickened it keeps
counting the warm-up down at every native RESUME, and the call that ends the count runs in the
interpreter, which quickens the code (hand-over reason `quickening`). Code the interpreter had
quickened (its RESUMEs are RESUME_QUICK) gets RESUME_QUICK stencils, which test only the eval
breaker; the compile then sets cpjit's copy of the count to done, whichever way it was asked for
(the hook, or cpjit.compile)."""
import dis

import cpjit
from differential import compiled_after_warm_up

RESUME = dis.opmap["RESUME"]
RESUME_QUICK = dis._all_opmap["RESUME_QUICK"]


def stencil_at(info, unit):
    return {u: name for u, name, _ in info["layout"]}[unit]


def test_code_quickened_before_the_compile_gets_resume_quick():
    info = compiled_after_warm_up("""
def add(x, y):
    return x + y
""", "add", "for i in range(40):\n    add(i, 1)\n", threshold=16)
    assert stencil_at(info, 0) == "RESUME_QUICK__0"
    assert info["function"](2, 3) == 5


def test_code_compiled_at_first_call_keeps_counting_and_is_quickened_by_the_interpreter():
    ns = {}
    exec("def add(x, y):\n    return x + y\n", ns)
    add = ns["add"]
    assert cpjit.compile(add)
    assert stencil_at(cpjit.code_info(add), 0) == "RESUME__0"
    assert add.__code__._co_code_adaptive[0] == RESUME
    before = cpjit.stats()["frames_interpreted"].get("quickening", 0)
    cpjit.enable(0)
    try:
        results = [add(i, 1) for i in range(40)]
    finally:
        cpjit.disable()
    assert results == [i + 1 for i in range(40)]
    # The call whose RESUME ended the count ran in the interpreter, which quickened the code.
    assert add.__code__._co_code_adaptive[0] == RESUME_QUICK
    assert cpjit.stats()["frames_interpreted"].get("quickening", 0) > before


def test_generator_resume_points_of_quickened_code():
    info = compiled_after_warm_up("""
def gen(n):
    for i in range(n):
        got = yield i
        if got:
            yield got
    yield from range(2)
""", "gen", "for k in range(40):\n    list(gen(3))\n", threshold=16)
    names = [name for _, name, _ in info["layout"]]
    assert [n for n in names if n.startswith("RESUME")][0] == "RESUME_QUICK__0"
    assert "RESUME_QUICK__1" in names        # after `yield`: serves the eval breaker
    assert "RESUME_QUICK" in names           # after `yield from`'s SEND: nothing to do
    assert not [n for n in names if n.startswith("RESUME__") or n == "RESUME"]
    gen = info["function"]
    cpjit.enable(0)
    try:
        g = gen(3)
        out = [next(g), next(g), g.send("x"), next(g), *g]
    finally:
        cpjit.disable()
    assert out == [0, 1, "x", 2, 0, 1]


def test_compile_of_quickened_code_through_the_api_marks_the_count_done():
    # Superinstruction semantics of native code follow the count (IS_WARM): after a compile of
    # quickened code through cpjit.compile, with no native RESUME left to count, the code must
    # be warm at once. A finalizer run by the second store of a STORE_FAST pair (here on the
    # next line) sees the first store's line, as in the quickened interpreter.
    src = """
import sys
class Noisy:
    def __del__(self):
        seen.append(sys._getframe(1).f_lineno)
def pair():
    x = Noisy()
    y = Noisy()
    (x,
     y) = 0, 0
    return 1
seen = []
for i in range(40):
    pair()
"""
    plain_ns, ns = {}, {}
    exec(src, plain_ns)
    plain_ns["seen"].clear()
    plain_ns["pair"]()
    # Cold under cpjit (its state made at the first call, count not done), quickened by the
    # interpreter, then compiled through the API: nothing on the hook's path syncs the count.
    cpjit.enable(10**6)
    try:
        exec(src, ns)
    finally:
        cpjit.disable()
    pair = ns["pair"]
    assert cpjit.compile(pair)
    assert stencil_at(cpjit.code_info(pair), 0) == "RESUME_QUICK__0"
    ns["seen"].clear()
    cpjit.enable(0)
    try:
        pair()
    finally:
        cpjit.disable()
    assert plain_ns["seen"] == [9, 9]  # both at the first store's line (`(x,`)
    assert ns["seen"] == plain_ns["seen"]
