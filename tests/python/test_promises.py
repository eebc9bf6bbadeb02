"""The promises cpjit makes about the process it runs in, tested as a user would see them:

* no mapping is ever writable and executable, even while one thread compiles and others run
  native code (read from /proc/self/maps);
* executable memory stays within a small factor of live code when most code dies and a few
  survivors stay (freed space is discarded and reused, survivors do not pin whole chunks);
* past CPJIT_MAX_CODE_MB cpjit stops compiling, says so in stats(), and the program runs on
  in the interpreter with the same results;
* native code leaks no memory: sys.getallocatedblocks() stays flat over thousands of runs of
  snippets that call, raise, yield, close over, build classes and comprehensions.
"""
import gc
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import cpjit

FUNC = """
def f{i}(x):
    y = x + {i}
    z = [y, x, 2]
    for i in z:
        y = y * 2 + i
    if y > 10:
        return y - x
    return (y, z)
"""


# A function whose machine code spans more than a page (the memory tests below measure pages).
BIG_FUNC = """
def f{i}(x):
    y = x + {i}
    z = [y, x, 2]
    for i in z:
        y = y * 2 + i
        z[0] = z[1] // 3 + y % 7
    w = {{"a": y, "b": x}}
    w["c"] = w["a"] - w["b"]
    if y > 10:
        return y - x, w, str(y).upper()
    return (y, z, w)
"""


def run_python(code, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)


