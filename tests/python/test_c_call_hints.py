"""Calls of C code made in line at sites the interpreter specialised (stencils/ccalls.c).

A code object that compiles after its warm-up has been quickened: each PRECALL it ran carries
the interpreter's specialised form (PRECALL_NO_KW_LEN, PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST, ...)
and gets the stencil of that form, which makes the call itself when the form's guards hold and
leaves it to the generic CALL when they do not. Each test warms functions up in the interpreter
(THRESHOLD calls), lets them compile, checks which stencils they got, then runs the sites with
the same callables, with others (guards failing), with errors raised by the callee, and compares
everything with the interpreter.
"""
import cpjit

from differential import check, compiled_after_warm_up

THRESHOLD = 20


def stencils_of(source, name, warm_up):
    """The stencil names of `name` from `source`, compiled after `warm_up` ran."""
    before = cpjit.stats()["c_calls_in_line"]
    info = compiled_after_warm_up(source, name, warm_up, THRESHOLD)
    names = [stencil for _, stencil, _ in info["layout"]]
    in_line = [n for n in names if n.startswith("PRECALL_")]
    # Other code warm enough may compile meanwhile (the suite's own): at least these sites.
    assert cpjit.stats()["c_calls_in_line"] - before >= len(in_line) > 0
    return names


FORMS = """
import sys

class O:
    x = 7

def calls(lst, d, s, o, text, n):
    lst.append(n)                 # LIST_APPEND
    a = lst.pop()                 # METHOD_DESCRIPTOR_FAST (no argument)
    b = d.get(n, -1)              # METHOD_DESCRIPTOR_FAST
    c = len(lst)                  # LEN
    e = isinstance(o, O)          # ISINSTANCE
    f = abs(-n)                   # BUILTIN_O
    g = getattr(o, "x")           # BUILTIN_FAST
    h = sorted(s)                 # BUILTIN_FAST_WITH_KEYWORDS
    i = s.__contains__(n)         # METHOD_DESCRIPTOR_O
    j = text.upper()              # METHOD_DESCRIPTOR_NOARGS
    k = text.split(",")           # METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS
    m = range(n)                  # BUILTIN_CLASS
    p = type(o)                   # TYPE_1
    q = str(n)                    # STR_1
    r = tuple(lst)                # TUPLE_1
    return (a, b, c, e, f, g, h, i, j, k, m, p.__name__, q, r)
"""

WARM = f"""
for n in range({THRESHOLD + 5}):
    calls([1], {{1: 2}}, {{3, 1}}, O(), "a,b", n)
"""


def test_every_specialised_c_call_gets_its_stencil():
    names = stencils_of(FORMS, "calls", WARM)
    forms = {n.split("__")[0] for n in names if n.startswith("PRECALL")}
    assert forms == {
        "PRECALL_NO_KW_LIST_APPEND",
        "PRECALL_NO_KW_METHOD_DESCRIPTOR_FAST",
        "PRECALL_NO_KW_LEN",
        "PRECALL_NO_KW_ISINSTANCE",
        "PRECALL_NO_KW_BUILTIN_O",
        "PRECALL_NO_KW_BUILTIN_FAST",
        "PRECALL_BUILTIN_FAST_WITH_KEYWORDS",
        "PRECALL_NO_KW_METHOD_DESCRIPTOR_O",
        "PRECALL_NO_KW_METHOD_DESCRIPTOR_NOARGS",
        "PRECALL_METHOD_DESCRIPTOR_FAST_WITH_KEYWORDS",
        "PRECALL_BUILTIN_CLASS",
        "PRECALL_NO_KW_TYPE_1",
        "PRECALL_NO_KW_STR_1",
        "PRECALL_NO_KW_TUPLE_1",
    }, names


def test_specialised_c_calls_give_the_interpreters_results():
    check(FORMS + WARM + """
out = []
for n in range(40):
    out.append(calls([n, 2], {n: n * n, 1: 0}, {n, 5, 1}, O(), f"x{n},y", n))
result = out
""", threshold=THRESHOLD)


