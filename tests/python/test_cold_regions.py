"""Cold regions (csrc/cold_regions.c): a loopless library function that stays cold, called on
the main thread, runs with everything beneath it as plain python runs it (the hook taken out,
calls inlined by the interpreter), while a sampler thread asks for samples of the innermost code;
hot code found there puts the hook back and the function keeps it.

Each test runs a program in a fresh interpreter (`python -m cpjit`) with a library module of its
own, so the regions, the sampler thread and the hook are the program's and nothing else's.
"""
from programs import run_with_lib as run

CALLER_VIEW_LIB = """
    import sys

    def outer(x):
        return inner(x) + inner(x + 1)

    def inner(x):
        f = sys._getframe(1)
        return [(x, f.f_code.co_name, f.f_lasti, f.f_lineno)]
"""

CALLER_VIEW_MAIN = """
    import lib
    seen = []
    for i in range(40):
        seen += lib.outer(i)
    print(seen)
    try:
        import cpjit
    except ImportError:
        pass
    else:
        if cpjit.is_enabled():
            info = cpjit.code_info(lib.inner)
            s = cpjit.stats()
            print("REGIONS", s["cold_regions"] >= 16, "INNER", info and info["calls"])
"""


def test_a_region_runs_its_callees_as_plain_python(tmp_path):
    # Beneath a region the interpreter inlines calls, as plain python does: the callee is not
    # counted (nothing of cpjit runs for it), and the caller's f_lasti is plain python's (the
    # CALL's last cache entry), not the hooked interpreter's.
    plain = run(tmp_path, CALLER_VIEW_LIB, CALLER_VIEW_MAIN, jit=False)
    jit = run(tmp_path, CALLER_VIEW_LIB, CALLER_VIEW_MAIN, CPJIT_THRESHOLD="1000")
    assert jit.splitlines()[0] == plain.splitlines()[0]
    # `outer` stays cold (threshold 1000) and opens a region at each call; `inner` runs inlined
    # in it, never counted.
    assert jit.splitlines()[1] == "REGIONS True INNER None"


def test_without_sampling_every_cold_call_keeps_the_hook(tmp_path):
    jit = run(tmp_path, CALLER_VIEW_LIB, CALLER_VIEW_MAIN, CPJIT_SAMPLE_US="0",
              CPJIT_THRESHOLD="1000")
    line = jit.splitlines()[1]
    assert line.startswith("REGIONS False INNER ") and line != "REGIONS False INNER None"


HOT_BENEATH_LIB = """
    def run(n):
        return work(n)

    def work(n):
        total = 0
        for i in range(n):
            total += step(i)
        return total

    def step(i):
        return i * 2 + 1
"""

HOT_BENEATH_MAIN = """
    import cpjit, lib
    results = [lib.run(200_000) for _ in range(12)]
    print(results[-1], len(set(results)))
    s = cpjit.stats()
    run_info = cpjit.code_info(lib.run)
    print("FOUND", s["cold_region_hot_found"] >= 1, "KEEPS", run_info["keeps_hook"],
          "WORK", cpjit.code_info(lib.work)["state"], "STEP", cpjit.code_info(lib.step)["state"])
"""


def test_hot_code_beneath_a_region_is_found_and_compiles(tmp_path):
    # `run` is loopless and cold: its calls open regions, in which `work`'s loop and `step`
    # run inlined. The sampler (every 100 us here) finds them innermost again and again: the
    # hook goes back in, `run` keeps it, and `work` (a library loop function, whose calls now
    # reach the hook and spend its loop budget) and `step` (counted from native code) compile.
    out = run(tmp_path, HOT_BENEATH_LIB, HOT_BENEATH_MAIN, CPJIT_SAMPLE_US="100")
    first, second = out.splitlines()
    assert first == "40000000000 1"
    assert second == "FOUND True KEEPS True WORK compiled STEP compiled"


# `work` compiles first (called alone, its loop budget spent); then each `root_k` (32 of them,
# one code object each, loopless, cold) calls it once per call from `drive`, a compiled loop
# of the program's own. Inside their regions `work` runs interpreted (inlined), and the samples
# find it there, compiled code, in nearly all of them.
COMPILED_BENEATH_LIB = """
    def work(n):
        total = 0
        for i in range(n):
            total += i % 7
        return total

    def _root(k):
        namespace = {"work": work}
        exec(f"def root{k}(n):\\n    return work(n) + {k}\\n", namespace)
        return namespace[f"root{k}"]

    ROOTS = [_root(k) for k in range(32)]
"""

