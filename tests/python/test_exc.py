"""Differential tests of the exc family: try/except/finally, raise, exception chaining, except*,
with statements and match statements, including generators re-entered natively inside handlers.

Every snippet records tracebacks as line lists (`tb_lines`) so that traceback entries added or
missing for a frame show up in `result`, not just in the escaping exception.
"""
import textwrap

import pytest

from differential import check

# Shared helpers for snippets: a caught exception as (type, message, traceback lines, context,
# cause, suppress_context).
HELPERS = """
def tb_lines(e):
    out = []
    tb = e.__traceback__
    while tb is not None:
        # The frame's own line (from its last instruction) must match too, also after the
        # frame finished: RERAISE moves it back to the original raise.
        out.append((tb.tb_lineno, tb.tb_frame.f_lineno))
        tb = tb.tb_next
    return out

def describe(e):
    if e is None:
        return None
    return (type(e).__name__, str(e), tb_lines(e), repr(e.__context__), repr(e.__cause__),
            e.__suppress_context__)
"""


def check_exc(source, **kw):
    return check(HELPERS + textwrap.dedent(source), **kw)


def test_try_except_else_finally():
    out = check_exc("""
        def f(x, log):
            try:
                log.append('try')
                if x == 1:
                    raise ValueError('one')
                if x == 2:
                    raise KeyError('two')
                if x == 3:
                    return 'early'
            except ValueError as e:
                log.append(('except', str(e)))
            except (TypeError, KeyError) as e:
                log.append(('except2', repr(e)))
                return 'from handler'
            else:
                log.append('else')
            finally:
                log.append('finally')
            return 'end'
        result = []
        for x in range(5):
            log = []
            result.append((f(x, log), log))
    """)
    assert "early" in out.result


def test_finally_overrides_and_swallows():
    check_exc("""
        def f():
            try:
                raise ValueError('lost')
            finally:
                return 'finally wins'
        def g():
            for i in range(3):
                try:
                    raise KeyError(i)
                finally:
                    if i < 2:
                        continue
            return 'unreached'
        def h():
            try:
                return 'try'
            finally:
                print('cleanup')
        result = [f(), h()]
        try:
            g()
        except KeyError as e:
            result.append(describe(e))
    """)


def test_nested_handlers_and_context():
    check_exc("""
        def f():
            try:
                try:
                    1 / 0
                except ZeroDivisionError:
                    raise ValueError('inner')
            except ValueError as e:
                try:
                    raise KeyError('nested')
                except KeyError as k:
                    return describe(k), describe(e)
        def g():
            try:
                raise TypeError('a')
            except TypeError:
                try:
                    raise ValueError('b')
                except ValueError:
                    pass
                raise
        result = [f()]
        try:
            g()
        except TypeError as e:
            result.append(describe(e))
    """)


def test_raise_from():
    check_exc("""
        class Cause(Exception):
            pass
        def f(kind):
            try:
                try:
                    raise KeyError('orig')
                except KeyError as e:
                    if kind == 0:
                        raise ValueError('v') from e
                    if kind == 1:
                        raise ValueError('v') from None
                    if kind == 2:
                        raise ValueError('v') from Cause
                    if kind == 3:
                        raise ValueError from Cause('inst')
                    if kind == 4:
                        raise ValueError('v') from 42
            except Exception as e:
                return describe(e)
        result = [f(k) for k in range(5)]
    """)


def test_raise_forms_and_errors():
    check_exc("""
        class NotAnInstance(Exception):
            def __new__(cls):
                return 1
        class Boom(Exception):
            def __init__(self):
                raise RuntimeError('constructor failed')
        def f(kind):
            try:
                if kind == 0:
                    raise ValueError
                if kind == 1:
                    raise ValueError('x')
                if kind == 2:
                    raise 42
                if kind == 3:
                    raise NotAnInstance
                if kind == 4:
                    raise Boom
                if kind == 5:
                    raise ValueError from Boom
                if kind == 6:
                    raise
            except BaseException as e:
                return describe(e)
        result = [f(k) for k in range(7)]
    """)


def test_bare_raise_escapes_with_original_traceback():
    # The escaping exception's traceback lines are compared by check(): a bare re-raise adds no
    # entry for the re-raising frame.
    check_exc("""
        def inner():
            raise ValueError('deep')
        def middle():
            try:
                inner()
            except ValueError:
                x = 1
                raise
        def outer():
            try:
                middle()
            finally:
                y = 2
        outer()
    """)


