"""Regression tests for differences the differential fuzzer (tests/fuzz) found, minimised.

Each test names the fuzz run that found it. Programs whose outcome depends on the recursion
budget run as whole processes, plainly and with cpjit (test_frame_compat.differential): the
in-process harness (differential.check) calls the snippet one Python frame deeper in its JIT
run than in its plain run, which moves every recursion limit by one.
"""
import pytest

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
