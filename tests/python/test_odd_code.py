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


# Hand-made bytecode that enters an instruction after its first EXTENDED_ARG prefix: the
# interpreter folds only the prefixes it executes, so it reads a shorter oparg than native code
# compiled from the instruction's start would. cpjit must give the interpreter's answer.

def _op(name, arg=0):
    import dis
    return bytes([dis.opmap[name], arg])


def _varint(value, first):
    chunks = []
    while True:
        chunks.append(value & 63)
        value >>= 6
        if not value:
            break
    out = bytearray(c | 0x40 for c in reversed(chunks))
    out[-1] &= ~0x40
    if first:
        out[0] |= 0x80
    return bytes(out)


def _exception_entry(start, end, target, depth, lasti=False):
    return (_varint(start, True) + _varint(end - start, False) + _varint(target, False)
            + _varint(depth << 1 | lasti, False))


def _handmade(code, exceptiontable=b"", nargs=1, stacksize=4):
    def template(a):
        return a

    consts = tuple(f"const{i}" for i in range(300))
    co = template.__code__.replace(co_code=b"".join(code), co_consts=consts, co_stacksize=stacksize,
                                   co_exceptiontable=exceptiontable, co_linetable=b"")
    return types.FunctionType(co, {})


def _interpreted_and_jit(f, args):
    plain = [f(a) for a in args]
    before = cpjit.stats()
    cpjit.enable(0)
    try:
        jit = [f(a) for a in args * 3]
    finally:
        cpjit.disable()
    return plain * 3, jit, before, cpjit.stats()


def test_exception_table_encoding_matches_cpython():
    import dis

    def g():
        try:
            return 1
        except ValueError:
            return 2

    entries = dis._parse_exception_table(g.__code__)
    table = b"".join(_exception_entry(e.start // 2, e.end // 2, e.target // 2, e.depth, e.lasti)
                     for e in entries)
    assert table == g.__code__.co_exceptiontable


def test_forward_jump_past_an_extended_arg_prefix_runs_as_the_interpreter_does():
    import pytest

    f = _handmade([
        _op("RESUME"),
        _op("LOAD_FAST", 0),
        _op("POP_JUMP_FORWARD_IF_TRUE", 1),  # -> the LOAD_CONST opcode, skipping EXTENDED_ARG
        _op("EXTENDED_ARG", 1),
        _op("LOAD_CONST", 2),                # const258 from the start, const2 after the jump
        _op("RETURN_VALUE"),
    ])
    plain, jit, before, after = _interpreted_and_jit(f, [False, True])
    assert plain[:2] == ["const258", "const2"]
    assert jit == plain
    with pytest.raises(RuntimeError, match="skips EXTENDED_ARG"):
        cpjit.compile(_handmade([_op("RESUME"), _op("JUMP_FORWARD", 1), _op("EXTENDED_ARG", 1),
                                 _op("LOAD_CONST", 2), _op("RETURN_VALUE")]))
    assert after["compile_failed"] > before["compile_failed"]
    assert any("skips EXTENDED_ARG" in e for e in after["recent_compile_errors"])
    reasons = cpjit.stats()["compile_failed_reasons"]
    assert reasons["jump_into_extended_arg"] > before["compile_failed_reasons"].get(
        "jump_into_extended_arg", 0)


def test_backward_jump_past_an_extended_arg_prefix_runs_as_the_interpreter_does():
    # results = []; loop: results.append(const); a = not a; while a (the first pass loads
    # const258, the jump back lands on the LOAD_CONST opcode: const2)
    f = _handmade([
        _op("RESUME"),                       # 0
        _op("BUILD_LIST", 0),                # 1
        _op("EXTENDED_ARG", 1),              # 2
        _op("LOAD_CONST", 2),                # 3
        _op("LIST_APPEND", 1),               # 4
        _op("LOAD_FAST", 0),                 # 5
        _op("POP_JUMP_FORWARD_IF_FALSE", 6), # 6 -> 13
        _op("LOAD_FAST", 0),                 # 7
        _op("UNARY_NOT"),                    # 8
        _op("STORE_FAST", 0),                # 9
        _op("NOP"),                          # 10
        _op("NOP"),                          # 11
        _op("JUMP_BACKWARD", 10),            # 12 -> 3
        _op("RETURN_VALUE"),                 # 13
    ])
    plain, jit, _, _ = _interpreted_and_jit(f, [True, False])
    assert plain[:2] == [["const258", "const2"], ["const258"]]
    assert jit == plain


def test_exception_handler_inside_a_run_of_prefixes_runs_as_the_interpreter_does():
    # try: raise a  except: return const2 (handler enters at the LOAD_CONST opcode, after the
    # EXTENDED_ARG that would make it const258)
    f = _handmade([
        _op("RESUME"),                       # 0
        _op("NOP"),                          # 1 try:
        _op("LOAD_FAST", 0),                 # 2
        _op("RAISE_VARARGS", 1),             # 3
        _op("EXTENDED_ARG", 1),              # 4
        _op("LOAD_CONST", 2),                # 5 <- handler (depth 0: the exception is pushed)
        _op("SWAP", 2),                      # 6
        _op("POP_TOP"),                      # 7
        _op("RETURN_VALUE"),                 # 8
    ], exceptiontable=_exception_entry(1, 4, 5, 0))
    plain, jit, _, _ = _interpreted_and_jit(f, [ValueError("x"), KeyError("y")])
    assert plain[:2] == ["const2", "const2"]
    assert jit == plain
