# Fuzz program seed 28802, number 42463 (tests/fuzz, session 54): kept whole, as the shrinker
# could not reduce it; see test_fuzz_regressions.py.
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
import contextlib
import math
import inspect

def _useb_len(x):
    return len(x)
def _useb_abs(x):
    return abs(x)
def _useb_min(x):
    return min(x)
def _useb_max(x):
    return max(x)
def _useb_sum(x):
    return sum(x)

G0 = 255
def _useg_G0():
    return G0 * 2

class C0:
    K = 3
    __slots__ = ('a', 'b', 'zz')
    __match_args__ = ('a', 'b')
    def __init__(self, a, b):
        self.a = a
        self.b = b
    def __repr__(self):
        return f'C0({self.a!r}, {self.b!r})'
    @property
    def p(self):
        return self.a * 1 + len(self.b)
    @p.setter
    def p(self, v):
        self.a = v // 2
    def m(self, x):
        pass
        return self.a + x * 4 + C0.K
    @classmethod
    def cm(cls, v):
        return cls.K + v
    @staticmethod
    def sm(v):
        return v - 8
    def __add__(self, o):
        return C0(self.a + (o.a if isinstance(o, C0) else o), self.b)
    __radd__ = __add__
    def __eq__(self, o):
        return type(o) is type(self) and (self.a, self.b) == (o.a, o.b)
    def __hash__(self):
        return hash((self.a, len(self.b)))
    def __lt__(self, o):
        return self.a < o.a
    def __len__(self):
        return abs(self.a) % 5
    def __getitem__(self, i):
        if i >= len(self):
            raise IndexError(i)
        return self.a * i
    def __bool__(self):
        return self.a % 3 != 0
    def __call__(self, *args, **kw):
        return len(args) * 10 + len(kw) + self.a
    def __contains__(self, v):
        return v == self.a or v in self.b

def gen0(n):
    tot = 0
    try:
        for i in range(n):
            x = yield i * 1
            if x is not None:
                tot += x
        globals()['G0'] = G0 + 2
        for _ci in range(1):
            try:
                print('cobj', _cocall(_COBJS[(_ci + 7) % 8], (tot + (list(range(4)))[1])))
            except (ValueError, TypeError) as e:
                print('cobj !', type(e).__name__, e, _tb(e))
    except RuntimeError as e:
        print('gen0', 'caught', type(e).__name__, e)
        yield -1
    finally:
        print('gen0', 'finally', tot)
    return tot

