"""Call-heavy micro benchmark: the cost of Python-to-Python calls (issue 8, item 4).

    python3 benches/calls_micro.py [N] [kind]          # plain interpreter
    python3 -m cpjit benches/calls_micro.py [N] [kind] # with cpjit

Each kind makes N * 10 calls of one shape from a loop in a function (so the loop is native under
cpjit from its first call). Measure with callgrind and divide the instruction difference between
two N by the calls made (the start-up cost cancels). kinds: plain, method, defaults, kwargs,
bound (bound-method objects), varargs (callees with *args and **kwargs), polymorphic (one site, three callees), closure, builtin, init (class with a Python __init__),
cmethods (methods of built-in types, min/max), from_c (Python functions called by C code:
map() and a type slot, 10 per iteration), cold (see below), all (default).

cold: what calls between interpreted code cost under cpjit's PEP 523 hook (code below the
compile threshold). Run it with CPJIT_THRESHOLD=1000000000 so nothing compiles: its loop is in a
class body (never compiled) and calls run_cold_body, which makes the 10 calls; divide by 11
calls per iteration. With a hook installed CPython does not inline Python-to-Python calls, so
each one goes PyObject_Vectorcall -> _PyEval_Vector -> the hook -> _PyEval_EvalFrameDefault.
"""
import sys


def f0():
    return 1


def f2(a, b):
    return a


def fdef(a, b=2, c=3):
    return a


def fkw(a, b, *, c=1, d=2):
    return c


def fva(msg, *args, **kwargs):
    return msg


class C:
    __slots__ = ("x",)

    def __init__(self):
        self.x = 1

    def m0(self):
        return self.x

    def m1(self, a):
        return a

    def mva(self, msg, *args, **kwargs):
        return self.m1(msg)


class P:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def make_closure():
    k = 3

    def inner(a):
        return a + k

    return inner


def run_plain(n):
    for _ in range(n):
        f0(); f0(); f0(); f0(); f0()
        f2(1, 2); f2(1, 2); f2(1, 2); f2(1, 2); f2(1, 2)


def run_method(n):
    o = C()
    for _ in range(n):
        o.m0(); o.m0(); o.m0(); o.m0(); o.m0()
        o.m1(1); o.m1(1); o.m1(1); o.m1(1); o.m1(1)


def run_bound(n):
    o = C()
    f = o.m0
    g = o.m1
    for _ in range(n):
        f(); f(); f(); f(); f()
        g(1); g(1); g(1); g(1); g(1)


def run_defaults(n):
    for _ in range(n):
        fdef(1); fdef(1); fdef(1); fdef(1); fdef(1)
        fdef(1, 2); fdef(1, 2); fdef(1, 2); fdef(1, 2); fdef(1, 2)


def run_kwargs(n):
    for _ in range(n):
        fkw(1, 2, c=3); fkw(1, 2, c=3); fkw(1, 2, c=3); fkw(1, 2, c=3); fkw(1, 2, c=3)
        fdef(1, c=5); fdef(1, c=5); fdef(1, c=5); fdef(1, c=5); fdef(1, c=5)


def run_varargs(n):
    # Callees taking *args and **kwargs (logging's Logger.debug(self, msg, *args, **kwargs)),
    # called with positional arguments only: with no extra ones, and with two.
    o = C()
    for _ in range(n):
        fva(1); fva(1); fva(1, 2, 3); fva(1, 2, 3); fva(1)
        o.mva(1); o.mva(1); o.mva(1, 2, 3); o.mva(1, 2, 3); o.mva(1)


def run_polymorphic(n):
    # One call site, three Python functions in turn (a dispatch table's `copier(x, memo)`).
    fs = (f2, fdef, C().m1)
    for _ in range(n):
        for f in fs:
            f(1, 2) if f is not fs[2] else f(1)
        for f in fs:
            f(3, 4) if f is not fs[2] else f(3)


def run_closure(n):
    g = make_closure()
    for _ in range(n):
        g(1); g(1); g(1); g(1); g(1)
        g(2); g(2); g(2); g(2); g(2)


def run_builtin(n):
    lst = [1, 2, 3]
    o = C()
    for _ in range(n):
        len(lst); len(lst); isinstance(o, C); isinstance(o, C); type(o)
        lst.__len__(); abs(-1); abs(-1); min(1, 2); hash(o)


def run_init(n):
    for _ in range(n):
        P(1, 2); P(1, 2); P(1, 2); P(1, 2); P(1, 2)
        P(3, 4); P(3, 4); P(3, 4); P(3, 4); P(3, 4)


def run_methods_c(n):
    lst = []
    d = {}
    for _ in range(n):
        lst.append(1); lst.append(2); lst.pop(); lst.pop(); d.get(1)
        max(1, 2); min(3, 4); isinstance(lst, list); len(d); d.get(2, 3)


class Key:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return self.v == other.v


def run_from_c(n):
    # C code calling Python functions: map() calling f2 (five calls per map), list.count()
    # calling Key.__eq__ through the type slot (five comparisons per count).
    ones, twos = [1] * 5, [2] * 5
    keys, k = [Key(1)] * 5, Key(1)
    for _ in range(n):
        for _ in map(f2, ones, twos):
            pass
        keys.count(k)


def run_cold_body():
    f0(); f0(); f0(); f0(); f0()
    f2(1, 2); f2(1, 2); f2(1, 2); f2(1, 2); f2(1, 2)


def run_cold(n):
    class Loop:  # a class body: the loop stays in the interpreter
        for _ in range(n):
            run_cold_body()


KINDS = {
    "plain": run_plain,
    "method": run_method,
    "bound": run_bound,
    "defaults": run_defaults,
    "kwargs": run_kwargs,
    "varargs": run_varargs,
    "polymorphic": run_polymorphic,
    "closure": run_closure,
    "builtin": run_builtin,
    "init": run_init,
    "cmethods": run_methods_c,
    "from_c": run_from_c,
    "cold": run_cold,
}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    kind = sys.argv[2] if len(sys.argv) > 2 else "all"
    for name, fn in KINDS.items():
        if kind in ("all", name):
            fn(n)


main()
