"""Tier-down trials (csrc/tier_trials.c): a compiled function called from C code whose calls are
long (a root of a large subtree) is measured in alternating blocks natively and as plain python
runs it (the hook taken out for the call, everything beneath interpreted), and its later calls
run the way that measured faster.

A trial changes speed, never behaviour: each program here runs under cpjit (with trials for any
root, CPJIT_TIER_DOWN_US=1, so they start within the program) and under plain python, and prints
the same. Which way a trial decides depends on the machine, so the tests that need a root run
interpreted set its way with cpjit.set_calls_from_c, which puts it in the state a trial leaves.
"""
import cpjit
import pytest
from programs import run_with_lib

# Trials for any root (so they start within a test's program), and no warm window (the call
# count alone decides what compiles, whatever the machine's load).
TRIAL_SETTINGS = {"CPJIT_WARM_WINDOW_MS": "0", "CPJIT_TIER_DOWN_US": "1"}


def run(tmp_path, lib, main, jit=True, **env_extra):
    """run_with_lib with TRIAL_SETTINGS where the environment sets none."""
    return run_with_lib(tmp_path, lib, main, jit, TRIAL_SETTINGS, **env_extra)


def split(out):
    """The program's own output, and the JIT-only report line's words after its tag."""
    lines = out.splitlines()
    report = [line.split()[1:] for line in lines if line.startswith("CPJIT ")]
    return [line for line in lines if not line.startswith("CPJIT ")], report


# A walker whose work is done beneath one function a callable iterator calls (as dulwich's
# Walker._next is called by `iter(self._next, None)`): attribute traffic, small helpers, a
# generator, exceptions raised and caught, a recursive helper, a closure, a dict of counts.
WALKER_LIB = """
    import sys

    class Node:
        def __init__(self, key, parents):
            self.key = key
            self.parents = parents
            self.weight = key % 7

    def build(n):
        nodes = [Node(0, ())]
        for k in range(1, n):
            nodes.append(Node(k, (nodes[k // 2], nodes[k - 1])))
        return nodes

    def depth(node, limit):
        if limit == 0 or not node.parents:
            return 0
        return 1 + depth(node.parents[0], limit - 1)

    def weights(node):
        for parent in node.parents:
            yield parent.weight * 2 + 1

    def checked(value):
        if value % 5 == 3:
            raise ValueError(value)
        return value

    class Walker:
        def __init__(self, nodes):
            self.todo = list(reversed(nodes))
            self.seen = {}

        def _next(self):
            if not self.todo:
                return None
            node = self.todo.pop()
            total = sum(weights(node))
            for limit in range(8, 28):
                total += depth(node, limit)
            try:
                total += checked(node.key)
            except ValueError as e:
                total -= e.args[0] // 2
            scale = lambda x: x * 3 + node.weight
            self.seen[node.weight] = self.seen.get(node.weight, 0) + scale(total)
            caller = sys._getframe(1)
            return (node.key, total, caller.f_code.co_name)

        def __iter__(self):
            return iter(self._next, None)
"""

WALKER_MAIN = """
    import lib

    def main():
        nodes = lib.build(1000)
        digest = 0
        last = None
        for _ in range(16):
            walker = lib.Walker(nodes)
            for key, total, caller in walker:
                digest = (digest * 31 + key * 7 + total) % 1000000007
                last = caller
            print(digest, sorted(walker.seen.items())[:3], last)

    main()
    try:
        import cpjit
    except ImportError:
        pass
    else:
        if cpjit.is_enabled():
            s = cpjit.stats()
            info = cpjit.code_info(lib.Walker._next)
            print("CPJIT", s["tier_trials"], s["tier_trials_tiered_down"] + s["tier_trials_kept_native"],
                  s["frames_interpreted"]["tier_down"], info["state"], info["calls_from_c"])
"""


def test_a_root_called_from_c_is_tried_both_ways_with_the_same_results(tmp_path):
    plain, _ = split(run(tmp_path, WALKER_LIB, WALKER_MAIN, jit=False))
    out, report = split(run(tmp_path, WALKER_LIB, WALKER_MAIN))
    assert out == plain
    assert len(plain) == 16
    [[trials, decided, interpreted_frames, state, way]] = report
    assert int(trials) >= 1, report
    assert int(decided) >= 1, report  # the walker's root, at least, was decided
    assert int(interpreted_frames) > 0, report  # its trial ran calls interpreted
    assert state == "compiled" and way in ("native", "interpreted"), report


