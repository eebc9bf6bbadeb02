"""UNPACK_SEQUENCE n followed by n STORE_FASTs, run as one stencil (stencils/unpack.c,
csrc/numeric.c `cpjit_unpack_into_locals`, src/superinstructions.rs `unpack_group`): the stores
have no code of their own. Everything the n + 1 instructions do must be as in plain CPython:
values, every failure (wrong length, non-iterables, iterators that raise), the order in which
old values die and what their finalizers see of the frame (f_lineno, f_lasti, f_locals), in cold
code and in warm code (where the interpreter runs the stores as STORE_FAST__STORE_FAST pairs).
"""
import pytest

from differential import check
from test_frame_compat import differential


def test_tuples_and_lists_of_every_length():
    check("""
        def f(t1, t2, t3, t5, t12, t13, t20):
            a, = t1
            b, c = t2
            d, e, g = t3
            h, i, j, k, l = t5
            m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11 = t12
            n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12 = t13
            (o0, o1, o2, o3, o4, o5, o6, o7, o8, o9,
             o10, o11, o12, o13, o14, o15, o16, o17, o18, o19) = t20
            return [a, b, c, d, e, g, h, i, j, k, l, m0, m5, m11, n0, n12, o0, o10, o19]
        r = range(30)
        result = [f(tuple(r[:1]), tuple(r[:2]), tuple(r[:3]), tuple(r[:5]), tuple(r[:12]),
                    tuple(r[:13]), tuple(r[:20])),
                  f(list(r[:1]), list(r[:2]), list(r[:3]), list(r[:5]), list(r[:12]),
                    list(r[:13]), list(r[:20]))]
    """)


def test_same_name_twice_and_swaps():
    check("""
        def f(t):
            a, a, b, a = t
            x, y = 1, 2
            x, y = y, x
            p, q, r = [x, y, a]
            p, q, r = r, p, q
            return a, b, x, y, p, q, r
        result = [f((1, 2, 3, 4)) for _ in range(5)]
    """)


@pytest.mark.parametrize("seq", [
    "(1, 2)", "(1, 2, 3, 4)", "[1]", "[1, 2, 3, 4, 5]", "()", "[]",
    "iter([1, 2])", "iter([1, 2, 3, 4])", "'ab'", "'abc'", "5", "None", "{1: 2, 3: 4, 5: 6}",
    "{1, 2, 3}", "range(3)", "range(4)", "(x for x in 'xyz')", "Boom()", "Short()",
    "Tup((7, 8, 9))", "Lst([7, 8, 9])", "Tup((1, 2))", "Lst([1, 2, 3, 4])", "NoIter()",
])
def test_failures_and_other_iterables(seq):
    # Three names: an exact tuple or list of length 3 is the in-line case; everything else,
    # including subclasses (whose __iter__ is honoured) and wrong lengths, raises or iterates
    # as the interpreter does, with the traceback at the unpacking line.
    check(f"""
        class Boom:
            def __iter__(self):
                yield 1
                raise KeyError('boom')
        class Short:
            def __iter__(self):
                return iter([1, 2])
        class Tup(tuple):
            def __iter__(self):
                return iter(['t' + str(v) for v in tuple.__iter__(self)])
        class Lst(list):
            def __iter__(self):
                return iter(['l' + str(v) for v in list.__iter__(self)])
        class NoIter:
            pass
        a = b = c = 'unset'
        def f(s):
            a = b = c = 'before'
            try:
                a, b, c = s
            except Exception as e:
                return ('caught', type(e).__name__, str(e), a, b, c)
            return a, b, c
        def g(s):
            x = 'x'
            (a,
             b,
             c) = s
            return a, b, c, x
        result = [f({seq}) for _ in range(3)]
        result.append(g({seq}))
    """)


def test_subclasses_that_iterate_as_their_base():
    # namedtuples, struct sequences and plain tuple/list subclasses are read in place (their
    # tp_iter is the base's); one that gains an __iter__ later, or whose length is wrong, goes
    # through the iterator again. Group and plain UNPACK_SEQUENCE (a starred target in the same
    # function keeps a plain one), in cold and warm code.
    check("""
        import collections, os, sys, time
        P = collections.namedtuple('P', 'x y z')
        class T(tuple): pass
        class L(list): pass
        class Later(tuple): pass
        def f(s):
            try:
                a, b, c = s
            except ValueError as e:
                return ('caught', str(e))
            return a, b, c
        def g(s):
            d = {}
            d['a'], d['b'], d['c'] = s
            return sorted(d.items())
        def h(s):
            first, *rest = s
            for x, y, z in [s, s]:
                pass
            return first, rest, x, y, z
        seen = []
        class Dies(tuple):
            def __del__(self):
                fr = sys._getframe(1)
                seen.append((fr.f_code.co_name, fr.f_lineno, fr.f_lasti))
        def dies(k):
            x = 0
            (a,
             b, c) = Dies((k, k, k))
            return a + b + c + x
        st = os.stat('.')
        result = [seen]
        for i in range(20):
            result.append([f(P(1, 2, 3)), f(T((4, 5, 6))), f(L([7, 8, 9])), f(Later('abc')),
                           f(P(1, 2, 3)[:2]), f(T((1, 2))), f(L([1, 2, 3, 4])),
                           g(P('p', 'q', 'r')), h(T((0, 1, 2))), h(P(3, 4, 5)),
                           f(time.gmtime(0)[:3]), f(tuple(st)[:3]) == f(tuple(st[:3])),
                           dies(i)])
            if i == 10:
                Later.__iter__ = lambda self: iter(['later'] * 3)
    """)


