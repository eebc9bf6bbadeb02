"""SEND straight into a compiled generator or coroutine (cpjit_gen_send, csrc/runtime.c), and the
GET_AWAITABLE fast path for coroutines: differential tests against the interpreter.

`yield from` and `await` resume the delegate's native code without PyIter_Send and the hook. What
gen_send_ex2 does around the resumption must be the same: states and their errors, the
StopIteration -> RuntimeError rule, the exception state (sys.exc_info, __context__), frame
linkage (f_back, sys._getframe), the frame a finished generator leaves to a frame object that
outlives it, finalizer order, and the recursion limit.
"""
from differential import check


def test_yield_from_values_sends_and_return_values():
    check("""
        def inner(n):
            got = []
            for i in range(n):
                x = yield i
                got.append(x)
            return got

        def outer():
            r1 = yield from inner(3)
            r2 = yield from inner(2)
            return r1, r2

        g = outer()
        trace = [next(g)]
        try:
            while True:
                trace.append(g.send(len(trace) * 10))
        except StopIteration as e:
            trace.append(e.value)
        result = trace
    """)


def test_yield_from_a_started_generator_and_exhausted_ones():
    check("""
        def inner():
            x = yield 1
            y = yield x
            return ('done', y)

        def outer(sub):
            r = yield from sub
            return r

        sub = inner()
        first = next(sub)
        g = outer(sub)
        a = g.send(None)          # the suspended sub gets None
        try:
            g.send(5)
        except StopIteration as e:
            b = e.value
        done = inner()
        list(done)
        h = outer(done)           # finished: returns None straight away
        try:
            next(h)
        except StopIteration as e:
            c = e.value
        result = first, a, b, c
    """)


def test_stopiteration_in_delegate_becomes_runtime_error():
    out = check("""
        def inner():
            yield 1
            raise StopIteration('boom')

        def outer():
            yield from inner()

        g = outer()
        next(g)
        try:
            next(g)
        except RuntimeError as e:
            result = (str(e), type(e.__cause__).__name__, str(e.__cause__))
    """)
    assert "generator raised StopIteration" in out.result


def test_stopiteration_in_awaited_coroutine_becomes_runtime_error():
    out = check("""
        async def inner():
            raise StopIteration(7)

        async def outer():
            try:
                await inner()
            except RuntimeError as e:
                return str(e), repr(e.__cause__)

        c = outer()
        try:
            c.send(None)
        except StopIteration as e:
            result = e.value
    """)
    assert "coroutine raised StopIteration" in out.result


def test_delegate_raises_with_traceback_lines():
    check("""
        def inner(n):
            yield n
            return 1 / (n - n)

        def outer():
            yield from inner(3)

        g = outer()
        next(g)
        next(g)
    """)


def test_generator_already_executing_through_yield_from():
    check("""
        def inner():
            yield 1
            yield next(me)

        def outer():
            yield from inner()

        me = outer()
        next(me)
        try:
            next(me)
        except ValueError as e:
            result = str(e)
    """)


def test_exception_state_inside_delegate():
    check("""
        import sys

        def inner():
            seen = [repr(sys.exc_info()[1])]
            yield seen
            try:
                raise KeyError('inner')
            except KeyError as e:
                seen.append(repr(e.__context__))
                yield seen
            seen.append(repr(sys.exc_info()[1]))
            return seen

        def outer():
            try:
                raise ValueError('outer')
            except ValueError:
                r = yield from inner()
                r.append(repr(sys.exc_info()[1]))
            r.append(repr(sys.exc_info()[1]))
            yield r

        result = list(outer())
    """)


def test_frames_seen_from_delegate():
    check("""
        import sys

        def inner():
            f = sys._getframe()
            yield (f.f_back.f_code.co_name, sys._getframe(1).f_code.co_name,
                   sys._getframe(2).f_code.co_name, f.f_back.f_lineno)
            yield f.f_back.f_code.co_name

        def outer():
            yield from inner()

        def driver():
            return list(outer())

        result = driver()
    """)


def test_frame_object_outlives_finished_delegate():
    check("""
        import sys

        keep = []

        def inner(a):
            b = a * 2
            keep.append(sys._getframe())
            yield b
            c = b + 1
            return c

        def outer():
            r = yield from inner(4)
            return r

        g = outer()
        next(g)
        try:
            next(g)
        except StopIteration as e:
            r = e.value
        f = keep[0]
        result = (r, f.f_lineno, sorted(f.f_locals.items()), f.f_back, f.f_code.co_name,
                  inner.__code__ is f.f_code)
    """)


def test_finalizer_order_when_delegate_finishes():
    check("""
        class Noisy:
            def __init__(self, name): self.name = name
            def __del__(self): print('del', self.name)

        def inner():
            a = Noisy('a')
            b = Noisy('b')
            yield 1
            print('inner returns')
            return 'r'

        def outer():
            r = yield from inner()
            print('outer got', r)
            yield 2

        for v in outer():
            print('value', v)
    """)


def test_deep_yield_from_chain_and_recursion_limit():
    check("""
        import sys

        def chain(n):
            if n == 0:
                yield 'bottom'
                return 0
            r = yield from chain(n - 1)
            return r + 1

        g = chain(50)
        vals = [next(g)]
        try:
            next(g)
        except StopIteration as e:
            vals.append(e.value)

        def endless(n):
            yield from endless(n + 1)

        try:
            next(endless(0))
        except RecursionError as e:
            vals.append(type(e).__name__)
        result = vals
    """)


def test_coroutine_await_chain_and_awaiting_a_delegating_coroutine():
    check("""
        import types

        @types.coroutine
        def suspend(v):
            got = yield v
            return got

        async def leaf(n):
            x = await suspend(n)
            return x * 2

        async def mid(n):
            return await leaf(n) + await leaf(n + 1)

        c = mid(1)
        trace = [c.send(None)]
        trace.append(c.send(10))
        try:
            c.send(20)
        except StopIteration as e:
            trace.append(e.value)

        async def waiter(other):
            return await other

        busy = leaf(5)
        busy.send(None)            # suspended inside its own await
        try:
            waiter(busy).send(None)
        except RuntimeError as e:
            trace.append(str(e))
        busy.close()
        done = leaf(1)
        done.send(None)
        try:
            done.send(3)
        except StopIteration as e:
            trace.append(e.value)
        try:
            waiter(done).send(None)
        except RuntimeError as e:
            trace.append(str(e))
        result = trace
    """)


def test_send_into_just_started_delegate_and_throw_through():
    check("""
        def inner():
            try:
                yield 1
            except KeyError as e:
                yield ('caught', repr(e))
            return 'end'

        def outer():
            r = yield from inner()
            yield r

        g = outer()
        out = [next(g), g.throw(KeyError('k')), next(g)]
        g2 = outer()
        next(g2)
        g2.close()
        out.append(g2.gi_frame)
        result = out
    """)