def test_reraise_from_finally_keeps_traceback():
    check_exc("""
        def f(n):
            try:
                if n:
                    raise KeyError(n)
            finally:
                z = n
        def g():
            try:
                f(1)
            except KeyError as e:
                return describe(e)
        result = g()
        f(2)
    """)


def test_no_active_exception_to_reraise():
    check_exc("""
        def f():
            raise
        try:
            f()
        except RuntimeError as e:
            result = describe(e)
        f()
    """)


def test_except_type_must_derive_from_base_exception():
    check_exc("""
        def f(t):
            try:
                raise ValueError('v')
            except t:
                return 'caught'
        result = [f(ValueError), f((KeyError, ValueError))]
        for bad in (int, (ValueError, 3)):
            try:
                f(bad)
            except TypeError as e:
                result.append(describe(e))
    """)


def test_except_star():
    check_exc("""
        def f(eg):
            log = []
            try:
                try:
                    raise eg
                except* ValueError as e:
                    log.append(('V', repr(e.exceptions)))
                except* KeyError as e:
                    log.append(('K', repr(e.exceptions)))
                    raise
                except* OSError:
                    raise RuntimeError('from handler')
            except BaseException as e:
                log.append(('out', type(e).__name__, repr(getattr(e, 'exceptions', None)),
                            repr(e.__context__)))
            return log
        result = [
            f(ExceptionGroup('eg', [ValueError(1), KeyError(2), TypeError(3)])),
            f(ExceptionGroup('eg', [ValueError(1), ExceptionGroup('nested', [KeyError(2), ValueError(3)])])),
            f(ValueError('naked')),
            f(KeyError('naked key')),
            f(OSError('os')),
            f(ExceptionGroup('eg', [OSError(1), KeyError(2)])),
            f(ExceptionGroup('eg', [OSError(1), OSError(2)])),  # one raised: not wrapped
            f(TypeError('unmatched')),
        ]
    """)


def test_except_star_invalid_types():
    check_exc("""
        def f(t):
            caught = []
            try:
                try:
                    raise ExceptionGroup('eg', [ValueError(1)])
                except* t as e:
                    caught.append(repr(e))
            except TypeError as e:
                return describe(e)
            return caught
        result = [f(ValueError), f(int), f(ExceptionGroup), f((ValueError, BaseExceptionGroup))]
    """)


def test_except_star_derive_and_notes():
    check_exc("""
        class MyEG(ExceptionGroup):
            def derive(self, excs):
                print('derive', len(excs))
                return MyEG(self.message + '+', excs)
        def f():
            out = []
            try:
                try:
                    e = MyEG('mine', [ValueError(1), KeyError(2), ValueError(3)])
                    e.add_note('note')
                    raise e
                except* ValueError as v:
                    out.append((repr(v), v.__notes__))
            except MyEG as rest:
                out.append((repr(rest), rest.__notes__, tb_lines(rest)))
            return out
        def g():
            try:
                try:
                    raise MyEG('mine', [ValueError(1), KeyError(2), ValueError(3)])
                except* ValueError:
                    raise
            except MyEG as e:
                return repr(e), tb_lines(e)
        result = [f(), g()]
    """)


def test_with_statement():
    check_exc("""
        class CM:
            def __init__(self, name, suppress=False):
                self.name = name
                self.suppress = suppress
            def __enter__(self):
                print('enter', self.name)
                return self.name.upper()
            def __exit__(self, t, v, tb):
                print('exit', self.name, t and t.__name__, v, tb is not None)
                return self.suppress
        def f(kind):
            with CM('a') as a, CM('b', suppress=(kind == 2)) as b:
                if kind == 1:
                    raise ValueError('not suppressed')
                if kind == 2:
                    raise KeyError('suppressed')
                if kind == 3:
                    return a + b
            return 'after'
        result = []
        for k in range(4):
            try:
                result.append(f(k))
            except Exception as e:
                result.append(describe(e))
    """)


def test_with_errors():
    check_exc("""
        class NoExit:
            def __enter__(self):
                return 1
        class NoEnter:
            def __exit__(self, *a):
                pass
        class EnterFails:
            def __enter__(self):
                raise OSError('enter failed')
            def __exit__(self, *a):
                print('never')
        class ExitFails:
            def __enter__(self):
                return self
            def __exit__(self, *a):
                raise LookupError('exit failed')
        def f(cm, fail=False):
            with cm:
                if fail:
                    raise ValueError('body')
                return 'body done'
        result = []
        for cm, fail in ((NoExit(), False), (NoEnter(), False), (1, False), (EnterFails(), False),
                         (ExitFails(), False), (ExitFails(), True)):
            try:
                result.append(f(cm, fail))
            except Exception as e:
                result.append(describe(e))
        f(ExitFails(), True)
    """)


