"""Generators, coroutines and async generators: differential tests against the interpreter.

Covers RETURN_GENERATOR YIELD_VALUE SEND GET_AWAITABLE GET_AITER GET_ANEXT ASYNC_GEN_WRAP
END_ASYNC_FOR GET_YIELD_FROM_ITER BEFORE_ASYNC_WITH: resumption into native code, send/throw/
close (throw runs in the interpreter), delegation, the awaitable protocol and its error messages,
and the state a suspended generator shows to introspection.
"""
import cpjit

from differential import check

# A tiny event loop: drives a coroutine with send(None) and records what it yields.
LOOP = """
def run(coro):
    trace = []
    value = None
    while True:
        try:
            value = coro.send(value)
        except StopIteration as stop:
            return trace, stop.value
        trace.append(value)
        value = ('resumed', value)

class Yield:
    def __init__(self, v): self.v = v
    def __await__(self):
        got = yield self.v
        return got
"""


def test_sum_of_long_generator():
    out = check("""
        def g(n):
            for i in range(n):
                yield i * 2
        result = sum(g(10000))
    """)
    assert out.result == "99990000"


def test_resumption_reenters_native_code():
    def g(n):
        for i in range(n):
            yield i

    def consume():
        total = 0
        for x in g(5000):
            total += x
        return total

    before = cpjit.stats()
    cpjit.enable(0)
    try:
        total = consume()
    finally:
        cpjit.disable()
    after = cpjit.stats()
    assert total == sum(range(5000))
    assert cpjit.code_info(g)["unsupported"] == []
    # one entry per next() (5001, the last one returns) plus consume() itself
    entered = after["frames_native"] - before["frames_native"]
    assert 5001 <= entered <= 5010, entered
    assert after["frames_interpreted"]["no_entry"] == before["frames_interpreted"]["no_entry"]


def test_send_and_values():
    check("""
        def acc():
            total = 0
            while True:
                x = yield total
                if x is None:
                    return total
                total += x
        g = acc()
        out = [next(g)]
        for i in range(1, 6):
            out.append(g.send(i))
        try:
            g.send(None)
        except StopIteration as e:
            out.append(('stop', e.value))
        out.append(next(g, 'exhausted'))
        result = out
    """)


def test_send_non_none_to_new_generator():
    check("""
        def g():
            yield 1
        result = []
        for make in (g,):
            it = make()
            try:
                it.send(5)
            except TypeError as e:
                result.append(str(e))
            result.append(next(it))
    """)


def test_throw_and_close():
    check("""
        log = []
        def g():
            try:
                for i in range(10):
                    try:
                        yield i
                    except ValueError as e:
                        log.append(('caught', str(e)))
                        yield -i
            finally:
                log.append('finally')
        it = g()
        out = [next(it), next(it)]
        out.append(it.throw(ValueError('boom')))
        out.append(next(it))      # resumes natively after the interpreter ran the handler
        out.append(next(it))
        it.close()
        out.append(list(it))
        it2 = g()
        next(it2)
        try:
            it2.throw(KeyError('k'))
        except KeyError as e:
            out.append(('escaped', repr(e)))
        result = (out, log)
    """)


def test_close_with_yield_in_finally_is_runtime_error():
    check("""
        def g():
            try:
                yield 1
            finally:
                yield 2
        it = g()
        next(it)
        it.close()
    """)


def test_generator_exception_traceback():
    check("""
        def inner(n):
            yield n
            yield 10 // n
        def outer(n):
            x = yield from inner(n)
            yield x
        result = list(outer(5))
        result += list(outer(0))
    """)


def test_stopiteration_inside_generator_becomes_runtime_error():
    check("""
        def g():
            yield 1
            raise StopIteration('x')
        result = []
        try:
            for v in g():
                result.append(v)
        except RuntimeError as e:
            result.append((str(e), type(e.__cause__).__name__))
    """)


