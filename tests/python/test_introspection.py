"""Differential tests of what a program can see of its own running frames while they run
natively: sys._current_frames from another thread, inspect.stack, warnings' stacklevel,
traceback.extract_stack, f_lasti/f_lineno/f_locals of callers, and profile functions switched on
and off in the middle of native frames.

Line numbers come from the instruction pointer native code publishes before every call (SAVE_IP),
so each of these must agree with the interpreter to the line.
"""
import pytest

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


# Python code an instruction runs without a CALL: an operator's dunder, a truth test, a hash, a
# property, __getattr__, __iter__/__next__, a generator resumed by `for` or by unpacking. Each
# k_* function switches tracing on inside such code (on its last run only) and then makes a C
# call on the same line and on the next: the profile function must see both, and a trace
# function set on the k_* frame every line after it, as under the interpreter, whose dispatch
# notices tracing before the very next instruction.
IMPLICIT_CALL_SITES = """
    import sys
    ON = [None]
    def on():
        if ON[0] is not None:
            ON[0]()
    class T:
        def __add__(self, o): on(); return 1
        def __iadd__(self, o): on(); return self
        def __sub__(self, o): on(); return 1
        def __mul__(self, o): on(); return 1
        def __truediv__(self, o): on(); return 1
        def __mod__(self, o): on(); return 1
        def __getitem__(self, k): on(); return 1
        def __setitem__(self, k, v): on()
        def __delitem__(self, k): on()
        def __eq__(self, o): on(); return True
        def __lt__(self, o): on(); return True
        def __bool__(self): on(); return True
        def __hash__(self): on(); return 1
        def __contains__(self, k): on(); return True
        def __neg__(self): on(); return 1
        def __invert__(self): on(); return 1
        def __iter__(self): on(); return iter([1, 2])
        def __len__(self): on(); return 2
        def __getattr__(self, name): on(); return len
        @property
        def prop(self): on(); return 1
        @prop.setter
        def prop(self, v): on()
        @prop.deleter
        def prop(self): on()
    class It:
        def __init__(self): self.n = 0
        def __iter__(self): return self
        def __next__(self):
            self.n += 1
            if self.n > 2: raise StopIteration
            on(); return 1
    def gen():
        on(); yield 1; yield 2
    t = T()
    def k_add(): x = t + 1; abs(-1)
    def k_iadd():
        x = t
        x += 1; abs(-1)
    def k_sub(): x = t - 1; abs(-1)
    def k_mul(): x = t * 2; abs(-1)
    def k_div(): x = t / 2; abs(-1)
    def k_mod(): x = t % 2; abs(-1)
    def k_subscr(): x = t[0]; abs(-1)
    def k_store_subscr(): t[1] = 2; abs(-1)
    def k_delete_subscr():
        del t[1]; abs(-1)
    def k_eq(): x = t == 1; abs(-1)
    def k_lt():
        if t < 1: abs(-1)
        abs(-2)
    def k_eq_jump():
        if t == 1: abs(-1)
        abs(-2)
    def k_bool():
        if t: abs(-1)
        abs(-2)
    def k_not(): x = not t; abs(-1)
    def k_and(): x = t and 1; abs(-1)
    def k_or(): x = t or 1; abs(-1)
    def k_hash_store():
        d = {}
        d[t] = 1; abs(-1)
    def k_hash_build(): d = {t: 1}; abs(-1)
    def k_set(): s = {t}; abs(-1)
    def k_contains(): x = 1 in t; abs(-1)
    def k_neg(): x = -t; abs(-1)
    def k_invert(): x = ~t; abs(-1)
    def k_prop(): x = t.prop; abs(-1)
    def k_prop_set(): t.prop = 1; abs(-1)
    def k_prop_del():
        del t.prop; abs(-1)
    def k_getattr(): x = t.missing; abs(-1)
    def k_method(): x = t.missing(()); abs(-1)
    def k_unpack(): a, b = t; abs(-1)
    def k_unpack_ex(): a, *b = t; abs(-1)
    def k_list(): x = [*t]; abs(-1)
    def k_next():
        for v in It(): abs(-1)
        abs(-2)
    def k_gen():
        for v in gen(): abs(-1)
        abs(-2)
    def k_gen_unpack(): a, b = gen(); abs(-1)
    def k_match():
        match t:
            case [a, b]: abs(-1)
        abs(-2)
    def k_loop():
        total = 0
        for i in range(3):
            total += i
            if i == 1:
                y = t + 1
            abs(-i)
        return total
    sites = [v for k, v in list(globals().items()) if k.startswith('k_')]
    for _ in range(40):
        for f in sites:
            f()
    seen = []
    def profiler(frame, event, arg):
        if frame.f_code.co_name.startswith('k_') and event.startswith('c_'):
            seen.append((event, frame.f_code.co_name, frame.f_lineno, arg.__name__))
    def tracer(frame, event, arg):
        if frame.f_code.co_name.startswith('k_'):
            seen.append((event, frame.f_code.co_name, frame.f_lineno))
        return tracer
    def start_profile():
        sys.setprofile(profiler)
    def start_trace():
        sys.settrace(tracer)
        sys._getframe(3).f_trace = tracer  # on <- the dunder <- the k_* frame
    result = []
    for start in (start_profile, start_trace):
        for f in sites:
            ON[0] = start
            f()
            sys.setprofile(None)
            sys.settrace(None)
            ON[0] = None
            result.append((start.__name__, f.__name__, seen[:]))
            seen.clear()
"""