COMPILED_BENEATH_MAIN = """
    import cpjit, lib

    for _ in range(50):
        lib.work(2000)
    print("WORK", cpjit.code_info(lib.work)["state"])

    def drive(roots, rounds, n):
        total = 0
        for _ in range(rounds):
            for root in roots:
                total += root(n)
        return total

    print(drive(lib.ROOTS[:ROOTS], ROUNDS, N))
    before = cpjit.stats()["cold_regions"]
    drive(lib.ROOTS[:ROOTS], 4, 10)
    keep = [cpjit.code_info(r)["keeps_hook"] for r in lib.ROOTS[:ROOTS]]
    print("KEEP", sum(keep), "REGIONS AFTER", cpjit.stats()["cold_regions"] - before)
"""


def _compiled_beneath(tmp_path, roots, rounds, n):
    main = (COMPILED_BENEATH_MAIN.replace("ROOTS]", f"{roots}]")
            .replace("ROUNDS", str(rounds)).replace(", N)", f", {n})"))
    jit = run(tmp_path, COMPILED_BENEATH_LIB, main, CPJIT_SAMPLE_US="100",
              CPJIT_LOOP_BUDGET_NS="1").splitlines()
    plain = run(tmp_path, COMPILED_BENEATH_LIB, main.replace("import cpjit, lib", "import lib")
                .replace('print("WORK", cpjit.code_info(lib.work)["state"])', "")
                .split("before =")[0], jit=False).splitlines()
    assert jit[0] == "WORK compiled"
    assert jit[1] == plain[0]
    return jit[2]


def test_a_region_whose_time_goes_to_compiled_code_keeps_the_hook(tmp_path):
    # One root holding all the time: its samples find compiled code beneath it.
    assert _compiled_beneath(tmp_path, 1, 400, 20_000) == "KEEP 1 REGIONS AFTER 0"


def test_cold_callees_of_a_compiled_caller_keep_the_hook_once_some_did(tmp_path):
    # 32 roots called in turn by `drive`: a few of them keep the hook on their own samples, and
    # then all of `drive`'s cold callees do (CPJIT_TIER_CALLEES_KEEP_HOOK): none of them opens
    # a region from then on (the last four rounds: none).
    keep, regions_after = _compiled_beneath(tmp_path, 32, 15, 20_000).split(" REGIONS AFTER ")
    assert regions_after == "0"
    assert 1 <= int(keep.split()[1]) < 32


C_BENEATH_LIB = """
    def run(n):
        return crunch(n)

    def crunch(n):
        return sum(range(n))
"""

C_BENEATH_MAIN = """
    import cpjit, lib
    results = [lib.run(1_000_000) for _ in range(24)]
    print(results[-1], len(set(results)))
    s = cpjit.stats()
    print("LATE", s["cold_region_late_samples"] >= 8, "KEEPS", cpjit.code_info(lib.run)["keeps_hook"])
"""


def test_time_spent_in_c_code_is_not_taken_for_hot_code(tmp_path):
    # `crunch` spends each call in `sum`, C code that serves no pending call: a sample asked for
    # meanwhile is served when `sum` returns, in `crunch`, which is innermost in every sample
    # but whose bytecode took none of the time. Such late samples are dropped, so the region
    # keeps running as plain python and `run` does not keep the hook.
    out = run(tmp_path, C_BENEATH_LIB, C_BENEATH_MAIN, CPJIT_SAMPLE_US="100")
    first, second = out.splitlines()
    assert first == "499999500000 1"
    assert second == "LATE True KEEPS False"


IMPORTS_LIB = """
    import importlib

    def load_all(names):
        return [importlib.import_module(name).VALUE for name in names]
"""

IMPORTS_MAIN = """
    import os, sys, cpjit, lib
    os.makedirs("pkgs", exist_ok=True)
    names = []
    for i in range(300):
        with open(os.path.join("pkgs", "m%d.py" % i), "w") as f:
            f.write("VALUE = %d\\n" % i + "".join("def f%d(x):\\n    return x + %d\\n" % (j, j)
                                                   for j in range(40)))
        names.append("m%d" % i)
    sys.path.insert(0, "pkgs")
    print(sum(lib.load_all(names)))
    print("KEEPS", cpjit.code_info(lib.load_all)["keeps_hook"])
"""


def test_an_import_in_progress_is_not_taken_for_hot_code(tmp_path):
    # `load_all` is a loopless library function whose region spends its time importing: in
    # importlib's own code and in the C code it calls (reading, unmarshalling), mostly in calls
    # too short for a sample to be late. importlib's code innermost is an import in progress,
    # not hot code: the region keeps running as plain python.
    out = run(tmp_path, IMPORTS_LIB, IMPORTS_MAIN, CPJIT_SAMPLE_US="100")
    assert out.splitlines() == [str(sum(range(300))), "KEEPS False"]


SIGNAL_MAIN = """
    import os, signal, lib
    lib.run(100_000)  # regions have opened: the sampler thread runs
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(lib.raise_and_wait(os.getpid()))
"""

