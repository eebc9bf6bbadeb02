"""Reading cpjit's environment variables: CPJIT, CPJIT_THRESHOLD, CPJIT_LOOP_BUDGET_NS,
CPJIT_WARM_WINDOW_MS, CPJIT_MAX_CODE_MB, CPJIT_HUGE_PAGES, CPJIT_OPT.

A value cpjit does not understand never stops the program: it gets a one-line warning on stderr
(as `python` does for a bad -W option) and the default is used; for CPJIT the JIT stays off.
Each warning is printed once per process.
"""
import os
import sys

ON = ("1", "true", "on", "yes", "y", "enable", "enabled")
OFF = ("", "0", "false", "off", "no", "n", "disable", "disabled")

_warned = set()


def warn(name, raw, expected, outcome):
    key = (name, raw)
    if key in _warned:
        return
    _warned.add(key)
    try:
        print(f"cpjit: invalid {name}={raw!r} ignored (expected {expected}); {outcome}",
              file=sys.stderr, flush=True)
    except Exception:  # a closed or missing stderr must not stop the program
        pass


def flag(name="CPJIT"):
    """True when the variable switches cpjit on, False when unset, off, or not understood."""
    return switch(name, False, "the JIT stays off")


def switch(name, default, outcome=None):
    """An on/off variable: `default` when unset, empty or not understood (then with a warning
    that ends with `outcome`, by default "using 0/1")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ON:
        return True
    if value in OFF:
        return False
    warn(name, raw, "1/true/on/yes or 0/false/off/no", outcome or f"using {int(default)}")
    return default


def integer(name, default, minimum=0, maximum=2**32 - 1):
    """A non-negative integer variable; the default when unset, empty or not understood."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        warn(name, raw, f"an integer from {minimum} to {maximum}", f"using {default}")
        return default
    return value
