"""Run a test's program in a fresh interpreter: a script beside a library module of its own, under
cpjit (`python -m cpjit`) or plain python, so the hook, cold regions, trials and sampler thread
are the program's and nothing else's (test_cold_regions.py, test_tier_trials.py)."""
import os
import subprocess
import sys
import textwrap

import cpjit

# The cpjit under test (this tree's python/ after .ci/dev-build, site-packages after pip install).
CPJIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(cpjit.__file__)))


def run_with_lib(tmp_path, lib, main, jit=True, defaults=None, **env_extra):
    """Run `main` (a script beside a module `lib` holding `lib`'s source); its stdout. The
    environment is the test's own, with CPJIT unset, CPJIT_THRESHOLD 16, CPJIT_TOP_LEVEL_MS 0
    (the script's top level under the hook: these programs drive what they test from there) and
    `defaults` where it sets none, and `env_extra` over all of it."""
    (tmp_path / "lib.py").write_text(textwrap.dedent(lib))
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(main))
    env = dict(os.environ, PYTHONPATH=CPJIT_DIR, PYTHONHASHSEED="0")
    env.pop("CPJIT", None)
    for name, value in {"CPJIT_THRESHOLD": "16", "CPJIT_TOP_LEVEL_MS": "0",
                        **(defaults or {})}.items():
        env.setdefault(name, value)
    env.update(env_extra)
    command = [sys.executable] + (["-m", "cpjit"] if jit else []) + [str(script)]
    r = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    return r.stdout
