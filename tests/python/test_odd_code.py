"""Code objects at the edges: enormous functions, EXTENDED_ARG everywhere, hand-made bytecode."""
import types

import cpjit
from differential import check


def test_extended_arg_jumps_and_many_constants():
    body = "\n".join(f"        x = x + {i} if x % 3 else x - {i}" for i in range(400))
    src = f"""
def f(n):
    x = 1
    for i in range(n):
{body}
    return x
result = f(3)
"""
    check(src)


def test_enormous_function_compiles_or_falls_back_cleanly():
    body = "\n".join(f"    v{i} = {i} * a" for i in range(20000))
    src = f"def big(a):\n{body}\n    return v19999 + v0\nresult = big(2)\n"
    check(src)


def test_many_locals_beyond_256():
    names = [f"l{i}" for i in range(300)]
    body = "\n".join(f"    {n} = {i}" for i, n in enumerate(names))
    src = f"def f():\n{body}\n    return {' + '.join(names[-5:])}\nresult = f()\n"
    check(src)


def test_code_object_built_by_hand_runs_or_is_refused_not_crashed():
    def template(a, b):
        return a + b

    code = template.__code__.replace(co_name="handmade")
    f = types.FunctionType(code, {})
    assert cpjit.compile(f) is True
    cpjit.enable(0)
    try:
        assert f(2, 3) == 5
    finally:
        cpjit.disable()


def test_malformed_bytecode_is_refused_with_a_clear_error():
    import dis
    import pytest

    def g():
        return 1

    op = dis.opmap["JUMP_FORWARD"]
    bad = g.__code__.replace(co_code=bytes([dis.opmap["RESUME"], 0, op, 200]))
    with pytest.raises(RuntimeError, match="does not land on an instruction"):
        cpjit.compile(bad)
    assert cpjit.code_info(bad)["state"] == "failed"
