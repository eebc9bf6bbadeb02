"""Regression tests for differences the differential fuzzer (tests/fuzz) found, minimised.

Each test names the fuzz run that found it. Programs whose outcome depends on the recursion
budget run as whole processes, plainly and with cpjit (test_frame_compat.differential): the
in-process harness (differential.check) calls the snippet one Python frame deeper in its JIT
run than in its plain run, which moves every recursion limit by one.
"""
import pytest

from differential import check
from test_frame_compat import differential


# Seed 400 (about program 3,900): at the recursion limit, a built-in call the warm interpreter
# makes without a recursion level of its own (its PRECALL_NO_KW_LEN / PRECALL_NO_KW_LIST_APPEND
# specialisations) raised RecursionError under cpjit, where plain CPython ran it and hit the
# limit one Python call deeper ('c call' instead of 'py call').
@pytest.mark.parametrize("op", ["len('a')", "L.append(1)", "str(1)"])
@pytest.mark.parametrize("threshold", [0, 2])
def test_c_call_at_recursion_limit(op, threshold):
    differential(f"""
L = []
def g(n):
    try:
        {op}
    except RecursionError:
        return ('c call', n)
    try:
        return g(n + 1)
    except RecursionError:
        return ('py call', n)
for _ in range(3):      # warm: the interpreter's specialised calls take over
    print(g(0))
""", threshold=threshold)


# Seed 20261202, program 80,012: once warm, 3.11 runs some adjacent pairs as one superinstruction
# (STORE_FAST__LOAD_FAST, LOAD_FAST__LOAD_FAST, LOAD_CONST__LOAD_FAST, STORE_FAST__STORE_FAST)
# and reports what the second half raises or frees at the first half: its line and tb_lasti,
# while the handler is looked up at the second. Falling through fuses; jumping to the second
# half does not; in longer chains fused and lone instructions alternate from the entry point.
SUPERINSTRUCTION_TAILS = r'''
import sys

def where(e):
    tb = e.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    return (type(e).__name__, tb.tb_lineno, tb.tb_lasti)

def store_then_load(k):
    v41 = 0
    v28 |= k

def load_const_then_load(k):
    v = (1,
         w)
    w = 0

def jump_or_fall(c):
    if c:
        v = 1
    w |= 0

def chain(c):
    a = 1
    if c:
        b = 2
    return (a,
            b,
            a)

def chain_jump_in(c):
    a = b = 1
    if c:
        del b
    x = a
    return (x,
            a,
            b)

def handler_on_second_half():
    x = 1
    try: y
    except UnboundLocalError as e: return ('caught', where(e)[1:])
    y = 2

seen = []
class Tell:
    def __del__(self):
        f = sys._getframe(1)
        seen.append((f.f_code.co_name, f.f_lineno, f.f_lasti))

def store_store():
    a = Tell()
    b = Tell()
    (a,
     b) = (1, 2)
    return a + b

def unpack_store():
    a = Tell(); b = Tell(); c = Tell(); d = Tell()
    (a, b,
     c, d) = (1, 2, 3, 4)
    return a + d

def range_store_then_load():
    for i in range(3):
        total += i

for round in range(12):
    out = []
    for f, args in [(store_then_load, (1,)), (load_const_then_load, (1,)),
                    (jump_or_fall, (True,)), (jump_or_fall, (False,)),
                    (chain, (True,)), (chain, (False,)),
                    (chain_jump_in, (True,)), (chain_jump_in, (False,)),
                    (handler_on_second_half, ()), (store_store, ()),
                    (unpack_store, ()), (range_store_then_load, ())]:
        try:
            out.append(f(*args))
        except Exception as e:
            out.append(where(e))
    print(round, out, seen)
    seen.clear()
'''


@pytest.mark.parametrize("threshold", [0, 3, 256])
def test_superinstruction_second_halves(threshold):
    differential(SUPERINSTRUCTION_TAILS, threshold=threshold)


# CI's seeded batch (2026-12-02, a build of this session): f(**{w: 0 for w in 'tab'}) where `w`
# is a str equal to a parameter's name but not that interned object. Keyword names were matched
# to parameters by identity only, so 'b' went into **kw instead of raising "got multiple values
# for argument 'b'". Also a keyword-only parameter reached through such a key, and the same
# through a plain call with a keyword dict.
def test_keyword_names_built_at_run_time_bind_by_equality():
    check("""
        def f0(a, b, *rest, c=1, **kw):
            return a, b, rest, c, sorted(kw)
        def g(a, *, key=0):
            return a, key
        out = []
        for _ in range(3):
            for call in (lambda: f0(0, 0, 0, c=0, **{w: 0 for w in ('tab\\t')}),
                         lambda: f0(1, 2, **{''.join(['c']): 5, 'z': 1}),
                         lambda: g(1, **{''.join(['k', 'e', 'y']): 7}),
                         lambda: f0(**{''.join(['a']): 1, ''.join(['b']): 2})):
                try:
                    out.append(call())
                except TypeError as e:
                    out.append(str(e))
        result = out
    """)


# Seed 28802, program 42463 (session 54, the first fuzz run with a script's loop functions
# watched; kept whole in fuzz_programs/, the shrinker could not reduce it): f2, a loop function
# of __main__ reached inside a cold region, was moved to native code mid-call by the region's
# sampler (osr.c run_rest_here); the rest, run natively, ended in an except* clause re-raising
# the group's unhandled rest, which carries no traceback entry for f2, and the interpreter, to
# which run_rest_here hands the exception, added one (an extra frame at the RERAISE, no line).
# Now code that can re-raise does not move from a region. With a 50 us sampler this failed on
# the build before the fix in each of four runs.
def test_an_except_star_rest_reraised_after_a_move_from_a_region(tmp_path):
    import os, subprocess, sys
    prog = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_programs",
                        "s28802_p42463.py")
    import cpjit
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(cpjit.__file__))))
    for k in [k for k in env if k.startswith("CPJIT")]:
        del env[k]
    plain = subprocess.run([sys.executable, prog], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    jit = subprocess.run([sys.executable, "-m", "cpjit", prog], capture_output=True, text=True,
                         env=dict(env, CPJIT_THRESHOLD="12", CPJIT_SAMPLE_US="50"),
                         cwd=tmp_path, timeout=120)
    assert jit.returncode == plain.returncode == 0, (plain.stderr, jit.stderr)
    assert jit.stdout == plain.stdout