@pytest.mark.parametrize("threshold", [0, 16])
def test_tracing_switched_on_by_python_code_an_instruction_runs(threshold):
    check(IMPLICIT_CALL_SITES, threshold=threshold)


# Where the interpreter goes on when tracing was switched on by a conditional jump's own truth
# test, by a loop iterator's last step, or by the unpacking of `f(*it)`: the events that follow
# depend on which instruction the interpreter takes as the previous one (a `line` event at a
# jump's target only when its line differs from the jump's), on FOR_ITER reporting a raised
# StopIteration to the trace function, and on the call being profiled. (A taken
# JUMP_IF_TRUE_OR_POP / JUMP_IF_FALSE_OR_POP is the documented exception: COMPATIBILITY.md.)
JUMP_AND_LOOP_ENDS = """
    import sys
    events = []
    def tr(frame, event, arg):
        if frame.f_code.co_name.startswith(('k_', '<listcomp>')):
            events.append((event, frame.f_code.co_name, frame.f_lineno))
        return tr
    def prof(frame, event, arg):
        if frame.f_code.co_name.startswith('k_'):
            events.append((event, getattr(arg, '__name__', None)))
    ON = [False]
    def on(profile=False):
        if ON[0]:
            if profile:
                sys.setprofile(prof)
            else:
                sys.settrace(tr)
                sys._getframe(2).f_trace = tr
    class B:
        def __init__(self, v): self.v = v
        def __bool__(self):
            on()
            return self.v
    class It:
        def __iter__(self): return self
        def __next__(self):
            on()
            raise StopIteration
        def __del__(self):
            events.append('iterator released')
    class Star:
        def __iter__(self):
            on(True)
            return iter([1, 2])
    def g():
        yield 1
        if ON[0]:
            sys.settrace(tr)
            sys._getframe(1).f_trace = tr
    def k_if_last(o):
        if o:
            print('no')
    def k_assert(o, p, n):
        try:
            assert o and (p or
                          n in (1,
                                2))
        except AssertionError:
            pass
    def k_for_raise(it):
        for x in it: pass
        return 1
    def k_for_own():
        for x in It(): pass
        return 2
    def k_for_gen():
        for x in g():
            y = x
    def k_listcomp(o):
        return [x for x in [1]
                if o]
    def k_while(n):
        b = B(True)
        while b:
            n -= 1
            b = B(n > 0)
        return n
    def k_star(x):
        return max(*x)
    calls = [(k_if_last, lambda: (B(False),)), (k_assert, lambda: (B(False), 0, 3)),
             (k_for_raise, lambda: (It(),)), (k_for_own, tuple), (k_for_gen, tuple),
             (k_listcomp, lambda: (B(True),)), (k_while, lambda: (3,)), (k_star, lambda: (Star(),))]
    for _ in range(40):
        for f, args in calls:
            f(*args())
    result = []
    ON[0] = True
    for f, args in calls:
        f(*args())
        sys.settrace(None)
        sys.setprofile(None)
        result.append((f.__name__, events[:]))
        events.clear()
"""


