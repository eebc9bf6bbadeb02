"""The hub probe (csrc/hub_probe.c): a warm loopless library function has the calls it makes
watched for a few of its calls before it compiles; one whose calls mostly go to code that stays
interpreted (a hub) stays interpreted itself, as a cold region, and is probed again later.

Each test runs a program in a fresh interpreter (`python -m cpjit`) with a library module of its
own, against plain python where the output is the program's own.
"""
import textwrap

from programs import run_with_lib as run

# `hub` calls two of 32 leaves per call: each leaf gets a sixteenth of its calls, so the leaves
# stay far from their threshold while `hub` gets warm. `tight` does its own arithmetic and
# calls one helper as often as it is called itself (the helper gets warm with it).
LIB = """
    import sys

    def _leaf(k):
        # A code object of its own per leaf (closures of one def would share theirs, and its
        # count).
        namespace = {}
        exec(f"def leaf{k}(x):\\n"
             f"    if x == -1:\\n"
             f"        raise ValueError('leaf {k} refuses ' + str(x))\\n"
             f"    return x * {k} + 1\\n", namespace)
        return namespace[f"leaf{k}"]

    LEAVES = [_leaf(k) for k in range(32)]
    L = LEAVES  # read as a global by hub

    def hub(i):
        a = L[i % 32](i)
        b = L[(i + 7) % 32](a)
        return a + b

    def helper(x):
        return x ^ 5

    def tight(i):
        v = i * 3 + 1
        v = (v << 2) - i
        return helper(v) + (v % 7)

    # `chain` calls three helpers on every call, and `relay` two of its own the same way: beneath
    # a cold region they would never be counted, but each is called as often as the function
    # above it, so it gets warm as soon as that function compiles.
    def step_a(x):
        return x + 1

    def step_b(x):
        return x * 2

    def step_c(x):
        return relay(x) - 3

    def relay_a(x):
        return x ^ 3

    def relay_b(x):
        return x | 8

    def relay(x):
        return relay_a(x) + relay_b(x)

    def chain(i):
        return step_c(step_b(step_a(i))) + step_a(i)

    def caller_line():
        return sys._getframe(1).f_lineno
"""

MAIN = """
    import lib

    def report(tag, fn):
        try:
            import cpjit
        except ImportError:
            return
        if cpjit.is_enabled():
            info = cpjit.code_info(fn)
            s = cpjit.stats()
            print(tag, info["state"], info["hub"], s["hub_probes"] >= 1, s["hubs_found"] >= 1)

    total = 0
    for i in range(3000):
        total += lib.hub(i)
    print("HUB", total)
    total = 0
    for i in range(3000):
        total += lib.tight(i)
    print("TIGHT", total)
    report("HUBINFO", lib.hub)
    report("TIGHTINFO", lib.tight)
"""


def test_a_hub_stays_interpreted_and_a_tight_function_compiles(tmp_path):
    plain = run(tmp_path, LIB, MAIN, jit=False)
    jit = run(tmp_path, LIB, MAIN, CPJIT_THRESHOLD="16")
    lines = jit.splitlines()
    assert [l for l in lines if "INFO" not in l] == plain.splitlines()
    # hub: probed, found a hub, still counting (interpreted); tight: probed and compiled.
    assert "HUBINFO counting True True True" in lines
    assert "TIGHTINFO compiled False True True" in lines


def test_without_regions_there_is_no_probe(tmp_path):
    # With sampling off no function runs as a region, so leaving a hub interpreted would only
    # make each of its calls pay the hook: it compiles at its threshold, unprobed.
    jit = run(tmp_path, LIB, MAIN, CPJIT_THRESHOLD="16", CPJIT_SAMPLE_US="0")
    lines = jit.splitlines()
    assert "HUBINFO compiled False False False" in lines


RETRY_MAIN = """
    import cpjit, lib

    def phase(n):
        total = 0
        for i in range(n):
            total += lib.hub(i)
        return total

    first = phase(3000)
    print("FIRST", cpjit.code_info(lib.hub)["hub"], cpjit.code_info(lib.hub)["state"])
    # The leaves get warm on their own and compile; the hub's next probes find its calls
    # going to compiled code.
    for leaf in lib.LEAVES:
        for i in range(400):
            leaf(i)
    print("LEAVES", {cpjit.code_info(leaf)["state"] for leaf in lib.LEAVES})
    second = phase(20000)
    print("SECOND", cpjit.code_info(lib.hub)["hub"], cpjit.code_info(lib.hub)["state"])
    print(first, second)
"""

RETRY_PLAIN = """
    import lib
    total = [sum(lib.hub(i) for i in range(n)) for n in (3000, 20000)]
    for leaf in lib.LEAVES:
        for i in range(400):
            leaf(i)
    print(*total)
"""


