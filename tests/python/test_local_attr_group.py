"""LOAD_FAST + LOAD_ATTR, STORE_ATTR or LOAD_METHOD (`x.name`, `x.name = v`, `x.name()`, x a
local) run as one stencil where the interpreter specialised the second instruction
(stencils/attrs.c LOAD_FAST_ATTR_*, LOAD_FAST_STORE_ATTR_*, LOAD_FAST_METHOD_*;
src/superinstructions.rs Group::LocalOwner): the owner is read from its local, and a hit of the
site's first cache way takes no reference on it; the second instruction gets no code of its own
(COVERED). Everything else
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

def jumped(o, flag):
    k = 1
    if flag:
        k = 2
    return o.x + k            # a jump lands on the LOAD_FAST, which falling through pairs

def tail_unbound(flag):
    if flag:
        o = P(1)
    k = 1
    return o.x + k            # o unbound unless flag: reported where the pair is

def put(o, v):
    o.x = v                   # LOAD_FAST v, LOAD_FAST o, STORE_ATTR: o's runs alone
    return o

def put_a(o, v):
    o.a = v
    return o

def call_m(o):
    return o.m()

class M:
    __slots__ = ()
    def m(self):
        return "M.m"

class V:
    def __init__(self):
        self.z = 0
    def m(self):
        return "V.m"

for n in range({THRESHOLD + 5}):
    get_x(P(n))
    get_a(S(n))
    get_d(D(n))
    get_later(True, P(n))
    tail(P(n))
    put(P(n), n)
    jumped(P(n), n % 2)
    tail_unbound(True)
    put_a(S(n), n)
    call_m(V())
    call_m(M())
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


def test_stores_and_method_loads_from_local_owners_get_one_stencil():
    # `o.x = v`: LOAD_FAST v, LOAD_FAST o pair up, o's load is a second half.
    assert "TAIL_LOAD_FAST_STORE_ATTR_INSTANCE_VALUE" in stencils_of("put")
    assert "TAIL_LOAD_FAST_STORE_ATTR_SLOT" in stencils_of("put_a")
    # call_m saw two classes: the interpreter's form is whichever it specialised to last.
    names = stencils_of("call_m")
    assert {"LOAD_FAST_METHOD_WITH_VALUES", "LOAD_FAST_METHOD_NO_DICT", "LOAD_METHOD"} & set(names)


def test_a_load_fast_run_as_a_second_half_gets_the_tail_form_unless_a_jump_lands_on_it():
    assert "TAIL_LOAD_FAST_ATTR_INSTANCE_VALUE" in stencils_of("tail")
    names = stencils_of("jumped")
    assert "LOAD_ATTR_INSTANCE_VALUE" in names, names
    assert not any("LOAD_FAST_ATTR" in n for n in names), names


def test_an_unbound_local_run_as_a_second_half_is_reported_where_the_pair_is():
    check(SITES + """
out = []
for flag in (True, False, True):
    try:
        out.append(tail_unbound(flag))
    except UnboundLocalError as e:
        out.append((str(e), e.__traceback__.tb_next.tb_lineno, e.__traceback__.tb_next.tb_lasti))
result = out
tail_unbound(False)
""", threshold=THRESHOLD)


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


def test_stores_through_local_owners_run_like_the_interpreter():
    check(SITES + """
import sys
out = []
class Q:
    def __init__(self):
        self.x = 1
class Slotted:
    __slots__ = ("x",)
class Setter:
    def __setattr__(self, name, value):
        out.append(("__setattr__", name, value, sys._getframe(1).f_lineno))
class Frozen:
    __slots__ = ()
class Dies:
    def __del__(self):
        out.append(("dies", sys._getframe(1).f_code.co_name, sys._getframe(1).f_lineno))
p = P(1)
put(p, Dies())                 # the old value is an int; the new one dies at the next store
put(p, 2)
for o in (P(3), Q(), Slotted(), Setter(), P(4)):
    out.append(vars(put(o, "v")) if hasattr(o, "__dict__") and type(o) is not Setter
               else type(put(o, "v")).__name__)
for o in (S(1), S.__new__(S), P(5)):
    out.append(type(put_a(o, 9)).__name__)
try:
    put(Frozen(), 1)
except AttributeError as e:
    out.append(str(e))
def again(flag, v):
    if flag:
        o = P(0)
    return v and put(o, v)
try:
    again(False, 1)
except UnboundLocalError as e:
    out.append(str(e))
result = out
put(Frozen(), 2)               # escapes: its traceback's lines are compared
""", threshold=THRESHOLD)


def test_method_loads_through_local_owners_run_like_the_interpreter():
    check(SITES + """
out = []
v = V()
v.m = lambda: "shadowed by the instance"
class W(V):
    def m(self):
        return "W.m"
class NoM:
    pass
for o in (V(), M(), v, W(), V(), NoM(), M()):
    try:
        out.append(call_m(o))
    except AttributeError as e:
        out.append("AttributeError: " + str(e))
