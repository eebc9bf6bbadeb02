"""The value-stack depth at each CALL of a code object (csrc/callsite.c), which the frame-eval
hook uses to make calls from interpreted frames look as plain CPython's inlined calls leave them
(the caller's f_lasti, the order arguments are released: test_frame_compat.py checks those).

The runtime takes one linear pass in code order and falls back to a worklist walk when a block
is reached only by a backward jump; both must give the same table."""
import glob
import opcode
import os
import types

import pytest

from cpjit import _cpjit

STDLIB = os.path.dirname(os.__file__)


def code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from code_objects(const)


def stdlib_code(limit):
    files = sorted(glob.glob(STDLIB + "/*.py") + glob.glob(STDLIB + "/*/*.py"))
    for path in files[:limit]:
        try:
            with open(path, "rb") as f:
                top = compile(f.read(), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        yield from code_objects(top)


def test_linear_pass_matches_the_worklist_walk_on_the_standard_library():
    n = calls = 0
    for code in stdlib_code(400):
        worklist = _cpjit._call_sites(code, 2)
        linear = _cpjit._call_sites(code, 1)
        assert worklist is not None, code  # the compiler's code is always consistent
        assert linear == worklist, code
        assert _cpjit._call_sites(code, 0) == worklist, code
        n += 1
        calls += len(worklist)
    assert n > 5000 and calls > 20000


SHAPES = '''
def f(a, *args, **kw):
    for x in g(a):
        while h(x, *args, **kw):
            try:
                with m() as y:
                    k(y, key=lambda z: z(1))
            except (E, F) as e:
                n(e)
            finally:
                o()
    return [p(i) for i in q()] + {r(i): s(i) for i in t()}
async def c():
    async with u() as v:
        async for w in v(await x()):
            match w:
                case [a, *b] if y(a): z(b)
                case {"k": k}: z(k)
def g():
    yield from (yield h())
'''


def test_shapes():
    for code in code_objects(compile(SHAPES, "<shapes>", "exec")):
        table = _cpjit._call_sites(code, 0)
        assert table == _cpjit._call_sites(code, 1) == _cpjit._call_sites(code, 2)
        calls = [i for i in range(0, len(code.co_code), 2)
                 if opcode.opname[code.co_code[i]] == "CALL"]
        assert [unit for unit, _, _ in table] == [i // 2 for i in calls]


def crafted(units, consts=(None,), stacksize=2):
    """A code object with the given (opname, oparg) units, inline cache entries added."""
    raw = bytearray()
    for name, arg in units:
        raw += bytes([opcode.opmap[name], arg])
        raw += bytes(2 * opcode._inline_cache_entries[opcode.opmap[name]])
    base = compile("def f(): pass", "<crafted>", "exec").co_consts[0]
    return base.replace(co_code=bytes(raw), co_consts=consts, co_stacksize=stacksize,
                        co_exceptiontable=b"", co_names=())


def test_a_block_reached_only_by_a_backward_jump_goes_to_the_worklist():
    # 0 RESUME; 1 JUMP_FORWARD -> 12; 2 PUSH_NULL; 3 LOAD_CONST; 4 PRECALL (+1 cache);
    # 6 CALL (+4 caches); 11 RETURN_VALUE; 12 JUMP_BACKWARD -> 2. The block at 2 is reached only
    # from 12, after the linear pass has passed it.
    code = crafted([("RESUME", 0), ("JUMP_FORWARD", 10), ("PUSH_NULL", 0), ("LOAD_CONST", 0),
                    ("PRECALL", 0), ("CALL", 0), ("RETURN_VALUE", 0), ("JUMP_BACKWARD", 11)])
    assert _cpjit._call_sites(code, 1) == "needs_worklist"
    assert _cpjit._call_sites(code, 2) == [(6, 2, 0)]
    assert _cpjit._call_sites(code, 0) == [(6, 2, 0)]


@pytest.mark.parametrize("units", [
    # Two paths disagree on the depth at 6 (a conditional jump over a push).
    [("RESUME", 0), ("LOAD_CONST", 0), ("POP_JUMP_FORWARD_IF_NONE", 1), ("LOAD_CONST", 0),
     ("LOAD_CONST", 0), ("RETURN_VALUE", 0)],
    # Deeper than co_stacksize.
    [("RESUME", 0), ("LOAD_CONST", 0), ("LOAD_CONST", 0), ("LOAD_CONST", 0), ("RETURN_VALUE", 0)],
])
def test_inconsistent_code_has_no_table(units):
    code = crafted(units)
    assert _cpjit._call_sites(code, 1) is None
    assert _cpjit._call_sites(code, 2) is None
    assert _cpjit._call_sites(code, 0) is None


def test_a_jump_past_an_extended_arg_prefix_goes_to_the_worklist():
    # 3 EXTENDED_ARG is reached by falling through, 4 NOP (its instruction) also by the jump at 2.
    code = crafted([("RESUME", 0), ("LOAD_CONST", 0), ("POP_JUMP_FORWARD_IF_NONE", 1),
                    ("EXTENDED_ARG", 0), ("NOP", 0), ("LOAD_CONST", 0), ("RETURN_VALUE", 0)])
    assert _cpjit._call_sites(code, 1) == "needs_worklist"
    assert _cpjit._call_sites(code, 2) == []
    assert _cpjit._call_sites(code, 0) == []
