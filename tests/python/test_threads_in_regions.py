"""Threads while the main thread runs cold regions (csrc/cold_regions.c, cpjit_hooked_for).

The main thread opens regions (the hook out, interpreter-wide) while worker threads live and take
the GIL in between: the workers run interpreted code as plain python does and their calls that
reach cpjit natively. Each program runs plainly and under cpjit with the GIL switched often, and
its output must be plain python's: results, exceptions and tracebacks of both sides, and the
frames a callee sees.
"""
import pytest

from programs import run_with_lib as run

LIB = """
    import sys, traceback

    def shape(x):
        # A loopless library function: cold, a region on the main thread.
        return combine(x, x + 1) + combine(x + 2, x)

    def combine(a, b):
        return (a * 31 + b) % 1009

    def caller_line(x):
        f = sys._getframe(1)
        return (x, f.f_code.co_name, f.f_lineno)

    def fail(x):
        if x % 5 == 0:
            raise ValueError(f"bad {x}")
        return x

    def guarded(x):
        try:
            return fail(x)
        except ValueError as e:
            tb = traceback.extract_tb(e.__traceback__)
            return (str(e), [(t.name, t.lineno) for t in tb])

    def run_task(fn, x):
        return fn(x)

    def wait_for(event):
        event.wait()
        return "released"
"""

MAIN = """
    import sys, threading, queue, lib
    from concurrent.futures import ThreadPoolExecutor

    sys.setswitchinterval(1e-5)

    def leaf(i):
        return (i * 7) & 63

    def busy(n):
        total = 0
        for i in range(n):
            total += leaf(i) + lib.combine(i, n)
        return total

    def job(x):
        return (busy(200 + x), lib.shape(x), lib.guarded(x), lib.caller_line(x))

    results = {}

    def worker(name, q):
        out = []
        while True:
            x = q.get()
            if x is None:
                break
            out.append(lib.run_task(job, x))
            out.append(list(map(busy, [50 + x])))
        results[name] = out

    queues = [queue.Queue() for _ in range(3)]
    threads = [threading.Thread(target=worker, args=(f"w{i}", q)) for i, q in enumerate(queues)]
    for t in threads:
        t.start()
    main_out = []
    for x in range(60):
        queues[x % 3].put(x)
        main_out.append(lib.shape(x))
        main_out.append(lib.guarded(x))
        main_out.append(lib.caller_line(x))
    for q in queues:
        q.put(None)
    for t in threads:
        t.join()
    print(main_out)
    for name in sorted(results):
        print(name, results[name])

    with ThreadPoolExecutor(4) as pool:
        print(list(pool.map(job, range(40))))
        print([f.result() for f in [pool.submit(lib.guarded, x) for x in range(20)]])

    event = threading.Event()
    def release_later():
        print("worker", busy(1000), lib.guarded(10)[0], flush=True)
        event.set()
    t = threading.Thread(target=release_later)
    t.start()
    print(lib.wait_for(event))
    t.join()

    def raiser():
        lib.fail(15)
    errors = []
    def hook(args):
        errors.append((args.exc_type.__name__, str(args.exc_value),
                       [f.name for f in __import__("traceback").extract_tb(args.exc_traceback)]))
    threading.excepthook = hook
    t = threading.Thread(target=raiser)
    t.start()
    t.join()
    print(errors)
"""


@pytest.mark.parametrize("env", [
    {"CPJIT_THRESHOLD": "2", "CPJIT_SAMPLE_US": "50"},
    {"CPJIT_THRESHOLD": "16", "CPJIT_SAMPLE_US": "1000"},
    {"CPJIT_THRESHOLD": "256"},
], ids=["threshold2-sample50", "threshold16", "defaults"])
def test_threaded_program_matches_plain_python(tmp_path, env):
    plain = run(tmp_path, LIB, MAIN, jit=False)
    jit = run(tmp_path, LIB, MAIN, **env)
    assert jit == plain


STATS_MAIN = MAIN + """
    import cpjit
    s = cpjit.stats()
    print("REGIONS", s["cold_regions"] > 0, "NATIVE", s["frames_native"] > 0)
"""


def test_regions_open_and_native_code_runs_in_the_threaded_program(tmp_path):
    # The differential test above means something only if both sides of the change ran.
    out = run(tmp_path, LIB, STATS_MAIN, CPJIT_THRESHOLD="16", CPJIT_SAMPLE_US="1000")
    assert out.splitlines()[-1] == "REGIONS True NATIVE True"