def test_yield_from_return_values():
    check("""
        def inner(n):
            got = []
            for i in range(n):
                got.append((yield i))
            return ('inner-done', got)
        def middle():
            r1 = yield from inner(3)
            r2 = yield from inner(2)
            return [r1, r2]
        def outer():
            r = yield from middle()
            yield ('final', r)
        it = outer()
        out = [next(it)]
        k = 0
        while True:
            k += 1
            try:
                out.append(it.send(k))
            except StopIteration:
                break
        result = out
    """)


def test_yield_from_iterables_and_throw_into_delegate():
    check("""
        def g():
            yield from [1, 2]
            yield from range(3, 5)
            yield from (c for c in 'ab')
            yield from iter({'k': 1})
        log = []
        def inner():
            try:
                yield 1
                yield 2
            except ValueError:
                log.append('inner caught')
                yield 'recovered'
            return 'inner-ret'
        def outer():
            r = yield from inner()
            log.append(r)
            yield 'after'
        it = outer()
        log.append(next(it))
        log.append(it.throw(ValueError))
        log.append(next(it))
        it2 = outer()
        next(it2)
        it2.close()
        result = (list(g()), log)
    """)


def test_yield_from_non_iterable():
    check("""
        def g():
            yield 0
            yield from 42
        result = list(g())
    """)


def test_yield_from_coroutine_in_plain_generator():
    check("""
        async def c():
            return 1
        def g():
            co = c()
            try:
                yield from co
            finally:
                co.close()
        result = list(g())
    """)


def test_generator_expressions():
    check("""
        data = [3, 1, 4, 1, 5, 9, 2, 6]
        result = [
            list(x * x for x in data),
            sum(x for x in data if x % 2),
            max((x, -x) for x in data),
            list(a + b for a in (1, 2) for b in (10, 20)),
            dict((k, v) for k, v in zip('abc', data)),
            any(x > 8 for x in data),
            list(x for x in ()),
        ]
    """)


def test_generator_expression_error_line():
    check("""
        def f(items):
            return list(
                10 // x
                for x in items
            )
        result = f([1, 2, 0])
    """)


def test_generator_already_executing():
    check("""
        def g():
            yield next(me)
        me = g()
        try:
            next(me)
        except ValueError as e:
            result = str(e)
    """)


def test_generator_state_introspection():
    check("""
        import inspect
        def g(a):
            b = a + 1
            x = yield b
            states.append((inspect.getgeneratorstate(it), it.gi_running,
                           it.gi_suspended))
            yield x
        states = []
        it = g(1)
        states.append((inspect.getgeneratorstate(it), it.gi_suspended,
                       it.gi_frame is not None))
        states.append(next(it))
        states.append((inspect.getgeneratorstate(it), it.gi_suspended, it.gi_running,
                       it.gi_frame.f_lineno, sorted(it.gi_frame.f_locals.items()),
                       inspect.getgeneratorlocals(it)))
        states.append(it.send('sent'))
        states.append(list(it))
        states.append((inspect.getgeneratorstate(it), it.gi_frame, it.gi_suspended))
        result = states
    """)


def test_generator_frame_back_and_running_frames():
    check("""
        import sys
        def g():
            f = sys._getframe()
            yield (f.f_code.co_name, f.f_back.f_code.co_name, f.f_lineno)
            yield (f.f_back.f_code.co_name, f.f_lineno)
        def driver():
            it = g()
            return [next(it), next(it)]
        result = driver()
    """)


def test_deeply_nested_generators():
    check("""
        def chain(n):
            if n == 0:
                yield 'leaf'
                return 0
            r = yield from chain(n - 1)
            yield n
            return r + n
        def drive():
            out = []
            it = chain(50)
            while True:
                try:
                    out.append(next(it))
                except StopIteration as e:
                    return out, e.value
        result = drive()
    """)


def test_coroutines_with_hand_written_loop():
    check(LOOP + """
        async def leaf(x):
            got = await Yield(('leaf', x))
            return got, x * 2
        async def middle(n):
            out = []
            for i in range(n):
                out.append(await leaf(i))
            return out
        async def top():
            a = await middle(3)
            b = await Yield('top')
            return a, b
        result = run(top())
    """)