V.m = lambda self: "V.m replaced"       # the class changes
out.append(call_m(V()))
result = out
call_m(NoM())
""", threshold=THRESHOLD)


def test_sites_without_a_specialised_form_get_the_generic_group():
    import cpjit

    def f(o, m):
        return o.x, o.m(), m.sqrt(4.0)

    def g(o, v):
        o.x = v + 1  # BINARY_OP, then the LOAD_FAST alone
        o.y = v      # LOAD_FAST v, LOAD_FAST o: o's load a second half

    cpjit.compile(f)  # not quickened: every LOAD_ATTR and LOAD_METHOD in its base form
    names = [stencil for _, stencil, _ in cpjit.code_info(f)["layout"]]
    assert "LOAD_FAST_ATTR" in names and "LOAD_FAST_METHOD" in names, names
    assert "LOAD_ATTR" not in names and "LOAD_METHOD" not in names, names
    cpjit.compile(g)
    names = [stencil for _, stencil, _ in cpjit.code_info(g)["layout"]]
    assert "LOAD_FAST_STORE_ATTR" in names and "TAIL_LOAD_FAST_STORE_ATTR" in names, names
    assert "STORE_ATTR" not in names, names


def test_generic_groups_run_like_the_interpreter():
    # Threshold 0: every site compiled before the interpreter quickens it, so each goes through
    # the generic groups' shared first tier (borrowed owner) and second tier.
    check("""
import math, sys
class A:
    k = "class constant"
    def __init__(self, v):
        self.v = v
    def m(self):
        return ("A.m", self.v)
    @staticmethod
    def s():
        return "static"
class B(A):
    __slots__ = ("w",)
class G:
    def __getattr__(self, name):
        if name == "boom":
            raise LookupError(name)
        return "getattr " + name
def reads(o):
    return o.v, o.k, o.m(), o.s()
def modules(m, x):
    return m.sqrt(x), m.pi, m.floor(x)
def odd(o):
    return o.boom
def tail_read(o):
    a = 1
    return o.v + a
def tail_unbound(flag):
    if flag:
        o = A(1)
    a = 1
    return o.m()
out = []
for o in (A(1), B(2), A(3), A, G()):
    try:
        out.append(reads(o))
    except (TypeError, AttributeError) as e:
        out.append(type(e).__name__ + ": " + str(e))
for n in range(5):
    out.append(modules(math, float(n)))
    out.append(tail_read(A(n)))
try:
    odd(G())
except LookupError as e:
    out.append(("LookupError", str(e), e.__traceback__.tb_next.tb_lineno))
for flag in (True, False):
    try:
        out.append(tail_unbound(flag))
    except UnboundLocalError as e:
        out.append((str(e), e.__traceback__.tb_next.tb_lineno))
result = out
odd(G())
""")


def test_generic_store_groups_run_like_the_interpreter():
    check("""
import sys
out = []
class A:
    def __init__(self):
        self.x = 0
class S:
    __slots__ = ("x",)
class D:
    def __init__(self):
        self.x = 0
        vars(self)                    # a real dict: STORE_ATTR_WITH_HINT when warm
class Set:
    def __setattr__(self, name, value):
        out.append(("__setattr__", name, value, sys._getframe(1).f_lineno))
class Prop:
    @property
    def x(self):
        return 1
    @x.setter
    def x(self, value):
        out.append(("setter", value))
class Frozen:
    __slots__ = ()
class Dies:
    def __del__(self):
        f = sys._getframe(1)
        out.append(("dies", f.f_code.co_name, f.f_lineno))
def put(o, v):
    o.x = v
    o.x = v + 0 if isinstance(v, int) else v
    return o
def put_two(o, v):
    o.first = v                       # o is local 0, "first" name 0: the second store's name
    o.second = v + 1                  # must come from its own instruction
    return o
def put_dying(o):
    o.x = Dies()
    o.x = 2                           # the old value dies here, its finalizer sees this line
for n in range(30):
    for o in (A(), S(), D(), Set(), Prop()):
        put(o, n)
    put_dying(A())
    put_dying(D())
    put_two(Set(), n)
    out.append(sorted(vars(put_two(A(), n))))
try:
    put(Frozen(), 1)
except AttributeError as e:
    out.append(str(e))
def unbound(flag, v):
    if flag:
        o = A()
    o.x = v
    return o.x
for flag in (True, False):
    try:
        out.append(unbound(flag, 3))
    except UnboundLocalError as e:
        out.append((str(e), e.__traceback__.tb_next.tb_lineno))
result = out[-40:]
put(Frozen(), 2)
""")
    # The same once warm: quickened forms (the dict case as STORE_ATTR_WITH_HINT).
    check(SITES + """
class D2:
    def __init__(self):
        self.x = 0
        vars(self)
def put_d(o, v):
    o.x = v
    return o.x
for n in range(30):
    put_d(D2(), n)
d = D2()
del d.x
out = [put_d(d, 5), put_d(D2(), 6)]
class Frozen:
    __slots__ = ()
try:
    put_d(Frozen(), 1)
except AttributeError as e:
    out.append(str(e))
result = out
""", threshold=THRESHOLD)

