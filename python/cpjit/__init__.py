"""cpjit: a copy-and-patch JIT compiler for stock CPython 3.11.

    import cpjit
    cpjit.enable()          # tiered: warm code compiles (see enable())
    ...
    cpjit.disable()         # restore the previous frame evaluator
    cpjit.stats()           # what was compiled and where frames ran

Anything native code cannot do, the interpreter does: results, output, exceptions, tracebacks,
tracing and debuggers behave as without cpjit.

Environment (a value cpjit does not understand gets a one-line warning and the default):
    CPJIT=1|true|on|yes          enable at start-up (0/false/off/no/empty: off)
    CPJIT_THRESHOLD=N            calls before a code object is compiled (default 256)
    CPJIT_LOOP_BUDGET_NS=N       interpreted ns per bytecode unit before a function with a loop,
                                 defined outside __main__, is compiled (default 1000; 0: at its
                                 first call, as functions with loops in __main__ are)
    CPJIT_WARM_WINDOW_MS=N       a function without loops compiles once THRESHOLD of its calls
                                 come within N ms (default 20; 0: no window, the count alone)
    CPJIT_SAMPLE_US=N            microseconds between samples of cold regions and of a script's
                                 loop running toward its budget (default 1000; 0: no cold
                                 regions, a script's loops compile at their first call)
    CPJIT_TOP_LEVEL_MS=N         a script's top level runs as plain python (a cold region) until
                                 hot code is found beneath it or for N ms at most (default 100;
                                 0: it runs under the hook from its start)
    CPJIT_TIER_DOWN_US=N         compiled functions called from C whose calls take N us or more
                                 are measured native and interpreted, and run the faster way
                                 (default 20; 0: no such trials)
    CPJIT_MAX_CODE_MB=N          executable memory cap in MiB (default 256, 0: none)
    CPJIT_HUGE_PAGES=0|1         code on 2 MiB transparent huge pages once a process has 512 KiB
                                 of it (default 1; 0: always 4 KiB pages)
    CPJIT_OPT=0|1                type-specialised code where the interpreter's evidence allows:
                                 float expressions computed unboxed (default 1; 0: off)
    CPJIT_STATS_FILE=PATH        write stats() as JSON to PATH.<pid> at exit
"""
import os as _os
import sys as _sys

if _sys.implementation.name != "cpython" or _sys.version_info[:2] != (3, 11):
    raise ImportError(
        f"cpjit supports CPython 3.11 only; this is {_sys.implementation.name} "
        f"{_sys.version_info[0]}.{_sys.version_info[1]}"
    )

from . import _cpjit
from ._cpjit import code_info, compile, disable, is_enabled, set_calls_from_c, stats  # noqa: F401

# Reading cpjit's environment variables (CPJIT, CPJIT_THRESHOLD, ...). A value cpjit does not
# understand never stops the program: it gets a one-line warning on stderr (as `python` does for
# a bad -W option) and the default is used; for CPJIT the JIT stays off. Each warning is printed
# once per process. (Here rather than in a module of its own: each module imported at start-up
# costs a short program about 0.1 ms.)
_ON = ("1", "true", "on", "yes", "y", "enable", "enabled")
_OFF = ("", "0", "false", "off", "no", "n", "disable", "disabled")

_warned = set()


def _warn(name, raw, expected, outcome):
    key = (name, raw)
    if key in _warned:
        return
    _warned.add(key)
    try:
        print(f"cpjit: invalid {name}={raw!r} ignored (expected {expected}); {outcome}",
              file=_sys.stderr, flush=True)
    except Exception:  # a closed or missing stderr must not stop the program
        pass


def _flag(name="CPJIT"):
    """True when the variable switches cpjit on, False when unset, off, or not understood."""
    return _switch(name, False, "the JIT stays off")


def _switch(name, default, outcome=None):
    """An on/off variable: `default` when unset, empty or not understood (then with a warning
    that ends with `outcome`, by default "using 0/1")."""
    raw = _os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    _warn(name, raw, "1/true/on/yes or 0/false/off/no", outcome or f"using {int(default)}")
    return default


