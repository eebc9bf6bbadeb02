"""Subscripts at sites the interpreter specialised (stencils/subscr.c, the hinted forms).

A quickened BINARY_SUBSCR carries BINARY_SUBSCR_LIST_INT, _TUPLE_INT, _DICT, _GETITEM or stays
BINARY_SUBSCR_ADAPTIVE; a quickened STORE_SUBSCR carries STORE_SUBSCR_LIST_INT, _DICT or stays
adaptive. The compiler gives each form a stencil with only that form's fast path in line (or
none). Each test warms functions up in the interpreter on one kind of container, lets them
compile, checks the stencils they got, then hands them every other kind (subclasses, strings,
slices, objects with __getitem__, errors, containers that die during the subscript) and compares
everything with the interpreter.
"""
import dis

import pytest

from differential import check, compiled_after_warm_up

THRESHOLD = 20

SOURCE = """
def load(c, i):
    return c[i]

def store(c, i, v):
    c[i] = v
    return c
"""

OTHERS = """
class L(list):
    def __getitem__(self, i):
        return ("L", list.__getitem__(self, i))
    def __setitem__(self, i, v):
        list.__setitem__(self, i, ("set", v))
class D(dict):
    def __missing__(self, k):
        return ("missing", k)
class G:
    def __getitem__(self, i):
        return ("G", i)
    def __setitem__(self, i, v):
        self.last = (i, v)
    def __repr__(self):
        return f"G{getattr(self, 'last', None)}"
class Dies:
    log = []
    def __init__(self, name):
        self.name = name
    def __del__(self):
        Dies.log.append(self.name)
out = []
def attempt(f, *args):
    try:
        out.append(f(*args))
    except Exception as e:
        out.append((type(e).__name__, str(e)))
for args in [([10, 20, 30], 1), ([10, 20, 30], -1), ([10, 20, 30], 3), ([10, 20, 30], -4),
             ((1, 2), 0), ((1, 2), -2), ((1, 2), 2), ({"a": 1}, "a"), ({"a": 1}, "b"),
             (D(), "x"), (L([1, 2]), 0), ("abc", 1), ("abc", 5), ([1, 2, 3], slice(0, 2)),
             (G(), 7), (G(), "k"), ([1, 2], 2**40), ([1, 2], True), ([1, 2], 1.0), (None, 0),
             ({}, []), (range(5), 3), (b"xy", 0)]:
    attempt(load, *args)
for args in [([10, 20, 30], 1, "v"), ([10, 20, 30], -1, "w"), ([1], 5, 0), ({}, "k", 1),
             (D(), 1, 2), (L([0]), 0, 1), ((1, 2), 0, 3), ("ab", 0, "c"), (G(), "i", "v"),
             ([1, 2, 3], slice(0, 2), [9]), ({}, [], 1), (None, 0, 0), (bytearray(b"ab"), 0, 65)]:
    attempt(store, *args)
# The container's last reference held by the subscript: its items die in the interpreter's
# order; an old item replaced by a store dies then, with the frame's line current.
out.append(load([Dies("a"), Dies("b")], 0).name)
store([Dies("old")], 0, 1)
out.append(list(Dies.log))
result = out
"""


def _forms(function, prefix):
    return {ins.offset // 2: ins.opname
            for ins in dis.get_instructions(function, adaptive=True)
            if ins.opname.startswith(prefix)}


def _stencils_of(info, units):
    return {unit: stencil for unit, stencil, _ in info["layout"] if unit in units}


def _warm_up(container, key):
    return (f"for n in range({THRESHOLD + 5}):\n"
            f"    load({container!r}, {key!r})\n"
            f"    try:\n"
            f"        store({container!r}, {key!r}, n)\n"
            f"    except TypeError:\n"
            f"        pass\n")


def test_each_specialised_subscript_gets_its_forms_stencil():
    expected = {
        "[1, 2, 3]": ("BINARY_SUBSCR_LIST_INT", "STORE_SUBSCR"),
        "(1, 2, 3)": ("BINARY_SUBSCR_TUPLE_INT", "STORE_SUBSCR_ADAPTIVE"),
        "{1: 2}": ("BINARY_SUBSCR_DICT", "STORE_SUBSCR_DICT"),
        "'abc'": ("BINARY_SUBSCR_ADAPTIVE", "STORE_SUBSCR_ADAPTIVE"),
    }
    for container, (load_stencil, store_stencil) in expected.items():
        infos = {}
        for name in ("load", "store"):
            infos[name] = compiled_after_warm_up(SOURCE, name, _warm_up(eval(container), 1),
                                                 THRESHOLD)
        load_forms = _forms(infos["load"]["function"], "BINARY_SUBSCR")
        store_forms = _forms(infos["store"]["function"], "STORE_SUBSCR")
        # The interpreter's forms, and the stencil each got (STORE_SUBSCR_LIST_INT keeps the
        # generic stencil, whose one path in line is the list's).
        assert list(load_forms.values()) == [load_stencil], (container, load_forms)
        assert sorted(_stencils_of(infos["load"], load_forms).values()) == [load_stencil]
        assert sorted(_stencils_of(infos["store"], store_forms).values()) == [store_stencil], \
            (container, store_forms, infos["store"]["layout"])