def test_without_trials_every_root_stays_native(tmp_path):
    out, report = split(run(tmp_path, WALKER_LIB, WALKER_MAIN, CPJIT_TIER_DOWN_US="0"))
    plain, _ = split(run(tmp_path, WALKER_LIB, WALKER_MAIN, jit=False))
    assert out == plain
    [[trials, decided, interpreted_frames, state, way]] = report
    assert (trials, decided, interpreted_frames, state, way) == ("0", "0", "0", "compiled", "native")


# Calls of a root set to run interpreted, against plain python: what they can see of frames,
# tracebacks and line numbers, tracing started and stopped beneath them, generators made beneath
# them and resumed after they return, a thread started beneath one (the root runs natively while
# it lives), and the way back to native code afterwards.
BEHAVIOUR_LIB = """
    import sys
    import threading
    import traceback

    def leaf(i):
        if i % 9 == 4:
            raise KeyError(i)
        return sys._getframe(1).f_code.co_name, sys._getframe().f_lineno

    def middle(i):
        try:
            return leaf(i)
        except KeyError:
            return "caught", traceback.format_exc().count("line")

    def counter(n):
        for i in range(n):
            yield i * i

    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "leaf":
            events.append((event, frame.f_lineno))
        return tracer

    class Root:
        def __init__(self):
            self.i = 0
            self.gens = []
            self.threads = []

        def step(self):
            self.i += 1
            i = self.i
            if i > 60:
                return None
            if i == 20:
                sys.settrace(tracer)
            if i == 22:
                sys.settrace(None)
            if i == 40:
                t = threading.Thread(target=lambda: [middle(k) for k in range(50)])
                t.start()
                self.threads.append(t)
            if i == 45:
                self.threads.pop().join()
            self.gens.append(counter(i % 5 + 1))
            if i % 13 == 0:
                raise RuntimeError("step %d" % i)
            return middle(i), sys._getframe(1).f_code.co_name, type(sys._getframe(1).f_back)

    def drive(root):
        out = []
        it = iter(root.step, None)
        while True:
            try:
                item = next(it)
            except StopIteration:
                break
            except RuntimeError as e:
                tb = e.__traceback__
                lines = []
                while tb is not None:
                    lines.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
                    tb = tb.tb_next
                out.append(("error", str(e), lines))
                continue
            out.append(item)
        return out
"""

BEHAVIOUR_MAIN = """
    import lib

    def main():
        import sys
        try:
            import cpjit
        except ImportError:
            cpjit = None
        if cpjit is not None and cpjit.is_enabled():
            cpjit.set_calls_from_c(lib.Root.step, "interpreted")
            # The generators' resumes from C (sum) would be roots too: pinned native, so no
            # trial starts here.
            cpjit.set_calls_from_c(lib.counter, "native")
        warm = lib.Root()
        for _ in range(3):
            for k in range(40):
                lib.middle(k)
        for r in range(3):
            root = lib.Root()
            out = lib.drive(root)
            print(r, out)
            print(r, [sum(g) for g in root.gens])
            print(r, lib.events[:6], len(lib.events))
            lib.events.clear()
        if cpjit is not None and cpjit.is_enabled():
            s = cpjit.stats()
            print("CPJIT", s["frames_interpreted"]["tier_down"],
                  cpjit.code_info(lib.Root.step)["calls_from_c"], s["tier_trials"])

    main()
"""


def test_a_root_run_interpreted_behaves_as_plain_python(tmp_path):
    plain, _ = split(run(tmp_path, BEHAVIOUR_LIB, BEHAVIOUR_MAIN, jit=False))
    out, report = split(run(tmp_path, BEHAVIOUR_LIB, BEHAVIOUR_MAIN, CPJIT_THRESHOLD="2"))
    assert out == plain
    [[interpreted_frames, way, trials]] = report
    assert way == "interpreted"
    # Most of the 180 calls ran interpreted: all but those made while the thread lived (and any
    # made before Root.step compiled, which ran as cold calls).
    assert 100 <= int(interpreted_frames) < 183, report
    assert trials == "0", report  # set, not tried


def test_set_calls_from_c_checks_its_arguments():
    def f():
        return 1

    for way in ("interpreted", "native", None):
        cpjit.set_calls_from_c(f, way)
        expected = None if way is None else way
        assert cpjit.code_info(f)["calls_from_c"] == expected
    try:
        cpjit.set_calls_from_c(f, "fast")
    except ValueError as e:
        assert "interpreted" in str(e)
    else:
        raise AssertionError("no ValueError")
    try:
        cpjit.set_calls_from_c(42, None)
    except TypeError:
        pass
    else:
        raise AssertionError("no TypeError")