def test_contextmanager():
    check_exc("""
        import contextlib
        @contextlib.contextmanager
        def cm(tag, swallow):
            print('enter', tag)
            try:
                yield tag * 2
            except ValueError as e:
                print('caught in cm', e)
                if not swallow:
                    raise
            finally:
                print('leave', tag)
        def f(tag, swallow, fail):
            with cm(tag, swallow) as v:
                if fail:
                    raise ValueError(v)
                return v
            return 'swallowed'
        result = []
        for args in (('a', False, False), ('b', True, True), ('c', False, True)):
            try:
                result.append(f(*args))
            except ValueError as e:
                result.append(describe(e))
        with contextlib.suppress(KeyError):
            {}['missing']
    """)


def test_generator_yields_inside_except_and_finally():
    out = check_exc("""
        import sys
        def gen(n):
            for i in range(n):
                try:
                    if i % 2:
                        raise ValueError(i)
                    yield ('try', i, sys.exc_info()[1])
                except ValueError as e:
                    yield ('except', i, sys.exc_info()[1])
                    yield ('still in except', str(e), sys.exc_info()[1])
                finally:
                    yield ('finally', i, sys.exc_info()[1])
                yield ('after', sys.exc_info()[1])
            try:
                raise KeyError('last')
            except KeyError:
                yield 'before bare raise'
                raise
        result = []
        g = gen(40)
        try:
            for v in g:
                result.append(v)
        except KeyError as e:
            result.append(describe(e))
    """)
    assert "before bare raise" in out.result


def test_generator_yields_inside_with():
    check_exc("""
        class CM:
            def __init__(self, log, suppress):
                self.log = log
                self.suppress = suppress
            def __enter__(self):
                self.log.append('enter')
                return self
            def __exit__(self, t, v, tb):
                self.log.append(('exit', t and t.__name__))
                return self.suppress
        def gen(log, n):
            for i in range(n):
                with CM(log, suppress=(i % 3 == 1)):
                    yield i
                    if i % 3:
                        raise ValueError(i)
                    yield -i
        log = []
        result = []
        try:
            for v in gen(log, 30):
                result.append(v)
        except ValueError as e:
            result.append(describe(e))
        result.append(log)
    """)


def test_generator_reraise_paths_resumed_many_times():
    check_exc("""
        def gen():
            n = 0
            while True:
                try:
                    try:
                        yield n
                        raise KeyError(n)
                    finally:
                        n += 1
                        yield ('finally', n)
                except KeyError as e:
                    yield ('outer', e.args[0])
                    try:
                        raise
                    except KeyError:
                        yield 'handled reraise'
                if n > 50:
                    break
        result = list(gen())
    """)


def test_generator_except_yield_as_type():
    # `except (yield):` makes CHECK_EXC_MATCH run in a frame re-entered inside the handler.
    check_exc("""
        def gen():
            for exc in (ValueError('a'), KeyError('b'), TypeError('c')):
                try:
                    raise exc
                except (yield 'which?'):
                    yield ('caught', repr(exc))
        g = gen()
        result = [next(g), g.send(ValueError), next(g), g.send((KeyError, OSError)), next(g)]
        try:
            g.send(ValueError)
        except TypeError as e:
            result.append(describe(e))
        g = gen()
        next(g)
        try:
            g.send(42)
        except TypeError as e:
            result.append(describe(e))
    """)


def test_generator_close_and_throw_inside_handlers():
    check_exc("""
        def gen(log):
            try:
                yield 1
            except GeneratorExit:
                log.append('exit')
                raise
            finally:
                log.append('fin')
        log = []
        g = gen(log)
        next(g)
        g.close()
        g = gen(log)
        next(g)
        try:
            g.throw(ValueError('thrown'))
        except ValueError as e:
            log.append(describe(e))
        result = log
    """)


def test_match_mapping():
    check_exc("""
        from collections import defaultdict, OrderedDict
        class K:
            a = 'x'
            b = 'x'
        def f(subject):
            match subject:
                case {'x': 1, 'y': y, **rest}:
                    return ('xy', y, rest)
                case {'x': x}:
                    return ('x', x)
                case {}:
                    return 'empty-or-other-mapping'
                case _:
                    return 'not a mapping'
        def dup(subject):
            match subject:
                case {K.a: 1, K.b: 2}:
                    return 'dup'
            return 'no'
        d = defaultdict(int)
        result = [f({'x': 1, 'y': 2, 'z': 3}), f({'x': 5}), f({}), f(d), f([('x', 1)]),
                  f(OrderedDict(x=2)), dict(d)]
        try:
            dup({'x': 1})
        except ValueError as e:
            result.append(describe(e))
    """)


