"""Re-raising natively (RERAISE and bare `raise`, csrc/exc.c cpjit_reraise*): when a handler in
the same frame catches the re-raised exception, the exception object goes straight onto the stack
instead of through ceval's restore / fetch / normalize. Differential tests against the
interpreter: tracebacks (line numbers, tb_lasti), __traceback__ (also when set to None),
__context__, sys.exc_info, lasti restored from the stack, metaclasses whose __subclasscheck__
ceval's normalisation calls, errors raised by the re-raise itself, and long exception tables
(bisected).
"""
import textwrap

from differential import check


TB = """
def tb_info(e):
    out = []
    tb = e.__traceback__
    while tb is not None:
        out.append((tb.tb_frame.f_code.co_name, tb.tb_lineno, tb.tb_lasti))
        tb = tb.tb_next
    return out
"""


def check_tb(source):
    """check() with tb_info(e) defined: (function, line, tb_lasti) of each traceback entry."""
    return check(TB + textwrap.dedent(source))


def test_reraise_caught_in_same_frame_keeps_traceback():
    check_tb("""
        import sys

        def f(n):
            try:
                try:
                    try:
                        1 / n
                    finally:
                        marker = 'finally ran'
                except ZeroDivisionError:
                    inner = repr(sys.exc_info()[1])
                    raise
            except ArithmeticError as e:
                return marker, inner, tb_info(e), repr(e.__context__), repr(sys.exc_info()[1])

        result = [f(0) for _ in range(3)]
    """)


def test_reraise_through_frames_with_finally_and_with():
    check_tb("""
        class CM:
            def __enter__(self): return self
            def __exit__(self, *a): return False

        def leaf(i):
            if i % 2:
                raise KeyError(i)
            return i

        def middle(i):
            with CM():
                try:
                    return leaf(i)
                finally:
                    pass

        def outer(i):
            try:
                return middle(i)
            except KeyError:
                raise

        out = []
        for i in range(6):
            try:
                out.append(outer(i))
            except KeyError as e:
                out.append(tb_info(e))
        result = out
    """)


def test_reraise_of_exception_with_traceback_set_to_none():
    check("""
        def f():
            try:
                try:
                    raise ValueError('v')
                except ValueError as e:
                    e.__traceback__ = None
                    raise
            except ValueError as e:
                return e.__traceback__ is None, e.__traceback__.tb_lineno

        def g():
            try:
                try:
                    raise ValueError('w')
                finally:
                    import sys
                    sys.exc_info()[1].__traceback__ = None
            except ValueError as e:
                return e.__traceback__.tb_lineno

        result = f(), g()
    """)


def test_reraise_with_metaclass_subclasscheck():
    check("""
        calls = []

        class Meta(type):
            def __subclasscheck__(cls, sub):
                calls.append((cls.__name__, sub.__name__))
                return type.__subclasscheck__(cls, sub)

        class Odd(Exception, metaclass=Meta):
            pass

        def f():
            try:
                try:
                    raise Odd('x')
                except Odd:
                    raise
            except Exception as e:
                return repr(e)

        def g():
            try:
                try:
                    raise Odd('y')
                finally:
                    pass
            except Exception as e:
                return repr(e)

        result = f(), g(), calls
    """)


def test_bare_raise_without_active_exception_in_handler_frame():
    check_tb("""
        def f():
            try:
                raise
            except RuntimeError as e:
                return str(e), tb_info(e)

        result = f()
    """)


def test_bare_raise_reraises_outer_handled_exception():
    check_tb("""
        import sys

        def f():
            try:
                raise KeyError('outer')
            except KeyError:
                try:
                    try:
                        raise ValueError('inner')
                    except ValueError:
                        pass
                    raise
                except KeyError as e:
                    return tb_info(e), repr(e.__context__), repr(sys.exc_info()[1])

        result = f()
    """)


def test_reraise_restores_lasti_for_handler_and_lineno():
    check_tb("""
        import sys

        def f():
            try:
                try:
                    x = 1
                    raise TypeError('t')
                finally:
                    y = 2
            except TypeError as e:
                fr = sys._getframe()
                return tb_info(e), fr.f_lineno

        def g():
            try:
                with open(__file__ if False else '/dev/null') as fh:
                    raise OSError('o')
            except OSError as e:
                return tb_info(e)

        result = f(), g()
    """)


def test_reraise_escapes_frame_uncaught():
    check("""
        def f():
            try:
                raise KeyError('k')
            finally:
                pass

        def g():
            try:
                f()
            except KeyError:
                raise

        g()
    """)


def test_long_exception_table_is_bisected():
    body = "\n".join(
        f"""
    try:
        if n == {i}:
            raise KeyError({i})
        acc.append({i})
    except KeyError as e:
        acc.append(('caught', e.args[0]))
        try:
            raise
        except KeyError:
            acc.append('re')""" for i in range(30))
    check(f"""
def f(n):
    acc = []
{body}
    return acc

result = [f(n) for n in (0, 7, 15, 29, 99)]
""")


def test_hand_made_exception_table_keeps_ceval_scan():
    # Entries out of order (a copy of the first appended after the last): not decoded, looked up
    # with ceval's scan, which finds the first matching entry.
    check("""
        def f(x):
            try:
                return 1 / x
            except ZeroDivisionError:
                return 'caught'

        table = f.__code__.co_exceptiontable
        first_end = 1
        while not table[first_end] & 128:
            first_end += 1
        f.__code__ = f.__code__.replace(co_exceptiontable=table + table[:first_end])
        result = [f(0) for _ in range(3)] + [f(2)]
    """)