@pytest.mark.parametrize("threshold", [0, 16])
def test_where_the_interpreter_goes_on_after_tracing_starts_in_a_jump_or_a_loop_end(threshold):
    check(JUMP_AND_LOOP_ENDS, threshold=threshold)


# The hand-over after a conditional jump's truth test switched tracing on is one shared helper
# (csrc/calls.c: cpjit_truth_traced) that reads the jump's sense, target and redo point from its
# code unit: forward and backward jumps, taken and not, on their predecessor's line and not, and
# jumps behind EXTENDED_ARG prefixes (bodies of more than 255 code units).
# A tracer for functions named k_*, and B, whose __bool__ switches it on (in the caller's frame
# too) while ON[0] is set: the preamble of the programs below.
TRUTH_SWITCHES_TRACING_ON = """
    import sys
    events = []
    def tr(frame, event, arg):
        if frame.f_code.co_name.startswith('k_'):
            events.append((frame.f_code.co_name, event, frame.f_lineno))
        return tr
    ON = [False]
    class B:
        def __init__(self, v): self.v = v
        def __bool__(self):
            if ON[0]:
                sys.settrace(tr)
                sys._getframe(1).f_trace = tr
            return self.v
"""

TRUTH_TRACED_JUMPS = TRUTH_SWITCHES_TRACING_ON + """
    def k_while(n):
        i = 0
        o = B(True)
        while o:
            i += 1
            o = B(i < n)
        return i
    body = chr(10).join(f"        x += {i}" for i in range(300))
    exec(chr(10).join([
        "def k_big(o, p):", "    x = 0", "    if o:", body, "    if not p:", body, "    return x",
        "def k_big_back(n):", "    i = 0", "    x = 0", "    o = B(True)", "    while o:", body,
        "        i += 1", "        o = B(i < n)", "    return x"]))
    def k_sameline(o): return 1 if o else 2
    def k_elif(o, p):
        if o: return 'a'
        elif p: return 'b'
        return 'c'
    def run(flag):
        for fn, args in [(k_while, (3,)), (k_big, (B(True), B(False))),
                         (k_big, (B(False), B(True))), (k_big_back, (3,)),
                         (k_sameline, (B(True),)), (k_sameline, (B(False),)),
                         (k_elif, (B(False), B(True))), (k_elif, (B(True), B(False)))]:
            ON[0] = flag
            r = fn(*args)
            ON[0] = False
            sys.settrace(None)
            events.append((fn.__name__, 'result', r))
    for i in range(20):
        run(False)
    run(True)
    run(True)
    result = events
"""


@pytest.mark.parametrize("threshold", [0, 16])
def test_tracing_switched_on_by_a_jumps_truth_test_in_every_jump_form(threshold):
    check(TRUTH_TRACED_JUMPS, threshold=threshold)


# The same hand-over when the unit before the jump is a cache entry that looks like an
# EXTENDED_ARG_QUICK prefix: `o.a290`'s LOAD_ATTR keeps the dict hint 290 (0x122) in its last
# cache entry, whose low byte is EXTENDED_ARG_QUICK's opcode. Read backward from the jump it gave
# oparg 258 and a redo point inside the caches (a segmentation fault); the helper decodes the
# jump forward from its REDO, as every out-of-line path does.
CACHE_ENTRY_BEFORE_A_JUMP = TRUTH_SWITCHES_TRACING_ON + """
    class O:
        def __init__(self, v):
            for i in range(300):
                setattr(self, f"a{i}", i)
            self.a290 = v
    def k_attr(o):
        if o.a290:
            return 'yes'
        return 'no'
    def run(flag):
        for v in (True, False):
            ON[0] = flag
            r = k_attr(O(B(v)))
            ON[0] = False
            sys.settrace(None)
            events.append(('result', r))
    for i in range(40):
        run(False)
    run(True)
    result = events
"""


@pytest.mark.parametrize("threshold", [0, 16])
def test_tracing_switched_on_by_a_jumps_truth_test_after_a_cache_entry_like_a_prefix(threshold):
    check(CACHE_ENTRY_BEFORE_A_JUMP, threshold=threshold)