SIGNAL_LIB = HOT_BENEATH_LIB + """
    import os, signal

    def raise_and_wait(pid):
        os.kill(pid, signal.SIGUSR1)  # process-directed: any thread not blocking it may take it
        return signal.sigwait({signal.SIGUSR1}).name
"""


def test_signals_stay_with_the_main_thread(tmp_path):
    # The sampler thread blocks every signal: a process-directed SIGUSR1 that the main thread
    # blocks stays pending for its sigwait (delivered to the sampler, its default action would
    # end the process).
    assert run(tmp_path, SIGNAL_LIB, SIGNAL_MAIN, CPJIT_SAMPLE_US="100").strip() == "SIGUSR1"


FORK_LIB = """
    import os

    def fork_and_call(callback):
        pid = os.fork()
        if pid == 0:
            try:
                print("child", callback(), flush=True)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        return "parent"
"""

FORK_MAIN = """
    import cpjit, lib

    def count(n):
        total = 0
        for i in range(n):
            total += i
        return total, cpjit.code_info(count)["state"]

    print(lib.fork_and_call(lambda: count(1000)), flush=True)
"""


def test_a_child_forked_inside_a_region_gets_the_hook_back(tmp_path):
    # `fork_and_call` is a library function called cold: a region. The child's work runs
    # beneath it, and its sampler is gone, so the hook goes back in at the fork: the child's
    # call of a loop function of __main__ is seen and counted, as outside any region (in a
    # region it would have no state at all).
    out = run(tmp_path, FORK_LIB, FORK_MAIN, CPJIT_SAMPLE_US="1000")
    assert out.splitlines() in (["child (499500, 'counting')", "parent"],
                                ["child (499500, 'compiled')", "parent"])  # (a slow machine)


FORK_FROM_THREAD_MAIN = """
    import os, sys, threading, time, cpjit, lib

    def in_thread():
        pid = os.fork()
        if pid == 0:
            # The child's only thread: its regions start a sampler of the child's own. When
            # this function returns, the child ends by this thread's exit, not by exit().
            lib.run(50_000)
            print("child regions", cpjit.stats()["cold_regions"] > 0, flush=True)
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print("child exited", os.waitstatus_to_exitcode(status), flush=True)
                return
            time.sleep(0.01)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("child hung", flush=True)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
"""


def test_a_child_forked_from_a_thread_ends_with_its_thread(tmp_path):
    # A child forked from a thread other than the main one ends when that thread's function
    # returns, by the thread's exit: the sampler thread its regions started must not keep it
    # alive (it did: the child never ended).
    out = run(tmp_path, HOT_BENEATH_LIB, FORK_FROM_THREAD_MAIN, CPJIT_SAMPLE_US="1000")
    assert out.splitlines() == ["child regions True", "child exited 0"]


def test_a_child_forked_from_a_thread_ends_with_a_long_sample_period(tmp_path):
    # The same with a sampler that sleeps for a long time between samples (CPJIT_SAMPLE_US of
    # 1000 s): its sleep must not keep the child alive until it wakes (it did).
    out = run(tmp_path, HOT_BENEATH_LIB, FORK_FROM_THREAD_MAIN, CPJIT_SAMPLE_US="1000000000")
    assert out.splitlines() == ["child regions True", "child exited 0"]


THREAD_LIB = """
    import threading

    def start_and_wait(target):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        return "joined"

    def cold():
        return 1
"""

THREAD_MAIN = """
    import threading, cpjit, lib

    def busy(n):
        total = 0
        for i in range(n):
            total += leaf(i)
        return total

    def leaf(i):
        return i & 7

    def worker():
        # About 100 ms of calls interpreted (plain python's speed here): well past the 20 ms
        # after which the sampler puts the hook back (with 30 rounds a fast moment of the machine
        # ended the worker before that, and `leaf` was never seen by cpjit).
        for _ in range(100):
            busy(20_000)

    print(lib.start_and_wait(worker))
    s = cpjit.stats()
    print("STALLED", s["cold_region_stalled"] >= 1, "LEAF", cpjit.code_info(leaf)["state"])
    # Regions open while another Python thread lives, as while none does.
    t = threading.Thread(target=threading.Event().wait, args=(0.2,))
    t.start()
    before = cpjit.stats()["cold_regions"]
    lib.cold()
    print("WITH A THREAD", cpjit.stats()["cold_regions"] - before)
    t.join()
    before = cpjit.stats()["cold_regions"]
    lib.cold()
    print("ALONE AGAIN", cpjit.stats()["cold_regions"] - before)
"""