WORKER_MAIN = """
    import sys, threading, lib
    try:
        import cpjit
        stats = cpjit.stats if cpjit.is_enabled() else None
    except ImportError:
        stats = None
    out = []
    go = threading.Lock()
    go.acquire()

    def work():
        go.acquire()  # (a C call: the worker starts its work once the main thread is out of start())
        before = stats()["cold_regions"] if stats else 0
        for x in range(200):
            out.append((lib.shape(x), lib.guarded(x), lib.caller_line(x)))
        if stats:
            out.append(("regions on this thread", stats()["cold_regions"] - before > 100))

    t = threading.Thread(target=work)
    t.start()
    go.release()
    # The main thread waits outside any region of its own (`join` would be one, keeping the
    # hook out, and the worker's calls inlined as plain python's, for its first 20 ms).
    import time
    while t.is_alive():
        time.sleep(0.001)
    t.join()
    print(out)
"""


def test_a_worker_thread_runs_its_cold_calls_as_regions(tmp_path):
    # Until session 44 only the main thread opened regions: a program whose work ran on a worker
    # thread paid the hook on every cold call (the email program: 0.86x of plain python).
    plain = run(tmp_path, LIB, WORKER_MAIN, jit=False)
    jit = run(tmp_path, LIB, WORKER_MAIN, CPJIT_THRESHOLD="1000")
    assert jit.replace(", ('regions on this thread', True)", "") == plain
    assert "('regions on this thread', True)" in jit


LONG_LIB = """
    def run(fn, n):
        # A loopless library function: called once on the worker, a region lasting the whole run.
        return fn(n)
"""

LONG_MAIN = """
    import threading, time, lib

    def leaf(i):
        return (i * 3) & 15

    def spin(n):
        total = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.2:
            for i in range(n):
                total += leaf(i)
        return total > 0

    out = []
    go = threading.Lock()
    go.acquire()

    def work():
        go.acquire()  # (a C call: the work starts once the main thread is out of start())
        out.append(lib.run(spin, 1000))

    t = threading.Thread(target=work)
    t.start()
    go.release()
    while t.is_alive():
        time.sleep(0.001)
    print(out)
    try:
        import cpjit
    except ImportError:
        pass
    else:
        if cpjit.is_enabled():
            s = cpjit.stats()
            print("HOT", s["cold_region_hot_found"] >= 1, "LEAF", cpjit.code_info(leaf)["state"])
"""


def test_a_worker_threads_region_is_sampled_at_its_calls(tmp_path):
    # A worker's region is sampled at the next call the thread makes after the sampler asks
    # (the hook put back in meanwhile): the hot leaf beneath it is found, and compiles.
    plain = run(tmp_path, LONG_LIB, LONG_MAIN, jit=False)
    jit = run(tmp_path, LONG_LIB, LONG_MAIN, CPJIT_THRESHOLD="256", CPJIT_SAMPLE_US="100")
    assert jit.splitlines()[0] == plain.splitlines()[0] == "[True]"
    assert jit.splitlines()[1] == "HOT True LEAF compiled"


CALL_FREE_MAIN = """
    import threading, time, lib

    def spin(n):
        # No Python call for 200 ms: no sample can be served (only C calls are made).
        t0 = time.monotonic()
        total = 0
        while time.monotonic() - t0 < 0.2:
            total += n & 7
        return total > 0

    out = []
    go = threading.Lock()
    go.acquire()

    def work():
        go.acquire()
        out.append(lib.run(spin, 3))

    t = threading.Thread(target=work)
    t.start()
    go.release()
    # The main thread makes no Python call while the worker spins (a call of its own would
    # meet the hook a sample request put back in, and open a region of its own instead).
    time.sleep(0.4)
    t.join()
    print(out)
    try:
        import cpjit
    except ImportError:
        pass
    else:
        if cpjit.is_enabled():
            s = cpjit.stats()
            print("LONG", s["cold_region_long_unsampled"] >= 1,
                  "KEEPS", cpjit.code_info(lib.run)["keeps_hook"])
"""


def test_a_long_region_of_a_worker_thread_gets_the_hook_back(tmp_path):
    # A worker's region that makes no call a sample could be taken at: 20 ms after the sampler
    # thread sees it open (it naps up to 256 sample periods while no region opens: 25.6 ms here)
    # it puts the hook back, and the region's function keeps it.
    plain = run(tmp_path, LONG_LIB, CALL_FREE_MAIN, jit=False)
    jit = run(tmp_path, LONG_LIB, CALL_FREE_MAIN, CPJIT_THRESHOLD="256", CPJIT_SAMPLE_US="100")
    assert jit.splitlines()[0] == plain.splitlines()[0] == "[True]"
    assert jit.splitlines()[1] == "LONG True KEEPS True"
