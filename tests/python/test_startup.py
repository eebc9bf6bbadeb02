"""Start-up under cpjit: a module's body, while the module is imported, runs with cpjit's frame
evaluator taken out (csrc/runtime.c, CPJIT_R_IMPORT), so import-time code runs exactly as plain
python runs it (inlined calls, no counting, no compiling) and the hook is back once the body
returns or raises. Threshold 0 (the test suites) keeps compiling everything at its first call."""
import os
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest

import cpjit

CPJIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(cpjit.__file__)))

MODULE = """
import cpjit
def sq(x):                  # loopless, called 600 times by the body
    return x * x
def table(n):               # a loop function, called once by the body
    return [sq(i) for i in range(n)]
T = table(600)
ENABLED = cpjit.is_enabled()
def state(f):
    info = cpjit.code_info(f)
    return info and info["state"]
STATES = (state(sq), state(table))
"""

MAIN = """
import sys, cpjit
import startmod
print(startmod.T[7], startmod.ENABLED, startmod.STATES)
for i in range(600):        # after the import, the hook counts and compiles again
    startmod.sq(i)
stats = cpjit.stats()              # the import ran unhooked: by the import rule, or in a cold
print(startmod.state(startmod.sq),  # region opened by importlib's _find_and_load
      stats["frames_interpreted"]["import"] + stats["cold_regions"] >= 1)
try:
    import badmod
except ZeroDivisionError as e:
    print("caught", type(e).__name__, e.__traceback__.tb_next.tb_next is not None)
def loop(n):
    s = 0
    for i in range(n):
        s += i
    return s
print(loop(10), startmod.state(loop), cpjit.is_enabled())
"""

BAD = """
def f():
    return 1 / 0
X = f()
"""