def test_iterator_sees_the_unpacking_instruction():
    check("""
        import sys
        seen = []
        class It:
            def __init__(self): self.n = 0
            def __iter__(self): return self
            def __next__(self):
                f = sys._getframe(1)
                seen.append((f.f_lineno, f.f_lasti, sorted(k for k in f.f_locals if len(k) == 1)))
                self.n += 1
                if self.n > 3:
                    raise StopIteration
                return self.n
        def f():
            a = 0
            (b,
             c,
             d) = It()
            return a, b, c, d
        result = [f() for _ in range(12)], seen
    """)


# Tell records where the frame is; Peek also what its locals hold. (A snapshot of f_locals keeps
# the frame's current values alive until the frame dies, so only ints follow a Peek.)
DEL_SEES_THE_FRAME = r'''
import sys
seen = []
class Tell:
    def __init__(self, name): self.name = name
    def __del__(self):
        f = sys._getframe(1)
        seen.append((self.name, f.f_code.co_name, f.f_lineno, f.f_lasti))
class Peek(Tell):
    def __del__(self):
        f = sys._getframe(1)
        seen.append((self.name, f.f_code.co_name, f.f_lineno, f.f_lasti,
                     sorted((k, v) for k, v in f.f_locals.items() if isinstance(v, int))))

def six(t):
    a = Tell('a'); b = Tell('b'); c = Tell('c'); d = Tell('d'); e = Tell('e'); g = Tell('g')
    (a,
     b, c,
     d, e,
     g) = t
    return a + g

def peek(t):
    a = Tell('a'); b = Tell('b'); c = Peek('c'); d = 40; e = 50
    a, b, c, d, e = t
    return e + a

def peek_second(t):
    a = Tell('a'); b = Peek('b'); c = 30
    a, b, c = t
    return c

def five_then_load(t):
    a = Tell('a'); b = Tell('b'); c = Tell('c'); d = Tell('d'); e = Tell('e')
    a, b, c, d, e = t
    return e + a

def generic(t):
    a = Tell('a'); b = Tell('b'); c = Tell('c')
    a, b, c = iter(t)
    return a + c

def dies_with_the_tuple():
    a = Tell('a'); b = Tell('b')
    a, b = (Tell('x'), Tell('y'))
    a, b = 1, 2
    return a + b

def main():
    for round in range(12):
        out = [six((1, 2, 3, 4, 5, 6)), six([1, 2, 3, 4, 5, 6]), peek((1, 2, 3, 4, 5)),
               peek_second([1, 2, 3]), five_then_load((1, 2, 3, 4, 5)), generic((1, 2, 3)),
               dies_with_the_tuple()]
        print(round, out, seen)
        seen.clear()
main()
'''


@pytest.mark.parametrize("threshold", [0, 3, 256])
def test_finalizers_of_overwritten_locals_see_the_frame(threshold):
    # Cold code runs every store alone; once warm, the interpreter runs the stores as
    # STORE_FAST__STORE_FAST pairs and a finalizer run by a pair's second store sees the first.
    differential(DEL_SEES_THE_FRAME, threshold=threshold)


def test_finalizer_that_changes_the_list_being_unpacked():
    # All items are taken before the first store: a finalizer that mutates the list (or drops
    # the last other reference to it) changes nothing about the values stored.
    check("""
        src = []
        class Mutate:
            def __del__(self):
                src[:] = ['changed'] * 4
                print('mutated', list(src))
        class Drop:
            def __del__(self):
                global src
                src = None
                print('dropped')
        def f(k):
            global src
            a = Mutate() if k == 0 else Drop()
            b = c = d = None
            src = [1, 2, 3, 4]
            a, b, c, d = src
            return a, b, c, d, src
        result = [f(0), f(1), f(0)]
    """)


def test_exception_handler_in_the_same_frame_and_nested_loops():
    check("""
        def f(items):
            out = []
            for it in items:
                for _ in range(2):
                    try:
                        k, v = it
                    except (TypeError, ValueError) as e:
                        out.append(str(e))
                        break
                    out.append((k, v))
            return out
        result = f([(1, 2), [3, 4], (5,), 'xy', 7, [1, 2, 3], {'a': 1, 'b': 2}])
    """)


def test_line_events_under_tracing_are_the_interpreters():
    differential(r'''
import sys
events = []
def tracer(frame, event, arg):
    if frame.f_code.co_name == 'f':
        events.append((event, frame.f_lineno - frame.f_code.co_firstlineno))
    return tracer
def f(t):
    a, b = t
    (c,
     d) = t
    a, b, c = iter(list(t) + [a])
    return a + b + c + d
print(f((1, 2)), f([3, 4]))
sys.settrace(tracer)
print(f((1, 2)), f((5, 6)))
sys.settrace(None)
print(events)
''', threshold=0)


def test_the_loaded_local_unbound_deleted_or_overwritten_by_the_stores():
    # LOAD_FAST t + UNPACK_SEQUENCE + STORE_FASTs run as one: an unbound t raises at the
    # LOAD_FAST; the stores may overwrite t itself (its old value released at that store).
    check("""
        import sys
        class Tell:
            def __del__(self):
                print('del at', sys._getframe(1).f_lineno)
        def unbound(c):
            if c:
                t = (1, 2)
            try:
                a, b = t
            except UnboundLocalError as e:
                return 'unbound', str(e)
            return a, b
        def deleted():
            t = [1, 2]
            del t
            a, b = t
        def overwrite(k):
            t = [k, Tell()]
            t, a = t
            u = (Tell(), k)
            (b,
             u) = u
            return t, type(a).__name__, type(b).__name__, u
        result = [unbound(1), unbound(0), [overwrite(i) for i in range(12)]]
        deleted()
    """)