# The start of each program below: `cpjit` is the module when cpjit runs the program, else None.
ENABLED_CPJIT = """
    try:
        import cpjit
    except ImportError:
        cpjit = None
    if cpjit is not None and not cpjit.is_enabled():
        cpjit = None
"""


# Roots within roots: a visitor recursing through C (`map`), so the root on trial is called
# beneath its own measured call, a second root called from C beneath the first (`sorted`'s key),
# exceptions leaving roots, and cpjit switched off and on again inside a root's call.
NESTED_LIB = """
    class Tree:
        def __init__(self, n, depth):
            self.n = n
            self.children = [Tree(n * 3 + i, depth - 1) for i in range(3)] if depth else []

    def rank(tree):
        return (tree.n * 7919) % 101

    def visit(tree):
        if tree.n % 97 == 5:
            raise LookupError(tree.n)
        kids = sorted(tree.children, key=rank)
        try:
            below = list(map(visit, kids))
        except LookupError as e:
            below = [e.args[0]]
        return tree.n + sum(below)

    def toggle(cpjit, tree):
        if cpjit is not None:
            cpjit.disable()
            cpjit.enable()
        return visit(tree)
"""

NESTED_MAIN = """
    import lib
""" + ENABLED_CPJIT + """
    def main():
        trees = [lib.Tree(k, 5) for k in range(12)]
        for r in range(80):
            out = []
            for t in trees:
                try:
                    out.append(sum(map(lib.visit, [t, t.children[1]])))
                except LookupError as e:
                    out.append(-e.args[0])
            if r == 10:
                out.append(lib.toggle(cpjit, trees[3]))
            print(r, out)

    main()
    if cpjit is not None:
        s = cpjit.stats()
        print("CPJIT", s["tier_trials"], s["frames_interpreted"]["tier_down"])
"""


def test_roots_within_roots_and_a_switch_inside_one(tmp_path):
    plain, _ = split(run(tmp_path, NESTED_LIB, NESTED_MAIN, jit=False))
    out, report = split(run(tmp_path, NESTED_LIB, NESTED_MAIN))
    assert out == plain
    assert len(plain) == 80
    [[trials, interpreted_frames]] = report
    assert int(trials) >= 1 and int(interpreted_frames) > 0, report


# A root whose way is set from inside its own call, on the call that ends its trial's last
# block: the trial must end there, not decide for a root it no longer holds. Each call does the
# same float work, several milliseconds of it (a block of one call), which native code does in
# half the interpreter's time (a float run): the native way wins every pair by far more than
# 10%, so the trial settles after its first four pairs (early, as a clear native win does), and
# its eighth call (plus one per block measured again) is its last.
PIN_LIB = """
    def busy(n):
        x = 0.0
        for i in range(n):
            x = x * 0.5 + 1.0
        return x

    class Slow:
        def __init__(self, cpjit):
            self.cpjit = cpjit
            self.n = 0
            self.first_trial_call = None
            self.pinned_at = None

        def step(self):
            self.n += 1
            if self.n > 220:
                return None
            cpjit = self.cpjit
            if cpjit is not None and self.pinned_at is None:
                s = cpjit.stats()
                if self.first_trial_call is None and s["tier_trials"] >= 1:
                    self.first_trial_call = self.n
                if (self.first_trial_call is not None
                        and self.n - self.first_trial_call + 1 == 8 + s["tier_trial_blocks_void"]):
                    cpjit.set_calls_from_c(Slow.step, "native")
                    self.pinned_at = self.n
            busy(500_000)
            return self.n * 2
"""

PIN_MAIN = """
    import lib
""" + ENABLED_CPJIT + """
    slow = lib.Slow(cpjit)
    print(sum(iter(slow.step, None)))
    if cpjit is not None:
        print("CPJIT", slow.pinned_at is not None, cpjit.code_info(lib.Slow.step)["calls_from_c"],
              cpjit.stats()["tier_trials_tiered_down"] + cpjit.stats()["tier_trials_kept_native"])
"""


def test_a_root_pinned_from_inside_its_trials_last_call(tmp_path):
    plain, _ = split(run(tmp_path, PIN_LIB, PIN_MAIN, jit=False))
    out, report = split(run(tmp_path, PIN_LIB, PIN_MAIN))
    assert out == plain
    [[pinned, way, decided]] = report
    assert pinned == "True" and way == "native", report
    assert decided == "0", report  # the trial ended unfinished: no decision was taken for it