def _integer(name, default, minimum=0, maximum=2**32 - 1):
    """A non-negative integer variable; the default when unset, empty or not understood."""
    raw = _os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        _warn(name, raw, f"an integer from {minimum} to {maximum}", f"using {default}")
        return default
    return value


__all__ = ["enable", "disable", "is_enabled", "compile", "stats", "code_info", "dis", "machine_code",
           "set_calls_from_c",
           "threshold_from_env", "loop_budget_from_env", "warm_window_from_env",
           "sample_from_env", "tier_down_from_env", "top_level_from_env"]

DEFAULT_THRESHOLD = 256
# Interpreted nanoseconds per bytecode code unit after which a function with a loop that is not
# defined in __main__ compiles (see enable()).
DEFAULT_LOOP_BUDGET_NS = 1000
# Milliseconds within which `threshold` calls of a function without loops must come for it to
# compile (see enable()).
DEFAULT_WARM_WINDOW_MS = 20
# Microseconds between the samples that look for hot code beneath cold regions (see enable()).
DEFAULT_SAMPLE_US = 1000
# Milliseconds a script's top level runs at most as a cold region (see enable()).
DEFAULT_TOP_LEVEL_MS = 100
# Microseconds a compiled function called from C must take per call, on average, for a trial of
# its calls native against interpreted (see enable()).
DEFAULT_TIER_DOWN_US = 20
# Executable memory cpjit maps at most (CPJIT_MAX_CODE_MB; 0: no cap). Past it, code objects not
# yet compiled stay interpreted and stats()["code_cap_reached"] counts the refusals.
DEFAULT_MAX_CODE_MB = 256

_cpjit.set_max_code_bytes(_integer("CPJIT_MAX_CODE_MB", DEFAULT_MAX_CODE_MB, 0, 2**40) << 20)
# Huge pages for code (CPJIT_HUGE_PAGES): see src/memory.rs.
_cpjit.set_huge_pages(_switch("CPJIT_HUGE_PAGES", True))
# Type-specialised code (CPJIT_OPT): float and int expressions unboxed, src/opt/float_runs.rs.
_cpjit.set_opt(_switch("CPJIT_OPT", True))


