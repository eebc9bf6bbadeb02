"""cpjit: a copy-and-patch JIT compiler for stock CPython 3.11.

    import cpjit
    cpjit.enable()          # tiered: warm code compiles (see enable())
    ...
    cpjit.disable()         # restore the previous frame evaluator
    cpjit.stats()           # what was compiled and where frames ran

Anything native code cannot do, the interpreter does: results, output, exceptions, tracebacks,
tracing and debuggers behave as without cpjit.
"""
import os as _os
import sys as _sys

if _sys.implementation.name != "cpython" or _sys.version_info[:2] != (3, 11):
    raise ImportError(
        f"cpjit supports CPython 3.11 only; this is {_sys.implementation.name} "
        f"{_sys.version_info[0]}.{_sys.version_info[1]}"
    )

from . import _cpjit
from ._cpjit import code_info, compile, disable, is_enabled, stats  # noqa: F401

__all__ = ["enable", "disable", "is_enabled", "compile", "stats", "code_info", "dis", "threshold_from_env"]

DEFAULT_THRESHOLD = 256


def threshold_from_env(default=DEFAULT_THRESHOLD):
    """The threshold named by CPJIT_THRESHOLD, or `default`."""
    raw = _os.environ.get("CPJIT_THRESHOLD")
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"CPJIT_THRESHOLD must be a non-negative integer, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"CPJIT_THRESHOLD must be a non-negative integer, not {raw!r}")
    return value


def enable(threshold=None):
    """Run Python frames natively from now on.

    `threshold` is how many calls a code object runs in the interpreter before it is compiled;
    a function containing a loop compiles at its first call (unless it is called while a module
    other than __main__ initialises); 0 compiles everything at its first call. By default it
    comes from CPJIT_THRESHOLD, else DEFAULT_THRESHOLD (256, chosen by measuring start-up-heavy
    programs: see csrc/runtime.c).
    """
    if threshold is None:
        threshold = threshold_from_env()
    _cpjit.enable(threshold)


def dis(obj, file=None):
    """Print how cpjit compiled a function or code object: for each bytecode instruction, the
    stencil copied for it, and where its machine code starts and how long it is."""
    import dis as _dis

    if file is None:
        file = _sys.stdout
    code = getattr(obj, "__code__", obj)
    info = code_info(code)
    if not info or info.get("state") != "compiled":
        state = info["state"] if info else "never called"
        print(f"{code.co_qualname}: not compiled ({state})", file=file)
        return
    layout = info["layout"]
    print(f"{code.co_qualname}: {info['instructions']} instructions, {info['code_bytes']} bytes of "
          f"code ({info['native_bytes']} with data) at {info['address']:#x}", file=file)
    by_offset = {ins.offset // 2: ins for ins in _dis.get_instructions(code)}
    for i, (unit, stencil, native) in enumerate(layout):
        size = (layout[i + 1][2] if i + 1 < len(layout) else info["code_bytes"]) - native
        ins = by_offset.get(unit)
        text = f"{ins.opname} {ins.argrepr or ''}".rstrip() if ins else ""
        print(f"  {unit * 2:6d}  {text:40.40s} {stencil:28s} +{native:#07x} {size:5d}", file=file)
