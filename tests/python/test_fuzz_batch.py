"""A seeded batch of the differential fuzzer (tests/fuzz): random programs run under the
interpreter and under cpjit at threshold 0 and 2 must print the same, raise the same and exit
the same. On a mismatch the test fails with the minimised program and the difference.

The batch size comes from CPJIT_FUZZ_PROGRAMS (default 100, a few seconds); the CI step runs a
larger batch through `.ci/fuzz --programs 3000 --seed 20261201 --show` (one to two minutes).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 20261201


def test_fuzz_batch(tmp_path):
    programs = os.environ.get("CPJIT_FUZZ_PROGRAMS", "100")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "tests")
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "--programs", programs, "--seed", str(SEED), "--show",
         "--out", str(tmp_path / "out"), "--workdir", str(tmp_path / "work"), "--shrink-seconds", "120",
         "--max-shrink", "1", "--standalone-every", "100"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, "cpjit differs from the interpreter on a fuzz program:\n" + proc.stdout[-12000:]
    assert f"{programs} programs" in proc.stdout, proc.stdout


def test_fuzzer_catches_and_shrinks_a_difference(tmp_path):
    """The machinery itself: a program whose output depends on the mode (it prints
    CPJIT_THRESHOLD, which only the JIT runs set) must be reported and shrunk to the line that
    differs, so that a broken runner cannot pass for agreement."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        from fuzz import gen, runner, shrink
    finally:
        sys.path.pop(0)
    src = gen.generate(SEED, 1, size=2).replace(
        "def main():\n", "def main():\n    import os\n    print('mode', os.environ.get('CPJIT_THRESHOLD'))\n", 1)
    env = runner.Env(str(tmp_path))
    mode_env = runner.DEFAULT_MODES["jit0"]
    prog = runner.make_program(0, src, "/nonexistent/fuzz/p0.py")
    plain = runner.run_worker(env, [prog], None, "plain")[0]
    jit = runner.run_worker(env, [prog], mode_env, "jit0")[0]
    assert runner.differs(plain, jit) == "output"
    assert jit["native"] > 0
    small = shrink.shrink(src, env, "jit0", mode_env, "output", seconds=15)
    assert "CPJIT_THRESHOLD" in small
    assert len(small) < len(src), small
    standalone = runner.run_standalone(env, small, None), runner.run_standalone(env, small, mode_env)
    assert runner.standalone_differs(*standalone) == "stdout"


def test_output_normalisation_blanks_only_what_varies_between_plain_runs():
    """runner.normal: object addresses blanked; a set or list display holding a NaN in sorted
    item order (each NaN hashes by address, so plain runs order such a set, and a list made from
    it, differently); any other difference kept."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        from fuzz import runner
    finally:
        sys.path.pop(0)
    normal = runner.normal
    assert normal("<object at 0x7f3a12bc4d10>") == normal("<object at 0x55aa00112233>")
    assert normal("p {0, -inf, 2, nan, nan}") == normal("p {0, nan, -inf, 2, nan}")
    assert normal("p {0, 1, nan}") != normal("p {0, 2, nan}")  # another item: still a difference
    assert normal("p {0, 2, 1}") != normal("p {0, 1, 2}")  # no NaN: order is deterministic
    assert normal("f0 = [0, 1, 3, nan]") == normal("f0 = [0, nan, 3, 1]")  # list(a set)
    assert normal("p [1, 2]") != normal("p [2, 1]")  # without a NaN a list's order counts
    assert normal("p [[nan, 1], 2]") != normal("p [2, [nan, 1]]")  # only innermost displays