def test_other_callables_at_specialised_sites_take_the_generic_call():
    # Lists subclasses, objects with methods of the same names, shadowed builtins, a different
    # built-in of another form at each site: every guard fails somewhere.
    check(FORMS + WARM + """
class MyList(list):
    pass

class Fake:
    def append(self, x): self.last = x
    def pop(self): return "popped"
    def __len__(self): return 99
    def __contains__(self, x): return True
    def upper(self): return "UP"
    def split(self, sep): return ["fake", sep]

class Text(str):
    pass

out = [calls(MyList([1]), {1: 2}, {3}, O(), "a,b", 1)]
out.append(calls([1], {1: 2}, frozenset({3}), O(), Text("q,r"), 2))
fake = Fake()
def fake_calls(x):
    x.append(1)
    return x.pop(), len(x), x.upper(), x.split(",")
for n in range(25):
    fake_calls([1])
out.append(fake_calls(fake))
out.append(fake.last)
len, abs, sorted, range, str, tuple = (lambda x: -1), (lambda x: "abs"), reversed, list, repr, list
out.append(calls([1], {1: 2}, {3}, O(), "a,b", 3))
type = lambda x: O
out.append(calls([1], {1: 2}, {3}, O(), "a,b", 4))
result = [repr(x) for x in out]
""", threshold=THRESHOLD)


def test_errors_raised_by_specialised_c_calls_have_the_interpreters_tracebacks():
    check("""
class BadLen:
    def __len__(self):
        raise ValueError("no length")

class Meta(type):
    def __instancecheck__(cls, x):
        raise KeyError("no check")

class Checked(metaclass=Meta):
    pass

def site(kind, x):
    if kind == 0:
        return len(x)
    if kind == 1:
        return isinstance(x, Checked)
    if kind == 2:
        return float(x)
    if kind == 3:
        return x.index(99)
    if kind == 4:
        return abs(x)
    if kind == 5:
        return x.upper()
    return ",".join(x)

for n in range(30):
    for kind, ok in [(0, [1]), (1, 1), (2, "5.5"), (3, [99]), (4, -1), (5, "a"), (6, ["a"])]:
        site(kind, ok)
out = []
for kind, bad in [(0, BadLen()), (1, 1), (2, "x"), (3, [1]), (4, "s"), (6, [1, 2])]:
    try:
        site(kind, bad)
    except Exception as e:
        out.append((type(e).__name__, str(e), e.__traceback__.tb_next.tb_lineno))
result = out
site(2, "not a number")
""", threshold=THRESHOLD)


def test_arguments_are_released_in_the_interpreters_order():
    # Objects whose last reference is the call's stack slot die as the call releases them.
    check("""
log = []
class Noisy:
    def __init__(self, name): self.name = name
    def __del__(self): log.append(self.name)

def fast(n):
    return {1: Noisy(f"self {n}")}.get(Noisy(f"argument {n}"), Noisy(f"default {n}"))

def meth_o(n):
    return [Noisy(f"item {n}")].count(Noisy(f"counted {n}"))

def builtin_fast(n):
    return getattr(Noisy(f"object {n}"), "name", Noisy(f"default {n}"))

for n in range(30):
    fast(n), meth_o(n), builtin_fast(n)
result = log
""", threshold=THRESHOLD)


def test_tracing_switched_on_by_a_specialised_call_is_seen_from_the_next_line():
    check("""
import sys
events = []
def tracer(frame, event, arg):
    if frame.f_code.co_name == "traced":
        events.append((event, frame.f_lineno - frame.f_code.co_firstlineno))
    return tracer

def traced(t):
    sys.settrace(t)
    a = 1
    b = a + 1
    sys.settrace(None)
    return a + b

for n in range(30):
    traced(None)
result = (traced(tracer), events)
""", threshold=THRESHOLD)


def test_a_signal_handler_raising_after_a_specialised_call():
    check("""
import os, signal
class Interrupted(Exception):
    pass
def handler(signum, frame):
    raise Interrupted(frame.f_code.co_name)
old = signal.signal(signal.SIGUSR1, handler)

def site(pid, sig):
    n = 0
    os.kill(pid, sig)
    n += 1
    return n

try:
    for n in range(30):
        site(os.getpid(), 0)
    try:
        site(os.getpid(), signal.SIGUSR1)
    except Interrupted as e:
        result = (str(e), e.__traceback__.tb_next.tb_lineno)
finally:
    signal.signal(signal.SIGUSR1, old)
""", threshold=THRESHOLD)


def test_exception_handlers_in_the_calling_frame_catch_specialised_call_errors():
    check("""
def site(d, k):
    try:
        return d.pop(k)
    except KeyError as e:
        return ("missing", e.args)
    finally:
        d[k] = 1

for n in range(30):
    site({n: n}, n)
result = [site({}, "x"), site({"y": 2}, "y")]
""", threshold=THRESHOLD)
