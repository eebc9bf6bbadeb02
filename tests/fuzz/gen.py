"""Random, valid, deterministic Python 3.11 programs for differential fuzzing.

`generate(seed, index)` returns the source of program number `index` of a run seeded with
`seed`: the same pair always gives the same text. A program is a module that defines globals,
classes, context managers, generators and functions with randomly nested statements, then calls
each function from `main()` through `_show`, which prints what it returned or the exception it
raised (type, message and the traceback's line numbers in this file). Some programs end with an
uncaught exception, so that the interpreter's own traceback printing and exit status are
compared too.

Expressions are typed (int, float, str, bytes, bool, list of int, list of str, tuple, dict of
str to int, set of int, and instances of the program's classes) so that most code computes
values rather than raising TypeError; exceptions still arise naturally (division by zero, index
out of range, overflow, nan to int, ...) and deliberately (raise, throw, except*).

Programs must never depend on addresses (no id(), no default object repr), on time, or on
anything else that differs between runs: runs use PYTHONHASHSEED=0. Loops are bounded by
construction (for over small ranges, while loops with a counter decremented first thing) and
values that grow in loops only grow additively.

To add a construct: write a `_stmt_<name>(self, ctx)` method that emits lines with `self.emit`
(and returns nothing), add it with a weight to `STATEMENTS` (and to `_stmt_allowed` if it needs a
context such as a loop or a function), or add an expression form to the `_expr_<type>` method of
the type it produces. Keep it deterministic and bounded.
"""
from __future__ import annotations

import random

TYPES = ("int", "float", "str", "bytes", "bool", "li", "ls", "tup", "dsi", "si")
LOOP_SAFE_AUG = {"int": ("+=", "-=", "^=", "|=", "&=", "//=", "%="), "float": ("+=", "-=", "*=", "/=")}

INT_LITS = ("0", "1", "-1", "2", "3", "5", "7", "-7", "10", "255", "256", "-256", "1000",
            "2 ** 31", "2 ** 63", "-2 ** 63", "2 ** 64 + 1", "10 ** 20", "-(10 ** 30)",
            "12345678901234567890123", "0x7fffffff", "-0b1010", "True", "False", "I0(3)", "I0(-2 ** 64)",
            "2 ** 30 - 1", "2 ** 30", "-2 ** 30", "2 ** 62", "257", "-5", "-6", "sys.maxsize", "2 ** 53 + 1")
FLOAT_LITS = ("0.0", "-0.0", "1.5", "-2.25", "0.1", "1e300", "-1e-300", "3.141592653589793",
              "float('inf')", "float('-inf')", "float('nan')", "2.5e-5", "1e16", "-7.0", "F0(1.25)")
STR_LITS = ("''", "'a'", "'abc'", "'h\\xe9llo'", "'\\u20acuro'", "'x y z'", "'\\n'", "'tab\\t'",
            "'AbC'", "'123'", "'-4'", "'  pad  '", "'\\U0001f600'", "'a,b,,c'", "S0('sub')")
BYTES_LITS = ("b''", "b'ab'", "b'\\x00\\xff'", "b'xyz'", "bytes(range(5))", "b'A' * 3")
EXC_TYPES = ("ValueError", "TypeError", "KeyError", "IndexError", "ZeroDivisionError",
             "RuntimeError", "ArithmeticError", "LookupError", "E0", "E1")

LEAVES = {
    "int": INT_LITS, "float": FLOAT_LITS[:8] + FLOAT_LITS[11:], "str": STR_LITS, "bytes": BYTES_LITS, "bool": ("True", "False"),
    "li": ("[]", "[1, 2, 3]", "[-5, 0, 2 ** 65]", "list(range(4))", "[7]", "L0([3, 4, 5])"),
    "ls": ("[]", "['a', 'b']", "['x', 'yy', 'zzz']", "list('hey')"),
    "tup": ("()", "(1,)", "(1, 'a', 2.5)", "(None, True)"),
    "dsi": ("{}", "{'a': 1}", "{'a': 1, 'b': -2, 'c': 3}", "D0({'a': 5, 'abc': 6})"),
    "si": ("set()", "{1, 2, 3}", "{0, -1, 2 ** 70}"),
}

HELPERS = '''\
import sys
import traceback as _traceback


def _tb(e):
    # line and columns of each frame's instruction (co_positions at tb_lasti)
    return [(f.lineno, f.colno, f.end_colno) for f in _traceback.extract_tb(e.__traceback__) if f.filename == __file__]


def _show(tag, f, *a, **k):
    try:
        r = f(*a, **k)
    except Exception as e:
        print(tag, '!', type(e).__name__, str(e)[:200], _tb(e))
    else:
        print(tag, '=', repr(r)[:2000])


class E0(Exception):
    pass


class E1(E0, ValueError):
    def __init__(self, code):
        super().__init__(f'E1 code {code}')
        self.code = code


def _setg(name, value):
    globals()[name] = value
    return value


class _KS(str):
    # A __kwdefaults__ key that equals a parameter's name by its own __eq__, which runs Python
    # code (frames of its own) while a call binds that parameter's default.
    def __eq__(self, o):
        def deep(n):
            return deep(n - 1) if n else [n] * 3
        deep(6)
        return str.__eq__(self, o)
    __hash__ = str.__hash__


class I0(int):
    def __add__(self, o):
        return int(self) + int(o) + 1000
    __radd__ = __add__

    def __lt__(self, o):
        return int(self) > o


class F0(float):
    def __mul__(self, o):
        return float(self) * o * 2
    __rmul__ = __mul__

    def __sub__(self, o):
        return -1.5


class S0(str):
    def __add__(self, o):
        return str(self) + '+' + str(o)

    def __getitem__(self, i):
        return str.__getitem__(self, i) * 2


class L0(list):
    def __getitem__(self, i):
        r = list.__getitem__(self, i)
        return r * 2 if isinstance(i, int) else r


class D0(dict):
    def __missing__(self, k):
        return -1


class W:
    """Protocol methods that can fail or decline (NotImplemented), as `bad` says."""

    def __init__(self, v, bad=''):
        self.v = v
        self.bad = bad

    def __repr__(self):
        return f'W({self.v!r})'

    def __bool__(self):
        if 'bool' in self.bad:
            raise ValueError('bool')
        return bool(self.v)

    def __index__(self):
        if 'index' in self.bad:
            raise TypeError('index')
        return self.v

    def __eq__(self, o):
        if 'eq' in self.bad:
            raise KeyError('eq')
        return (o.v if isinstance(o, W) else o) == self.v

    def __hash__(self):
        if 'hash' in self.bad:
            raise RuntimeError('hash')
        return hash(self.v)

    def __iter__(self):
        for i in range(abs(self.v) % 5):
            if 'iter' in self.bad and i == 2:
                raise IndexError('iter')
            yield i

    def __len__(self):
        if 'len' in self.bad:
            return -1
        return abs(self.v) % 5

    def __add__(self, o):
        if isinstance(o, W):
            return W(self.v + o.v, self.bad)
        return NotImplemented

    def __radd__(self, o):
        if isinstance(o, int):
            return W(self.v + o, self.bad)
        return NotImplemented

    def __lt__(self, o):
        if isinstance(o, W):
            return self.v < o.v
        return NotImplemented


def _profiler(frame, event, arg):
    if event.startswith('c_') and frame.f_code.co_filename == __file__:
        _events.append((event, frame.f_code.co_name, frame.f_lineno, getattr(arg, '__name__', '?')))


_TW_ON = [0]


def _tw_switch():
    # Armed by the statement: the first protocol method an instruction runs switches tracing on
    # (1: a trace function, also on the frame that ran the instruction; 2: a profile function).
    how, _TW_ON[0] = _TW_ON[0], 0
    if how == 1:
        sys.settrace(_tracer)
        f = sys._getframe(2)
        if f.f_code.co_filename == __file__:
            f.f_trace = _tracer
    elif how == 2:
        sys.setprofile(_profiler)


def _tw_method(name):
    base = getattr(W, name)

    def method(self, *args):
        _tw_switch()
        return base(self, *args)
    method.__name__ = name
    return method


class TW(W):
    """W whose protocol methods, run implicitly by an instruction, may switch tracing on."""

    @property
    def p(self):
        _tw_switch()
        return self.v


for _name in ('__bool__', '__index__', '__eq__', '__hash__', '__iter__', '__len__', '__add__',
              '__radd__', '__lt__'):
    setattr(TW, _name, _tw_method(_name))


class _Aw:
    def __init__(self, v):
        self.v = v

    def __await__(self):
        x = yield self.v
        return (x or 0) + self.v


import types as _types
_M = _types.ModuleType('_M')
_M.x = 1
_M.f = abs


def _mread():
    t = 0
    for _ in range(3):
        t += getattr(_M, 'x', 0) if _ % 2 else _M.f(-2)
    return t


class _DescT:
    pass


class _DataD:
    def __get__(self, obj, owner):
        return lambda: 'DataD get'

    def __set__(self, obj, value):
        pass


class _Meta(type):
    ma = _DescT()


class _MC(metaclass=_Meta):
    ma = 'class ma'
    mb = 'class mb'

    def mm():
        return 'class mm'


def _mcread():
    out = []
    for _ in range(2):
        a, b, m = _MC.ma, _MC.mb, _MC.mm
        out.append((a() if callable(a) else a, b() if callable(b) else b, m() if callable(m) else m))
    return out


class _MetaH(type):
    def __getattr__(cls, name):
        return 'MetaH getattr ' + name


class _MH(metaclass=_MetaH):
    ha = 'class ha'
    hd = _DescT()


def _mhread():
    out = []
    for _ in range(2):
        a, b, d = _MH.ha, _MH.hb, _MH.hd
        out.append((a, b, d() if callable(d) else type(d).__name__))
    return out


import functools as _ft
import operator as _op


def _cof(a, b=1):
    if a == 13:
        raise ValueError('cof', a)
    return a * 2 + b


class _PSub(_ft.partial):
    pass


# callables that are C objects (no function, method, class, built-in function or descriptor)
_COBJS = [_ft.lru_cache(maxsize=4)(_cof), _ft.partial(_cof, b=3), _PSub(_cof), _op.itemgetter(0),
          _op.methodcaller('__add__', 1), _ft.partial(max, 0), _cof, len]


def _cocall(f, x):
    return f(x)


def _cocallkw(f, x):
    return f(x, b=x)


_events = []


def _stack():
    f = sys._getframe(1)
    out = []
    while f is not None:
        if f.f_code.co_filename == __file__:
            out.append((f.f_code.co_name, f.f_lineno))
        f = f.f_back
    return out


def _tracer(frame, event, arg):
    if frame.f_code.co_filename == __file__ and frame.f_code.co_name != '_tracer':
        _events.append((event[0], frame.f_code.co_name, frame.f_lineno))
    return _tracer


def _lasti():
    return sys._getframe(1).f_lasti


def _deep(n):
    try:
        len('a')
    except RecursionError:
        return ('c call', n)
    try:
        return _deep(n + 1)
    except RecursionError:
        return ('py call', n)


async def _agen(n):
    try:
        for i in range(n):
            x = await _Aw(i)
            yield x * 10
    finally:
        print('agen finally', n)


class _ACM:
    def __init__(self, tag, suppress):
        self.tag, self.suppress = tag, suppress

    async def __aenter__(self):
        await _Aw(self.tag)
        print('aenter', self.tag)
        return self.tag

    async def __aexit__(self, et, ev, tb):
        print('aexit', self.tag, et.__name__ if et else None)
        return self.suppress and et is not None and issubclass(et, Exception)


def _drive(coro, sends):
    out = []
    try:
        v = coro.send(None)
        for s in sends:
            out.append(v)
            v = coro.send(s)
        out.append(v)
    except StopIteration as e:
        out.append(('done', e.value))
    finally:
        coro.close()
    return out
'''


