"""An exception raised while a taken backward jump serves the eval breaker (a signal handler that
raises, here) is caught, or not, by the handlers the interpreter picks.

3.11's interpreter serves the breaker after the jump: it looks the handler up at the unit before
the jump target while the traceback (and a cleanup handler's lasti) names the jump. So
`try: while True: ...` does not catch it (the target is the first unit the handler covers) and an
enclosing handler does. Each program runs in fresh processes under the interpreter and under
cpjit at threshold 0 (the loop native from its first call); their outputs, tracebacks included,
must be the same, and cpjit's must show the exception unwound in native code.
"""
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import signal, sys, traceback
def on_alarm(signum, frame):
    raise KeyboardInterrupt("alarm")
signal.signal(signal.SIGALRM, on_alarm)
def alarm():
    signal.setitimer(signal.ITIMER_REAL, 0.02)
if JIT:
    import cpjit
    cpjit.enable(0, warm_window_ms=0, sample_us=0)
    before = cpjit.stats()["exceptions_native"]
def report(fn):
    alarm()
    try:
        print(fn.__name__, "returned", fn())
    except KeyboardInterrupt as e:
        print(fn.__name__, "raised", repr(e), [f.lineno for f in traceback.extract_tb(e.__traceback__)])
"""

PROGRAMS = {
    # JUMP_BACKWARD to the first unit of the try: the interpreter's handler lookup misses it.
    "while_true_at_try_start": """
        def spin():
            i = 0
            try:
                while True: i += 1
            except KeyboardInterrupt:
                return "caught"
        report(spin)
    """,
    # The same loop one statement into the try: caught.
    "while_true_inside_try": """
        def spin():
            i = 0
            try:
                i = 1
                while True: i += 1
            except KeyboardInterrupt:
                return "caught"
        report(spin)
    """,
    # Two tries starting with the loop: neither catches it.
    "nested_try": """
        def spin():
            i = 0
            try:
                try:
                    while True: i += 1
                except KeyboardInterrupt:
                    return "inner"
            except KeyboardInterrupt:
                return "outer"
        report(spin)
    """,
    # A `finally` starting with the loop: the interpreter does not run it.
    "finally_at_start": """
        def spin():
            i = 0
            try:
                while True: i += 1
            finally:
                print("finally ran")
        report(spin)
    """,
    # POP_JUMP_BACKWARD_IF_TRUE at the bottom of a `while x:` loop whose body starts the try.
    "pop_jump_backward": """
        def spin():
            go = [1]
            try:
                while go:
                    pass
            except KeyboardInterrupt:
                return "caught"
        report(spin)
    """,
    # An int comparison paired with the backward jump (the fused compare-and-jump form).
    "compare_jump_backward": """
        def spin():
            i = 0
            try:
                while i < 10**12:
                    i += 1
            except KeyboardInterrupt:
                return "caught"
        report(spin)
    """,
    # A `for` loop's JUMP_BACKWARD: the target (FOR_ITER) is inside the range: caught.
    "for_loop": """
        import itertools
        def spin():
            try:
                for i in itertools.count():
                    pass
            except KeyboardInterrupt:
                return "caught"
        report(spin)
    """,
}


def run(program: str, jit: bool) -> subprocess.CompletedProcess:
    source = f"JIT = {jit}\n" + PRELUDE + textwrap.dedent(program)
    if jit:
        source += "\nprint('native unwinds', cpjit.stats()['exceptions_native'] > before, file=sys.stderr)\n"
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_handler_chosen_as_the_interpreter_chooses(name):
    plain = run(PROGRAMS[name], jit=False)
    jit = run(PROGRAMS[name], jit=True)
    assert plain.returncode == 0, plain.stderr
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout
    assert "native unwinds True" in jit.stderr, jit.stderr


def test_the_interpreter_misses_a_loop_at_the_start_of_a_try():
    """What the programs above rely on: the interpreter's own choices, pinned."""
    outs = {name: run(PROGRAMS[name], jit=False).stdout for name in PROGRAMS}
    for missed in ("while_true_at_try_start", "nested_try", "finally_at_start"):
        assert outs[missed].startswith("spin raised KeyboardInterrupt('alarm')"), outs[missed]
    for caught in ("while_true_inside_try", "pop_jump_backward", "compare_jump_backward", "for_loop"):
        assert outs[caught] == "spin returned caught\n", outs[caught]
