"""Code laid aside: blocks that had not run when a tiered code object compiled (src/profile.rs).

A loopless function compiles after the threshold's interpreted calls, by which time the
interpreter has quickened it; the blocks whose specialising instructions never ran go after the
hot code, joined to it by jumps. Each test warms a function up on some paths, lets it compile,
then takes the paths it never took, and compares everything with the interpreter.
"""
import dis

import cpjit

from differential import check, compiled_after_warm_up

THRESHOLD = 20


def aside_units_of(source, name, warm_up):
    """Compile `name` from `source` after `warm_up` (code calling it) and return its aside units
    (which the stats count too)."""
    before = cpjit.stats()["instructions_aside"]
    info = compiled_after_warm_up(source, name, warm_up, THRESHOLD)
    assert cpjit.stats()["instructions_aside"] - before == len(info["aside_units"])
    return info["aside_units"]


BRANCHY = """
def classify(x, log):
    if x is None:
        log.append(len("none"))
        raise ValueError("no value")
    if isinstance(x, str):
        a, b = x.split(":")
        log.append(a.upper())
        return b.lower()
    if x < 0:
        log.append(abs(x))
        return -x
    return x + 1
"""


def test_blocks_not_run_in_the_warm_up_are_laid_aside():
    units = aside_units_of(BRANCHY, "classify", f"for i in range({THRESHOLD + 5}): classify(i, [])")
    ns = {}
    exec(BRANCHY, ns)
    by_unit = {ins.offset // 2: ins for ins in dis.get_instructions(ns["classify"])}
    globals_aside = {by_unit[u].argval for u in units if by_unit[u].opname == "LOAD_GLOBAL"}
    # The None and str branches and the negative one never ran; isinstance ran on every call.
    assert globals_aside == {"len", "ValueError", "abs"}, globals_aside


def test_paths_laid_aside_run_like_the_interpreter():
    check(BRANCHY + f"""
log = []
out = [classify(i, log) for i in range({THRESHOLD + 5})]
for x in ["Key:Value", -3, 7, "a:B"]:
    out.append(classify(x, log))
try:
    classify(None, log)
except ValueError as e:
    out.append(str(e))
try:
    classify("no colon", log)
except ValueError as e:
    out.append(type(e).__name__)
result = (out, log)
""", threshold=THRESHOLD)


def test_an_exception_raised_in_code_laid_aside_has_the_interpreters_traceback():
    check(BRANCHY + f"""
for i in range({THRESHOLD + 5}):
    classify(i, [])
classify(None, [])
""", threshold=THRESHOLD)


def test_handlers_generators_and_unpacking_laid_aside():
    check(f"""
import sys
def parse(s, strict):
    try:
        v = int(s)
    except ValueError:
        if strict:
            raise
        first, *rest = s.split(",")
        return (first, len(rest), sys._getframe().f_lineno)
    if v > 1000:
        a, b, c = divmod(v, 7) + (v,)
        return a + b + c
    return v

def gen(flag):
    yield 1
    if flag:
        x, y = (yield 2), 3
        yield x, y
    yield 4

out = [parse(str(i), False) for i in range({THRESHOLD + 5})]
out += [list(gen(False)) for _ in range({THRESHOLD + 5})]
out.append(parse("a,b,c", False))
out.append(parse("5000", False))
g = gen(True)
out.append(next(g)); out.append(next(g)); out.append(g.send("sent")); out.append(next(g))
try:
    parse("zz", True)
except ValueError as e:
    out.append(str(e))
result = out
""", threshold=THRESHOLD)


def test_code_compiled_before_quickening_lays_nothing_aside():
    ns = {}
    exec(BRANCHY, ns)
    assert cpjit.compile(ns["classify"])
    assert cpjit.code_info(ns["classify"])["aside_units"] == []