def test_a_hub_whose_callees_compiled_compiles_at_a_later_probe(tmp_path):
    jit = run(tmp_path, LIB, RETRY_MAIN, CPJIT_THRESHOLD="16").splitlines()
    plain = run(tmp_path, LIB, RETRY_PLAIN, jit=False).splitlines()
    assert jit[0] == "FIRST True counting"
    assert jit[1] == "LEAVES {'compiled'}"
    assert jit[2] == "SECOND False compiled"
    assert jit[3] == plain[0]


CHAIN_MAIN = """
    import lib
    total = 0
    for i in range(6000):
        total += lib.chain(i)
    print("CHAIN", total)
    try:
        import cpjit
    except ImportError:
        pass
    else:
        if cpjit.is_enabled():
            for fn in (lib.chain, lib.step_a, lib.step_b, lib.step_c, lib.relay, lib.relay_a):
                info = cpjit.code_info(fn) or {"state": "never counted", "hub": None}
                print("INFO", fn.__name__, info["state"], info["hub"])
"""


def test_callees_called_on_every_call_compile_with_their_caller(tmp_path):
    plain = run(tmp_path, LIB, CHAIN_MAIN, jit=False).splitlines()
    # At the default threshold: a probe of 16 calls brings no callee halfway to it.
    jit = run(tmp_path, LIB, CHAIN_MAIN, CPJIT_THRESHOLD="256").splitlines()
    assert jit[0] == plain[0]
    assert jit[1:] == [f"INFO {name} compiled False"
                       for name in ("chain", "step_a", "step_b", "step_c", "relay", "relay_a")]


def test_probes_that_never_end_do_not_keep_later_ones_from_telling_callees_apart(tmp_path):
    # Twelve functions are called just often enough to start their probes and never again:
    # their probes stay open. The chain's probe, started after them, still judges its callees
    # one by one.
    lib = LIB + """
    def _stale(k):
        namespace = {}
        exec(f"def stale{k}(x):\\n    return step_a(x) + {k}\\n", globals(), namespace)
        return namespace[f"stale{k}"]

    STALE = [_stale(k) for k in range(12)]
    """
    main = textwrap.dedent("""
        import lib
        stale = 0
        for fn in lib.STALE:
            for i in range(257):
                stale += fn(i)
        print("STALE", stale)
    """) + textwrap.dedent(CHAIN_MAIN)
    plain = run(tmp_path, lib, main, jit=False).splitlines()
    jit = run(tmp_path, lib, main, CPJIT_THRESHOLD="256").splitlines()
    assert jit[:2] == plain[:2]
    assert jit[2:] == [f"INFO {name} compiled False"
                       for name in ("chain", "step_a", "step_b", "step_c", "relay", "relay_a")]


def test_functions_and_callees_that_die_during_their_probes(tmp_path):
    # Families of functions made by exec, each a function calling ten callees of its own, called
    # just into their probe (or past it) and then dropped: the probe's references to the
    # callees go when the probed code object dies, whatever state the callees are in.
    lib = """
    import gc

    def make_family(seed):
        namespace = {}
        source = "def hub(i):\\n    return " + " + ".join(f"c{k}(i)" for k in range(10)) + "\\n"
        for k in range(10):
            source += f"def c{k}(x):\\n    return x * {k} + {seed}\\n"
        exec(source, namespace)
        return namespace["hub"]

    def run(threshold):
        total = 0
        for family in range(60):
            hub = make_family(family)
            for i in range(threshold + 1 + family % 24):
                total += hub(i)
            del hub
            gc.collect()
        return total
    """
    main = """
        import lib
        print(lib.run(16), lib.run(256))
    """
    plain = run(tmp_path, lib, main, jit=False)
    for threshold in ("16", "256"):
        assert run(tmp_path, lib, main, CPJIT_THRESHOLD=threshold) == plain


def test_calls_during_a_probe_behave_as_in_plain_python(tmp_path):
    # The probe's calls run in the interpreter under the hook: what the callees see of their
    # caller (its line), and an exception's traceback through the probed function, are plain
    # python's whichever of its calls the probe watches.
    lib = LIB + """
    def probed(i, fail):
        line = caller_line()
        if fail:
            return L[3](-1) + line
        return L[i % 32](i) + L[(i + 1) % 32](i) + line
    """
    main = """
        import traceback
        import lib
        out = []
        for i in range(200):
            try:
                out.append(lib.probed(i, i % 9 == 4))
            except ValueError as e:
                tb = traceback.extract_tb(e.__traceback__)
                out.append([(f.name, f.lineno, f.line) for f in tb])
        print(out)
    """
    plain = run(tmp_path, lib, main, jit=False)
    jit = run(tmp_path, lib, main, CPJIT_THRESHOLD="16")
    assert jit == plain
