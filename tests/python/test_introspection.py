"""Differential tests of what a program can see of its own running frames while they run
natively: sys._current_frames from another thread, inspect.stack, warnings' stacklevel,
traceback.extract_stack, f_lasti/f_lineno/f_locals of callers, and profile functions switched on
and off in the middle of native frames.

Line numbers come from the instruction pointer native code publishes before every call (SAVE_IP),
so each of these must agree with the interpreter to the line.
"""
from differential import check


def test_current_frames_of_a_thread_blocked_in_a_native_frame():
    check("""
        import sys, threading
        reached, release = threading.Event(), threading.Event()
        seen = []
        def sampler(main_id):
            reached.wait()
            frame = sys._current_frames()[main_id]
            stack = []
            while frame is not None and frame.f_code.co_filename == '<snippet>':
                stack.append((frame.f_code.co_name, frame.f_lineno))
                frame = frame.f_back
            seen.append(stack)
            release.set()
        def work(n):
            total = 0
            for i in range(n):
                total += i
                if i == n - 1:
                    reached.set()
                    release.wait()
            return total
        def outer():
            return work(1000)
        t = threading.Thread(target=sampler, args=(threading.get_ident(),))
        t.start()
        total = outer()
        t.join()
        result = (total, seen)
    """)


def test_inspect_stack_and_extract_stack_from_native_frames():
    check("""
        import inspect, traceback
        def leaf(k):
            here = [(f.function, f.lineno) for f in inspect.stack()[:4]]
            summary = [(fs.name, fs.lineno) for fs in traceback.extract_stack()[-4:]]
            return here, summary, k
        def middle(k):
            x = k * 2
            return leaf(x)
        def top():
            return [middle(k) for k in range(3)]
        result = top()
    """)


def test_warnings_stacklevel_points_at_the_right_caller():
    check("""
        import warnings
        def deprecated(level):
            warnings.warn('old', DeprecationWarning, stacklevel=level)
        def api(level):
            deprecated(level)
        def user(level):
            for _ in range(2):
                api(level)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            for level in (1, 2, 3, 4):
                user(level)
        result = [(w.filename, w.lineno, str(w.message)) for w in caught]
    """)


def test_caller_frame_state_seen_from_a_callee():
    check("""
        import sys
        def peek():
            f = sys._getframe(1)
            return (f.f_code.co_name, f.f_lineno, f.f_lasti, sorted(f.f_locals.items()))
        def caller(a):
            b = a + 1
            first = peek()
            c = b * 2
            second = peek()
            return first, second, c
        result = [caller(i) for i in range(3)]
    """)


def test_profile_function_switched_on_and_off_inside_native_frames():
    check("""
        import sys
        events = []
        def profiler(frame, event, arg):
            name = arg.__name__ if event.startswith('c_') else frame.f_code.co_name
            events.append((event, name, frame.f_lineno))
        def helper(x):
            return abs(x) + len(str(x))
        def work(n):
            total = 0
            for i in range(n):
                if i == 2:
                    sys.setprofile(profiler)
                total += helper(-i)
                if i == 4:
                    sys.setprofile(None)
            return total
        r = [work(6) for _ in range(3)]
        result = (r, events)
    """)


def test_trace_function_set_by_a_callee_sees_the_rest_of_the_caller():
    check("""
        import sys
        lines = []
        def tracer(frame, event, arg):
            if frame.f_code.co_name == 'work':
                lines.append((event, frame.f_lineno))
            return tracer
        def start():
            sys.settrace(tracer)
            sys._getframe(1).f_trace = tracer
        def work():
            a = 1
            start()
            b = a + 1
            for i in range(2):
                b += i
            sys.settrace(None)
            return b
        result = (work(), work(), lines)
    """)