def test_asyncio_run():
    check("""
        import asyncio
        async def work(i):
            await asyncio.sleep(0)
            return i * i
        async def main():
            results = await asyncio.gather(*(work(i) for i in range(5)))
            t = asyncio.ensure_future(work(7))
            await asyncio.sleep(0)
            return results, await t
        result = asyncio.run(main())
    """)


def test_coroutine_exceptions_with_tracebacks():
    check(LOOP + """
        async def fail(x):
            await Yield(x)
            return 1 / x
        async def catcher():
            try:
                await fail(0)
            except ZeroDivisionError as e:
                caught = type(e).__name__
            return caught, await fail(2)
        async def escapes():
            v = await fail(1)
            return await fail(v - 1)
        result = [run(catcher())]
        run(escapes())
    """)


def test_coroutine_throw_and_close():
    check(LOOP + """
        log = []
        async def c():
            try:
                await Yield(1)
            except KeyError as e:
                log.append(('caught', repr(e)))
            try:
                await Yield(2)
            finally:
                log.append('closing')
        co = c()
        log.append(co.send(None))
        log.append(co.throw(KeyError('k')))
        co.close()
        try:
            co.send(None)
        except RuntimeError as e:
            log.append(str(e))
        result = log
    """)


def test_coroutine_state_and_cr_await():
    check(LOOP + """
        import inspect
        async def leaf():
            await Yield('leaf')
        async def outer():
            await leaf()
        co = outer()
        states = [inspect.getcoroutinestate(co), co.cr_await, co.cr_running,
                  co.cr_suspended]
        co.send(None)
        aw = co.cr_await
        states += [inspect.getcoroutinestate(co), type(aw).__name__, aw.cr_code.co_name,
                   type(aw.cr_await).__name__, co.cr_frame.f_lineno, co.cr_suspended]
        try:
            co.send(None)
        except StopIteration:
            states.append('done')
        states += [inspect.getcoroutinestate(co), co.cr_await, co.cr_frame]
        result = states
    """)


def test_await_errors():
    check(LOOP + """
        class NoIter:
            def __await__(self):
                return 5
        class ReturnsCoro:
            def __await__(self):
                return leaf()
        class Raises:
            def __await__(self):
                raise ValueError('from __await__')
        async def leaf():
            return 1
        async def await_it(obj):
            return await obj
        out = []
        for obj in (3, NoIter(), ReturnsCoro(), Raises(), [1]):
            try:
                run(await_it(obj))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        import warnings
        warnings.simplefilter('ignore', RuntimeWarning)
    """)


def test_coroutine_awaited_twice_and_reused():
    check(LOOP + """
        async def slow():
            await Yield('slow')
            return 'slow-done'
        async def waiter(c):
            return await c
        out = []
        co = slow()
        co.send(None)      # suspended inside its own await
        try:
            run(waiter(co))
        except RuntimeError as e:
            out.append(str(e))
        out.append(run(waiter(co)))   # finishes it
        try:
            run(waiter(co))
        except RuntimeError as e:
            out.append(str(e))
        result = out
    """)


def test_types_coroutine_generators():
    check(LOOP + """
        import types
        @types.coroutine
        def legacy(x):
            got = yield ('legacy', x)
            return got
        async def modern():
            a = await legacy(1)
            b = await legacy(2)
            return a, b
        result = run(modern())
    """)


def test_async_generators_async_for():
    check(LOOP + """
        async def agen(n):
            for i in range(n):
                got = await Yield(('tick', i))
                yield i, got
        async def consume():
            out = []
            async for pair in agen(3):
                out.append(pair)
            out.append([x async for x in agen(2)])
            return out
        result = run(consume())
    """)


def test_async_generator_asend_athrow_aclose():
    check(LOOP + """
        log = []
        async def agen():
            try:
                x = yield 1
                log.append(('got', x))
                try:
                    yield 2
                except KeyError:
                    log.append('caught')
                    yield 3
            finally:
                log.append('cleanup')
        async def main():
            g = agen()
            log.append(await g.asend(None))
            log.append(await g.asend('a'))
            log.append(await g.athrow(KeyError))
            await g.aclose()
            try:
                await g.__anext__()
            except StopAsyncIteration:
                log.append('stopped')
            return g.ag_running, g.ag_frame
        result = (run(main()), log)
    """)