def executable_mappings():
    """(start, end, perms, path) of every mapping with execute or write+execute permission."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            out.append((lo, hi, parts[1], parts[5] if len(parts) > 5 else ""))
    return out


def test_no_mapping_is_ever_writable_and_executable():
    assert not [m for m in executable_mappings() if "w" in m[2] and "x" in m[2]], "before cpjit"
    stop = threading.Event()
    errors = []
    compiled = [0]

    def compiler():
        i = 0
        while not stop.is_set():
            ns = {}
            exec(FUNC.format(i=i), ns)
            if cpjit.compile(ns[f"f{i}"]):
                compiled[0] += 1
            i += 1

    def runner():
        ns = {}
        exec(FUNC.format(i=0) + "\ndef loop(n):\n    t = []\n    for k in range(n):\n"
             "        t.append(f0(k))\n    return t\n", ns)
        expected = ns["loop"](200)
        cpjit.compile(ns["f0"])
        cpjit.compile(ns["loop"])
        while not stop.is_set():
            try:
                if ns["loop"](200) != expected:
                    errors.append("wrong result")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
                return

    cpjit.enable(0)
    threads = [threading.Thread(target=compiler)] + [threading.Thread(target=runner) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        bad = []
        reads = 0
        while compiled[0] < 200 or reads < 50:
            reads += 1
            bad += [m for m in executable_mappings() if "w" in m[2] and "x" in m[2]]
    finally:
        stop.set()
        for t in threads:
            t.join()
        cpjit.disable()
    assert not bad, f"writable and executable mappings: {bad[:5]}"
    assert not errors
    assert compiled[0] > 10


def test_survivors_do_not_pin_executable_memory():
    # The case scaled down: compile 3,000 functions, keep 1 in 100 alive.
    r = run_python("""
        import gc, cpjit
        FUNC = %r
        def anon_exec():
            total = 0
            with open("/proc/self/maps") as f:
                for line in f:
                    parts = line.split()
                    if "x" in parts[1] and len(parts) == 5:
                        lo, hi = (int(x, 16) for x in parts[0].split("-"))
                        total += hi - lo
            return total
        base = anon_exec()
        funcs = []
        for i in range(3000):
            ns = {}
            exec(FUNC.format(i=i), ns)
            assert cpjit.compile(ns["f%%d" %% i])
            funcs.append(ns["f%%d" %% i])
        full = anon_exec() - base
        survivors = funcs[::100]
        del funcs, ns
        gc.collect()
        after = anon_exec() - base
        s = cpjit.stats()
        live = sum(cpjit.code_info(f)["native_bytes"] for f in survivors)
        print(full, after, live, s["code_mapped_bytes"], s["code_live_bytes"])
        expected = [f(1) for f in survivors]  # not enabled: the interpreter
        cpjit.enable(0)
        assert [f(1) for f in survivors] == expected
        cpjit.disable()
    """ % BIG_FUNC)
    assert r.returncode == 0, r.stderr
    full, after, live, mapped, live_stat = map(int, r.stdout.split())
    assert full >= 3000 * 4096, (full, live)
    # Survivors keep the pages they touch, not their chunks: within a small factor of live code.
    assert after <= 3 * live, f"{after} bytes executable for {live} bytes of live code"
    assert mapped <= 3 * live_stat, (mapped, live_stat)


def test_code_cap_stops_compiling_and_the_program_runs_on():
    r = run_python("""
        import cpjit
        FUNC = %r
        plain = []
        funcs = []
        for i in range(400):
            ns = {}
            exec(FUNC.format(i=i), ns)
            funcs.append(ns["f%%d" %% i])
            plain.append(funcs[-1](3))
        cpjit.enable(0)
        jit = [f(3) for f in funcs] + [f(3) for f in funcs]
        cpjit.disable()
        s = cpjit.stats()
        states = [cpjit.code_info(f)["state"] for f in funcs]
        assert jit == plain + plain
        print(s["max_code_bytes"], s["code_mapped_bytes"], s["code_cap_reached"],
              states.count("compiled"), states.count("failed"),
              s["frames_interpreted"]["compile_failed"], s["compile_failed_reasons"]["code_cap_reached"],
              s["compile_failed"])
        print(s["recent_compile_errors"][-1])
    """ % BIG_FUNC, {"CPJIT_MAX_CODE_MB": "1"})
    assert r.returncode == 0, r.stderr
    first, message = r.stdout.splitlines()
    cap, mapped, refused, compiled, failed, handed_over, reason, all_failed = map(int, first.split())
    # Every failure is the cap's: the functions', and any other code object's that warmed up
    # past it (the comprehensions here).
    assert reason == all_failed and failed <= reason <= failed + 2
    assert cap == 1 << 20
    assert mapped <= cap
    assert refused >= 1 and failed >= 1 and compiled >= 50
    assert handed_over >= failed
    assert "CPJIT_MAX_CODE_MB" in message


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_and_parent_keep_their_own_code():
    # Code is written into private pages before they are sealed: after fork each process must
    # write only its own copy (copy on write). Both sides compile
    # new code into the space the other's code was freed from, then check all their code.
    r = run_python("""
        import gc, os, cpjit
        FUNC = %r
        def make(lo, hi):
            out = []
            for i in range(lo, hi):
                ns = {}
                exec(FUNC.format(i=i), ns)
                assert cpjit.compile(ns["f%%d" %% i])
                out.append((ns["f%%d" %% i], i))
            return out
        def check(funcs):
            cpjit.enable(0)
            try:
                for f, i in funcs:
                    y = 3 + i
                    for k in [y, 3, 2]:
                        y = y * 2 + k
                    assert f(3) == (y - 3 if y > 10 else (y, [3 + i, 3, 2])), i
            finally:
                cpjit.disable()
        kept = make(0, 300)
        doomed = make(300, 600)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                mine = make(1000, 1300)   # into fresh space the parent may also fill
                del doomed[:]
                gc.collect()
                mine += make(1300, 1600)  # into space the parent still uses for `doomed`
                check(kept + mine)
                status = 0
            finally:
                os._exit(status)
        del doomed[:]
        gc.collect()
        ours = make(2000, 2600)           # into space the child still uses
        _, status = os.waitpid(pid, 0)
        check(kept + ours)
        print(os.waitstatus_to_exitcode(status))
    """ % FUNC)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0"]


def test_closing_descriptors_it_does_not_own_never_redirects_code_writes(tmp_path):
    # A program may close every descriptor (daemons do: os.closerange) and reuse the numbers;
    # compiling must never write into the file behind a reused number (sealing once wrote
    # through a descriptor of /proc/self/mem; it uses none now).
    # tmpfs takes writes at any offset (ext4 would refuse one at a code address with EFBIG).
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else str(tmp_path)
    log = os.path.join(base, f"cpjit-test-{os.getpid()}.log")
    r = run_python("""
        import os, cpjit
        FUNC = %r
        def make(i):
            ns = {}
            exec(FUNC.format(i=i), ns)
            assert cpjit.compile(ns["f%%d" %% i])
            return ns["f%%d" %% i]
        before = [make(i) for i in range(5)]
        os.closerange(3, 4096)
        fds = [os.open(%r, os.O_RDWR | os.O_CREAT, 0o600) for _ in range(64)]  # any number
        fd = fds[0]
        os.write(fd, b"log line\\n")
        after = [make(i) for i in range(5, 10)]
        plain = [f(3) for f in before + after]  # not enabled: the interpreter
        cpjit.enable(0)
        jit = [f(3) for f in before + after]
        cpjit.disable()
        for fd in fds:
            os.close(fd)
        print(jit == plain, os.path.getsize(%r))
    """ % (FUNC, log, log))
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["True", str(len(b"log line\n"))]
    finally:
        if os.path.exists(log):
            os.unlink(log)


# What a child process reports about its own descriptors after compiling: the descriptors
# /proc/self/fd lists (the listing's own directory descriptor included, on both sides alike), the
# numbers os.open hands out next, and how many code objects cpjit compiled (0 when it is off).
DESCRIPTOR_PROBE = """
import os, sys
FUNC = %r
fns = []
for i in range(40):
    ns = {}
    exec(FUNC.format(i=i), ns)
    fns.append(ns["f%%d" %% i])