def test_a_class_with_getitem_gets_no_path_in_line():
    # 3.11 specialises BINARY_SUBSCR_GETITEM only without a PEP 523 hook; under cpjit's hook
    # the site stays adaptive. Either way its stencil is the one without a path in line.
    source = SOURCE + """
class Seq:
    def __getitem__(self, i):
        return i * 2
"""
    info = compiled_after_warm_up(source, "load",
                                  f"for n in range({THRESHOLD + 5}): load(Seq(), n)", THRESHOLD)
    forms = _forms(info["function"], "BINARY_SUBSCR")
    [form] = forms.values()
    assert form in ("BINARY_SUBSCR_GETITEM", "BINARY_SUBSCR_ADAPTIVE"), forms
    assert list(_stencils_of(info, forms).values()) == [form]


def test_sites_specialised_for_one_container_serve_every_other():
    for container, key in [([1, 2, 3], 1), ((1, 2, 3), 1), ({1: 2}, 1), ("abc", 1)]:
        check(SOURCE + _warm_up(container, key) + OTHERS, threshold=THRESHOLD)


def test_errors_at_specialised_subscripts_have_the_interpreters_tracebacks():
    check(SOURCE + _warm_up([1, 2, 3], 1) + """
def nested(rows, i, j):
    total = 0
    total += rows[i][j]
    return total
for n in range(30):
    nested([[1, 2], [3, 4]], n % 2, 1)
out = []
for args in [([[1, 2]], 0, 5), ([[1, 2]], 3, 0), ([{"k": 1}], 0, "z"), ([[1]], 0, "s")]:
    try:
        nested(*args)
    except Exception as e:
        tb = e.__traceback__
        lines = []
        while tb is not None:
            lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno, tb.tb_lasti))
            tb = tb.tb_next
        out.append((type(e).__name__, str(e), lines))
result = out
""", threshold=THRESHOLD)


# Subclasses of dict and list whose subscripts go through typeobject.c's slot functions: dict's
# and list's __getitem__ are C methods (METH_COEXIST), so a subclass's mp_subscript is
# slot_mp_subscript; a subclass defining __delitem__ (collections.Counter) gets
# slot_mp_ass_subscript, which finds the C type's __setitem__ slot wrapper. cpjit calls the C
# method or the wrapped function directly (csrc/slowpaths.c), with the recursion level their
# calls count: results, errors, and where a RecursionError strikes must be the interpreter's.
SLOT_SUBCLASSES = """
import collections

class D(dict):
    def __delitem__(self, k):
        super().__delitem__(k)

class L(list):
    def __delitem__(self, i):
        super().__delitem__(i)

class Doubling(dict):
    def __setitem__(self, k, v):
        super().__setitem__(k, v * 2)

class Strict(dict):
    pass

def work(rounds):
    c = collections.Counter(); d = D(); l = L(range(10)); w = Doubling(); s = Strict(a=1)
    for i in range(rounds):
        k = "k%d" % (i % 7)
        c[k] += 1
        d[k] = d.get(k, 0) + i
        l[i % 10] = l[(i + 1) % 10] + 1
        w[k] = i
        s[k] = s["a"] + i
    out = [sorted(c.items()), sorted(d.items()), list(l), sorted(w.items()), sorted(s.items())]
    for bad in (lambda: d["missing"], lambda: l[99], lambda: l.__setitem__(99, 1),
                lambda: c.__setitem__([1], 1), lambda: d[[1]], lambda: l["x"]):
        try:
            bad()
            out.append("no error")
        except Exception as e:
            out.append(repr(e))
    return out

def contains(rounds):
    # set's and dict's __contains__ are C methods too: a subclass's `in` goes through
    # slot_sq_contains unless it defines __contains__ in Python.
    class Seen(set):
        pass
    class Py(dict):
        def __contains__(self, k):
            return k == "magic"
    seen, d, py, c = Seen(range(0, 20, 3)), D(a=1), Py(), collections.Counter("abca")
    out = [(i in seen, i not in seen, i in d, "a" in d, "b" in c, "magic" in py, i in py)
           for i in range(rounds)]
    for probe in (lambda: [1] in seen, lambda: {} in d, lambda: [] in c):
        try:
            out.append(probe())
        except TypeError as e:
            out.append(repr(e))
    return out

result = [work(5), work(300), contains(40)]
"""

# Where a RecursionError strikes in subscripts at every level of a recursion: compared in a
# script of its own (test_frame_compat's differential), whose stack is a program's.
SLOT_DEPTH = SLOT_SUBCLASSES + """
def depth(n, op, first):
    try:
        op(n)
        return depth(n + 1, op, first)
    except RecursionError as e:
        if not first:
            first.append((n, e.args))  # the first error: which call raised it, and where
        return n

s = Strict(a=1)   # its reads go through slot_mp_subscript to dict.__getitem__
d = D()            # its writes through slot_mp_ass_subscript to dict's __setitem__ wrapper

def get(n):
    return s["a"]

def put(n):
    d[n % 3] = n

def has(n):
    return n in s

for op in (get, put, has, get, put, has):
    first = []
    depth(0, op, first)
    print(op.__name__, first)
"""


def test_subscripts_of_subclasses_through_slot_functions():
    check(SLOT_SUBCLASSES, threshold=THRESHOLD)


@pytest.mark.parametrize("threshold", [0, 16])
def test_recursion_depth_through_slot_function_subscripts(threshold):
    from test_frame_compat import differential

    out = differential(SLOT_DEPTH, threshold=threshold)
    assert "maximum recursion depth" in out, out