def test_asyncio_async_generators():
    check("""
        import asyncio
        async def ticker(n):
            for i in range(n):
                await asyncio.sleep(0)
                yield i
        async def main():
            total = 0
            async for v in ticker(50):
                total += v
            return total, [v async for v in ticker(3)]
        result = asyncio.run(main())
    """)


def test_async_generator_exceptions():
    check(LOOP + """
        async def bad():
            yield 1
            raise ValueError('in agen')
        async def bad_stop():
            yield 1
            raise StopAsyncIteration
        async def consume(g):
            out = []
            async for v in g:
                out.append(v)
            return out
        out = []
        for make in (bad_stop, bad):
            try:
                out.append(run(consume(make())))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
        run(consume(bad()))
    """)


def test_async_for_protocol_errors():
    check(LOOP + """
        class NoANext:
            def __aiter__(self):
                return 1
        class BadANext:
            def __aiter__(self):
                return self
            def __anext__(self):
                return 5
        class AIterRaises:
            def __aiter__(self):
                raise KeyError('aiter')
        class Manual:
            def __init__(self): self.i = 0
            def __aiter__(self):
                return self
            async def __anext__(self):
                self.i += 1
                if self.i > 3:
                    raise StopAsyncIteration
                return self.i
        async def consume(obj):
            out = []
            async for v in obj:
                out.append(v)
            return out
        out = []
        for obj in (1, NoANext(), BadANext(), AIterRaises(), Manual()):
            try:
                out.append(run(consume(obj)))
            except Exception as e:
                out.append((type(e).__name__, str(e), type(e.__cause__).__name__))
        result = out
    """)


def test_async_for_else_break_and_body_error():
    check(LOOP + """
        async def agen():
            try:
                for i in range(10):
                    yield i
            finally:
                log.append('agen finally')
        log = []
        async def main():
            async for v in agen():
                if v == 2:
                    break
            else:
                log.append('no')
            async for v in agen():
                pass
            else:
                log.append(('else', v))
            async for v in agen():
                if v == 1:
                    raise LookupError('body')
        try:
            run(main())
        except LookupError as e:
            log.append(str(e))
        result = log
        run(main())
    """)


def test_async_with():
    check(LOOP + """
        log = []
        class CM:
            def __init__(self, name, swallow=False):
                self.name, self.swallow = name, swallow
            async def __aenter__(self):
                await Yield(('enter', self.name))
                return self.name
            async def __aexit__(self, et, ev, tb):
                await Yield(('exit', self.name))
                log.append((self.name, et.__name__ if et else None))
                return self.swallow
        async def main():
            async with CM('a') as a, CM('b') as b:
                log.append((a, b))
            async with CM('s', swallow=True):
                raise KeyError('swallowed')
            async with CM('c'):
                raise ValueError('escapes')
        try:
            run(main())
        except ValueError as e:
            log.append(repr(e))
        result = log
        run(main())
    """)


def test_async_with_protocol_errors():
    check(LOOP + """
        class NoAEnter:
            pass
        class NoAExit:
            async def __aenter__(self): return 1
        class SyncEnter:
            def __aenter__(self): return 1
            async def __aexit__(self, *a): return False
        class SyncExit:
            async def __aenter__(self): return 1
            def __aexit__(self, *a): return False
        class EnterRaises:
            def __aenter__(self): raise KeyError('enter')
            async def __aexit__(self, *a): return False
        async def use(cm):
            async with cm:
                return 'body'
        out = []
        for cm in (NoAEnter(), NoAExit(), SyncEnter(), SyncExit(), EnterRaises(), object()):
            try:
                out.append(run(use(cm)))
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        result = out
    """)


def test_coroutine_origin_tracking():
    check("""
        import sys
        async def c():
            return 1
        def make():
            return c()
        sys.set_coroutine_origin_tracking_depth(2)
        try:
            co = make()
            origin = [(name, line) for _, line, name in co.cr_origin]
            co.close()
        finally:
            sys.set_coroutine_origin_tracking_depth(0)
        co2 = c()
        result = (origin, co2.cr_origin)
        co2.close()
    """)