def threshold_from_env(default=DEFAULT_THRESHOLD):
    """The threshold named by CPJIT_THRESHOLD, or `default` (also, with a one-line warning on
    stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_THRESHOLD", default)


def loop_budget_from_env(default=DEFAULT_LOOP_BUDGET_NS):
    """The loop budget named by CPJIT_LOOP_BUDGET_NS, or `default` (also, with a one-line warning
    on stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_LOOP_BUDGET_NS", default)


def warm_window_from_env(default=DEFAULT_WARM_WINDOW_MS):
    """The warm window named by CPJIT_WARM_WINDOW_MS, or `default` (also, with a one-line warning
    on stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_WARM_WINDOW_MS", default)


def sample_from_env(default=DEFAULT_SAMPLE_US):
    """The sampling period named by CPJIT_SAMPLE_US, or `default` (also, with a one-line warning
    on stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_SAMPLE_US", default)


def top_level_from_env(default=DEFAULT_TOP_LEVEL_MS):
    """The top-level grace named by CPJIT_TOP_LEVEL_MS, or `default` (also, with a one-line
    warning on stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_TOP_LEVEL_MS", default)


def tier_down_from_env(default=DEFAULT_TIER_DOWN_US):
    """The tier-down threshold named by CPJIT_TIER_DOWN_US, or `default` (also, with a one-line
    warning on stderr, when the value is not a non-negative integer)."""
    return _integer("CPJIT_TIER_DOWN_US", default)


# What enable()'s settings decide, in full (kept as a comment: a docstring is unmarshalled at
# every start-up, and this one cost `import cpjit` ~30 us; help(cpjit.enable) has the summary):
#
# `threshold` is how many calls a code object runs in the interpreter before it is compiled;
# 0 compiles everything at its first call. By default it comes from CPJIT_THRESHOLD, else
# DEFAULT_THRESHOLD (256, chosen by measuring start-up-heavy programs: see csrc/runtime.c).
#
# Functions containing a loop may compile sooner: once their interpreted calls have taken
# `loop_budget_ns` nanoseconds per bytecode code unit in all (callees included), the call that
# spends the budget goes on natively from one of its next instructions (on-stack replacement,
# csrc/osr.c), and a loop that runs a few rounds now and then never pays for compiling. A
# script's own main() runs interpreted for that long too, so that the interpreter quickens it
# first and the compiler has its evidence; the sampler (`sample_us`) sees to it that a loop
# making no Python call still goes on natively. (With sampling off, and on threads other than
# the main one, a loop function defined in __main__ compiles at its first call.) By default
# the budget comes from CPJIT_LOOP_BUDGET_NS, else DEFAULT_LOOP_BUDGET_NS (1000); 0 compiles
# every loop function at its first call.
#
# A function without loops compiles once `threshold` of its calls have come within
# `warm_window_ms` milliseconds (a new window starts when they take longer): native code
# pays for itself only where it stays in the processor's caches between calls, and code
# called a few hundred times a second among megabytes of other native code does not (it ran
# twice as slow native as interpreted: benches/cliffs.py round_robin). By default the window
# comes from CPJIT_WARM_WINDOW_MS, else DEFAULT_WARM_WINDOW_MS (20); 0 lets the count alone
# decide.
#
# A function without loops that stays cold, called on the main thread, runs with everything
# beneath it as plain python runs it (a "cold region": the frame-evaluation hook taken out, so
# the interpreter inlines the calls beneath it), while a sampler looks every `sample_us`
# microseconds at the innermost code on the frame stack; code found there in an eighth of the
# samples is hot, and the hook goes back in so it can compile (csrc/cold_regions.c). Work spread
# thin over many functions runs as fast as without cpjit. By default the period comes from
# CPJIT_SAMPLE_US, else DEFAULT_SAMPLE_US (1000); 0 keeps the hook in for every call. With
# threshold 0 nothing stays cold, so no region opens.
#
# The script's top level (the program's main code, run by `python -m cpjit script.py`, CPJIT=1,
# -c or stdin) is such a region too, with everything it calls, its own functions included,
# until the sampler finds hot code beneath it or it has run for `top_level_ms` milliseconds;
# then the hook goes back in and the loop running goes on natively. A short program runs as
# plain python runs it; a long one loses at most that long of native code. By default it comes
# from CPJIT_TOP_LEVEL_MS, else DEFAULT_TOP_LEVEL_MS (100); 0 runs the top level under the hook
# from its start (its calls counted, its loop compiled once its budget is spent).
#
# A compiled function called from C code (an iterator's __next__, a callable iterator's
# function, a callback) whose calls take `tier_down_us` microseconds or more each, callees
# included, is a root worth a trial: its calls run in alternate blocks of about 2 ms natively
# and as plain python runs them (the hook taken out, so everything beneath runs interpreted),
# and the faster way is kept for its later calls (csrc/tier_trials.c). Native code does not pay
# where work is spread over many small functions run a few times each per root call: their
# machine code misses the processor's caches where the interpreter's one loop does not. By
# default the threshold comes from CPJIT_TIER_DOWN_US, else DEFAULT_TIER_DOWN_US (20); 0: no
# trials (roots decided already stay decided).
#
# `perf` writes /tmp/perf-<pid>.map entries for code compiled from now on, so that
# `perf report` names native code: True (or "code") one per code object
# (`py::qualname:file:line`), "instructions" one per bytecode instruction
# (`STENCIL@qualname:offset`, and `STENCIL@qualname:offset (cold)` for the cold part of its
# code, placed after the hot parts of all instructions), False none. By default it comes from CPJIT_PERF (read when
# the extension loads), else off.
def enable(threshold=None, perf=None, loop_budget_ns=None, warm_window_ms=None, sample_us=None,
           tier_down_us=None, top_level_ms=None):
    """Run Python frames natively from now on (the full rules: the comment above `def enable`
    in cpjit/__init__.py, and README.md's Tiering).

    threshold      interpreted calls before a code object compiles (0: at its first call);
                   default CPJIT_THRESHOLD, else DEFAULT_THRESHOLD (256)
    loop_budget_ns interpreted ns per bytecode code unit after which a function with a loop
                   compiles and its running call goes on natively (0: at its first call);
                   default CPJIT_LOOP_BUDGET_NS, else 1000
    warm_window_ms a function without loops compiles once `threshold` calls come within this
                   many ms (0: the count alone); default CPJIT_WARM_WINDOW_MS, else 20
    sample_us      period of the sampler that finds hot code beneath cold regions, where cold
                   library code runs as plain python (0: no regions); default CPJIT_SAMPLE_US,
                   else 1000
    top_level_ms   the script's top level runs as such a region until hot code is found or for
                   this long (0: under the hook); default CPJIT_TOP_LEVEL_MS, else 100
    tier_down_us   compiled functions called from C whose calls take this long are measured
                   native against interpreted, and run the faster way (0: no trials); default
                   CPJIT_TIER_DOWN_US, else 20
    perf           True or "code": /tmp/perf-<pid>.map entries per code object compiled from
                   now on; "instructions": per instruction; default CPJIT_PERF, else off
    """
    if threshold is None:
        threshold = threshold_from_env()
    if loop_budget_ns is None:
        loop_budget_ns = loop_budget_from_env()
    _cpjit.set_loop_budget_ns(loop_budget_ns)
    if warm_window_ms is None:
        warm_window_ms = warm_window_from_env()
    _cpjit.set_warm_window_ms(warm_window_ms)
    if sample_us is None:
        sample_us = sample_from_env()
    _cpjit.set_sample_us(sample_us)
    if top_level_ms is None:
        top_level_ms = top_level_from_env()
    _cpjit.set_top_level_ms(top_level_ms)
    if tier_down_us is None:
        tier_down_us = tier_down_from_env()
    _cpjit.set_tier_down_us(tier_down_us)
    if perf is not None:
        _cpjit.set_perf(perf)
    _cpjit.enable(threshold)


def machine_code(obj):
    """The annotated machine code of a compiled function or code object (None if it has none):
    one tuple per part of each bytecode instruction, in address order: the hot parts (which
    fall through into each other; the error exit's is after the last instruction's), then the
    cold parts (error paths, hand-overs to the interpreter, deallocation calls),
    `(bytecode offset or None, stencil, start, size, [(address, hex bytes, asm, [notes])], cold)`,
    where the notes name each patched hole (constant, name, cache, jump target, helper)."""
    return _cpjit.machine_code(getattr(obj, "__code__", obj))


def dis(obj, file=None, machine_code=True):
    """Print how cpjit compiled a function or code object: for each bytecode instruction, the
    stencil copied for it, where its machine code starts and how long it is, and (unless
    `machine_code` is false) its x86-64 instructions with each patched hole named."""
    import dis as _dis

    if file is None:
        file = _sys.stdout
    code = getattr(obj, "__code__", obj)
    info = code_info(code)
    if not info or info.get("state") != "compiled":
        state = info["state"] if info else "never called"
        print(f"{code.co_qualname}: not compiled ({state})", file=file)
        return
    print(f"{code.co_qualname}: {info['instructions']} instructions, {info['code_bytes']} bytes of "
          f"code ({info['hot_bytes']} hot + {info['code_bytes'] - info['hot_bytes']} cold, "
          f"{info['native_bytes']} with data) at {info['address']:#x}", file=file)
    by_offset = {ins.offset: ins for ins in _dis.get_instructions(code)}
    for offset, stencil, start, size, lines, cold in _cpjit.machine_code(code) or ():
        ins = by_offset.get(offset)
        text = f"{ins.opname} {ins.argrepr or ''}".rstrip() if ins else ""
        if cold:
            text = f"{ins.opname if ins else ''} (cold)".lstrip()
        where = f"{offset:6d}" if offset is not None else " " * 6
        print(f"  {where}  {text:40.40s} {stencil:28s} +{start:#07x} {size:5d}", file=file)
        if not machine_code:
            continue
        for address, hexbytes, asm, notes in lines:
            note = f"  ; {'; '.join(notes)}" if notes else ""
            print(f"            {address:x}  {hexbytes:<30.30s} {asm:<40s}{note}".rstrip(), file=file)
