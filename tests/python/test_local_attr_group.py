"""LOAD_FAST + LOAD_ATTR (`x.name`, x a local) run as one stencil where the interpreter
specialised the LOAD_ATTR (stencils/attrs.c LOAD_FAST_ATTR_*, src/superinstructions.rs
Group::LoadAttr): the owner is read from its local, and a hit of the site's first cache way
takes no reference on it; the LOAD_ATTR gets no code of its own (COVERED). Everything else
(an unbound local, other types, missing attributes, properties and __getattr__, tracing switched
on by the code they run, what that code sees of the frame) must be as in plain CPython. The
functions are warmed up in the interpreter first, so the LOAD_ATTRs are quickened when they
compile (threshold 20).
"""
from differential import check, compiled_after_warm_up

THRESHOLD = 20

SITES = f"""
class P:
    def __init__(self, x):
        self.x = x
        self.y = -x

class S:
    __slots__ = ("a",)
    def __init__(self, a):
        self.a = a

class D:
    def __init__(self, x):
        self.x = x
        vars(self)            # the attributes move to a real dict for good

def get_x(o):
    return o.x

def get_a(o):
    return o.a

def get_d(o):
    return o.x

def get_later(flag, o):
    if flag:
        p = o
    return o and p.x          # p unbound unless flag (`o and`: its LOAD_FAST runs alone)

def tail(o):
    k = 1
    return o.x + k            # STORE_FAST + LOAD_FAST: the LOAD_FAST runs as a second half

for n in range({THRESHOLD + 5}):
    get_x(P(n))
    get_a(S(n))
    get_d(D(n))
    get_later(True, P(n))
    tail(P(n))
"""
WARM = SITES[SITES.index("for n in range"):]


def stencils_of(name):
    info = compiled_after_warm_up(SITES, name, WARM, THRESHOLD)
    return [stencil for _, stencil, _ in info["layout"]]


def test_a_local_owner_and_its_specialised_load_get_one_stencil():
    assert "LOAD_FAST_ATTR_INSTANCE_VALUE" in stencils_of("get_x")
    assert "LOAD_FAST_ATTR_SLOT" in stencils_of("get_a")
    assert "LOAD_FAST_ATTR_WITH_HINT" in stencils_of("get_d")
    later = stencils_of("get_later")
    assert "LOAD_FAST_ATTR_INSTANCE_VALUE" in later, later
    assert "LOAD_ATTR_INSTANCE_VALUE" not in later, later  # no code of its own


def test_a_load_fast_run_as_a_second_half_keeps_its_own_stencils():
    names = stencils_of("tail")
    assert "LOAD_ATTR_INSTANCE_VALUE" in names, names
    assert not any(n.startswith("LOAD_FAST_ATTR") for n in names), names


def test_an_unbound_or_deleted_local_raises_at_the_load_fast():
    check(SITES + """
out = []
for flag in (True, False, True):
    try:
        out.append(get_later(flag, P(3)))
    except UnboundLocalError as e:
        out.append(str(e))

def deleted(o):
    del o
    return o.x
for n in range(25):
    try:
        deleted(P(n))
    except UnboundLocalError as e:
        out.append(str(e))
result = out[:5]
get_later(False, P(1))        # escapes: its traceback's lines are compared
""", threshold=THRESHOLD)


def test_other_owners_at_a_grouped_site_run_like_the_interpreter():
    check(SITES + """
out = []
class Q:                      # another class: a second way of the cache
    def __init__(self):
        self.y = 0
        self.x = "Q.x"
class C:
    x = "class attribute"
class Prop:
    @property
    def x(self):
        return "property " + str(get_x.__name__)
class G:
    def __getattr__(self, name):
        return "getattr " + name
class Raises:
    @property
    def x(self):
        raise KeyError("from a property")
for o in (P(1), Q(), C(), Prop(), G(), P(2), Q(), C, 7):
    try:
        out.append(get_x(o))
    except AttributeError as e:
        out.append("AttributeError: " + str(e))
s = S.__new__(S)              # a slot never set
for o in (S(1), s, S(2)):
    try:
        out.append(get_a(o))
    except AttributeError as e:
        out.append("AttributeError: " + str(e))
d = D(5)
del d.x                       # a missing key in the instance's dict
for o in (D(4), d, D(6)):
    try:
        out.append(get_d(o))
    except AttributeError as e:
        out.append("AttributeError: " + str(e))
P.x = property(lambda self: "P.x is a property now")   # the class changes: its version goes
out.append(get_x(P(9)))
result = out
get_x(Raises())               # escapes through the property's frame
""", threshold=THRESHOLD)


def test_code_run_by_a_grouped_load_sees_the_frame_as_the_interpreter_shows_it():
    check(SITES + """
import sys
out = []
class Look:
    @property
    def x(self):
        f = sys._getframe(1)
        out.append((f.f_code.co_name, f.f_lineno, f.f_lasti, sorted(f.f_locals)))
        return "looked"
out.append(get_x(Look()))
out.append(get_later(True, Look()))
result = out
""", threshold=THRESHOLD)


def test_tracing_switched_on_by_a_property_goes_on_after_the_load():
    check(SITES + """
import sys
events = []
def tracer(frame, event, arg):
    if frame.f_code.co_name in ("two_loads", "get_x"):
        events.append((frame.f_code.co_name, event, frame.f_lineno))
    return tracer
class On:
    @property
    def x(self):
        sys.settrace(tracer)
        return 1
def two_loads(o, p):
    a = o.x
    b = p.x
    return a + b
for n in range(25):
    two_loads(P(n), P(n))
try:
    result = two_loads(On(), P(2))
finally:
    sys.settrace(None)
print(events)
""", threshold=THRESHOLD)
