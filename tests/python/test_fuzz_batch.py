"""A seeded batch of the differential fuzzer (tests/fuzz): random programs run under the
interpreter and under cpjit at threshold 0 and 2 must print the same, raise the same and exit
the same. On a mismatch the test fails with the minimised program and the difference.

The batch size comes from CPJIT_FUZZ_PROGRAMS (default 150, a few seconds); the CI step runs a
larger batch through `.ci/fuzz --programs 3000 --seed 20261201 --show` (one to two minutes).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 20261201


def test_fuzz_batch(tmp_path):
    programs = os.environ.get("CPJIT_FUZZ_PROGRAMS", "150")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "tests")
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "--programs", programs, "--seed", str(SEED), "--show",
         "--out", str(tmp_path / "out"), "--workdir", str(tmp_path / "work"), "--shrink-seconds", "120",
         "--max-shrink", "1", "--standalone-every", "100"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, "cpjit differs from the interpreter on a fuzz program:\n" + proc.stdout[-12000:]
    assert f"{programs} programs" in proc.stdout, proc.stdout