class _Block:
    __slots__ = ("gen",)

    def __init__(self, gen):
        self.gen = gen

    def __enter__(self):
        self.gen.indent += 1
        self.gen.push_scope()

    def __exit__(self, *exc):
        self.gen.indent -= 1
        self.gen.pop_scope()
        return False


class Ctx:
    """Where a statement is generated: what control flow is legal there."""

    coro = False                    # await allowed

    def __init__(self, func=None, loop=False, gen=False, except_star=False, ret="int", depth=0,
                 method=None):
        self.func = func            # name of the enclosing function, None at module level
        self.loop = loop            # break/continue allowed
        self.gen = gen              # yield allowed
        self.except_star = except_star  # break/continue/return forbidden (inside except*)
        self.ret = ret              # type returned by the enclosing function
        self.depth = depth
        self.method = method        # class name when generating a method body

    def child(self, **kw):
        c = Ctx(self.func, self.loop, self.gen, self.except_star, self.ret, self.depth + 1, self.method)
        c.coro = self.coro
        for k, v in kw.items():
            setattr(c, k, v)
        return c


class Func:
    def __init__(self, name, params, ret, kind="plain"):
        self.name = name
        self.params = params    # list of types of positional parameters
        self.ret = ret
        self.kind = kind
        self.cost = 1


