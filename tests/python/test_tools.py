"""The perf map (CPJIT_PERF, enable(perf=...)) and cpjit.dis() / cpjit.machine_code()."""
import io
import json
import os
import subprocess
import sys
import textwrap

import cpjit

PYTHON_DIR = os.path.dirname(os.path.dirname(cpjit.__file__))


def run(code, env_extra=None, args=("-m", "cpjit", "-c")):
    env = dict(os.environ)
    env.pop("CPJIT_PERF", None)
    # Every code object compiled at its first call, so the programs' small functions have code.
    env["CPJIT_THRESHOLD"] = "0"
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    p = subprocess.run([sys.executable, *args, textwrap.dedent(code)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p


def map_lines(pid):
    path = f"/tmp/perf-{pid}.map"
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(" ", 2) for line in f]
    finally:
        if os.path.exists(path):
            os.unlink(path)


# The child prints its pid and what cpjit knows of f, having read its own map while running.
PROGRAM = """
    import cpjit, json, os
    def f(a, b):
        return a + b
    f(1, 2)
    info = cpjit.code_info(f)
    with open(f"/tmp/perf-{os.getpid()}.map") as m:
        seen = m.read()
    print(json.dumps([os.getpid(), info["address"], info["code_bytes"],
                      [info["layout"], info["cold_layout"], info["hot_bytes"]],
                      f.__code__.co_firstlineno, "py::f:" in seen or "@f:" in seen]))
"""


def test_perf_map_has_one_entry_per_code_object_written_at_compile_time():
    out = json.loads(run(PROGRAM, {"CPJIT_PERF": "1"}).stdout)
    pid, address, code_bytes, layout, line, written_before_exit = out
    entries = map_lines(pid)
    assert written_before_exit
    mine = [e for e in entries if e[2] == f"py::f:<string>:{line}"]
    assert len(mine) == 1, entries
    start, size, _ = mine[0]
    assert int(start, 16) == address
    assert int(size, 16) == code_bytes
    # Every entry is well formed: hex start, hex size, a py:: name.
    for start, size, name in entries:
        int(start, 16), int(size, 16)
        assert name.startswith("py::"), name


def test_perf_map_instructions_tile_the_code_of_each_code_object():
    out = json.loads(run(PROGRAM, {"CPJIT_PERF": "instructions"}).stdout)
    pid, address, code_bytes, (layout, cold_layout, hot_bytes), _, _ = out
    entries = [e for e in map_lines(pid) if e[2].split("@")[1].split(" ")[0].split(":")[0] == "f"]
    # The hot parts (error exit last), then the cold parts after all of them.
    assert cold_layout, "stencils have cold parts"
    assert len(entries) == len(layout) + len(cold_layout)
    for (unit, stencil, offset), (start, size, name) in zip(layout + cold_layout, entries):
        assert int(start, 16) == address + offset
        assert name.startswith(stencil + "@f")
    hot, cold = entries[:len(layout)], entries[len(layout):]
    assert [e[2] for e in hot[:-1]] == [f"{s}@f:{2 * u}" for u, s, _ in layout[:-1]]
    assert hot[-1][2] == "EXIT_ERROR@f"
    assert [e[2] for e in cold] == [
        f"{s}@f (cold)" if s == "EXIT_ERROR" else f"{s}@f:{2 * u} (cold)" for u, s, _ in cold_layout]
    assert int(cold[0][0], 16) == address + hot_bytes
    ends = [int(s, 16) + int(n, 16) for s, n, _ in entries]
    assert ends[:-1] == [int(s, 16) for s, _, _ in entries[1:]], "contiguous"
    assert ends[-1] == address + code_bytes


def test_perf_map_is_off_unless_asked_for():
    out = json.loads(run(PROGRAM.replace('with open(f"/tmp/perf-{os.getpid()}.map") as m:\n'
                                         '        seen = m.read()', 'seen = ""')).stdout)
    assert not os.path.exists(f"/tmp/perf-{out[0]}.map")


def test_enable_perf_true_and_get_perf():
    code = """
        import cpjit, os
        from cpjit import _cpjit
        assert _cpjit.get_perf() == "off"
        cpjit.enable(perf=True)
        assert _cpjit.get_perf() == "code", _cpjit.get_perf()
        def g():
            return 1
        g()
        cpjit.enable(perf="instructions")
        assert _cpjit.get_perf() == "instructions"
        try:
            cpjit.enable(perf="sometimes")
        except ValueError as e:
            print("ValueError", e)
        print(os.getpid())
    """
    p = run(code, args=("-c",))
    first, pid = p.stdout.splitlines()
    assert first.startswith("ValueError perf must be")
    names = [e[2] for e in map_lines(int(pid))]
    assert any(n.startswith("py::g:<string>:") for n in names), names


def test_unknown_cpjit_perf_value_is_reported_and_leaves_the_map_off():
    p = run("import os; print(os.getpid())", {"CPJIT_PERF": "bogus"})
    assert "CPJIT_PERF" in p.stderr
    assert not os.path.exists(f"/tmp/perf-{int(p.stdout)}.map")


def test_forked_child_gets_its_own_map_with_the_parents_entries():
    code = """
        import os
        def before():
            return 1
        before()
        pid = os.fork()
        if pid == 0:
            def after():
                return 2
            after()
            os._exit(0)
        os.waitpid(pid, 0)
        print(os.getpid(), pid)
    """
    parent, child = map(int, run(code, {"CPJIT_PERF": "1"}).stdout.split())
    parent_names = [e[2] for e in map_lines(parent)]
    child_names = [e[2] for e in map_lines(child)]
    assert any(n.startswith("py::before:") for n in parent_names)
    assert not any(n.startswith("py::after:") for n in parent_names)
    assert any(n.startswith("py::before:") for n in child_names)
    assert any(n.startswith("py::after:") for n in child_names)


K = 10


def sample(x, items):
    if x > 3:
        return "big"
    return items.copy().append(x + K)  # append's LOAD_METHOD alone: no LOAD_FAST before it


def test_dis_shows_machine_code_with_named_holes():
    cpjit.compile(sample)
    out = io.StringIO()
    cpjit.dis(sample, file=out)
    text = out.getvalue()
    assert "; const 'big'" in text
    assert "; const 3" in text
    # LOAD_GLOBAL and LOAD_METHOD pass their instruction (whose oparg indexes co_names) to their
    # out-of-line path.
    assert "(name 'K')" in text and "(name 'append')" in text
    assert "helper " in text
    assert "jump target: " in text
    assert "next: " in text and "error exit" in text
    assert "inline cache" in text
    assert "oparg " in text
    assert "instruction address (@" in text
    # Machine code under each bytecode line; the compact form still has the layout only.
    out = io.StringIO()
    cpjit.dis(sample, file=out, machine_code=False)
    short = out.getvalue()
    assert "BINARY_OP__0" in short and "; " not in short and len(short) < len(text) / 5


def test_machine_code_covers_the_code_and_jump_targets_are_instructions():
    cpjit.compile(sample)
    info = cpjit.code_info(sample)
    blocks = cpjit.machine_code(sample)
    hot = [b for b in blocks if not b[5]]
    cold = [b for b in blocks if b[5]]
    assert blocks == hot + cold, "the cold parts follow all the hot ones"
    assert [(b[0], b[1], b[2]) for b in hot[:-1]] == [(2 * u, s, o) for u, s, o in info["layout"][:-1]]
    assert hot[-1][0] is None and hot[-1][1] == "EXIT_ERROR"
    assert [b[2] for b in cold] == [o for _, _, o in info["cold_layout"]]
    assert cold and cold[0][2] == info["hot_bytes"]
    at = info["address"]
    for offset, stencil, start, size, lines, _ in blocks:
        # An instruction whose stencil is empty (PRECALL: CALL does its work) has no lines.
        assert (size == 0) == (not lines), stencil
        if lines:
            assert lines[0][0] == info["address"] + start
        for address, hexbytes, asm, notes in lines:
            assert address == at, (stencil, asm)
            at += len(hexbytes.split())
    assert at == info["address"] + info["code_bytes"]
    offsets = {b[0] for b in blocks}
    targets = [n for b in blocks for line in b[4] for n in line[3] if n.startswith("jump target: ")]
    assert targets
    for t in targets:
        assert int(t.split()[2]) in offsets, t


def test_machine_code_of_uncompiled_code_is_none():
    def never():
        pass
    assert cpjit.machine_code(never) is None


# benches/run_all.py: the parts that do not need a long run.

def _run_all():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benches" / "run_all.py"
    spec = importlib.util.spec_from_file_location("run_all", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_run_all_measures_cpu_time_output_and_status_of_a_child():
    ra = _run_all()
    r = ra.run_once([sys.executable, "-c", "import sys; sum(range(3_000_000)); print('hi'); sys.exit(3)"],
                    dict(os.environ))
    assert r.code == 3 and r.out == "hi\n"
    assert 0 < r.cpu and 0 < r.wall and r.rss_kb > 1000


def test_run_all_real_programs_exist_and_their_libraries_are_pinned():
    ra = _run_all()
    pins = [ln.split("==") for ln in (ra.HERE / "requirements-real.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert all(len(p) == 2 and p[1].strip() for p in pins), pins
    assert len(ra.REAL_PROGRAMS) >= 6
    for name, (script, what) in ra.REAL_PROGRAMS.items():
        assert (ra.REAL / script).is_file(), script
        assert what


def test_run_all_report_renders_tables_and_geomeans():
    import datetime

    ra = _run_all()

    class Args:
        quick, rounds_real, rounds_startup, threshold = False, 5, 20, None
        command, output, chart, tools = "python3 benches/run_all.py", "/tmp/B.md", "/tmp/s.png", "/nonexistent"
        pyperformance = ["nbody", "float"]

    side = lambda t: {"wall": t, "cpu": t, "rss_kb": 2048, "n": 5, "outputs": ["x"]}  # noqa: E731
    pp = {"rows": [{"name": "nbody", "plain": [2.0, 0.1, 3], "cpjit": [1.0, 0.1, 3], "speedup": 2.0},
                   {"name": "float", "plain": [1.0, 0.1, 3], "cpjit": [2.0, 0.1, 3], "speedup": 0.5}],
          "settings": {"rounds": 3, "processes": 2, "values": 3}}
    real = [{"name": "markdown", "what": "render", "plain": side(2.0), "cpjit": side(1.0), "speedup": 2.0,
             "speedup_wall": 2.0, "same_output": True}]
    start = [{"name": "python -c pass", "plain": side(0.02), "cpjit": side(0.021), "speedup": 0.95,
              "extra_ms": 1.0}]
    comp = [{"name": "markdown", "compiled": 10, "failed": 0, "instructions": 1000, "compile_ms": 0.1,
             "ns_per_instruction": 100.0, "native_bytes": 80000, "bytes_per_instruction": 80.0,
             "frames_native": 5, "frames_interpreted": 1}]
    now = datetime.datetime.now(datetime.timezone.utc)
    text = ra.report(Args, {"cores": 2, "cpu": "x"}, now, now, pp, real, start, comp, None, "/tmp/s.png", [1.0, 2.0])
    assert "| nbody | 2 s | 1 s | 2.00x |" in text
    assert "| **geometric mean** | | | **1.00x** |" in text
    assert "| markdown | render | 2000 ms | 1000 ms | 2.00x | 2.00x | 2 / 2 MiB | same |" in text
    assert "+1.0 ms" in text and "| 100 ns |" in text


def relaxation_sample(xs, d, s):
    out = []
    for x in xs:
        out.append(-x)
    return [tuple(out), d.get(1), s.upper(), {**d}, not xs, str(xs), x in d, x is None]


def _libpython_address(name):
    """The run-time address of a libpython symbol (function or data), or None."""
    import ctypes

    try:
        return ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, name))
    except ValueError:
        return None


def test_references_through_the_symbol_table_are_made_direct_where_in_range():
    # src/patch.rs GotForm: call/jmp [rip+slot] and mov r64, [rip+slot] ship (build.rs) as
    # direct calls, jumps and lea, patched so when the symbol is within 2 GiB. A direct form must reach the
    # very symbol its hole names; one helper, one target.
    import re

    cpjit.compile(relaxation_sample)
    assert relaxation_sample([1, 2], {1: 5}, "ab") == [(-1, -2), 5, "AB", {1: 5}, False,
                                                          "[1, 2]", False, False]
    base = cpjit.code_info(relaxation_sample)["address"]
    targets, direct, checked, in_range = {}, 0, 0, 0
    for _, _, _, _, lines, _ in cpjit.machine_code(relaxation_sample):
        for _, _, asm, notes in lines:
            names = [n.split()[1] for n in notes if n.startswith("helper ")]
            if not names:
                continue
            name = names[0]
            m = re.fullmatch(r"(call|jmp) (0x[0-9a-f]+)|lea \w+, \[(0x[0-9a-f]+)\]", asm)
            real = _libpython_address(name)
            if real is not None and abs(real - base) < 2**31 - 2**24:
                in_range += 1
            if m is None:
                continue  # still through the table (a compare with a slot, or out of range)
            target = int(m.group(2) or m.group(3), 16)
            direct += 1
            assert targets.setdefault(name, target) == target, name
            if real is not None:
                assert target == real, (name, asm)
                checked += 1
    if in_range:
        assert direct > 0 and checked > 0