def test_generator_names_and_identity():
    check("""
        def gen(): yield 1
        async def coro(): pass
        async def agen(): yield 1
        class K:
            def m(self): yield self
        g, c, a, m = gen(), coro(), agen(), K().m()
        result = [(type(x).__name__, x.__name__, x.__qualname__) for x in (g, c, a, m)]
        result.append((g.gi_code is gen.__code__, c.cr_code is coro.__code__,
                       a.ag_code is agen.__code__))
        c.close()
        gen.__name__, gen.__qualname__ = 'renamed', 'Q.renamed'
        g2 = gen()
        result.append((g2.__name__, g2.__qualname__, g2.gi_code.co_name))
    """)


def test_generator_keeps_locals_and_closure():
    check("""
        def make(k):
            def g(a, *args, **kw):
                total = a
                for x in args:
                    total += x * k
                    yield total
                yield sorted(kw.items())
            return g
        result = list(make(3)(1, 2, 3, z=1, y=2))
    """)


def test_generator_resumed_under_trace_function():
    # Created and first resumed natively, then resumed while sys.settrace is active: the
    # interpreter runs the resumed frame and the tracer sees the same events.
    check("""
        import sys
        def g():
            a = yield 1
            b = yield a + 1
            yield b * 2
        events = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == 'g':
                events.append((event, frame.f_lineno))
            return tracer
        it = g()
        first = next(it)
        sys.settrace(tracer)
        try:
            second = it.send(10)
            third = it.send(20)
        finally:
            sys.settrace(None)
        result = (first, second, third, events)
    """)


def test_yield_from_inside_trace_function():
    # Trace functions run with tracing paused but c_tracefunc set: SEND takes ceval's slow path.
    check("""
        import sys
        def inner():
            x = yield 1
            return x
        def delegate():
            r = yield from inner()
            return r
        def collect():
            it = delegate()
            next(it)
            try:
                it.send('v')
            except StopIteration as e:
                return e.value
        seen = []
        def tracer(frame, event, arg):
            if event == 'call' and frame.f_code.co_name == 'target':
                seen.append(collect())
            return None
        def target():
            return 1
        sys.settrace(tracer)
        try:
            target()
        finally:
            sys.settrace(None)
        result = seen
    """)


def test_throw_into_just_started_generator():
    check("""
        def g():
            yield 1
        it = g()
        try:
            it.throw(ValueError('early'))
        except ValueError as e:
            out = [repr(e)]
        out.append(list(it))
        it2 = g()
        it2.close()
        out.append(list(it2))
        result = out
        g().throw(KeyError('escapes'))
    """)


def test_async_generator_hooks():
    check(LOOP + """
        import sys
        seen = []
        async def agen():
            yield 1
            yield 2
        async def main():
            g = agen()
            first = await g.__anext__()
            return first
        old = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(firstiter=lambda g: seen.append(('first', g.__qualname__)),
                               finalizer=lambda g: seen.append(('final', g.__qualname__)))
        try:
            out = run(main())
        finally:
            sys.set_asyncgen_hooks(*old)
        import gc
        gc.collect()
        result = (out, seen)
    """)


def test_resume_points_of_code_objects_that_die_and_are_replaced():
    # Resuming a suspended generator looks its native resume point up in a table keyed by the
    # frame's bytecode address; code objects die and new ones take their memory in this loop,
    # resumed through next() (the hook) and through `yield from` (SEND), so a stale entry would
    # run a dead code object's machine code or the wrong instruction.
    check("""
        import gc
        out = []
        for i in range(120):
            ns = {}
            body = "\\n".join(f"    yield {k} * {i} + {j}" for j, k in enumerate(range(i % 5 + 2)))
            exec(f"def gen{i}():\\n{body}\\n    return {i}\\n"
                 f"def outer{i}():\\n    r = yield from gen{i}()\\n    yield ('done', r)\\n", ns)
            g = ns[f"gen{i}"]()
            out.append(next(g))
            out.append(list(g))
            o = ns[f"outer{i}"]()
            out.append(next(o))
            out.append(list(o))
            del ns, g, o
            gc.collect()
        result = out
    """)