def gen1(n):
    tot = 0
    try:
        for i in range(n):
            x = yield i * 3
            if x is not None:
                tot += x
        print('frame', sys._getframe().f_lineno, sys._getframe().f_code.co_name, sorted(sys._getframe().f_locals)[:8])
        _M.f = lambda v: v * 1
        print('mod', getattr(_M, 'x', None), _M.f(([a * b for a in list(range(4)) for b in range(1) if a != b])[-1]), _mread())
        try:
            assert ((n, {}) != divmod(tot, n)), (repr('\U0001f600')).replace(repr(C0(tot, '')), '123')
            print('p1', repr(dict.fromkeys([], tot)))
            v2 = divmod((2 ** 31 // (2 ** 30 - 1 or 4)), n)
            raise E0((('a').replace('a', 'a,b,,c')).replace('  pad  ', repr(b'\x00\xff'))) from ZeroDivisionError('cause')
        finally:
            print('fin3')
            v4 = b'xyz'
            print('p5', list(('x y z')[:-3:-2]))
    except ValueError as e:
        print('gen1', 'caught', type(e).__name__, e)
        return -2
    finally:
        print('gen1', 'finally', tot)
    return tot

async def co0(n):
    t = 0
    for i in range(n):
        t += await _Aw(i * 3)
    try:
        aw6 = await _Aw(t)
        print('p7', (*list({}), t))
    except IndexError as e:
        print('co0', 'caught', type(e).__name__, e)
    return t

def f0(a0, a1, a2):
    for i8 in range(-2, 3, 1):
        a0.insert(0, (('AbC').encode("utf-8") + b'wxyz')[a2 % 4])
        a2 ^= ((a2 if False else i8) + ord((S0('sub'))[:1] or 'z'))
    print('p10', a2)
    v11 = (-(-2.25) ** -1)
    for i12 in range(1):
        _w13 = 2
        while _w13 > 0 and isinstance([str(x) for x in a0], (float, bytes)):
            _w13 -= 1
            v14 = divmod(math.copysign(v11, 3.141592653589793), a2)
            v15 = C0((i12 if False else a2), '%s:%d:%.2f' % ('  pad  ', 5, 2.5e-5))
        i12 += ((i12 // (2 ** 30 - 1 or 2)) + a2)
    else:
        print('p16', (v11 * max(a2, a2, key=abs)))
        print('p17', (C0(-6, 'a').p | ~a2))
    return (v11 / len(a0))

def f1():
    global G0
    print('p18', [('\u20acuro')[-3::255], '%s:%d:%.2f' % ('a', 2 ** 30 - 1, F0(1.25)), str(True)])
    print('p19', [])
    mi20 = [a * b for a in [a * b for a in list(range(4)) for b in range(1) if a != b] for b in range(0) if a != b][:5] + [1, 2]
    for i21 in mi20:
        if len(mi20) < 9 and i21 % 2:
            mi20.append(i21 + 1)
        else:
            mi20.pop(0)
    print('mi20', mi20)
    print('p22', (([7])[:])[::-1])
    _w23 = 1
    while _w23 > 0 and isinstance(sorted(['a', 'b']), list):
        _w23 -= 1
        assert bool(('abc' + 'h\xe9llo')), chr(47 + 0 % 1000)
        (v24, v25), v26 = divmod(divmod(abs(I0(3)), ord(('tab\t')[:1] or 'z'))[0], ((b'A' * 3).decode('latin-1')).count((b'\x00\xff').decode('latin-1'))), chr(42 + (3 if True else -5) % 1000)
        if ('abc' in []):
            gs27 = [gen0(3) for _ in range(3)]
            print('gs27', [next(x, 'done') for x in gs27])
            for k, x in enumerate(gs27):
                try:
                    print('gs27', k, x.send(k))
                except Exception as ge:
                    print('gs27', k, type(ge).__name__, getattr(ge, 'value', None), _tb(ge))
            for x in gs27:
                x.close()
            v28 = ('x y z')[(v25 if True else v25):v25:]
    G0 = (G0 + 9) % 1000
    return ((b'xyz' + b'')).hex()

def f2(a0, a1):
    _old_G0 = G0
    _setg('_dg', G0)
    def _delg():
        global G0
        del G0
    _delg()
    try:
        print('delglobal', _useg_G0())
    except NameError as ne:
        print('delglobal', ne)
    _setg('G0', _old_G0 + 1)
    print('delglobal', _useg_G0())
    gs29 = [gen1(2) for _ in range(4)]
    print('gs29', [next(x, 'done') for x in gs29])
    for k, x in enumerate(gs29):
        try:
            print('gs29', k, x.throw(ValueError(k)) if k % 2 else x.send(k))
        except Exception as ge:
            print('gs29', k, type(ge).__name__, getattr(ge, 'value', None), _tb(ge))
    for x in gs29:
        x.close()
    try:
        try:
            pr30 = W(2, 'iter') < 3
            print('pr30', pr30)
        except Exception as pe:
            print('pr30', type(pe).__name__, pe, _tb(pe))
        raise ExceptionGroup((b'ab').decode('latin-1'), [ZeroDivisionError(a0), IndexError(divmod(a1, a0)[0]), RuntimeError(len(list({'a': 1, 'b': -2, 'c': 3})))])
    except* LookupError as eg31:
        print('eg31', repr(eg31.exceptions)[:300])
        v32 = (a1 / (float(a1) == a0))
        for i33 in range(1):
            print('p34', (b'xyz' + b'\x00\xff'))
            v35 = (('tab\t').replace('  pad  ', '123') * 1)
            v36 = math.sqrt(v32) * 1.0
    return ((a1 if False else a1) + a0)

def f3(a0, a1, a2):
    v37 = 3.141592653589793
    try:
        pass
    except* Exception as eg38:
        print('eg38', repr(eg38.exceptions)[:300])
        pass
    finally:
        print('fin39')
    v40 = v37
    lc41 = int('')
    class LC42:
        k: int = lc41 + 1
        sq = [lc41 * j for j in range(3)]
        def get(self, d=2):
            return lc41 * d + self.k
    print('LC42', LC42.k, LC42.sq, LC42().get(), LC42.__annotations__)
    return G0

def main():
    try:
        cell44 = divmod(([7] + [4, 5, 6])[-6 % 3], round(-1e-300))[0]
        def cl43(x, *rest, k=1):
            nonlocal cell44
            cell44 += x + k + len(rest)
            pass
            return cell44 * 2
        print('cl43', cl43(((float(cell44) == -(10 ** 30)) + cell44), --cell44, ~cell44, k=round(float(cell44))), cell44)
    except (E1, E1):
        print('call45', f1())
        print('p46', C0(ord(('\u20acuro')[:1] or 'z'), ('abc')[-2:257:7]))
    except Exception as e47:
        print('e47!', type(e47).__name__, e47, _tb(e47))
        pass
    else:
        print('g48', G0, _setg('G0', G0 - 1), G0)
        v49, v50 = (f2(True, 2 ** 53 + 1) ** 1), int(str(ord(('AbC')[:1] or 'z')))
        v49, v50 = v50, v49
    v52 = "".join(sorted(list('hey')))
    return 0


_show('main', main)
_show('f0', lambda: f0([c53 * -1 + 4 for c53 in range(0) if c53 % 2], sorted([0x7fffffff, 12345678901234567890123, 0x7fffffff], reverse=True), len([a * b for a in [7] for b in range(3) if a != b])))
for _r in range(3):
    _show('f1', lambda: f1())
for _r in range(3):
    _show('f2', lambda: f2(((2 ** 63 | -0b1010) if (-5 < 3 <= 2 ** 63) else (-5 + I0(3))), divmod((-2 ** 63 + -1), abs(True))[0]))
for _r in range(3):
    _show('f3', lambda: f3(ord((repr(C0(-(10 ** 30), '\n')))[:1] or 'z'), (len('tab\t') + (lambda x, y=2: x * y - 1)(257)), list({x % 4 for x in L0([3, 4, 5])})))