def run(tmp_path, args, env_extra=None):
    (tmp_path / "startmod.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "badmod.py").write_text(textwrap.dedent(BAD))
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["PYTHONPATH"] = CPJIT_DIR
    # main.py's top level under the hook (not a cold region of its own): what it calls after
    # the import is counted and compiles, which the tests read.
    env["CPJIT_TOP_LEVEL_MS"] = "0"
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


def test_an_imported_modules_body_runs_without_the_hook(tmp_path):
    r = run(tmp_path, ["-m", "cpjit", "main.py"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "49 True (None, None)",     # enabled, but nothing the body ran was seen by the hook
        "compiled True",
        "caught ZeroDivisionError True",
        "45 counting True",         # the hook is back after an import that raised: it counted
                                    # the call (a function it never saw has no state)
    ]


def test_the_autoload_path_does_the_same(tmp_path):
    r = run(tmp_path, ["main.py"], {"CPJIT": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "49 True (None, None)"
    assert r.stdout.splitlines()[3] == "45 counting True"


def test_threshold_zero_still_compiles_import_time_code(tmp_path):
    r = run(tmp_path, ["-m", "cpjit", "main.py"], {"CPJIT_THRESHOLD": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "49 True ('compiled', 'compiled')"


def test_same_output_and_traceback_as_plain_python(tmp_path):
    (tmp_path / "startmod.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "prog.py").write_text("import startmod, sys\nprint(startmod.T[-1])\nimport badmod\n")
    (tmp_path / "badmod.py").write_text(textwrap.dedent(BAD))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["PYTHONPATH"] = CPJIT_DIR
    plain = subprocess.run([sys.executable, "prog.py"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    jit = subprocess.run([sys.executable, "-m", "cpjit", "prog.py"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120)
    assert plain.returncode == jit.returncode == 1
    assert plain.stdout == jit.stdout == "358801\n"
    assert plain.stderr == jit.stderr


@pytest.mark.parametrize("call, after", [("disable", False), ("enable", True)])
def test_enable_and_disable_inside_an_imported_module(tmp_path, call, after):
    (tmp_path / "switch.py").write_text(f"import cpjit\ncpjit.{call}()\nINSIDE = cpjit.is_enabled()\n")
    (tmp_path / "main2.py").write_text("import cpjit, switch\nprint(switch.INSIDE, cpjit.is_enabled())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["PYTHONPATH"] = CPJIT_DIR
    r = subprocess.run([sys.executable, "-m", "cpjit", "main2.py"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{after} {after}\n"


SUBINTERPRETER = """
import site, sys
site.addsitedir({pth_dir!r})          # processes cpjit-autoload.pth, as an installed cpjit's is
import _testcapi, cpjit
print("main", cpjit.is_enabled())
code = "import site; site.addsitedir({pth_dir!r}); print('sub', 'cpjit' in __import__('sys').modules)"
print("rc", _testcapi.run_in_subinterp(code))
"""


def test_autoload_is_silent_in_subinterpreters(tmp_path):
    # cpjit's extension cannot load in a subinterpreter (PyO3 refuses): with CPJIT=1 the .pth
    # line must leave such interpreters alone, without an error on stderr, as plain python does.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["CPJIT"] = "1"
    env.pop("PYTHONPATH", None)
    script = SUBINTERPRETER.format(pth_dir=CPJIT_DIR)
    r = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["main True", "sub False", "rc 0"]
    assert r.stderr == ""


def test_autoload_reports_a_broken_install_in_the_main_interpreter(tmp_path):
    broken = tmp_path / "broken" / "cpjit"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('broken build')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["CPJIT"] = "1"
    env["PYTHONPATH"] = str(tmp_path / "broken")
    pth_dir = tmp_path / "site"
    pth_dir.mkdir()
    (pth_dir / "cpjit-autoload.pth").write_text(
        (Path(CPJIT_DIR) / "cpjit-autoload.pth").read_text())
    r = subprocess.run([sys.executable, "-S", "-c",
                        f"import site; site.addsitedir({str(pth_dir)!r}); print('ran')"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ran\n"
    assert r.stderr == "cpjit: not enabled: broken build\n"


IMPORTER = """
import importlib, sys, cpjit
import importlib._bootstrap as bootstrap, importlib._bootstrap_external as external
def load_all(n):            # a loop function in __main__: native from its first call
    total = 0
    for i in range(n):
        total += importlib.import_module(f"leaf{i}").VALUE
    return total
print(load_all(300))
def state(f):
    info = cpjit.code_info(f)
    return info and info["state"]
def from_package(n):        # `from package import name`: importlib's _handle_fromlist each time
    for _ in range(n):
        from json import decoder
    return decoder.__name__
print(from_package(300))
stats = cpjit.stats()
print([state(f) != "compiled" for f in (bootstrap._find_spec, external.PathFinder._get_spec,
                                        external.FileFinder.find_spec)],
      state(load_all), stats["frames_interpreted"]["import"] + stats["cold_regions"] >= 300,
      state(bootstrap._handle_fromlist))
"""


def test_the_import_systems_loading_runs_without_the_hook(tmp_path):
    # importlib's _find_and_load_unlocked (loading a module not in sys.modules yet, which the
    # import statement and import_module reach) runs unhooked with everything beneath it (by
    # the import rule, or in a cold region that importlib's loopless _find_and_load opens, which
    # keeps the hook once the sampler finds hot code in an import, leaving the rule): its
    # finders' loops, whose callees take long, never spend a loop budget and compile (they
    # compiled, and cost a short program its compile time). What a repeated import of a loaded
    # module runs (_handle_fromlist for `from package import name`) still compiles when hot.
    for i in range(300):
        (tmp_path / f"leaf{i}.py").write_text(f"VALUE = {i}\n")
    (tmp_path / "importer.py").write_text(IMPORTER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env["PYTHONPATH"] = CPJIT_DIR
    env["CPJIT_TOP_LEVEL_MS"] = "0"  # importer.py's calls counted (see run())
    r = subprocess.run([sys.executable, "-m", "cpjit", "importer.py"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        str(sum(range(300))),
        "json.decoder",
        "[True, True, True] compiled True compiled",
    ]


def test_a_panic_in_the_extension_unwinds_to_its_catch():
    # build.rs links the unwinder statically (libgcc_eh) instead of loading libgcc_s: a compiler
    # panic must still unwind to runtime.rs's catch_unwind and become a failed compile.
    assert cpjit._cpjit._panic_is_caught() is True


# Loopless library-like code that runs in a region once cold (so the sampler thread runs).
COLD_LIBRARY = """
def cold(n):
    return sum(range(n))
cold.__module__ = "lib"
exec("def run(f, n):\\n    return f(n)", lib := {"__name__": "lib"})
"""


def run_sampled(tmp_path, files, argv, sample_us="200"):
    """Writes `files` (name: text) into tmp_path and runs `python *argv` there, cpjit on its
    path, the sampler's period `sample_us`, no CPJIT setting of the test's own; its output
    lines (it must exit with 0)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPJIT")}
    env.update(PYTHONPATH=CPJIT_DIR, CPJIT_SAMPLE_US=sample_us)
    r = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


SAMPLED = """
import sys, cpjit
""" + COLD_LIBRARY + """for i in range(3000):
    lib["run"](cold, 20000)
stats = cpjit.stats()
print(stats["cold_regions"] > 0)             # so the sampler thread runs
maps = open("/proc/self/maps").read()
print("libgcc_s" in maps)
"""


@pytest.mark.parametrize("end", ["exit", "disable"])
def test_the_sampler_stops_at_once_and_libgcc_s_is_never_loaded(tmp_path, end):
    # The sampler thread naps on a futex that a stop wakes (no pthread_cancel, whose unwinding
    # loads libgcc_s): at exit and at cpjit.disable() it ends at once, even in the middle of a
    # long sleep (CPJIT_SAMPLE_US=2000000: two seconds a sample).
    script = SAMPLED + ("cpjit.disable()\nprint(cpjit.is_enabled())\n" if end == "disable" else "")
    lines = run_sampled(tmp_path, {"sampled.py": script}, ["-m", "cpjit", "sampled.py"],
                        sample_us="2000000")
    assert lines[1] == "False"  # the process never loaded libgcc_s
    assert lines[0] == "True"
    if end == "disable":
        assert lines[2] == "False"


SINGLE_THREADED = """
import ctypes, os, sys, threading, cpjit
libc = ctypes.CDLL(None)
flag = ctypes.c_char.in_dll(libc, "__libc_single_threaded")
""" + COLD_LIBRARY + """for i in range(3000):
    lib["run"](cold, 2000)
print(cpjit.stats()["cold_region_samples"] > 0)   # the sampler thread ran
print(len(os.listdir("/proc/self/task")))          # it is a thread of the process
print(flag.value)                                   # glibc still single-threaded
pid = os.fork()                                     # a child forked meanwhile
if pid == 0:
    for i in range(3000):
        lib["run"](cold, 2000)
    os._exit(0 if cpjit.stats()["cold_region_samples"] > 0 and flag.value == b"\\x01" else 3)
print(os.waitpid(pid, 0)[1])
t = threading.Thread(target=lambda: None)
t.start()
t.join()
print(flag.value)                                   # a thread of the program's own ends it
"""


def test_the_sampler_thread_leaves_glibc_single_threaded(tmp_path):
    # sampler_thread.c: the sampler is a thread glibc does not know of (clone, its own TLS
    # block), so a program that makes no thread keeps glibc's lock-free malloc and free; a
    # thread the program makes ends that mode as under plain python (which shows that the flag
    # read here is the one that changes). A child forked while the sampler runs starts its own.
    lines = run_sampled(tmp_path, {"single.py": SINGLE_THREADED}, ["-m", "cpjit", "single.py"])
    assert lines == ["True", "2", "b'\\x01'", "0", "b'\\x00'"], lines


CONFINED = """
import os, sys, time
sys.path.insert(0, sys.argv[2])
import cpjit                                 # (while its files are readable: they may be root's)
if sys.argv[1] == "drop-first":              # an unprivileged program: nothing to confine
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
cpjit.enable()                               # (the sampler thread starts at the first region)
def work():                  # fresh loopless library-like code: runs in regions once cold
    exec("def cold(n):\\n    return sum(range(n))\\n"
         "def run(f, n):\\n    return f(n)", lib := {"__name__": "lib"})
    for i in range(3000):
        lib["run"](lib["cold"], 2000)
    return cpjit.stats()["cold_region_samples"]
def threads():
    out = []
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        status = open(f"/proc/self/task/{tid}/status").read().splitlines()
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        out.append((int(tid) == os.getpid(), fields["Seccomp"].strip(), fields["NoNewPrivs"].strip()))
    return sorted(out, reverse=True)          # the main thread first
deadline = time.monotonic() + 20             # (samples come at the sampler's pace)
while (before := work()) == 0 and time.monotonic() < deadline:
    pass
print(before > 0, threads())
if sys.argv[1] == "drop-later":             # a daemon dropping root while the sampler runs
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
    deadline = time.monotonic() + 20
    while work() == before and time.monotonic() < deadline:
        pass
    print(work() > before, os.getresuid())
"""


@pytest.mark.parametrize("case", ["as-started", "drop-first", "drop-later"])
def test_a_sampler_thread_with_privileges_confines_itself(tmp_path, case):
    # sampler_thread.c: glibc's setuid() does not reach a thread it does not know, so a sampler
    # thread started with privileges confines itself (no new privileges, a seccomp filter of
    # its own allowing the futex, clock and exit calls it makes); one started without any runs
    # as it is. The program's own thread is never confined, and a program that drops root
    # while the sampler runs goes on sampling.
    root = os.geteuid() == 0
    if case != "as-started" and not root:
        pytest.skip("switching to another user needs root")
    os.chmod(tmp_path, 0o755)
    lines = run_sampled(tmp_path, {"confined.py": CONFINED}, ["confined.py", case, CPJIT_DIR])
    # The main thread's own fields, as plain python has them (a container may filter already).
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines()
                  if ":" in line)
    main = (status["Seccomp"].strip(), status["NoNewPrivs"].strip())
    privileged = root and case != "drop-first"
    sampler = ("2", "1") if privileged else main
    assert lines[0] == f"True {[(True, *main), (False, *sampler)]}", lines
    if case == "drop-later":
        assert lines[1] == "True (65534, 65534, 65534)", lines


NO_SECCOMP_LAUNCHER = """
import ctypes, os, struct, sys
# A seccomp filter of the launcher's, inherited by what it executes: the seccomp() system call
# (317) fails with ENOSYS, as on a kernel without seccomp filters. Everything else passes.
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
insns = [(BPF_LD_W_ABS, 0, 0, 0), (BPF_JEQ_K, 0, 1, 317),
         (BPF_RET_K, 0, 0, 0x00050000 | 38), (BPF_RET_K, 0, 0, 0x7FFF0000)]
code = b"".join(struct.pack("HBBI", *i) for i in insns)
buf = ctypes.create_string_buffer(code)
prog = struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0                       # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.c_char_p(prog), 0, 0) == 0   # PR_SET_SECCOMP, filter mode
os.execv(sys.executable, [sys.executable, "-m", "cpjit", "single.py"])
"""


def test_a_sampler_that_cannot_confine_itself_runs_on_a_pthread(tmp_path):
    # sampler_thread.c: a privileged sampler thread whose seccomp filter cannot be installed
    # (here the launcher makes the call fail, as a kernel without seccomp would) exits, and the
    # sampler runs on a thread made by pthread_create, which glibc's setuid() reaches: regions
    # and samples work as before, and glibc is no longer single-threaded. (Unprivileged, the
    # thread needs no filter and glibc stays single-threaded.)
    lines = run_sampled(tmp_path, {"single.py": SINGLE_THREADED, "launch.py": NO_SECCOMP_LAUNCHER},
                        ["launch.py"])
    single = "b'\\x00'" if os.geteuid() == 0 else "b'\\x01'"
    assert lines[:3] == ["True", "2", single], lines


RAW_FORK = """
import ctypes, os, cpjit
""" + COLD_LIBRARY + """for i in range(3000):
    lib["run"](cold, 2000)
print(cpjit.stats()["cold_region_samples"] > 0)   # the sampler thread runs
libc = ctypes.CDLL(None)
libc.syscall.restype = ctypes.c_long
pid = libc.syscall(57)       # SYS_fork itself: glibc's atfork handlers do not run
if pid == 0:
    cpjit.disable()          # stops "the sampler": the child has none to wait for
    os._exit(7)
print(os.waitpid(pid, 0)[1] >> 8)
"""


def test_a_child_forked_by_a_raw_system_call_does_not_wait_for_the_sampler(tmp_path):
    # sampler_thread.c: a child made without glibc's fork() (no atfork handler ran) still holds
    # the parent's record of its sampler thread, which does not exist there; stopping it (at
    # disable() or exit) must not wait for that thread's exit (it hung before).
    lines = run_sampled(tmp_path, {"rawfork.py": RAW_FORK}, ["-m", "cpjit", "rawfork.py"])
    assert lines == ["True", "7"], lines