total = [f(3) for f in fns for _ in range(3)]
opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
listed = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
try:
    import cpjit
    compiled = cpjit.stats()["compiled"] if cpjit.is_enabled() else 0
except ImportError:
    compiled = 0
print(total, opened, listed, sys.argv[1:])
print(compiled)
""" % FUNC


def probe_descriptors(jit, popen_kwargs=None, args=()):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    if jit:
        env.update({"CPJIT": "1", "CPJIT_THRESHOLD": "0"})
    r = subprocess.run([sys.executable, "-c", DESCRIPTOR_PROBE, *args], capture_output=True,
                       text=True, env=env, timeout=300, **(popen_kwargs or {}))
    assert r.returncode == 0, r.stderr
    seen, compiled = r.stdout.splitlines()
    return seen, int(compiled)


def test_a_program_sees_the_same_descriptors_as_without_cpjit():
    # cpjit writes code through /proc/self/mem; a descriptor kept open for that would take a
    # number the program expects to get (os.open), show in /proc/self/fd and in what a child
    # lists as its own (CPython's test_subprocess: test_pass_fds, test_close_fds).
    plain, none = probe_descriptors(jit=False)
    jit, compiled = probe_descriptors(jit=True)
    assert none == 0 and compiled >= 40
    assert jit == plain


def test_a_child_given_pass_fds_has_exactly_those_descriptors():
    # As test_subprocess's test_pass_fds_redirected: the child, under cpjit, must report only
    # 0, 1, 2 and the descriptors passed, whatever numbers the parent had open.
    r, w = os.pipe()
    extra = [os.open(os.devnull, os.O_RDONLY) for _ in range(4)]
    try:
        kwargs = {"close_fds": True, "pass_fds": (extra[1], extra[3])}
        args = (str(extra[1]), str(extra[3]))
        plain, _ = probe_descriptors(False, kwargs, args)
        jit, compiled = probe_descriptors(True, kwargs, args)
        assert compiled >= 40
        assert jit == plain
    finally:
        for fd in [r, w, *extra]:
            os.close(fd)


def test_compiling_with_no_descriptor_to_spare():
    # A process that has used up its descriptors (EMFILE) must still compile and run the same
    # code (sealing once opened /proc/self/mem for each compile; it now needs no descriptor).
    r = run_python("""
        import os, resource, cpjit
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        fds = []
        try:
            while True:
                fds.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as e:
            assert e.errno == 24
        src = "def f{i}(x):\\n    s = 0\\n    for k in range(x):\\n        s += k * {i}\\n    return s\\n"
        total = 0
        before = cpjit.stats()["compiled"]
        for i in range(100):
            ns = {}
            exec(src.format(i=i), ns)
            for _ in range(3):
                total += ns["f%d" % i](50)
        compiled = cpjit.stats()["compiled"] - before
        for fd in fds:
            os.close(fd)
        print(total, compiled)
    """, {"CPJIT": "1", "CPJIT_THRESHOLD": "0"})
    assert r.returncode == 0, r.stderr
    total, compiled = map(int, r.stdout.split())
    assert total == sum(sum(k * i for k in range(50)) * 3 for i in range(100))
    assert compiled >= 100


def test_code_cap_of_zero_means_no_cap():
    r = run_python("import cpjit; print(cpjit.stats()['max_code_bytes'])", {"CPJIT_MAX_CODE_MB": "0"})
    assert (r.returncode, r.stdout) == (0, "0\n")


def test_bad_code_cap_warns_and_uses_the_default():
    r = run_python("import cpjit; print(cpjit.stats()['max_code_bytes'])", {"CPJIT_MAX_CODE_MB": "big"})
    assert r.returncode == 0 and r.stdout == f"{cpjit.DEFAULT_MAX_CODE_MB << 20}\n"
    assert len(r.stderr.splitlines()) == 1 and "CPJIT_MAX_CODE_MB" in r.stderr


HUGE_PAGE_PROGRAM = """
    import cpjit
    FUNC = %r
    funcs = []
    for i in range(600):
        ns = {}
        exec(FUNC.format(i=i), ns)
        funcs.append(ns["f%%d" %% i])
    plain = [(f(3), f(4)) for f in funcs]
    cpjit.enable(0)
    jit = [(f(3), f(4)) for f in funcs]
    mapped = cpjit.stats()["code_mapped_bytes"]
    # Half the code objects die (their regions are freed); the rest, and code compiled into
    # the freed space, run on.
    del funcs[::2]
    for i in range(600, 700):
        ns = {}
        exec(FUNC.format(i=i), ns)
        funcs.append(ns["f%%d" %% i])
        plain.append((funcs[-1](3), funcs[-1](4)))
    again = [(f(3), f(4)) for f in funcs]
    cpjit.disable()
    print(jit == plain[:600] and again == plain[1:600:2] + plain[600:], mapped > 512 * 1024,
          cpjit.stats()["code_huge_chunks"])