def test_a_main_thread_waiting_in_a_region_does_not_keep_other_threads_interpreted(tmp_path):
    # The worker starts inside a region and the main thread waits in `join` there, serving no
    # sample: after 20 ms the sampler puts the hook back itself, and the worker's calls reach
    # native code again. A second thread that lives does not keep regions from opening (until
    # session 44 it did, and tornado's HTTP benchmark, whose resolver threads live from its
    # first request on, ran at 0.89x of plain python).
    out = run(tmp_path, THREAD_LIB, THREAD_MAIN, CPJIT_SAMPLE_US="1000")
    assert out.splitlines() == ["joined", "STALLED True LEAF compiled", "WITH A THREAD 1",
                                "ALONE AGAIN 1"]


OTHER_THREAD_LIB = """
    def wait_in_region(go, done):
        go.set()
        done.wait()
        return "waited"
"""

OTHER_THREAD_MAIN = """
    import threading, lib

    def leaf(i):
        return i & 7

    def busy(n):
        total = 0
        for i in range(n):
            total += leaf(i)
        return total

    go, done = threading.Event(), threading.Event()
    seen = {}
    try:
        import cpjit
        stats = cpjit.stats if cpjit.is_enabled() else None
    except ImportError:
        stats = None

    def worker():
        go.wait()
        before = stats() if stats else None
        seen["total"] = list(map(busy, [5000]))  # called from C
        after = stats() if stats else None
        if stats:
            seen["native"] = after["frames_native"] - before["frames_native"]
            seen["opened"] = before["cold_regions"] - seen["regions_before"]
            seen["ended"] = (after["cold_regions"] - before["cold_regions"],
                             after["cold_region_stalled"] - before["cold_region_stalled"],
                             after["cold_region_hot_found"] - before["cold_region_hot_found"])
        done.set()

    print(busy(300))
    t = threading.Thread(target=worker)
    t.start()
    if stats:
        seen["regions_before"] = stats()["cold_regions"]
    print(lib.wait_in_region(go, done), seen["total"])
    t.join()
    if stats:
        print("NATIVE", seen["native"] > 5000, "OPENED", seen["opened"], "ENDED", seen["ended"])
"""


def test_another_thread_keeps_its_native_code_while_the_main_thread_is_in_a_region(tmp_path):
    # The main thread waits inside a region (the hook out) while the worker calls a compiled
    # function from C: the worker's calls that reach cpjit run natively, as under the hook,
    # callees included; what the interpreter runs for it meanwhile runs as plain python's.
    plain = run(tmp_path, OTHER_THREAD_LIB, OTHER_THREAD_MAIN, jit=False)
    jit = run(tmp_path, OTHER_THREAD_LIB, OTHER_THREAD_MAIN, CPJIT_THRESHOLD="2")
    assert jit.splitlines()[:2] == plain.splitlines() == ["1042", "waited [17500]"]
    # The region opened before the worker's work and was still open after it: no region opened
    # meanwhile, and none had the hook put back.
    assert jit.splitlines()[2] == "NATIVE True OPENED 1 ENDED (0, 0, 0)"


TRACED_THREAD_MAIN = """
    import sys, cpjit, lib

    def leaf(i):
        return i & 7

    def tracer(frame, event, arg):
        return None

    def worker():
        # A traced thread: in 3.11 the interpreter's traced RESUME re-runs its eval-breaker
        # check until the breaker clears, and a thread other than the main one cannot serve
        # the main thread's pending calls.
        sys.settrace(tracer)
        total = 0
        for i in range(100_000):
            total += leaf(i)
        sys.settrace(None)
        print("worker", total)

    print(lib.start_and_wait(worker))
    print("REGIONS", cpjit.stats()["cold_regions"] >= 1)
"""


def test_a_traced_thread_runs_while_the_main_thread_waits_in_a_region(tmp_path):
    # The main thread waits in `join` inside a region while a traced worker holds the GIL: a
    # sample asked for then must not leave the eval breaker set for the worker (it looped in
    # its first traced call for good).
    out = run(tmp_path, THREAD_LIB, TRACED_THREAD_MAIN, CPJIT_SAMPLE_US="200")
    assert out.splitlines() == ["worker 350000", "joined", "REGIONS True"]


DISABLE_LIB = """
    import cpjit

    def switch_off_and_on():
        cpjit.disable()
        off = cpjit.is_enabled()
        cpjit.enable()
        return off, cpjit.is_enabled()

    def switch_off():
        cpjit.disable()
        return cpjit.is_enabled()
"""

DISABLE_MAIN = """
    import cpjit, lib
    print(lib.switch_off_and_on(), cpjit.is_enabled())
    print(lib.switch_off(), cpjit.is_enabled())
"""


def test_disable_and_enable_inside_a_region(tmp_path):
    # disable() inside a region leaves cpjit off when the region ends; enable() there puts the
    # hook in at once.
    out = run(tmp_path, DISABLE_LIB, DISABLE_MAIN)
    assert out.splitlines() == ["(False, True) True", "False False"]