# Generators' resumes from C (list(), str.join, sum, a for loop's FOR_ITER through gen_iternext)
# are roots too (tier_trials.c, "Generators and coroutines"): a pipeline of stages, each resumed
# once per item, with exceptions raised and caught inside a stage, one escaping with its
# traceback, send/throw/close, a stage's frame inspected while suspended, and a coroutine driven
# by send() from C. Run with trials for any root (every stage is tried in turn), and with the
# outermost stage pinned interpreted (its resumes run as plain python runs them, every stage
# beneath included) or native.
PIPELINE_LIB = """
    import sys
    import traceback

    def source(n):
        for i in range(n):
            yield i

    def square(items):
        for i in items:
            try:
                if i % 17 == 5:
                    raise ValueError(i)
                yield i * i
            except ValueError as e:
                yield -int(str(e))

    def tag(items, prefix):
        for k, v in enumerate(items):
            line = sys._getframe().f_lineno
            yield "%s%d:%d@%d" % (prefix, k, v, line)

    def outer(n):
        total = 0
        for s in tag(square(source(n)), "x"):
            total += len(s)
            yield s
        yield "total=%d" % total

    def failing(n):
        for i in square(source(n)):
            if i > 50:
                raise KeyError(i)
            yield i

    def echo():
        got = []
        while True:
            try:
                x = yield len(got)
            except RuntimeError as e:
                got.append(("thrown", str(e)))
                continue
            if x is None:
                return got
            got.append(x)

    def drive_echo(k):
        g = echo()
        g.send(None)
        for i in range(k):
            g.send(i)
        g.throw(RuntimeError("boom"))
        try:
            g.send(None)
        except StopIteration as stop:
            return stop.value

    def suspended_line(n):
        g = outer(n)
        first = next(g)
        frame = g.gi_frame
        info = (first, frame.f_code.co_name, frame.f_lineno, g.gi_running)
        g.close()
        return info, g.gi_frame
"""

PIPELINE_MAIN = """
    import sys, traceback
    import lib
""" + ENABLED_CPJIT + """
    way = None
    if cpjit is not None and way is not None:
        cpjit.set_calls_from_c(lib.outer, way)
    results = []
    for r in range(60):
        out = list(lib.outer(40 + r % 3))
        results.append((len(out), out[-1], out[r % len(out)]))
        results.append("".join(lib.tag(lib.source(5), "y")))
        results.append(sum(lib.square(lib.source(30))))
    print(results[:6], results[-3:], len(results))
    try:
        list(lib.failing(20))
    except KeyError as e:
        tb = traceback.extract_tb(e.__traceback__)
        print("failing", e, [(f.name, f.lineno) for f in tb])
    print(lib.drive_echo(5))
    print(lib.suspended_line(10))
    if cpjit is not None:
        s = cpjit.stats()
        print("CPJIT", s["tier_trials"], s["frames_interpreted"]["tier_down"],
              cpjit.code_info(lib.outer)["calls_from_c"])
"""


def pinned(way):
    """PIPELINE_MAIN with the outermost stage's resumes pinned to `way`."""
    return PIPELINE_MAIN.replace("way = None", "way = %r" % way)


def test_generator_resumes_tried_and_run_either_way_behave_as_plain_python(tmp_path):
    plain, _ = split(run(tmp_path, PIPELINE_LIB, PIPELINE_MAIN, jit=False))
    # Trials for any root: the stages' resumes are judged and tried within the program.
    out, report = split(run(tmp_path, PIPELINE_LIB, PIPELINE_MAIN, CPJIT_THRESHOLD="2"))
    assert out == plain
    [[trials, _, _]] = report
    assert int(trials) >= 1, report
    # The outermost stage pinned interpreted: its resumes from list() run with the hook out.
    out, report = split(
        run(tmp_path, PIPELINE_LIB, pinned("interpreted"), CPJIT_THRESHOLD="2")
    )
    assert out == plain
    [[_, tier_down, way]] = report
    assert way == "interpreted" and int(tier_down) >= 100, report
    # Pinned native: no resume of it runs interpreted, and none is tried.
    out, report = split(
        run(tmp_path, PIPELINE_LIB, pinned("native"), CPJIT_THRESHOLD="2", CPJIT_TIER_DOWN_US="0")
    )
    assert out == plain
    [[trials, tier_down, way]] = report
    assert (trials, tier_down, way) == ("0", "0", "native"), report


