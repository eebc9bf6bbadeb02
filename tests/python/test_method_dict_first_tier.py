"""`x.name(...)` on instances whose attributes live in a dict of their own (CPJIT_METHOD_DICT):
the shared first tier (csrc/hits.c load_method_hit) probes the instance's dict for the name the
instruction loads, patched into the stencil (for a LOAD_FAST group, the name of the LOAD_METHOD it
covers, not anything indexed by the LOAD_FAST's oparg). A method shadowed by an instance
attribute, dicts with keys other than exact strs, and owners of other kinds must behave as in
plain CPython, with the owner a local (the group stencils) or not (LOAD_METHOD's own stencil).
"""
import pytest

from differential import check

SOURCE = """
class D:
    def __init__(self, i):
        self.__dict__ = {"a": i, "b": -i}   # a dict of its own, not sharing the class's keys
        if i % 2:
            vars(self)["c"] = i

    def m(self):
        return ("m", self.a)

    def n(self):
        return ("n", self.a)

def local_owner(o):
    o.n                                 # co_names[0] is n, co_names[1] m
    return o.m()                        # LOAD_FAST o (oparg 0) + LOAD_METHOD m

def other_owner(box):
    box[0].n
    return box[0].m()                   # the owner comes off the stack

def tail_owner(o):
    o.n
    k = o                               # STORE_FAST + LOAD_FAST: the load runs as a second half
    return k.m()

def both(o):
    return (local_owner(o), other_owner([o]), tail_owner(o))

plain = [D(i) for i in range(6)]
for _ in range(60):
    for o in plain:
        both(o)

out = [both(o) for o in plain]

shadowed = D(7)
shadowed.m = lambda: "instance attribute m"
out.append(both(shadowed))

decoy = D(8)
decoy.n = lambda: "instance attribute n"   # the other name: m still the method
out.append(both(decoy))

odd_keys = D(9)
odd_keys.__dict__[1] = "not a str key"
out.append(both(odd_keys))

class Key(str):
    def __hash__(self):
        return str.__hash__(self)
    def __eq__(self, other):
        return str.__eq__(self, other)

str_subclass_key = D(10)
str_subclass_key.__dict__[Key("m")] = lambda: "shadowed through a str subclass key"
out.append(both(str_subclass_key))

later = D(11)
out.append(both(later))
later.m = lambda: "shadowed after the site hit"
out.append(both(later))
del later.m
out.append(both(later))

class E(D):
    def m(self):
        return ("E.m", self.a)
out.append(both(E(12)))

D.m = lambda self: ("replaced on the class", self.a)
out.append(both(D(13)))
out.append(both(plain[0]))
print(out)
"""


@pytest.mark.parametrize("threshold", [0, 20])
def test_method_loads_from_own_dicts_run_like_the_interpreter(threshold):
    check(SOURCE, threshold=threshold)


# A LOAD_METHOD whose name is past co_names[255] (EXTENDED_ARG before it: the group never forms,
# LOAD_METHOD's own stencil names it): the probe must look the right name up.
FAR_NAMES = """
class D:
    def __init__(self):
        self.__dict__ = {"a": 1}
    def m(self):
        return "method m"

names = ", ".join(f"o.a{i}" for i in range(300))
src = f"def far(o, probe):\\n    if probe:\\n        return ({names})\\n    return o.m()\\n"
ns = {}
exec(src, ns)
far = ns["far"]
d = D()
out = [far(d, False) for _ in range(80)]
d.m = lambda: "instance attribute m"
out.append(far(d, False))
del d.m
out.append(far(d, False))
print(out[-3:], far.__code__.co_names.index("m"))
"""


@pytest.mark.parametrize("threshold", [0, 20])
def test_a_method_name_past_255_names_is_probed_by_its_own_name(threshold):
    check(FAR_NAMES, threshold=threshold)