def test_match_sequence():
    check_exc("""
        import collections
        def f(subject):
            match subject:
                case []:
                    return 'empty'
                case [x]:
                    return ('one', x)
                case [1, *rest]:
                    return ('starts with 1', rest)
                case (a, b, c):
                    return ('three', a, b, c)
                case [*_, last]:
                    return ('last', last)
                case _:
                    return 'other'
        result = [f([]), f((7,)), f([1, 2, 3, 4]), f((4, 5, 6)), f(range(5)), f('abc'),
                  f(b'xy'), f(collections.deque([9, 8])), f(3), f({1: 2})]
    """)


def test_match_class():
    check_exc("""
        import dataclasses
        class P:
            __match_args__ = ('x', 'y')
            def __init__(self, x, y):
                self.x = x
                self.y = y
        @dataclasses.dataclass
        class D:
            a: int
            b: str = 'b'
        class Sub(P):
            pass
        def f(s):
            match s:
                case P(0, y=0):
                    return 'origin'
                case P(x, y) if x == y:
                    return ('diag', x)
                case D(1, b):
                    return ('D1', b)
                case D(a=a):
                    return ('D', a)
                case int(n) | str(n):
                    return ('builtin self', n)
                case bool():
                    return 'unreached'
                case _:
                    return 'other'
        result = [f(P(0, 0)), f(P(2, 2)), f(Sub(3, 3)), f(P(1, 2)), f(D(1)), f(D(5, 'z')),
                  f(7), f('s'), f(2.5)]
    """)


def test_match_class_errors():
    check_exc("""
        class BadArgs:
            __match_args__ = ['x']
            x = 1
        class NotStr:
            __match_args__ = (1,)
        class Two:
            __match_args__ = ('x', 'x')
            x = 1
        class One:
            __match_args__ = ('x',)
            x = 1
        class Raising:
            @property
            def x(self):
                raise LookupError('property failed')
        ns = type('NS', (), {})()
        ns.notatype = len
        def f(kind, s):
            match s:
                case BadArgs(x) if kind == 0:
                    return x
                case NotStr(x) if kind == 1:
                    return x
                case Two(a, b) if kind == 2:
                    return a
                case One(a, b) if kind == 3:
                    return a
                case int(a, b) if kind == 4:
                    return a
                case One(1, x=2) if kind == 5:
                    return 'dup'
                case ns.notatype() if kind == 6:
                    return 'no'
                case Raising(x=1) if kind == 7:
                    return 'no'
            return 'nomatch'
        result = []
        for kind, s in ((0, BadArgs()), (1, NotStr()), (2, Two()), (3, One()), (4, 5),
                        (5, One()), (6, 1), (7, Raising())):
            try:
                result.append(f(kind, s))
            except Exception as e:
                result.append(describe(e))
        f(3, One())
    """)


def test_match_keys_with_custom_get():
    check_exc("""
        import collections.abc
        class M(collections.abc.Mapping):
            def __init__(self, d):
                self.d = d
            def __getitem__(self, k):
                return self.d[k]
            def __iter__(self):
                return iter(self.d)
            def __len__(self):
                return len(self.d)
            def get(self, k, default=None):
                print('get', k)
                if k == 'boom':
                    raise OSError('get failed')
                return self.d.get(k, default)
        def f(s):
            match s:
                case {'a': a, 'b': b}:
                    return (a, b)
                case {'boom': _}:
                    return 'boom?'
            return 'no'
        result = [f(M({'a': 1, 'b': 2})), f(M({'a': 1}))]
        try:
            f(M({}))
        except OSError as e:
            result.append(describe(e))
    """)


@pytest.mark.parametrize("threshold", [0, 2])
def test_handlers_in_hot_loop(threshold):
    check_exc("""
        def parse(items):
            total = 0
            errors = 0
            for it in items:
                try:
                    total += int(it)
                except ValueError:
                    errors += 1
                except TypeError:
                    errors += 100
                finally:
                    total += 1
            return total, errors
        result = [parse(['1', 'x', None, '4'] * 50) for _ in range(5)]
    """, threshold=threshold)