class Gen:
    def __init__(self, rng: random.Random, size: int = 6, features=()):
        self.r = rng
        self.features = frozenset(f for f in features if f in FEATURES)
        self.focus = frozenset(f[6:] for f in features if f.startswith("focus:"))
        self.size = size
        self.lines: list[str] = []
        self.indent = 0
        self.counter = 0
        self.scopes: list[dict[str, str]] = [{}]
        self.by_type: dict[str, list] = {}
        self.boundary = 0                 # index of the innermost function's first scope
        self.loop_mult = 1                # how many times the code being generated may run
        self.cost = 0                     # estimated calls made by the function being generated
        self.funcs: list[Func] = []
        self.classes: list[str] = []      # instance types usable in expressions
        self.class_info: dict[str, dict] = {}
        self.gens: list[str] = []
        self.coros: list[str] = []
        self.cms: list[str] = []
        self.globals: list[str] = []      # int globals
        self.nonlocals: list[list[str]] = []  # per closure: outer int vars it may rebind
        self.budget = 0

    # ---- emission -------------------------------------------------------------------------
    def emit(self, line: str):
        self.lines.append("    " * self.indent + line)

    def fresh(self, prefix="v"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def block(self):
        return _Block(self)

    def push_scope(self):
        self.scopes.append({})

    def pop_scope(self):
        scope = self.scopes.pop()
        for name, typ in scope.items():
            self.by_type[typ].pop()

    def declare(self, name, typ):
        scope = self.scopes[-1]
        if name in scope:
            return
        scope[name] = typ
        self.by_type.setdefault(typ, []).append((name, len(self.scopes) - 1))

    def undeclare(self, name):
        typ = self.scopes[-1].pop(name)
        lst = self.by_type[typ]
        lst.remove((name, len(self.scopes) - 1))

    def vars_of(self, typ, local=False):
        lst = self.by_type.get(typ)
        if not lst:
            return ()
        if local:
            return [n for n, i in lst if i >= self.boundary]
        return [n for n, _ in lst]

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def small(self, lo=0, hi=4):
        return self.r.randint(lo, hi)

    # ---- expressions ----------------------------------------------------------------------
    max_depth = 2

    def expr(self, typ, depth=0):
        if typ in self.class_info:
            return self._expr_obj(typ, depth)
        names = self.vars_of(typ)
        if names and self.chance(0.45):
            return self.pick(names)
        if depth >= self.max_depth:
            return self._leaf(typ)
        return getattr(self, f"_expr_{typ}")(depth + 1)

    def _leaf(self, typ):
        names = self.vars_of(typ)
        if names and self.chance(0.6):
            return self.pick(names)
        return self.pick(LEAVES[typ])

    def _call_of(self, ret, depth):
        cands = [f for f in self.funcs if f.ret == ret and self.cost + f.cost * self.loop_mult <= 3000]
        if not cands:
            return None
        f = self.pick(cands)
        self.cost += f.cost * self.loop_mult
        args = [self.expr(t, depth + 1) for t in f.params]
        if f.kind == "rec":
            args[0] = str(self.small(0, 6))
        elif f.kind == "star":
            args += [self.expr("int", depth + 1) for _ in range(self.small(0, 3))]
        elif f.kind == "plain" and args and self.chance(0.3):
            # the last parameters by keyword, in either order
            j = self.small(0, len(args) - 1)
            kws = [f"a{i}={a}" for i, a in enumerate(args) if i >= j]
            self.r.shuffle(kws)
            args = args[:j] + kws
        return f"{f.name}({', '.join(args)})"

    def _expr_int(self, d):
        k = self.r.randint(0, 28)
        e = self.expr
        if k == 0:
            return self.pick(INT_LITS)
        if k <= 4:
            op = self.pick(('+', '-', '*', '//', '%', '&', '|', '^', '+', '-'))
            b = e('int', d)
            if op in ('//', '%') and self.chance(0.8):
                b = f"({b} or {self.small(1, 9)})"
            return f"({e('int', d)} {op} {b})"
        if k == 5:
            return f"({e('int', d)} {self.pick(('<<', '>>'))} {self.small(0, 70)})"
        if k == 6:
            return f"({e('int', d)} ** {self.small(0, 3)})"
        if k == 7:
            return f"{self.pick(('-', '~', '+'))}{e('int', d)}"
        if k == 8:
            return f"len({e(self.pick(('str', 'bytes', 'li', 'ls', 'dsi', 'tup', 'si')), d)})"
        if k == 9:
            return f"int({e('float', d)})"
        if k == 10:
            return f"({e('bytes', d)} + b'wxyz')[{e('int', d)} % 4]"
        if k == 11:
            return f"({e('li', d)} + [4, 5, 6])[{e('int', d)} % 3]"
        if k == 12:
            return f"({e('int', d)} if {e('bool', d)} else {e('int', d)})"
        if k == 13:
            c = self._call_of("int", d)
            return c or e("int", d)
        if k == 14:
            return f"{self.pick(('sum', 'len', 'min', 'max'))}({e('li', d)})"
        if k == 15:
            return f"divmod({e('int', d)}, {e('int', d)})[{self.small(0, 1)}]"
        if k == 16:
            return f"round({e('float', d)})"
        if k == 17:
            return f"ord(({e('str', d)})[:1] or 'z')"
        if k == 18:
            return f"({e('str', d)}).{self.pick(('find', 'count', 'rfind'))}({e('str', d)})"
        if k == 19:
            return f"({e('int', d)}).bit_length()"
        if k == 20:
            return f"abs({e('int', d)})"
        if k == 21:
            arg = self.pick(STR_LITS) if self.chance(0.2) else self.pick(("str(" + e("int", d) + ")", "'12'", "' -3 '", "'1_000'"))
            return f"int({arg})"
        if k == 22:
            if self.chance(0.5):
                return f"D0({e('dsi', d)})[{e('str', d)}]"
            return f"({e('dsi', d)}).get({e('str', d)}, {e('int', d)})"
        if k == 23 and self.classes:
            c = self.pick(self.classes)
            return f"{self._expr_obj(c, d)}.{self.pick(('a', 'p', 'm(' + e('int', d) + ')', 'sm(' + e('int', d) + ')'))}"
        if k == 24:
            return f"max({e('int', d)}, {e('int', d)}, key=abs)"
        if k == 25 and self.globals:
            return self.pick(self.globals)
        if k == 26:
            return f"sum(x * {self.small(1, 3)} for x in {e('li', d)} if x % 2)"
        if k == 27:
            if self.chance(0.5):
                return f"(lambda x, y=2: x * y - 1)({e('int', d)})"
            return f"({e('li', d)})[{self.pick(('-1', '0', '1', '-2'))}]"
        if k == 28:
            return f"(float({e('int', d)}) == {e('int', d)})"
        return self._leaf("int")

    def _expr_float(self, d):
        k = self.r.randint(0, 12)
        e = self.expr
        if k == 0:
            return self.pick(FLOAT_LITS if self.chance(0.3) else FLOAT_LITS[:10])
        if k <= 4:
            a, b = e(self.pick(("float", "int", "float")), d), e(self.pick(("float", "int")), d)
            return f"({a} {self.pick(('+', '-', '*', '/', '//', '%'))} {b})"
        if k == 5:
            return f"({e('float', d)} ** {self.pick(('2', '0.5', '-1', '3', '0'))})"
        if k == 6:
            return f"float({e('int', d)})"
        if k == 7:
            return f"{self.pick(('-', 'abs', '+'))}({e('float', d)})"
        if k == 8:
            return f"round({e('float', d)}, {self.small(0, 3)})"
        if k == 9:
            return f"math.{self.pick(('sqrt', 'floor', 'fabs', 'exp', 'log1p'))}({e('float', d)}) * 1.0"
        if k == 10:
            return f"math.copysign({e('float', d)}, {e('float', d)})"
        if k == 11:
            return f"({e('int', d)} / {e('int', d)})"
        if k == 12:
            return f"({e('float', d)} if {e('bool', d)} else {e('float', d)})"
        return self._leaf("float")

    def _expr_str(self, d):
        k = self.r.randint(0, 16)
        e = self.expr
        if k == 0:
            return self.pick(STR_LITS)
        if k <= 2:
            return f"({e('str', d)} + {e('str', d)})"
        if k == 3:
            return f"({e('str', d)} * {self.small(0, 3)})"
        if k == 4:
            parts = [self.pick(("", e('int', d), "-" + str(self.small(1, 3)))) for _ in range(3)]
            if parts[2] == "0":
                parts[2] = "1"
            return f"({e('str', d)})[{parts[0]}:{parts[1]}:{parts[2] or ''}]"
        if k == 5:
            return f"str({e(self.pick(('int', 'float', 'bool', 'li', 'tup')), d)})"
        if k == 6:
            return f"repr({e(self.pick(('str', 'bytes', 'float', 'dsi', 'ls')), d)})"
        if k == 7:
            spec = self.pick(("", ":>6", ":x", ":08b", ":,", ":+d", "!r"))
            fspec = self.pick(("", ":.3f", ":e", ":g", ":>10.2f", "!r", ":%"))
            return f"f'<{{{self._fexpr('int')}{spec}}}|{{{self._fexpr('float')}{fspec}}}|{{{self._fexpr('str')}!s:^5}}>'"
        if k == 8:
            return f"({e('str', d)}).{self.pick(('upper', 'lower', 'strip', 'title', 'swapcase', 'casefold'))}()"
        if k == 9:
            sep = self.pick(('","', '""', '"-"'))
            return f"{sep}.join({e('ls', d)})"
        if k == 10:
            return f"({e('str', d)}).replace({e('str', d)}, {e('str', d)})"
        if k == 11:
            return f"chr({self.small(32, 126)} + {e('int', d)} % 1000)"
        if k == 12:
            return f"'%s:%d:%.2f' % ({e('str', d)}, {e('int', d)}, {e('float', d)})"
        if k == 13:
            spec = self.pick(('"x"', '"o"', '"b"', '""', '"_"'))
            return f"format({e('int', d)}, {spec})"
        if k == 14:
            return f"({e('bytes', d)}).hex()"
        if k == 15:
            return f"({e('bytes', d)}).decode('latin-1')"
        if k == 16 and self.classes:
            return f"repr({self._expr_obj(self.pick(self.classes), d)})"
        return self._leaf("str")

    def _fexpr(self, typ):
        """An expression usable inside an f-string's braces (3.11: no quotes, no backslashes)."""
        for _ in range(4):
            x = self.expr(typ, 2)
            if "'" not in x and '"' not in x and "\\" not in x and "{" not in x and "!=" not in x:
                return x
        return {"int": "7", "float": "2.5", "str": "str(7)"}[typ]

    def _expr_bytes(self, d):
        k = self.r.randint(0, 6)
        e = self.expr
        if k == 0:
            return self.pick(BYTES_LITS)
        if k == 1:
            return f"({e('bytes', d)} + {e('bytes', d)})"
        if k == 2:
            return f"({e('bytes', d)})[{self.pick(('', '1', '-2'))}:{self.pick(('', '3', '-1'))}]"
        if k == 3:
            enc = self.pick(('', '"utf-8"', '"latin-1"'))
            return f"({e('str', d)}).encode({enc})"
        if k == 4:
            return f"bytes([x % 256 for x in {e('li', d)}])"
        if k == 5:
            return f"({e('bytes', d)} * {self.small(0, 2)})"
        if k == 6:
            return f"bytes(reversed({e('bytes', d)}))"
        return self._leaf("bytes")

    def _expr_bool(self, d):
        k = self.r.randint(0, 10)
        e = self.expr
        if k <= 3:
            t = self.pick(("int", "float", "int", "str", "bytes", "li", "tup"))
            ops = ("<", "<=", "==", "!=", ">", ">=") if t != "tup" else ("==", "!=")
            return f"({e(t, d)} {self.pick(ops)} {e(t if t != 'float' else self.pick(('int', 'float')), d)})"
        if k == 4:
            return f"({e('int', d)} in {e(self.pick(('li', 'si')), d)})"
        if k == 5:
            return f"({e('str', d)} in {e(self.pick(('str', 'dsi', 'ls')), d)})"
        if k == 6:
            return f"(not {e('bool', d)})"
        if k == 7:
            return f"({e('bool', d)} {self.pick(('and', 'or'))} {e('bool', d)})"
        if k == 8:
            return f"({e('int', d)} < {e('int', d)} <= {e('int', d)})"
        if k == 9:
            return f"bool({e(self.pick(('int', 'float', 'str', 'li', 'dsi')), d)})"
        if k == 10:
            return f"isinstance({e(self.pick(TYPES), d)}, {self.pick(('int', 'str', '(float, bytes)', 'list', 'object'))})"
        return self._leaf("bool")

    def _expr_li(self, d):
        k = self.r.randint(0, 12)
        e = self.expr
        if k == 0:
            return f"[{', '.join(e('int', d) for _ in range(self.small(0, 3)))}]"
        if k == 1:
            v = self.fresh("c")
            cond = self.pick(("", f" if {v} % 2", f" if {v} > 1", f" if not {v} & 1"))
            return f"[{v} * {self.small(-2, 3)} + {self.small(0, 4)} for {v} in range({self.small(0, 6)}){cond}]"
        if k == 2:
            return f"list(range({self.small(-3, 3)}, {self.small(0, 9)}, {self.pick(('1', '2', '3', '-1'))}))"
        if k == 3:
            return f"sorted({e('li', d)}, reverse={self.pick(('True', 'False'))})"
        if k == 4:
            return f"({e('li', d)})[{self.pick(('1:', ':-1', '::2', '::-1', '1:3', ':'))}]"
        if k == 5:
            return f"({e('li', d)} + {e('li', d)})"
        if k == 6:
            return f"({e('li', d)} * {self.small(0, 2)})"
        if k == 7:
            return f"[*{e('li', d)}, {e('int', d)}, *{e('li', d)}]"
        if k == 8:
            return f"list(map(lambda q: q {self.pick(('+', '*', '-', '%'))} {self.small(1, 5)}, {e('li', d)}))"
        if k == 9:
            return f"[len(w) for w in {e('ls', d)}]"
        if k == 10:
            return f"list({e('bytes', d)})"
        if k == 11:
            return f"[a * b for a in {e('li', d)} for b in range({self.small(0, 3)}) if a != b]"
        if k == 12:
            return f"list({e('si', d)})"
        return self._leaf("li")

    def _expr_ls(self, d):
        k = self.r.randint(0, 5)
        e = self.expr
        if k == 0:
            return f"[{', '.join(e('str', d) for _ in range(self.small(0, 3)))}]"
        if k == 1:
            sep = self.pick(('', '","', '"b"'))
            return f"({e('str', d)}).split({sep})"
        if k == 2:
            return f"[str(x) for x in {e('li', d)}]"
        if k == 3:
            return f"sorted({e('ls', d)})"
        if k == 4:
            return f"list({e('str', d)})"
        if k == 5:
            return f"list({e('dsi', d)})"
        return self._leaf("ls")

    def _expr_tup(self, d):
        k = self.r.randint(0, 4)
        e = self.expr
        if k == 0:
            return f"({e(self.pick(TYPES), d)}, {e(self.pick(TYPES), d)})"
        if k == 1:
            return f"tuple({e('li', d)})"
        if k == 2:
            return f"divmod({e(self.pick(('int', 'float')), d)}, {e(self.pick(('int', 'float')), d)})"
        if k == 3:
            return f"(*{e('ls', d)}, {e('int', d)})"
        if k == 4:
            return f"tuple(sorted(({e('dsi', d)}).items()))"
        return self._leaf("tup")

    def _expr_dsi(self, d):
        k = self.r.randint(0, 5)
        e = self.expr
        if k == 0:
            return "{" + ", ".join(f"{e('str', d)}: {e('int', d)}" for _ in range(self.small(0, 3))) + "}"
        if k == 1:
            return f"{{w: len(w) for w in {e('ls', d)}}}"
        if k == 2:
            return f"dict(zip({e('ls', d)}, {e('li', d)}))"
        if k == 3:
            return f"{{**{e('dsi', d)}, {e('str', d)}: {e('int', d)}}}"
        if k == 4:
            return f"({e('dsi', d)} | {e('dsi', d)})"
        if k == 5:
            return f"dict.fromkeys({e('ls', d)}, {e('int', d)})"
        return self._leaf("dsi")

    def _expr_si(self, d):
        k = self.r.randint(0, 3)
        e = self.expr
        if k == 0:
            return f"set({e('li', d)})"
        if k == 1:
            return f"({e('si', d)} {self.pick(('|', '&', '-', '^'))} {e('si', d)})"
        if k == 2:
            return f"{{x % {self.small(2, 5)} for x in {e('li', d)}}}"
        return self._leaf("si")

    def _expr_obj(self, cls, d):
        names = self.vars_of(cls)
        if names and self.chance(0.6):
            return self.pick(names)
        info = self.class_info[cls]
        args = [self.expr("int", d + 1), self.expr("str", d + 1)] + ([self.expr("int", d + 1)] if info["extra"] else [])
        return f"{cls}({', '.join(args)})"

    # ---- statements -------------------------------------------------------------------------
    STATEMENTS = (
        ("assign", 10), ("aug", 5), ("print", 8), ("if", 5), ("for", 5), ("while", 2), ("try", 6),
        ("except_star", 2), ("with", 3), ("closure", 2), ("match", 3), ("call", 4),
        ("global", 3), ("mutate", 4), ("raise", 2), ("return", 2), ("break", 3), ("continue", 2),
        ("yield", 6), ("unpack", 2), ("assert", 1), ("gen_use", 3), ("obj", 4), ("del", 1),
        ("walrus", 1), ("builtin_shadow", 1), ("class_mutate", 1), ("star_call", 2), ("await", 6),
        ("late_binding", 1), ("lasti", 2), ("deep", 1), ("flood", 1), ("module_attr", 2),
        ("class_swap", 1), ("exc_info", 1), ("str_concat", 2), ("trace", 1), ("frame", 1),
        ("gen_multi", 2), ("stack", 1), ("local_class", 2), ("del_global", 1), ("async_for", 4),
        ("mutate_iter", 2), ("protocol", 4), ("meta_attr", 1), ("c_object", 1),
        ("trace_implicit", 1), ("float_attr", 3),
    )

    def _stmt_allowed(self, name, ctx):
        if name in ("break", "continue"):
            return ctx.loop and not ctx.except_star
        if name == "return":
            return ctx.func is not None and not ctx.except_star
        if name == "yield":
            return ctx.gen
        if name in ("await", "async_for"):
            return ctx.coro
        if name in ("lasti", "deep"):
            return name in self.features
        if name in ("closure",):
            return ctx.depth < 2 and ctx.func is not None and not ctx.gen and not ctx.coro
        if name in ("if", "for", "while", "try", "except_star", "with", "match"):
            return ctx.depth < 3
        if name == "class_mutate":
            return bool(self.classes)
        return True

    def stmts(self, ctx, n):
        for _ in range(n):
            self.stmt(ctx)

    def stmt(self, ctx):
        self.budget -= 1
        choices = [(n, w * (10 if n in self.focus else 1)) for n, w in self.STATEMENTS if self._stmt_allowed(n, ctx)]
        if self.budget < 0:
            choices = [(n, w) for n, w in choices if n in ("assign", "print", "aug", "mutate")]
        total = sum(w for _, w in choices)
        x = self.r.uniform(0, total)
        for n, w in choices:
            x -= w
            if x <= 0:
                break
        getattr(self, f"_stmt_{n}")(ctx)

    def body(self, ctx, lo=1, hi=3):
        n = self.small(lo, hi)
        before = len(self.lines)
        self.stmts(ctx, n)
        if len(self.lines) == before:
            self.emit("pass")

    def _stmt_assign(self, ctx):
        typ = self.pick(TYPES + tuple(self.classes))
        name = self.fresh()
        self.emit(f"{name} = {self.expr(typ)}")
        self.declare(name, typ)

    def _stmt_aug(self, ctx):
        typ = self.pick(("int", "float", "str", "li"))
        names = self.vars_of(typ, local=True)
        if not names:
            return self._stmt_assign(ctx)
        name = self.pick(names)
        if typ in LOOP_SAFE_AUG:
            ops = LOOP_SAFE_AUG[typ] + (() if ctx.loop else ("*=",))
            self.emit(f"{name} {self.pick(ops)} {self.expr(typ if typ == 'int' else self.pick(('int', 'float')))}")
        elif typ == "str":
            self.emit(f"{name} += ({self.expr('str')})[:8]")
        elif self.chance(0.5):
            # An item updated in place (`c[i] op= v`: BINARY_OP, SWAP 3, SWAP 2, STORE_SUBSCR).
            ops = ("+=", "-=", "/=") + (() if ctx.loop else ("*=",))
            self.emit(f"if {name}: {name}[({self.expr('int')}) % len({name})] {self.pick(ops)} "
                      f"{self.expr(self.pick(('int', 'float')))}")
        else:
            self.emit(f"{name} += ({self.expr('li')})[:3]")

    def _stmt_print(self, ctx):
        typ = self.pick(TYPES + tuple(self.classes))
        tag = self.fresh("p")
        self.emit(f"print({tag!r}, {self.expr(typ)})")

    def _stmt_if(self, ctx):
        self.emit(f"if {self.expr('bool')}:")
        with self.block():
            self.body(ctx.child())
        for _ in range(self.small(0, 1)):
            self.emit(f"elif {self.expr('bool')}:")
            with self.block():
                self.body(ctx.child())
        if self.chance(0.5):
            self.emit("else:")
            with self.block():
                self.body(ctx.child())

    def _stmt_for(self, ctx):
        self.loop_mult *= 6
        try:
            self._for(ctx)
        finally:
            self.loop_mult //= 6

    def _for(self, ctx):
        v = self.fresh("i")
        kind = self.small(0, 6)
        if kind == 0:
            it, vt = f"range({self.small(0, 4)})", "int"
        elif kind == 1:
            it, vt = f"({self.expr('li')})[:4]", "int"
        elif kind == 2:
            it, vt = f"({self.expr('str')})[:4]", "str"
        elif kind == 3:
            it, vt = f"({self.expr('bytes')})[:4]", "int"
        elif kind == 4:
            it, vt = f"range({self.small(-2, 2)}, {self.small(0, 5)}, {self.pick(('1', '2', '-1'))})", "int"
        elif kind == 5:
            k = self.fresh("k")
            self.emit(f"for {k}, {v} in list(({self.expr('dsi')}).items())[:4]:")
            with self.block():
                self.declare(k, "str")
                self.declare(v, "int")
                self.body(ctx.child(loop=True), 1, 4)
            return self._for_else(ctx)
        else:
            k = self.fresh("k")
            self.emit(f"for {k}, {v} in enumerate(zip(({self.expr('ls')})[:3], range(3))):")
            with self.block():
                self.declare(k, "int")
                self.declare(v, "tup")
                self.body(ctx.child(loop=True), 1, 4)
            return self._for_else(ctx)
        self.emit(f"for {v} in {it}:")
        with self.block():
            self.declare(v, vt)
            self.body(ctx.child(loop=True), 1, 4)
        self._for_else(ctx)

    def _for_else(self, ctx):
        if self.chance(0.3):
            self.emit("else:")
            with self.block():
                self.body(ctx.child(), 1, 2)

    def _stmt_while(self, ctx):
        self.loop_mult *= 5
        try:
            self._while(ctx)
        finally:
            self.loop_mult //= 5

    def _while(self, ctx):
        w = self.fresh("_w")
        self.emit(f"{w} = {self.small(0, 4)}")
        cond = self.pick((f"{w} > 0", f"{w} > 0 and {self.expr('bool')}", f"{w}"))
        self.emit(f"while {cond}:")
        with self.block():
            self.emit(f"{w} -= 1")
            self.body(ctx.child(loop=True), 1, 3)
        self._for_else(ctx)

    def _handler_type(self):
        k = self.small(0, 4)
        if k == 0:
            return "Exception"
        if k == 1:
            return f"({self.pick(EXC_TYPES)}, {self.pick(EXC_TYPES)})"
        return self.pick(EXC_TYPES)

    def _stmt_try(self, ctx):
        self.emit("try:")
        with self.block():
            self.body(ctx.child(), 1, 3)
            if self.chance(0.3):
                self._stmt_raise(ctx)
        nh = self.small(0 if True else 1, 2)
        has_finally = self.chance(0.5)
        if nh == 0 and not has_finally:
            nh = 1
        for _ in range(nh):
            if self.chance(0.7):
                ev = self.fresh("e")
                self.emit(f"except {self._handler_type()} as {ev}:")
                with self.block():
                    self.emit(f"print({ev + '!'!r}, type({ev}).__name__, {ev}, _tb({ev}))")
                    self.body(ctx.child(), 0, 2)
                    if self.chance(0.15):
                        self.emit("raise")
            else:
                self.emit(f"except {self._handler_type()}:")
                with self.block():
                    self.body(ctx.child(), 1, 2)
        if nh and self.chance(0.3):
            self.emit("else:")
            with self.block():
                self.body(ctx.child(), 1, 2)
        if has_finally:
            self.emit("finally:")
            with self.block():
                self.emit(f"print({self.fresh('fin')!r})")
                self.body(ctx.child(), 0, 2)

    def _stmt_except_star(self, ctx):
        self.emit("try:")
        with self.block():
            self.body(ctx.child(), 0, 2)
            k = self.small(0, 2)
            if k == 0:
                subs = ", ".join(f"{self.pick(EXC_TYPES[:6])}({self.expr('int')})" for _ in range(self.small(1, 3)))
                self.emit(f"raise ExceptionGroup({self.expr('str')}, [{subs}])")
            elif k == 1:
                self.emit(f"raise {self.pick(EXC_TYPES[:6])}({self.expr('str')})")
        for _ in range(self.small(1, 2)):
            ev = self.fresh("eg")
            self.emit(f"except* {self._handler_type()} as {ev}:")
            with self.block():
                self.emit(f"print({ev!r}, repr({ev}.exceptions)[:300])")
                self.body(ctx.child(except_star=True), 0, 2)
        if self.chance(0.3):
            self.emit("finally:")
            with self.block():
                self.emit(f"print({self.fresh('fin')!r})")

    def _stmt_with(self, ctx):
        if not self.cms:
            return self._stmt_print(ctx)
        items = []
        for _ in range(self.small(1, 2)):
            cm = self.pick(self.cms)
            v = self.fresh("cm")
            items.append((f"{cm}({self.small(0, 9)}, {self.pick(('True', 'False'))})", v))
        self.emit(f"with {', '.join(f'{c} as {v}' for c, v in items)}:")
        with self.block():
            for _, v in items:
                self.declare(v, "int")
            self.body(ctx.child(), 1, 3)
            if self.chance(0.3):
                self._stmt_raise(ctx)

    def _stmt_closure(self, ctx):
        outer = self.vars_of("int")
        name = self.fresh("cl")
        cell = self.fresh("cell")
        self.emit(f"{cell} = {self.expr('int')}")
        self.declare(cell, "int")
        self.emit(f"def {name}(x, *rest, k={self.small(0, 5)}):")
        saved_boundary = self.boundary
        with self.block():
            self.boundary = len(self.scopes) - 1
            self.emit(f"nonlocal {cell}")
            self.declare("x", "int")
            self.declare("k", "int")
            self.emit(f"{cell} += x + k + len(rest)")
            if outer and self.chance(0.5):
                self.emit(f"print({name!r}, {self.pick(outer)})")
            self.body(Ctx(func=name, ret="int", depth=ctx.depth + 1), 0, 2)
            self.emit(f"return {cell} * 2")
        self.boundary = saved_boundary
        args = [self.expr("int")] + [self.expr("int") for _ in range(self.small(0, 2))]
        kw = f", k={self.expr('int')}" if self.chance(0.4) else ""
        self.emit(f"print({name!r}, {name}({', '.join(args)}{kw}), {cell})")

    def _stmt_match(self, ctx):
        typ = self.pick(("int", "str", "li", "dsi", "tup") + tuple(self.classes[:1]))
        self.emit(f"match {self.expr(typ)}:")
        with self.block():
            if typ == "int":
                cases = [(f"{self.small(0, 3)} | {self.small(4, 7)}", ()), ("-1", ()),
                         (f"int(cn) if cn > {self.small(0, 9)}", ("cn",)), ("cn if cn % 2", ("cn",))]
            elif typ == "str":
                cases = [("'abc' | 'a'", ()), ("str(s) if len(s) > 2", ("s",)), ("''", ())]
            elif typ == "li":
                cases = [("[]", ()), ("[x]", ("x",)), ("[x, y, *rest]", ("x", "y", "rest")),
                         ("[0, *_]", ()), ("list() as lst", ("lst",))]
            elif typ == "dsi":
                cases = [("{'a': 1}", ()), ("{'a': x, **rest}", ("x", "rest")),
                         ("{'b': int(x)} if x > 0", ("x",)), ("{}", ())]
            elif typ == "tup":
                cases = [("()", ()), ("(x,)", ("x",)), ("(1, str(s), *_)", ("s",)), ("(None, True)", ()),
                         ("tuple(t)", ("t",))]
            else:
                cases = [(f"{typ}(a=0)", ()), (f"{typ}(int(x), str(s)) if x > 0", ("x", "s")),
                         (f"{typ}(b='abc')", ())]
            self.r.shuffle(cases)
            for pat, caps in cases[: self.small(1, len(cases))]:
                self.emit(f"case {pat}:")
                with self.block():
                    self.emit(f"print('case', {pat!r}, {', '.join(caps) if caps else 'None'})")
                    self.body(ctx.child(), 0, 1)
            if self.chance(0.6):
                self.emit("case _:")
                with self.block():
                    self.emit("print('case _')")

    def _stmt_call(self, ctx):
        c = self._call_of(self.pick(("int", "str", "li")), 0)
        if c is None:
            return self._stmt_print(ctx)
        self.emit(f"print({self.fresh('call')!r}, {c})")

    def _stmt_star_call(self, ctx):
        if not any(f.kind == "kw" for f in self.funcs):
            return self._stmt_call(ctx)
        f = self.pick([f for f in self.funcs if f.kind == "kw"])
        k = self.small(0, 7)
        e = self.expr
        if k == 0:
            args = f"*{e('li')}, c={e('int')}"
        elif k == 1:
            args = f"{e('int')}, {e('int')}, *{e('li')}, c={e('int')}, **{e('dsi')}"
        elif k == 2:
            args = f"**{{'a': {e('int')}, 'c': {e('int')}}}"
        elif k == 3:
            args = f"{e('int')}, c={e('int')}, d={e('int')}, zz={e('int')}"
        elif k == 4:
            args = f"*({e('int')}, {e('int')}, {e('int')}), **{{'c': {e('int')}}}"
        elif k == 5:
            args = f"{e('int')}"
        else:
            # __kwdefaults__ changed before a call that takes d from it: mutated in place,
            # replaced, keyed by a str subclass whose __eq__ runs code, or d removed (the call
            # then raises TypeError)
            kd = f"{f.name}.__kwdefaults__"
            self.emit(self.pick((f"{kd}['d'] = {e('int')}", f"{kd} = {{'d': {e('int')}}}",
                                 f"{kd} = {{_KS('d'): {e('int')}}}",
                                 f"{kd} = dict({kd} or {{}}, d={e('int')})",
                                 f"({kd} or {{}}).pop('d', None)")))
            self.emit("try:")
            with self.block():
                self.emit(f"print({self.fresh('kwd')!r}, {f.name}({e('int')}, c={e('int')}))")
            self.emit("except TypeError as _e:")
            with self.block():
                self.emit("print('kwd TypeError', _e)")
            return
        self.emit(f"print({self.fresh('kw')!r}, {f.name}({args}))")

    def _stmt_global(self, ctx):
        if not self.globals:
            return self._stmt_print(ctx)
        g = self.pick(self.globals)
        k = self.small(0, 2)
        if ctx.func is None or k == 0:
            self.emit(f"_setg({g!r}, {self.expr('int')} % 1000)")
        elif k == 1:
            self.emit(f"globals()[{g!r}] = {g} + {self.small(1, 9)}")
        else:
            self.emit(f"print({self.fresh('g')!r}, {g}, _setg({g!r}, {g} - 1), {g})")

    def _stmt_mutate(self, ctx):
        k = self.small(0, 6)
        lists = self.vars_of("li")
        dicts = self.vars_of("dsi")
        if k <= 2 and lists:
            l = self.pick(lists)
            op = self.pick((f"{l}.append({self.expr('int')})", f"{l}.insert({self.small(-2, 3)}, {self.expr('int')})",
                            f"{l}[{self.small(-2, 2)}] = {self.expr('int')}", f"del {l}[{self.small(-2, 2)}]",
                            f"{l}[{self.small(0, 2)}:{self.small(1, 3)}] = ({self.expr('li')})[:3]",
                            f"{l}.sort(key=lambda q: -q)", f"{l}.reverse()", f"print({l}.pop())",
                            f"{l}.extend(({self.expr('li')})[:2])", f"{l}.remove({self.expr('int')})"))
            self.emit(op)
        elif k <= 4 and dicts:
            d = self.pick(dicts)
            op = self.pick((f"{d}[{self.expr('str')}] = {self.expr('int')}", f"del {d}[{self.expr('str')}]",
                            f"print({d}.pop({self.expr('str')}, None))", f"{d}.update({self.expr('dsi')})",
                            f"print({d}.setdefault({self.expr('str')}, {self.expr('int')}))"))
            self.emit(op)
        else:
            s = self.vars_of("si")
            if s:
                self.emit(self.pick((f"{self.pick(s)}.add({self.expr('int')})", f"{self.pick(s)}.discard({self.expr('int')})",
                                     f"{self.pick(s)} |= {self.expr('si')}")))
            else:
                self._stmt_assign(ctx)

    def _stmt_raise(self, ctx):
        k = self.small(0, 4)
        if k == 0:
            self.emit(f"raise E1({self.expr('int')})")
        elif k == 1:
            self.emit(f"raise {self.pick(EXC_TYPES[:6])}({self.expr('str')}) from None")
        elif k == 2:
            self.emit(f"if {self.expr('bool')}:")
            with self.block():
                self.emit(f"raise {self.pick(EXC_TYPES[:6])}({self.expr('int')})")
        elif k == 3:
            self.emit(f"raise E0({self.expr('str')}) from {self.pick(EXC_TYPES[:6])}('cause')")
        else:
            self.emit(f"{self.expr('int')} // 0")

    def _stmt_return(self, ctx):
        self.emit(f"if {self.expr('bool')}:")
        with self.block():
            self.emit(f"return {self.expr(ctx.ret)}")

    def _stmt_break(self, ctx):
        self.emit(f"if {self.expr('bool')}:")
        with self.block():
            self.emit("break")

    def _stmt_continue(self, ctx):
        self.emit(f"if {self.expr('bool')}:")
        with self.block():
            self.emit("continue")

    def _stmt_yield(self, ctx):
        k = self.small(0, 3)
        if k == 0:
            v = self.fresh("y")
            self.emit(f"{v} = (yield {self.expr('int')}) or 0")
            self.declare(v, "int")
        elif k == 1 and self.gens and ctx.func not in self.gens:
            v = self.fresh("yf")
            self.emit(f"{v} = yield from {self.pick(self.gens)}({self.small(0, 3)})")
            self.emit(f"print({v!r}, {v})")
        elif k == 2:
            self.emit(f"yield from ({self.expr('li')})[:3]")
        else:
            self.emit(f"yield {self.expr('int')}")

    def _stmt_await(self, ctx):
        v = self.fresh("aw")
        if self.coros and ctx.func not in self.coros and self.chance(0.3):
            self.emit(f"{v} = await {self.pick(self.coros)}({self.small(0, 3)})")
        else:
            self.emit(f"{v} = await _Aw({self.expr('int')})")
        self.declare(v, "int")

    def _stmt_late_binding(self, ctx):
        v = self.fresh("fs")
        self.emit(f"{v} = [lambda: i * {self.small(1, 4)} for i in range({self.small(0, 4)})]")
        self.emit(f"print({v!r}, [f() for f in {v}])")
        w = self.fresh("fs")
        self.emit(f"{w} = [lambda i=i: i - {self.small(0, 4)} for i in {self.expr('li')}[:3]]")
        self.emit(f"print({w!r}, [f() for f in {w}])")

    def _stmt_flood(self, ctx):
        # many new globals (the globals dict's keys are rebuilt), then one that code reads changes
        self.emit(f"for _fi in range({self.pick(('3', '40', '200'))}):")
        self.emit(f"    globals()['_flood%d' % _fi] = _fi")
        if self.globals:
            g = self.pick(self.globals)
            self.emit(f"_setg({g!r}, {self.expr('int')} % 100)")
            self.emit(f"print('flood', {g}, _useg_{g}())")
        if self.chance(0.5):
            self.emit(f"for _fi in range({self.pick(('3', '40'))}):")
            self.emit(f"    globals().pop('_flood%d' % _fi, None)")

    def _stmt_module_attr(self, ctx):
        k = self.small(0, 4)
        if k == 0:
            self.emit(f"_M.x = {self.expr('int')}")
        elif k == 1:
            self.emit("try:")
            self.emit("    del _M.x")
            self.emit("except AttributeError as e:")
            self.emit("    print('modattr', e)")
        elif k == 2:
            self.emit(f"_M.f = lambda v: v * {self.small(1, 5)}")
        self.emit(f"print('mod', getattr(_M, 'x', None), _M.f({self.expr('int')}), _mread())")

    def _stmt_meta_attr(self, ctx):
        # class attributes read through a metaclass while what the metaclass holds under the
        # same names changes without any version of the class or the metaclass changing: the
        # type of the metaclass's attribute gains or loses __get__/__set__, or the attribute gets
        # another __class__; and while the metaclass gains and loses a property
        k = self.small(0, 10)
        if k == 0:
            self.emit("_DescT.__get__ = lambda s, o, t: (lambda: 'DescT get')")
        elif k == 1:
            self.emit("_DescT.__set__ = lambda s, o, v: None")
        elif k == 2:
            self.emit("for _n in ('__get__', '__set__'):")
            self.emit("    if _n in _DescT.__dict__:")
            self.emit("        delattr(_DescT, _n)")
        elif k == 3:
            self.emit(f"_Meta.ma.__class__ = {self.pick(('_DataD', '_DescT'))}")
        elif k == 4:
            self.emit(f"_Meta.mb = property(lambda c: {self.expr('str')})")
        elif k == 5:
            self.emit("if 'mb' in _Meta.__dict__:")
            self.emit("    del _Meta.mb")
        elif k == 6:
            self.emit(f"_MC.mb = {self.expr('str')}")
        elif k == 7:
            self.emit(f"_MH.{self.pick(('ha', 'hb'))} = {self.expr('str')}")
        elif k == 8:
            self.emit(f"for _n in ('ha', 'hb'):")
            self.emit("    if _n in _MH.__dict__:")
            self.emit("        delattr(_MH, _n)")
        elif k == 9:
            self.emit("_MetaH.__getattribute__ = lambda c, n: 'MetaH getattribute ' + n")
        else:
            self.emit("if '__getattribute__' in _MetaH.__dict__:")
            self.emit("    del _MetaH.__getattribute__")
        self.emit("print('meta', _mcread(), _MC.ma if isinstance(_MC.ma, str) else _MC.ma())")
        self.emit("print('metah', _mhread())")

    def _stmt_c_object(self, ctx):
        # call sites whose callees are C objects (an lru_cache wrapper, partials, an itemgetter,
        # a methodcaller), among other callables, some raising at a site's first call, while a
        # partial subclass gains and loses a Python __call__
        k = self.small(0, 3)
        if k == 0:
            self.emit(f"_PSub.__call__ = lambda s, *a, **kw: ('psub', a, sorted(kw))")
        elif k == 1:
            self.emit("if '__call__' in _PSub.__dict__:")
            self.emit("    del _PSub.__call__")
        start, n = self.small(0, 7), self.small(1, 9)
        call = self.pick(("_cocall", "_cocallkw"))
        self.emit(f"for _ci in range({n}):")
        with self.block():
            self.emit("try:")
            self.emit(f"    print('cobj', {call}(_COBJS[(_ci + {start}) % 8], {self.expr('int')}))")
            self.emit("except (ValueError, TypeError) as e:")
            self.emit("    print('cobj !', type(e).__name__, e, _tb(e))")

    def _stmt_class_swap(self, ctx):
        plain = [c for c in self.classes if not self.class_info[c]["slots"]]
        objs = [v for c in plain for v in self.vars_of(c)]
        if len(plain) < 2 or not objs:
            return self._stmt_obj(ctx) if self.classes else self._stmt_print(ctx)
        o = self.pick(objs)
        self.emit(f"{o}.__class__ = {self.pick(plain)}")
        self.emit(f"print('swap', type({o}).__name__, {o}.m({self.small(0, 3)}), {o}.p)")

    def _stmt_exc_info(self, ctx):
        self.emit("try:")
        with self.block():
            self.emit(f"{self.expr('int')} // {self.pick(('0', '1'))}")
            self.emit("print('exc_info', sys.exc_info()[0])")
        self.emit(f"except {self._handler_type()} as ei:")
        with self.block():
            self.emit("print('exc_info', sys.exc_info()[0].__name__, type(ei.__context__).__name__)")
            self.emit("try:")
            with self.block():
                self.emit(f"raise KeyError({self.expr('int')})")
            self.emit("except KeyError as e2:")
            with self.block():
                self.emit("print('ctx', type(e2.__context__).__name__, sys.exc_info()[0].__name__)")
            self.emit("print('exc_info', sys.exc_info()[0].__name__)")
        self.emit("print('exc_info', sys.exc_info())")

    def _stmt_str_concat(self, ctx):
        names = self.vars_of("str", local=True)
        if not names:
            return self._stmt_assign(ctx)
        n = self.pick(names)
        self.emit(f"{n} = {n} + {self.expr('str')}[:5]")

    def _stmt_gen_multi(self, ctx):
        # several generators suspended at once, resumed after more calls of the same code (under a
        # threshold, the code is compiled while older frames are suspended in the interpreter)
        if not self.gens or ctx.gen or ctx.coro:
            return self._stmt_gen_use(ctx)
        gs = self.fresh("gs")
        g = self.pick(self.gens)
        self.emit(f"{gs} = [{g}({self.small(1, 4)}) for _ in range({self.small(2, 5)})]")
        self.emit(f"print({gs!r}, [next(x, 'done') for x in {gs}])")
        op = self.pick(("x.send(k)", "next(x, 'done')", "x.throw(ValueError(k)) if k % 2 else x.send(k)", "list(x)"))
        self.emit(f"for k, x in enumerate({gs}):")
        with self.block():
            self.emit("try:")
            self.emit(f"    print({gs!r}, k, {op})")
            self.emit("except Exception as ge:")
            self.emit(f"    print({gs!r}, k, type(ge).__name__, getattr(ge, 'value', None), _tb(ge))")
        self.emit(f"for x in {gs}:")
        self.emit("    x.close()")

    def _stmt_stack(self, ctx):
        self.emit("print('stack', _stack())")
        names = self.vars_of("int", local=True)
        if names:
            v = self.pick(names)
            self.emit(f"print('eval', eval({v + ' * 2 + 1'!r}), sorted(k for k in locals() if k.startswith('v'))[:5])")

    def _stmt_local_class(self, ctx):
        # a class body that reads an enclosing function's variable (LOAD_CLASSDEREF), with
        # annotations, a comprehension and a method closing over the same variable
        if ctx.gen or ctx.coro:
            return self._stmt_print(ctx)
        cell = self.fresh("lc")
        cls = self.fresh("LC")
        self.emit(f"{cell} = {self.expr('int')}")
        self.emit(f"class {cls}:")
        with self.block():
            self.emit(f"k: int = {cell} + 1")
            self.emit(f"sq = [{cell} * j for j in range(3)]")
            self.emit("def get(self, d=2):")
            self.emit(f"    return {cell} * d + self.k")
        self.emit(f"print({cls!r}, {cls}.k, {cls}.sq, {cls}().get(), {cls}.__annotations__)")
        if self.chance(0.3):
            self.emit(f"{cell} = {self.expr('int')}")
            self.emit(f"print({cls!r}, {cls}().get(3))")
            self.emit(f"del {cell}")
            self.emit("try:")
            self.emit(f"    print({cls}().get())")
            self.emit("except NameError as ne:")
            self.emit("    print('cell', ne)")
        else:
            self.declare(cell, "int")

    def _stmt_del_global(self, ctx):
        if not self.globals or ctx.func is None:
            return self._stmt_print(ctx)
        g = self.pick(self.globals)
        self.emit(f"_old_{g} = {g}")
        self.emit(f"_setg('_dg', {g})")
        self.emit("def _delg():")
        self.emit(f"    global {g}")
        self.emit(f"    del {g}")
        self.emit("_delg()")
        self.emit("try:")
        self.emit(f"    print('delglobal', _useg_{g}())")
        self.emit("except NameError as ne:")
        self.emit("    print('delglobal', ne)")
        self.emit(f"_setg({g!r}, _old_{g} + 1)")
        self.emit(f"print('delglobal', _useg_{g}())")

    def _stmt_async_for(self, ctx):
        k = self.small(0, 1)
        v = self.fresh("af")
        if k == 0:
            self.emit(f"async for {v} in _agen({self.small(0, 4)}):")
            with self.block():
                self.declare(v, "int")
                self.body(ctx.child(loop=True), 1, 2)
        else:
            self.emit(f"async with _ACM({self.small(0, 9)}, {self.pick(('True', 'False'))}) as {v}:")
            with self.block():
                self.declare(v, "int")
                self.body(ctx.child(), 1, 2)
                if self.chance(0.3):
                    self._stmt_raise(ctx)

    def _stmt_mutate_iter(self, ctx):
        # containers changed while a for loop iterates over them
        v = self.fresh("mi")
        it = self.fresh("i")
        k = self.small(0, 2)
        if k == 0:
            self.emit(f"{v} = {self.expr('li')}[:5] + [1, 2]")
            self.emit(f"for {it} in {v}:")
            self.emit(f"    if len({v}) < 9 and {it} % 2:")
            self.emit(f"        {v}.append({it} + 1)")
            self.emit("    else:")
            self.emit(f"        {v}.pop(0)")
            self.emit(f"print({v!r}, {v})")
        elif k == 1:
            self.emit(f"{v} = {self.expr('dsi')}")
            self.emit("try:")
            self.emit(f"    for {it} in {v}:")
            self.emit(f"        {v}[{it} + 'x'] = 1")
            self.emit("except RuntimeError as re_:")
            self.emit(f"    print({v!r}, re_)")
        else:
            self.emit(f"{v} = {self.expr('si')}")
            self.emit("try:")
            self.emit(f"    for {it} in {v}:")
            self.emit(f"        {v}.discard({it})")
            self.emit(f"        {v}.add({it} + 100)")
            self.emit("except RuntimeError as re_:")
            self.emit(f"    print({v!r}, re_)")

    def _stmt_protocol(self, ctx):
        # protocol methods that raise or return NotImplemented, used by every kind of instruction
        w = f"W({self.pick(('0', '1', '2', '3', '-1', '7'))}, {self.pick(('', 'bool', 'index', 'eq', 'hash', 'iter', 'len', 'bool index'))!r})"
        uses = (
            f"'yes' if {w} else 'no'", f"[10, 20, 30, 40][{w}]", f"list(range({w}))", f"{w} in [1, 2, W(3)]",
            f"{{{w}: 1}}", f"[i for i in {w}]", f"len({w})", f"{w} + W(2)", f"{self.small(0, 3)} + {w}",
            f"{w} + 'a'", f"{w} < 3", f"sorted([{w}, W(1), W(-2)])", f"'abcdef'[{w}:{w}]", f"not {w}",
            f"{w} == {w}", f"{{1: 2}}.get({w})", f"(1, 2, 3).index({w})", f"divmod(7, {w})",
            f"[*{w}]", f"{w} and {w}", f"bytes({w})", f"hex({w})",
        )
        v = self.fresh("pr")
        self.emit("try:")
        self.emit(f"    {v} = {self.pick(uses)}")
        self.emit(f"    print({v!r}, {v})")
        self.emit("except Exception as pe:")
        self.emit(f"    print({v!r}, type(pe).__name__, pe, _tb(pe))")
        if ctx.loop and self.chance(0.3):
            self.emit(f"while {w}:")
            self.emit("    break")

    def _stmt_trace_implicit(self, ctx):
        # tracing (a trace function on the running frame too, or a profile function) switched
        # on by a protocol method an instruction runs without a call: the interpreter sees it
        # before the next instruction
        w = f"TW({self.pick(('0', '1', '2', '3', '-1', '7'))}, {self.pick(('',) * 8 + ('bool', 'eq', 'iter', 'len'))!r})"
        uses = (
            f"'yes' if {w} else 'no'", f"[10, 20, 30, 40][{w}]", f"{w} in [1, 2, W(3)]",
            f"{{{w}: 1}}", f"[i for i in {w}]", f"{w} + W(2)", f"{self.small(0, 3)} + {w}",
            f"{w} < W(3)", f"sorted([{w}, W(1), W(-2)])", f"not {w}", f"{w} == {w}",
            f"{{1: 2}}.get({w})", f"[*{w}]", f"{w} and {w}", f"{w}.p + 1", f"len({w})",
            f"{{{w}, 1}}",
        )
        v = self.fresh("ti")
        self.emit("_events.clear()")
        self.emit(f"_TW_ON[0] = {self.pick(('1', '2'))}")
        self.emit("try:")
        with self.block():
            self.emit(f"{v} = {self.pick(uses)}")
            self.emit(f"{v}b = {v}")  # a line without a call after the switch
            self.emit(f"print({v!r}, {v}b)")
            if self.chance(0.5):
                self.stmt(ctx.child())
        self.emit("except Exception as te:")
        self.emit(f"    print({v!r}, type(te).__name__, te, _tb(te))")
        self.emit("finally:")
        with self.block():
            self.emit("_TW_ON[0] = 0")
            self.emit("sys.settrace(None)")
            self.emit("sys.setprofile(None)")
        self.emit("print('events', _events[:60])")

    def _stmt_trace(self, ctx):
        # tracing switched on for calls, and for the running frame mid-way
        call = self._call_of(self.pick(("int", "str", "li")), 0) or self.expr("int")
        self.emit("_events.clear()")
        self.emit("sys.settrace(_tracer)")
        self.emit("try:")
        with self.block():
            if self.chance(0.5) and not ctx.gen and not ctx.coro:
                self.emit("sys._getframe().f_trace = _tracer")
            self.emit(f"print('traced', {call})")
            if self.chance(0.5):
                self.stmt(ctx.child())
        self.emit("finally:")
        with self.block():
            self.emit("sys.settrace(None)")
        self.emit("print('events', _events[:60])")

    def _stmt_frame(self, ctx):
        if ctx.gen or ctx.coro or self.chance(0.5):
            self.emit("print('frame', sys._getframe().f_lineno, sys._getframe().f_code.co_name, sorted(sys._getframe().f_locals)[:8])")
        elif self.gens:
            g = self.fresh("g")
            self.emit(f"{g} = {self.pick(self.gens)}({self.small(1, 3)})")
            self.emit(f"print('gstate', inspect.getgeneratorstate({g}), {g}.gi_frame.f_lineno, next({g}, None), {g}.gi_frame and {g}.gi_frame.f_lineno, inspect.getgeneratorstate({g}))")
            self.emit(f"{g}.close()")
        else:
            self.emit("print('caller', sys._getframe(1).f_code.co_name, sys._getframe(1).f_lineno)")

    def _stmt_lasti(self, ctx):
        self.emit(f"print('lasti', [sys._getframe(0).f_lineno, _lasti()], {self.expr('int')})")

    def _stmt_deep(self, ctx):
        self.emit(f"print('deep', _deep({self.small(0, 3)}))")

    def _stmt_unpack(self, ctx):
        a, b, c = self.fresh(), self.fresh(), self.fresh()
        k = self.small(0, 3)
        if k == 0:
            self.emit(f"{a}, *{b} = {self.expr('li')} + [{self.expr('int')}]")
            self.declare(a, "int")
            self.declare(b, "li")
        elif k == 1:
            self.emit(f"{a}, {b} = {self.expr('int')}, {self.expr('int')}")
            self.emit(f"{a}, {b} = {b}, {a}")
            self.declare(a, "int")
            self.declare(b, "int")
        elif k == 2:
            self.emit(f"({a}, {b}), {c} = divmod({self.expr('int')}, {self.expr('int')}), {self.expr('str')}")
            self.declare(a, "int")
            self.declare(b, "int")
            self.declare(c, "str")
        else:
            # may raise: too many / not enough values to unpack
            src = self.pick((f"{self.expr('li')}", f"tuple({self.expr('li')})", f"{self.expr('str')}[:2]",
                             f"{self.expr('dsi')}"))
            self.emit(f"{a}, {b} = {src}")
            self.emit(f"print('unpacked', {a}, {b})")

    def _stmt_assert(self, ctx):
        self.emit(f"assert {self.expr('bool')}, {self.expr('str')}")

    def _stmt_gen_use(self, ctx):
        if self.coros and not ctx.gen and not ctx.coro and (not self.gens or self.chance(0.4)):
            sends = ", ".join(self.expr("int") for _ in range(self.small(0, 3)))
            self.emit(f"print('drive', _drive({self.pick(self.coros)}({self.small(0, 3)}), [{sends}]))")
            return
        if not self.gens or ctx.gen or ctx.coro:
            return self._stmt_print(ctx)
        g = self.fresh("g")
        self.emit(f"{g} = {self.pick(self.gens)}({self.small(0, 4)})")
        for _ in range(self.small(1, 4)):
            k = self.small(0, 6)
            if k <= 1:
                op = f"next({g})"
            elif k == 2:
                op = f"{g}.send({self.expr('int')})"
            elif k == 3:
                op = f"{g}.throw({self.pick(EXC_TYPES[:6])}({self.small(0, 9)}))"
            elif k == 4:
                op = f"{g}.close()"
            elif k == 5:
                op = f"list({g})"
            else:
                op = f"[x for x in {g} if x]"
            self.emit("try:")
            with self.block():
                self.emit(f"print({g!r}, {op!r}, {op})")
            self.emit("except StopIteration as si:")
            with self.block():
                self.emit(f"print({g!r}, 'stop', si.value)")
        if self.chance(0.7):
            self.emit(f"{g}.close()")

    def _stmt_float_attr(self, ctx):
        # A float result stored as an object's attribute, plain and augmented (`o.zz = k * c +
        # c'`, `o.zz /= ...`: float runs end in such stores, src/opt/float_runs.rs), by a helper
        # called often enough for the interpreter to specialise the stores (what runs need) and
        # for jit12 to compile it. `zz` is a slot of every slotted class and read elsewhere only
        # through getattr, so any value fits it; an unset one raises, or `__getattr__` answers,
        # the same way under both.
        names = [n for c in self.classes for n in self.vars_of(c)]
        if not names:
            return self._stmt_assign(ctx)
        o, f = self.pick(names), self.fresh()
        lit = lambda: self.pick(FLOAT_LITS[:8] + ("3", "-2", "0"))
        op = self.pick(LOOP_SAFE_AUG["float"] + ("*=",))
        self.emit(f"def {f}(o, k):")
        with self.block():
            self.emit(f"o.zz = k * {lit()} + {lit()}")
            self.emit(f"o.zz {op} (k - {lit()}) * {lit()}")
            if self.chance(0.5):
                self.emit(f"o.zz = o.zz * o.zz {self.pick(('+', '-', '/'))} {lit()}")
            self.emit("return o.zz")
        self.emit(f"try:")
        with self.block():
            self.emit(f"print('fattr', [{f}({o}, _k) for _k in range({self.small(15, 40)})][-3:])")
        self.emit("except Exception as _e:")
        with self.block():
            self.emit("print('fattr', type(_e).__name__, _e)")

    def _stmt_obj(self, ctx):
        if not self.classes:
            return self._stmt_assign(ctx)
        c = self.pick(self.classes)
        o = self._expr_obj(c, 0)
        k = self.small(0, 9)
        if k == 0:
            self.emit(f"print('obj', {o}.p, {o}.a)")
        elif k == 1:
            self.emit(f"print('obj+', {o} + {self._expr_obj(c, 0)}, {self.expr('int')} + {o})")
        elif k == 2:
            self.emit(f"print('objiter', list({o})[:5], len({o}), bool({o}))")
        elif k == 3:
            v = self.vars_of(c)
            if v:
                self.emit(f"{self.pick(v)}.p = {self.expr('int')}")
            else:
                self.emit(f"print('objm', {o}.m({self.expr('int')}))")
        elif k == 4:
            self.emit(f"print('objcmp', {o} == {self._expr_obj(c, 0)}, {o} < {self._expr_obj(c, 0)})")
        elif k == 5:
            self.emit(f"print('objcall', {o}({self.expr('int')}, *{self.expr('li')}, z={self.expr('int')}))")
        elif k == 6:
            self.emit(f"print('objin', {self.expr('int')} in {o})")
        elif k == 7:
            if self.chance(0.5):
                self.emit(f"print('objattr', getattr({o}, {self.pick(('a', 'b', 'zz', 'c'))!r}, 'none'))")
            else:
                v = self.vars_of(c)
                if v:
                    self.emit(f"vars({self.pick(v)})['a'] = {self.expr('int')}")
                    self.emit(f"print('vars', {self.pick(v)}.a, {self.pick(v)}.p)")
        elif k == 8:
            self.emit(f"print('objcls', {c}.cm({self.expr('int')}), {o}.sm({self.expr('int')}), type({o}).__name__)")
        else:
            v = self.vars_of(c)
            if v:
                o = self.pick(v)
                attr = self.pick(('a', 'b', 'zz'))
                if self.chance(0.5):
                    self.emit(f"{o}.{attr} = {self.expr('int')}")
                else:
                    # delete and re-add (the instance dict's order and keys change under caches)
                    self.emit("try:")
                    self.emit(f"    del {o}.{attr}")
                    self.emit(f"    print('delattr', getattr({o}, {attr!r}, 'gone'))")
                    self.emit(f"    {o}.{attr} = {self.expr(self.pick(('int', 'str')))}")
                    self.emit("except AttributeError as ae:")
                    self.emit("    print('delattr', ae)")
            else:
                self.emit(f"print('obj', {o}.m({self.expr('int')}))")

    def _stmt_del(self, ctx):
        names = self.vars_of("int")
        # only names from the innermost scope, so that later code never reads them
        mine = [n for n in self.scopes[-1] if self.scopes[-1][n] == "int" and n.startswith("v")]
        if mine:
            n = self.pick(mine)
            self.emit(f"del {n}")
            self.undeclare(n)
        else:
            self._stmt_print(ctx)

    def _stmt_walrus(self, ctx):
        v = self.fresh()
        self.emit(f"if ({v} := {self.expr('int')}) {self.pick(('>', '<', '=='))} {self.small(-3, 5)}:")
        with self.block():
            self.emit(f"print({v!r}, {v})")
        self.declare(v, "int")

    def _stmt_builtin_shadow(self, ctx):
        b = self.pick(("len", "abs", "min", "max", "sum"))
        k = self.small(0, 1)
        if k == 0:
            self.emit(f"globals()[{b!r}] = lambda *a, **k: {self.small(0, 99)}")
            self.emit(f"print('shadow', {self.expr('int')}, _useb_{b}([1, -2]))")
            self.emit(f"del globals()[{b!r}]")
            self.emit(f"print('unshadow', _useb_{b}([1, -2]))")
        else:
            self.emit("import builtins")
            self.emit(f"_old = builtins.{b}")
            self.emit(f"builtins.{b} = lambda *a, **k: {self.small(0, 99)}")
            self.emit("try:")
            with self.block():
                self.emit(f"print('bshadow', _useb_{b}([3, -4]))")
            self.emit("finally:")
            with self.block():
                self.emit(f"builtins.{b} = _old")
            self.emit(f"print('bunshadow', _useb_{b}([3, -4]))")

    def _stmt_class_mutate(self, ctx):
        c = self.pick(self.classes)
        k = self.small(0, 2)
        if k == 0:
            self.emit(f"{c}.K = {self.expr('int')} % 100")
        elif k == 1:
            self.emit(f"{c}.m = lambda self, x: x - {self.small(0, 9)}")
        else:
            self.emit(f"{c}.sm = staticmethod(lambda x: x * {self.small(2, 5)})")
        self.emit(f"print('clsmut', ({self._expr_obj(c, 0)}).m({self.small(0, 5)}), {c}.K)")

    # ---- top-level pieces ---------------------------------------------------------------------
    def gen_class(self, idx):
        name = f"C{idx}"
        base = self.pick([c for c in self.classes if not self.class_info[c]["extra"]]) if self.classes and self.chance(0.5) else None
        slots = self.chance(0.4) and (base is None or self.class_info[base]["slots"])
        extra = base is not None
        self.emit(f"class {name}{'(' + base + ')' if base else ''}:")
        with self.block():
            self.emit(f"K = {self.small(0, 9)}")
            if slots:
                self.emit("__slots__ = ('c', 'zz')" if extra else "__slots__ = ('a', 'b', 'zz')")
            self.emit("__match_args__ = ('a', 'b')")
            if extra:
                self.emit("def __init__(self, a, b, c=3):")
                with self.block():
                    self.emit("super().__init__(a, b)")
                    self.emit("self.c = c")
            else:
                self.emit("def __init__(self, a, b):")
                with self.block():
                    self.emit("self.a = a")
                    self.emit("self.b = b")
            self.emit("def __repr__(self):")
            with self.block():
                self.emit(f"return f'{name}({{self.a!r}}, {{self.b!r}})'")
            if "del" in self.features and self.chance(0.5):
                self.emit("def __del__(self):")
                with self.block():
                    self.emit(f"print('del', {name!r}, self.a)")
            if self.chance(0.4):
                self.emit("def __getattr__(self, name):")
                with self.block():
                    self.emit("if name.startswith('z'):")
                    with self.block():
                        self.emit(f"return len(name) * {self.small(1, 9)}")
                    self.emit("raise AttributeError(name)")
            self.emit("@property")
            self.emit("def p(self):")
            with self.block():
                self.emit(f"return self.a * {self.small(1, 3)} + len(self.b)" + (" + self.c" if extra else ""))
            self.emit("@p.setter")
            self.emit("def p(self, v):")
            with self.block():
                self.emit("self.a = v // 2")
            self.emit("def m(self, x):")
            with self.block():
                self.declare("x", "int")
                saved = self.budget
                self.budget = 4
                self.body(Ctx(func=f"{name}.m", ret="int", depth=1, method=name), 0, 3)
                self.budget = saved
                if extra:
                    self.emit(f"return super().m(x) + self.c + {name}.K")
                else:
                    self.emit(f"return self.a + x * {self.small(1, 4)} + {name}.K")
            self.emit("@classmethod")
            self.emit("def cm(cls, v):")
            with self.block():
                self.emit("return cls.K + v")
            self.emit("@staticmethod")
            self.emit("def sm(v):")
            with self.block():
                self.emit(f"return v - {self.small(0, 9)}")
            if not extra or self.chance(0.5):
                self.emit("def __add__(self, o):")
                with self.block():
                    self.emit(f"return {name}(self.a + (o.a if isinstance(o, {name}) else o), self.b)" if not extra else
                              f"return {name}(self.a + (o.a if isinstance(o, {name}) else o), self.b, self.c)")
                self.emit("__radd__ = __add__")
                self.emit("def __eq__(self, o):")
                with self.block():
                    self.emit("return type(o) is type(self) and (self.a, self.b) == (o.a, o.b)")
                self.emit("def __hash__(self):")
                with self.block():
                    self.emit("return hash((self.a, len(self.b)))")
                self.emit("def __lt__(self, o):")
                with self.block():
                    self.emit("return self.a < o.a")
                self.emit("def __len__(self):")
                with self.block():
                    self.emit("return abs(self.a) % 5")
                if self.chance(0.5):
                    self.emit("def __iter__(self):")
                    with self.block():
                        self.emit("yield from range(len(self))")
                        self.emit("yield self.a")
                else:
                    self.emit("def __getitem__(self, i):")
                    with self.block():
                        self.emit("if i >= len(self):")
                        with self.block():
                            self.emit("raise IndexError(i)")
                        self.emit("return self.a * i")
                self.emit("def __bool__(self):")
                with self.block():
                    self.emit("return self.a % 3 != 0")
                self.emit("def __call__(self, *args, **kw):")
                with self.block():
                    self.emit("return len(args) * 10 + len(kw) + self.a")
                self.emit("def __contains__(self, v):")
                with self.block():
                    self.emit("return v == self.a or v in self.b")
        self.emit("")
        self.classes.append(name)
        self.class_info[name] = {"extra": extra, "slots": slots}

    def gen_cm(self, idx):
        name = f"CM{idx}"
        self.emit(f"class {name}:")
        with self.block():
            self.emit("def __init__(self, tag, suppress):")
            with self.block():
                self.emit("self.tag = tag")
                self.emit("self.suppress = suppress")
            self.emit("def __enter__(self):")
            with self.block():
                self.emit(f"print('enter', {name!r}, self.tag)")
                self.emit("return self.tag")
            self.emit("def __exit__(self, et, ev, tb):")
            with self.block():
                self.emit(f"print('exit', {name!r}, self.tag, et.__name__ if et else None, str(ev)[:50])")
                self.emit("return self.suppress and et is not None and issubclass(et, Exception)")
        self.emit("")
        self.cms.append(name)
        if self.chance(0.5):
            cname = f"ctx{idx}"
            self.emit("@contextlib.contextmanager")
            self.emit(f"def {cname}(tag, suppress):")
            with self.block():
                self.emit(f"print('center', {cname!r}, tag)")
                self.emit("try:")
                with self.block():
                    self.emit("yield tag * 2")
                self.emit("except ArithmeticError as e:")
                with self.block():
                    self.emit(f"print('cexc', {cname!r}, type(e).__name__)")
                    self.emit("if not suppress:")
                    with self.block():
                        self.emit("raise")
                self.emit("finally:")
                with self.block():
                    self.emit(f"print('cexit', {cname!r}, tag)")
            self.emit("")
            self.cms.append(cname)

    def gen_generator(self, idx):
        name = f"gen{idx}"
        self.emit(f"def {name}(n):")
        with self.block():
            self.declare("n", "int")
            self.emit("tot = 0")
            self.declare("tot", "int")
            self.emit("try:")
            with self.block():
                self.emit("for i in range(n):")
                with self.block():
                    self.declare("i", "int")
                    self.emit(f"x = yield i * {self.small(1, 5)}")
                    self.emit("if x is not None:")
                    with self.block():
                        self.emit("tot += x")
                saved = self.budget
                self.budget = 5
                self.body(Ctx(func=name, gen=True, ret="int", depth=1), 1, 4)
                self.budget = saved
            self.emit(f"except {self.pick(EXC_TYPES[:6])} as e:")
            with self.block():
                self.emit(f"print({name!r}, 'caught', type(e).__name__, e)")
                if self.chance(0.5):
                    self.emit("yield -1")
                if self.chance(0.3):
                    self.emit("return -2")
            self.emit("finally:")
            with self.block():
                self.emit(f"print({name!r}, 'finally', tot)")
            self.emit("return tot")
        self.emit("")
        self.gens.append(name)

    def gen_coroutine(self, idx):
        name = f"co{idx}"
        self.emit(f"async def {name}(n):")
        with self.block():
            self.declare("n", "int")
            self.emit("t = 0")
            self.declare("t", "int")
            self.emit("for i in range(n):")
            with self.block():
                self.emit(f"t += await _Aw(i * {self.small(1, 5)})")
            saved = self.budget
            self.budget = 5
            c = Ctx(func=name, ret="int", depth=1)
            c.coro = True
            self.emit("try:")
            with self.block():
                self.body(c, 1, 4)
            self.emit(f"except {self.pick(EXC_TYPES[:6])} as e:")
            with self.block():
                self.emit(f"print({name!r}, 'caught', type(e).__name__, e)")
            self.budget = saved
            self.emit("return t")
        self.emit("")
        self.coros.append(name)

    def gen_function(self, idx):
        self.cost = 0
        self.loop_mult = 1
        name = f"f{idx}"
        k = self.small(0, 9)
        ret = self.pick(("int", "int", "str", "li", "float"))
        if k == 0:
            # recursion with a depth parameter
            self.emit(f"def {name}(n, acc=0):")
            with self.block():
                # n is not declared: nothing in the body may rebind it (the recursion must end)
                self.declare("acc", "int")
                self.emit("if n <= 0:")
                with self.block():
                    self.emit(f"return acc + {self.expr('int')} % 7")
                if self.chance(0.5):
                    self.emit("try:")
                    with self.block():
                        self.emit(f"return {name}(n - 1, acc + n) + {name}(n - 2)" if self.chance(0.5)
                                  else f"return {name}(n - 1, acc * 2 + n)")
                    self.emit("finally:")
                    with self.block():
                        self.emit(f"acc += 1")
                else:
                    self.budget = 3
                    self.body(Ctx(func=name, ret="int", depth=1), 0, 2)
                    self.emit(f"return {name}(n - 1, acc + n * {self.small(1, 3)})")
            self.funcs.append(Func(name, ["int"], "int", "rec"))
            self.funcs[-1].cost = 70 * (self.cost + 1)
        elif k == 1:
            self.emit(f"def {name}(a, /, b=2, *args, c, d={self.small(0, 5)}, **kw):")
            with self.block():
                for p in "abcd":
                    self.declare(p, "int")
                self.declare("args", "tup")
                self.emit("print('kwargs', a, b, args, c, d, sorted(kw.items()))")
                self.budget = 4
                self.body(Ctx(func=name, ret="int", depth=1), 0, 2)
                self.emit("return a + b + len(args) + c * d + sum(kw.values())")
            self.funcs.append(Func(name, ["int"], "int", "kw"))
            self.funcs[-1].cost = self.cost + 1
        elif k == 2:
            # *args and **kwargs, no keyword-only parameters: called with positional arguments
            # only (_call_of), which native call sites bind themselves
            self.emit(f"def {name}(a, b={self.small(0, 5)}, *args, **kw):")
            with self.block():
                for p in "ab":
                    self.declare(p, "int")
                self.declare("args", "tup")
                self.emit("kw['n'] = kw.get('n', 0) + 1")
                self.emit("print('star', a, b, args, sorted(kw.items()))")
                self.budget = 4
                self.body(Ctx(func=name, ret="int", depth=1), 0, 2)
                self.emit("return a + b + len(args) + sum(kw.values())")
            self.funcs.append(Func(name, ["int"], "int", "star"))
            self.funcs[-1].cost = self.cost + 1
        else:
            params = [self.pick(("int", "int", "str", "li", "float")) for _ in range(self.small(0, 3))]
            pnames = [f"a{i}" for i in range(len(params))]
            self.emit(f"def {name}({', '.join(pnames)}):")
            with self.block():
                for p, t in zip(pnames, params):
                    self.declare(p, t)
                writes = [g for g in self.globals if self.chance(0.3)]
                if writes:
                    self.emit(f"global {', '.join(writes)}")
                self.budget = self.size + self.small(0, self.size)
                self.body(Ctx(func=name, ret=ret), 2, 6)
                for g in writes:
                    self.emit(f"{g} = ({g} + {self.small(1, 9)}) % 1000")
                self.emit(f"return {self.expr(ret)}")
            self.funcs.append(Func(name, params, ret))
            self.funcs[-1].cost = self.cost + 1
        self.emit("")

    def program(self):
        self.lines = HELPERS.splitlines()
        self.emit("import contextlib")
        self.emit("import math")
        self.emit("import inspect")
        self.emit("")
        for b in ("len", "abs", "min", "max", "sum"):
            self.emit(f"def _useb_{b}(x):")
            self.emit(f"    return {b}(x)")
        self.emit("")
        for i in range(self.small(1, 3)):
            g = f"G{i}"
            self.emit(f"{g} = {self.pick(INT_LITS[:12])}")
            self.emit(f"def _useg_{g}():")
            self.emit(f"    return {g} * 2")
            self.globals.append(g)
        self.emit("")
        for i in range(self.small(0, 3)):
            self.gen_class(i)
        for i in range(self.small(0, 2)):
            self.gen_cm(i)
        for i in range(self.small(0, 2)):
            self.gen_generator(i)
        for i in range(self.small(0, 1)):
            self.gen_coroutine(i)
        nf = self.small(2, 5)
        for i in range(nf):
            self.gen_function(i)
        self.cost = 0
        self.loop_mult = 1
        self.emit("def main():")
        with self.block():
            self.budget = self.size
            self.body(Ctx(func="main", ret="int"), 1, 4)
            self.emit("return 0")
        self.emit("")
        self.emit("")
        self.emit("_show('main', main)")
        # every function is called whatever main() did; some three times, so that under a
        # threshold they are compiled between calls (and see globals earlier calls changed)
        for f in self.funcs:
            args = [self.expr(t) for t in f.params]
            if f.kind == "rec":
                args = [str(self.small(0, 8))]
            elif f.kind == "kw":
                args = [self.expr("int"), f"c={self.expr('int')}"]
            elif f.kind == "star":
                args += [self.expr("int") for _ in range(self.small(0, 3))]
            call = f"_show({f.name!r}, lambda: {f.name}({', '.join(args)}))"
            if self.chance(0.5):
                self.emit("for _r in range(3):")
                self.emit("    " + call)
            else:
                self.emit(call)
        if self.chance(0.1):
            # end with an uncaught exception: traceback on stderr, exit status 1
            f = self.pick(self.funcs)
            self.emit("")
            self.emit("def _fail(n):")
            self.emit("    if n:")
            self.emit("        return _fail(n - 1)")
            if self.chance(0.5):
                self.emit("    try:")
                inner = self.pick(("1 // 0", "[][1]", "int('x')", f"{f.name}()"))
                self.emit(f"        {inner}")
                self.emit("    except Exception as e:")
                self.emit(f"        raise {self.pick(('ValueError', 'E1', 'KeyError'))}({f.name!r}){self.pick(('', ' from e', ' from None'))}")
            self.emit(f"    raise {self.pick(('ValueError', 'E1', 'KeyError'))}({f.name!r})")
            self.emit(f"_fail({self.small(0, 3)})")
        return "\n".join(self.lines) + "\n"


FEATURES = {
    # constructs off by default because they hit known, tracked differences (issue 7)
    "del": "classes with __del__ (finalizer order, item 10)",
    "lasti": "print sys._getframe(1).f_lasti from a callee (item 9)",
    "deep": "recursion until RecursionError (item 11)",
}


def generate(seed: int, index: int, size: int = 6, features=()) -> str:
    """The source of program `index` of the run seeded with `seed` (with the optional
    `features`, see FEATURES, the same pair gives a different program; a feature "focus:NAME"
    makes statement NAME ten times as frequent)."""
    rng = random.Random(f"cpjit-fuzz:{seed}:{index}")
    return Gen(rng, size, features).program()


if __name__ == "__main__":
    import sys

    print(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0, int(sys.argv[2]) if len(sys.argv) > 2 else 0))
