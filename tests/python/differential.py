"""Differential testing: the same snippet under the interpreter and under cpjit.

`check(source)` runs `source` twice in fresh namespaces, once with the plain interpreter and once
with cpjit enabled at threshold 0 (every code object compiled at its first call, module body
included), and asserts that both runs agree on:

  * the value the snippet leaves in `result` (compared by repr),
  * everything printed to stdout,
  * the exception that escaped, if any: type, message and the traceback's line numbers.

With `native=True` (the default) it also asserts that the JIT run entered native code and that no
instruction fell back to the interpreter for want of a stencil, so a test cannot pass by quietly
running everything interpreted.
"""
import contextlib
import dataclasses
import io
import textwrap
import traceback

import cpjit

FILENAME = "<snippet>"


@dataclasses.dataclass
class Outcome:
    result: str
    stdout: str
    exception: tuple | None


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, type(code)):
            yield from _code_objects(const)


def _run(source: str, codes: list | None = None) -> Outcome:
    code = compile(source, FILENAME, "exec")
    if codes is not None:
        codes.extend(_code_objects(code))
    namespace = {"__name__": "__snippet__"}
    out = io.StringIO()
    exception = None
    with contextlib.redirect_stdout(out):
        try:
            exec(code, namespace)
        except BaseException as exc:  # noqa: BLE001 - the exception is the observation
            lines = [fs.lineno for fs in traceback.extract_tb(exc.__traceback__) if fs.filename == FILENAME]
            exception = (type(exc).__name__, str(exc), lines)
    return Outcome(repr(namespace.get("result")), out.getvalue(), exception)


def run_jit(source: str, threshold: int = 0, codes: list | None = None) -> tuple[Outcome, dict, dict]:
    """Run under cpjit; return the outcome and the stats before and after."""
    before = cpjit.stats()
    cpjit.enable(threshold, warm_window_ms=0, sample_us=0)  # the count alone decides, whatever the load;
    # no cold regions: the code under test is the native code
    try:
        outcome = _run(source, codes)
    finally:
        cpjit.disable()
    return outcome, before, cpjit.stats()


def check(source: str, native: bool = True, threshold: int = 0) -> Outcome:
    source = textwrap.dedent(source)
    plain = _run(source)
    codes = []
    jit, before, after = run_jit(source, threshold, codes)
    assert jit == plain, f"cpjit differs from the interpreter:\n  plain: {plain}\n  cpjit: {jit}"
    if native:
        assert after["frames_native"] > before["frames_native"], "nothing ran natively"
        missing = {}
        for code in codes:
            info = cpjit.code_info(code)
            if info and info.get("unsupported"):
                missing[code.co_qualname] = info["unsupported"]
        assert not missing, f"instructions without a stencil in the snippet: {missing}"
    return plain


def compiled_after_warm_up(source: str, name: str, warm_up: str, threshold: int) -> dict:
    """Run `source`, then `warm_up` with cpjit at `threshold`, and return the code_info of the
    function `name` (asserted compiled): code compiled after the interpreter quickened it."""
    ns = {}
    exec(compile(source, "<warm-up>", "exec"), ns)
    cpjit.enable(threshold=threshold, warm_window_ms=0, sample_us=0)
    try:
        exec(warm_up, ns)
        info = cpjit.code_info(ns[name])
    finally:
        cpjit.disable()
    assert info and info["state"] == "compiled", info
    info["function"] = ns[name]
    return info


class Native:
    """Calls made inside run natively: cpjit's hook is on (with a threshold nothing else here
    reaches), so a function compiled beforehand (`cpjit.compile`, which only compiles) is
    entered in its native code. Counts the native frames entered and the runs' failed checks
    (stats()["run_fallbacks"]) meanwhile."""

    def __enter__(self):
        self.before = cpjit.stats()
        cpjit.enable(threshold=10**6, loop_budget_ns=10**9, warm_window_ms=0, sample_us=0)
        return self

    def __exit__(self, *exc):
        cpjit.disable()
        after = cpjit.stats()
        self.frames = after["frames_native"] - self.before["frames_native"]
        self.fallbacks = after["run_fallbacks"] - self.before["run_fallbacks"]
        return False