LONG_RESUMES_LIB = """
    def long_steps(n, work):
        # Each resume runs `work` iterations before its yield: far longer than a trial block
        # can hold 64 of.
        acc = 0
        for i in range(n):
            for k in range(work):
                acc = (acc + k * i) % 1000003
            yield acc
"""

LONG_RESUMES_MAIN = """
    import lib
""" + ENABLED_CPJIT + """
    out = []
    for r in range(4):
        out.append(list(lib.long_steps(40, 20000))[-1])
    print(out)
    if cpjit is not None:
        s = cpjit.stats()
        print("CPJIT", s["tier_trials"], s["frames_interpreted"]["tier_down"],
              cpjit.code_info(lib.long_steps)["calls_from_c"])
"""


def test_generator_with_long_resumes_is_left_native(tmp_path):
    # Resumes of a few hundred microseconds each: a trial block of 4 ms would hold a handful,
    # comparing unequal work, so the generator is judged native without a trial.
    plain, _ = split(run(tmp_path, LONG_RESUMES_LIB, LONG_RESUMES_MAIN, jit=False))
    out, report = split(run(tmp_path, LONG_RESUMES_LIB, LONG_RESUMES_MAIN, CPJIT_THRESHOLD="2"))
    assert out == plain
    [[trials, tier_down, way]] = report
    assert (trials, tier_down, way) == ("0", "0", "native"), report


def pairs_to_blocks(pairs):
    """Block times in the order a trial runs them, from (native_ns, interpreted_ns) per pair:
    the native block first in even pairs, second in odd ones (tier_trials.c: block_interpreted)."""
    blocks = []
    for p, (native, interpreted) in enumerate(pairs):
        blocks += [native, interpreted] if p % 2 == 0 else [interpreted, native]
    return blocks


def test_trial_verdict_rule():
    """The rule a trial decides by (cpjit_tier_trial_verdict), given the block times: native only
    when its blocks were faster in 6 of 8 pairs and by 1% in the median pair, or in each of the
    first 4 by 10% in their median; interpreted as soon as the native way has lost 3 pairs, since
    it can no longer win 6."""
    verdict = cpjit._cpjit._tier_trial_verdict
    OPEN, INTERPRETED, NATIVE = -1, 0, 1
    slower, faster = (110, 100), (100, 110)  # (native, interpreted) ns of one pair
    assert verdict([]) == OPEN
    assert verdict(pairs_to_blocks([slower] * 2)) == OPEN  # two losses: 6 of 8 still possible
    assert verdict(pairs_to_blocks([slower] * 2)[:5]) == OPEN  # a pair half measured
    assert verdict(pairs_to_blocks([slower] * 3)) == INTERPRETED  # the third loss settles it
    assert verdict(pairs_to_blocks([faster, slower, faster, slower, slower])) == INTERPRETED
    # A clear win in each of the first four pairs (10% in their median) settles it early; a
    # narrower one, or one loss, waits for all eight.
    clear = (100, 115)
    assert verdict(pairs_to_blocks([clear] * 3)) == OPEN
    assert verdict(pairs_to_blocks([clear] * 4)) == NATIVE
    assert verdict(pairs_to_blocks([clear] * 4)[:7]) == OPEN  # the fourth pair half measured
    assert verdict(pairs_to_blocks([(100, 109)] * 4)) == OPEN  # 9%: not clear enough
    assert verdict(pairs_to_blocks([(100, 130)] * 2 + [(100, 105)] * 2)) == NATIVE  # median 17.5%
    assert verdict(pairs_to_blocks([clear] * 3 + [slower])) == OPEN
    assert verdict(pairs_to_blocks([clear] * 3 + [slower] + [clear] * 3)) == OPEN
    assert verdict(pairs_to_blocks([(100, 105)] * 7)) == OPEN  # native needs all 8 for its median
    assert verdict(pairs_to_blocks([(100, 105)] * 8)) == NATIVE
    assert verdict(pairs_to_blocks([faster] * 8)) == NATIVE
    assert verdict(pairs_to_blocks([faster] * 6 + [slower] * 2)) == NATIVE
    # Six wins, but by less than 1% in the median pair: interpreted.
    assert verdict(pairs_to_blocks([(1000, 1005)] * 6 + [slower] * 2)) == INTERPRETED
    # A tie is no win for native.
    assert verdict(pairs_to_blocks([(100, 100)] * 3)) == INTERPRETED
    with pytest.raises(ValueError):
        verdict([1] * 17)