""" % BIG_FUNC


def kernel_gives_huge_pages():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            mode = f.read()
    except OSError:
        return False
    return "[always]" in mode or "[madvise]" in mode


@pytest.mark.parametrize("setting", ["1", "0", "maybe"])
def test_code_goes_on_huge_pages_once_a_process_has_much_of_it(setting):
    # Past 512 KiB of machine code new chunks are 2 MiB huge-page chunks (src/memory.rs) where
    # the kernel has transparent huge pages; the code in them runs the same. CPJIT_HUGE_PAGES=0
    # keeps 4 KiB pages; a value cpjit does not understand gets a warning and the default (on).
    r = run_python(HUGE_PAGE_PROGRAM, {"CPJIT_HUGE_PAGES": setting})
    assert r.returncode == 0, r.stderr
    same, big, huge = r.stdout.split()
    assert (same, big) == ("True", "True")
    assert (int(huge) > 0) == (setting != "0" and kernel_gives_huge_pages())
    if setting == "maybe":
        assert len(r.stderr.splitlines()) == 1 and "CPJIT_HUGE_PAGES" in r.stderr
    else:
        assert r.stderr == ""


LEAK_SNIPPETS = {
    "calls": """
        def add(a, b=2, *args, k=1, **kw):
            return a + b + k + len(args) + len(kw)
        def run():
            return add(1) + add(1, 2, 3, k=4, z=5) + add(*(1, 2), **{"k": 3})
    """,
    "exceptions": """
        class E(Exception):
            pass
        def run():
            n = 0
            for i in range(5):
                try:
                    try:
                        raise E(i)
                    finally:
                        n += 1
                except E as e:
                    n += e.args[0]
            try:
                {}["missing"]
            except KeyError:
                n += 1
            return n
    """,
    "generators": """
        def gen(n):
            for i in range(n):
                x = yield i
                if x:
                    yield x
        def deleg(n):
            r = yield from gen(n)
            return r
        def run():
            g = gen(5)
            out = [next(g), g.send(7), next(g)]
            g.close()
            out += list(deleg(4))
            t = gen(3); next(t)
            try:
                t.throw(ValueError("v"))
            except ValueError:
                out.append(-1)
            return out
    """,
    "closures": """
        def outer(a):
            b = [a]
            def inner(c):
                nonlocal a
                a += c
                return a + b[0]
            return inner
        def run():
            f = outer(1)
            return [f(i) for i in range(4)]
    """,
    "classes": """
        def run():
            class A:
                __slots__ = ("x",)
                def __init__(self, x):
                    self.x = x
                @property
                def double(self):
                    return self.x * 2
            class B(A):
                __slots__ = ()
                def __init__(self, x):
                    super().__init__(x + 1)
                def __add__(self, other):
                    return B(self.x + other.x)
            b = B(1) + B(2)
            return b.double, isinstance(b, A)
    """,
    "comprehensions": """
        def run():
            d = {i: [j * j for j in range(i)] for i in range(6)}
            s = {k % 3 for k in d}
            g = sum(x for v in d.values() for x in v if x % 2)
            return len(d), sorted(s), g, [*map(str, range(3))], f"{g:>5}"
    """,
}


@pytest.mark.parametrize("name", sorted(LEAK_SNIPPETS))
def test_no_memory_leak_over_thousands_of_runs(name):
    ns = {"__name__": "leak"}
    exec(compile(textwrap.dedent(LEAK_SNIPPETS[name]), f"<{name}>", "exec"), ns)
    run = ns["run"]
    expected = run()
    cpjit.enable(0)
    try:
        for _ in range(300):  # compile, quicken, fill caches
            assert run() == expected
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(3000):
            run()
        gc.collect()
        after = sys.getallocatedblocks()
    finally:
        cpjit.disable()
    assert cpjit.code_info(run)["state"] == "compiled"
    assert after - before < 100, f"{after - before} blocks more after 3000 runs"


def test_code_placed_where_freed_code_was_holds_none_of_its_bytes():
    # A huge chunk keeps the pages of freed code (src/memory.rs), and new code may be placed on
    # them: past its own code the region must hold only what the compiler writes, zeros for the
    # padding, not the dead code's bytes. Arithmetic alone needs no data, GOT slot or veneer,
    # so everything past the code is padding. (Where huge pages are off or the kernel has none,
    # freed pages read as zeros anyway.)
    r = run_python("""
        import ctypes, gc
        import cpjit

        def make(name, n, k):
            src = f"def {name}(a):\\n" + "".join(
                f"    a = (a * {(i + k) % 7 + 2} + {i + k}) % 1000003\\n" for i in range(n))
            ns = {}
            exec(src + "    return a\\n", ns)
            f = ns.pop(name)
            assert cpjit.compile(f)
            return f

        keep = [make(f"w{i}", 200, i) for i in range(20)]   # past 512 KiB: huge chunks next
        bigs = [make(f"big{i}", 400, 100 + i) for i in range(8)]
        spans = [(cpjit.code_info(b)["address"], cpjit.code_info(b)["native_bytes"])
                 for b in bigs[1:7]]
        lo, hi = min(a for a, _ in spans), max(a + n for a, n in spans)
        del bigs[1:7]
        gc.collect()
        for k in range(8):   # code of eight lengths: their padding differs
            f = make(f"newcomer{k}", 390 + k, k)
            info = cpjit.code_info(f)
            tail = ctypes.string_at(info["address"], info["native_bytes"])[info["code_bytes"]:]
            print(lo - 4096 < info["address"] < hi, tail.hex() or "-")
    """)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert len(rows) == 8
    tails = "".join(t for _, t in rows if t != "-")
    assert tails, "some code is followed by padding"
    assert set(tails) == {"0"}, r.stdout


def test_a_process_that_may_not_make_memory_executable_runs_on_interpreted():
    # PR_SET_MDWE (what systemd's MemoryDenyWriteExecute and SELinux execmem rules also do): no
    # mapping may become executable after being writable. Code compiled before the policy keeps
    # running; the first compile after it fails, cpjit says so once on stderr and takes itself
    # out (the hook would only cost the program its overhead), and the results stay the same.
    program = """
        import ctypes, sys
        def before(n):
            return sum(i * i for i in range(n))
        print(before(100))
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:        # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            print("no MDWE", ctypes.get_errno())
            sys.exit(0)
        src = "def f{i}(x):\\n    s = 0\\n    for k in range(x):\\n        s += k * {i}\\n    return s\\n"
        total = 0
        for i in range(200):
            ns = {}
            exec(src.format(i=i), ns)
            total += ns["f%d" % i](30)
        print(total, before(200))
        if "cpjit" in sys.modules:
            import cpjit
            s = cpjit.stats()
            print("enabled", cpjit.is_enabled(), "failed", s["compile_failed"], file=sys.stderr)
    """
    plain = run_python(program)
    assert plain.returncode == 0, plain.stderr
    if plain.stdout.startswith("100") and "no MDWE" in plain.stdout:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3 and later)")
    jit = run_python(program, {"CPJIT": "1", "CPJIT_THRESHOLD": "0"})
    assert jit.returncode == 0, jit.stderr
    assert jit.stdout == plain.stdout
    lines = jit.stderr.splitlines()
    warnings = [l for l in lines if l.startswith("cpjit: no native code in this process")]
    assert len(warnings) == 1, jit.stderr
    assert "Permission denied" in warnings[0]
    # One compile tried and failed; none after (cpjit took itself out).
    assert lines[-1] == "enabled False failed 1", jit.stderr


def test_alternating_live_and_dead_code_keeps_few_mappings():
    # Every other one of thousands of small compiled functions dropped: each region has pages
    # of its own, and freeing one must not split the chunk's mapping there, or a program runs
    # out of mappings (vm.max_map_count, 65,530) and its own mmap calls fail.
    r = run_python("""
        import gc, cpjit
        def mappings():
            with open("/proc/self/maps") as f:
                return sum(1 for _ in f)
        before = mappings()
        fs = []
        for i in range(6000):
            ns = {}
            exec("def f(x):\\n    return x + %d\\n" % i, ns)
            assert cpjit.compile(ns["f"])
            fs.append(ns["f"])
        live = fs[::2]
        del fs, ns
        gc.collect()
        after_free = mappings()
        chunks = cpjit.stats()["code_reserved_bytes"] // (256 * 1024)
        more = []
        for i in range(1000):                       # new code lands in the freed pages
            ns = {}
            exec("def g(x):\\n    return x * %d\\n" % i, ns)
            assert cpjit.compile(ns["g"])
            more.append(ns["g"])
        cpjit.enable(0)
        total = sum(f(1) for f in live) + sum(g(2) for g in more)
        cpjit.disable()
        print(before, after_free, mappings(), total, chunks)
    """)
    assert r.returncode == 0, r.stderr
    before, after_free, after_reuse, total, chunks = map(int, r.stdout.split())
    assert total == sum(1 + i for i in range(0, 6000, 2)) + sum(2 * i for i in range(1000))
    # A few mappings per 256 KiB chunk (its symbol table, its code, freed stretches at its
    # ends), not one per freed region (3,000 here).
    assert 0 < chunks < 200
    assert after_free - before <= 5 * chunks, (before, after_free, chunks)
    assert after_reuse - before <= 5 * chunks, (before, after_reuse, chunks)


def test_a_compile_that_finds_no_memory_leaves_the_code_interpreted():
    # RLIMIT_AS a few MiB above the process's size: the compiler's own tables (the list of
    # placed stencils, the caches, the entries) may not fit. Rust's allocation failure would end
    # the process (SIGABRT); a compile must fail instead and the code run on interpreted, with
    # the program's results the same.
    program = """
        import gc, resource
        def mk(i, n):
            body = "\\n".join(f"    s = (s * 3 + {k} + x) % 100003" for k in range(n))
            ns = {}
            exec(f"def f(x):\\n    s = {i}\\n{body}\\n    return s\\n", ns)
            return ns["f"]
        def vm():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm() + 4 * 1024 * 1024, resource.RLIM_INFINITY))
        total, keep = 0, []
        for rnd in range(10):
            try:
                fs = [mk(rnd * 100 + i, (i * 17) % 200 + 1) for i in range(60)]
                for _ in range(20):
                    for i, f in enumerate(fs):
                        total = (total + f(i)) % 1000000007
                keep.append(fs[rnd])
                del fs, f
                gc.collect()
            except MemoryError:
                total = -1
                break
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print(total, sum(f(1) for f in keep))
    """
    plain = run_python(program)
    assert plain.returncode == 0, plain.stderr
    for threshold in ("0", "16"):
        jit = run_python(program, {"CPJIT": "1", "CPJIT_THRESHOLD": threshold})
        assert (jit.returncode, jit.stdout) == (0, plain.stdout), (threshold, jit.stderr[-2000:])