def test_generator_reraise_into_with_handler():
    # The generator is resumed inside a `finally` while an exception propagates: its RERAISE
    # unwinds (without a new traceback entry) into the `with` statement's handler, which then
    # calls __exit__ (WITH_EXCEPT_START) and either swallows or re-raises the exception.
    check_exc("""
        class CM:
            def __init__(self, suppress):
                self.suppress = suppress
            def __enter__(self):
                return self
            def __exit__(self, t, v, tb):
                print('exit', t.__name__ if t else None, v, tb_lines(v) if v else None)
                return self.suppress
        def gen(cm, exc):
            with cm:
                try:
                    raise exc
                finally:
                    yield 'in finally'
            yield 'after with'
        result = []
        for suppress in (True, False):
            try:
                for v in gen(CM(suppress), KeyError(suppress)):
                    result.append(v)
            except KeyError as e:
                result.append(describe(e))
    """)


def test_generator_reraise_into_except_star():
    check_exc("""
        def gen(eg):
            try:
                try:
                    raise eg
                finally:
                    yield 'in finally'
            except* ValueError as e:
                yield ('V', repr(e.exceptions))
            except* KeyError as e:
                yield ('K', repr(e.exceptions))
                raise
            except* OSError:
                raise RuntimeError('raised in except*')
            yield 'done'
        result = []
        for eg in (ExceptionGroup('eg', [ValueError(1), KeyError(2), TypeError(3)]),
                   ExceptionGroup('eg', [ValueError(1), ExceptionGroup('n', [KeyError(2)])]),
                   ValueError('naked'), OSError('naked os'),
                   ExceptionGroup('eg', [OSError(1), KeyError(2)])):
            try:
                for v in gen(eg):
                    result.append(v)
            except BaseException as e:
                result.append((describe(e), repr(getattr(e, 'exceptions', None))))
    """)


def test_generator_reraise_into_except():
    check_exc("""
        def gen(exc):
            try:
                try:
                    raise exc
                finally:
                    yield 'in finally'
            except (KeyError, IndexError) as e:
                yield ('caught', describe(e))
                try:
                    raise
                finally:
                    yield 'inner finally'
            except ValueError:
                yield 'value error'
            yield 'end'
        result = []
        for exc in (KeyError('k'), ValueError('v'), TypeError('t')):
            try:
                for v in gen(exc):
                    result.append(v)
            except Exception as e:
                result.append(describe(e))
    """)


def _interpreted(stats):
    # Frames handed to the interpreter, except the one call per code object that quickens it
    # (see RESUME in stencils/frame.c): that one is not about exceptions.
    return sum(n for reason, n in stats["frames_interpreted"].items() if reason != "quickening")


def test_exceptions_are_unwound_natively():
    # Caught, re-raised, escaping and nested exceptions: the frames stay native throughout (no
    # frame is handed to the interpreter), with the same results and tracebacks.
    from differential import run_jit
    source = HELPERS + textwrap.dedent("""
        def inner(i):
            if i % 3 == 0:
                raise KeyError(i)
            if i % 3 == 1:
                return {}[i]
            return i
        def outer(n):
            caught = []
            for i in range(n):
                try:
                    try:
                        inner(i)
                    finally:
                        caught.append('f')
                except KeyError as e:
                    caught.append(describe(e))
            return caught
        def escapes():
            try:
                inner(0)
            except ValueError:
                return 'wrong handler'
        result = outer(12)
        try:
            escapes()
        except KeyError as e:
            result.append(describe(e))
    """)
    check(source)
    outcome, before, after = run_jit(source)
    assert _interpreted(after) == _interpreted(before)
    assert after["exceptions_native"] - before["exceptions_native"] >= 12


def test_throw_runs_natively():
    from differential import run_jit
    source = HELPERS + textwrap.dedent("""
        def gen():
            while True:
                try:
                    yield 1
                except KeyError as e:
                    yield describe(e)
                except ValueError:
                    return 'done'
        g = gen()
        next(g)
        result = []
        for i in range(5):
            result.append(g.throw(KeyError(i)))
            next(g)
        try:
            g.throw(ValueError)
        except StopIteration as e:
            result.append(e.value)
    """)
    check(source)
    outcome, before, after = run_jit(source)
    assert after["frames_interpreted"]["throw"] == before["frames_interpreted"]["throw"]
    assert _interpreted(after) == _interpreted(before)


def test_exception_events_under_trace_function():
    # With a trace function set, raising hands the frame to the interpreter, which reports the
    # 'exception' event and the handler's lines exactly as without cpjit.
    check("""
        import sys
        def work():
            for i in range(3):
                try:
                    raise ValueError(i)
                except ValueError:
                    pass
            return i
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == 'work':
                events.append((event, frame.f_lineno,
                               arg[0].__name__ if event == 'exception' else None))
            return tracer
        work()
        sys.settrace(tracer)
        try:
            work()
        finally:
            sys.settrace(None)
        result = events
    """)
