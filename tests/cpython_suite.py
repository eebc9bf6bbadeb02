#!/usr/bin/env python3
"""Run CPython 3.11's own regression suite plainly and under cpjit, and report the differences.

Every selected test module runs twice, each time in its own `python -m test` process:

  plain   the environment without CPJIT, CPJIT_THRESHOLD, CPJIT_LOOP_BUDGET_NS and CPJIT_STATS_FILE;
  cpjit   CPJIT=1 CPJIT_THRESHOLD=0 (every code object compiled at its first call, in that
          process and in every subprocess it starts) and CPJIT_STATS_FILE, so that each process
          leaves its cpjit.stats() behind for the report. `--threshold N` compiles after N
          interpreted calls instead: with N of 8 or more code compiles after the interpreter has
          quickened it, so what depends on its specialisation (C calls made in line, code laid
          aside) is exercised too.

A module "differs" when it passes plainly but not under cpjit, when cpjit has failing test cases
that are not failing plainly, or when the cpjit run crashes at all.

Usage:

  tests/cpython_suite.py                          # the whole suite (python -m test --list-tests)
  tests/cpython_suite.py test_grammar test_dis    # selected modules
  tests/cpython_suite.py test_asyncio.test_tasks  # one submodule of a test package
  tests/cpython_suite.py --subset tests/cpython_suite_ci.txt -j2   # the CI subset
  tests/cpython_suite.py --exclude test_socket --only cpjit -u cpu,network

Options: -j N parallel jobs (default: CPU count), --timeout T seconds for regrtest's --timeout
(default 600; in a sequential regrtest run it bounds the whole module, and the runner kills the
process group T + 120 s after the start), --out DIR for the reports (default target/cpython-suite),
--python PATH the interpreter (default: this one), -u RES resources passed to regrtest.

Each run gets `-W --fail-env-changed` as CPython's CI does: -W prints the output of failing tests,
including FAIL:/ERROR: lines for failing subtests (which regrtest's JUnit XML leaves out), and
--fail-env-changed makes "env changed" an explicit result.

Output in --out: report.json (everything), report.md (summary), logs/<module>.<mode>.log (full
output of each run), junit/<module>.<mode>.xml, stats/<module>/s.<pid> (cpjit runs).
Exit status: 0 no differences, 1 differences (with --only: failures), 2 runner error.
"""
import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

MODES = ("plain", "cpjit")
CPJIT_ENV_VARS = ("CPJIT", "CPJIT_THRESHOLD", "CPJIT_LOOP_BUDGET_NS", "CPJIT_STATS_FILE")

# Modules that never get run. They hang on this machine even without cpjit, so running them
# would only burn the timeout twice and say nothing about the JIT.
HANGS_WITHOUT_CPJIT = "not run: hangs without cpjit on this machine"
KNOWN_BROKEN_MODULES = {
    "test__xxsubinterpreters": HANGS_WITHOUT_CPJIT,
    "test_interpreters": HANGS_WITHOUT_CPJIT,
    # Grows past 12 GB and is killed by the kernel's OOM killer, plainly as under cpjit; two at
    # once (both modes) can take other processes of the machine with them.
    "test_asyncio.test_runners": "not run: exhausts memory without cpjit on this machine",
}

# The heaviest modules, heaviest first (a name also covers its submodules). They start first so
# that the run does not end waiting for one of them. Only used for modules without a duration in
# a previous report.json in the same --out directory.
KNOWN_SLOW_MODULES = (
    "test_multiprocessing_spawn",
    "test_multiprocessing_forkserver",
    "test_concurrent_futures",
    "test_multiprocessing_fork",
    "test_peg_generator",
    "test_tools",
    "test_regrtest",
    "test_asyncio",
    "test_subprocess",
    "test_io",
    "test_socket",
    "test_pickle",
    "test_compileall",
    "test_signal",
    "test_threading",
    "test_zipfile",
    "test_logging",
    "test_email",
)
KNOWN_SLOW_SECONDS = 300.0

# Modules that bind fixed ports (test_socket's VSOCK tests use port 1234): their plain and cpjit
# runs must not overlap, or each sees "Address already in use" from the other.
FIXED_PORT_MODULES = {"test_socket"}
_fixed_port_lock = threading.Lock()

DEFAULT_TIMEOUT = 600
DEFAULT_KNOWN_FILE = Path(__file__).with_name("cpython_suite_known.txt")
KILL_GRACE_SECONDS = 120

PASSED = "passed"
FAILED = "failed"
ENV_CHANGED = "env changed"
SKIPPED = "skipped"
NO_TESTS_RAN = "no tests ran"
CRASHED = "crashed"
TIMED_OUT = "timed out"
RUNNER_ERROR = "runner error"

PASSING_STATUSES = {PASSED, ENV_CHANGED}
TESTS_RAN_STATUSES = {PASSED, ENV_CHANGED, FAILED}
FAILING_STATUSES = {FAILED, NO_TESTS_RAN, CRASHED, TIMED_OUT, RUNNER_ERROR}

# regrtest's "Result: ..." line and the exit code it goes with (libregrtest/results.py, 3.11.7).
EXIT_CODE_OF_RESULT = {"SUCCESS": 0, "FAILURE": 2, "ENV CHANGED": 3, "NO TESTS RAN": 4}

RESULT_LINE = re.compile(r"^Result: (.+)$", re.MULTILINE)
FILE_TOTALS_LINE = re.compile(r"^Total test files: (.+)$", re.MULTILINE)
REGRTEST_TIMEOUT_LINE = re.compile(r"^Timeout \((\d+:\d\d:\d\d)\)!$", re.MULTILINE)
FATAL_ERROR_LINE = re.compile(r"^Fatal Python error: (.+)$", re.MULTILINE)
MODULE_VERDICT_LINE = re.compile(r"^(test_\S*) (failed|skipped|ran no tests)\b.*$", re.MULTILINE)
FAILING_CASE_LINE = re.compile(
    r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^()\s]+)\)", re.MULTILINE)
TRACEBACK_FRAME_LINE = re.compile(r'^\s*File "([^"]+)", line \d+ in (\S+)$')

PREFLIGHT_SNIPPET = "import cpjit, sys; sys.exit(0 if cpjit.is_enabled() else 1)"
INTERPRETER_INFO_SNIPPET = """
import json, sys
info = {"version": sys.version.split()[0], "executable": sys.executable, "cpjit": None}
try:
    import cpjit
    info["cpjit"] = getattr(cpjit, "__version__", None)
    if info["cpjit"] is None:
        import importlib.metadata
        info["cpjit"] = importlib.metadata.version("cpjit")
except Exception:
    pass
print(json.dumps(info))
"""


class RunnerError(Exception):
    """A problem with the runner's setup (not with a test): exit status 2."""


@dataclasses.dataclass
class RunResult:
    """The outcome of one (module, mode) run."""
    module: str
    mode: str
    status: str
    detail: str = ""
    returncode: int | None = None
    duration: float = 0.0
    failing_cases: list[str] = dataclasses.field(default_factory=list)
    log: str = ""
    stats: dict | None = None
    stats_files: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)
    first_attempt: str = ""  # set when this is a retry: how the first attempt ended


# ---------------------------------------------------------------------------- module selection

def canonical_name(name: str) -> str:
    """'test.test_asyncio.test_tasks' -> 'test_asyncio.test_tasks' (regrtest accepts both)."""
    name = name.strip()
    return name[len("test."):] if name.startswith("test.") else name


def name_covers(prefix: str, module: str) -> bool:
    """True when `prefix` names `module` itself or a package containing it."""
    return module == prefix or module.startswith(prefix + ".")


def read_subset_file(path: Path) -> list[str]:
    """Module names from a file: one per line, '#' starts a comment, blank lines ignored."""
    names = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(canonical_name(name))
    return names


def list_all_modules(python: str) -> list[str]:
    """Every module `python -m test --list-tests` knows (test packages split into submodules)."""
    with tempfile.TemporaryDirectory(prefix="cpython-suite-list-") as cwd:
        proc = subprocess.run([python, "-m", "test", "--list-tests"], cwd=cwd,
                              env=plain_environment(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RunnerError(f"`{python} -m test --list-tests` failed:\n{proc.stderr}")
    return [canonical_name(line) for line in proc.stdout.splitlines() if line.strip()]


def select_modules(requested: list[str], excluded: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split the requested modules into those to run and those not run (with the reason)."""
    to_run, not_run = [], {}
    for module in dict.fromkeys(requested):
        reason = not_run_reason(module, excluded)
        if reason:
            not_run[module] = reason
        else:
            to_run.append(module)
    return to_run, not_run


def not_run_reason(module: str, excluded: list[str]) -> str | None:
    for broken, reason in KNOWN_BROKEN_MODULES.items():
        if name_covers(broken, module):
            return reason
    if any(name_covers(canonical_name(name), module) for name in excluded):
        return "not run: excluded on the command line"
    return None


# ---------------------------------------------------------------------------- scheduling

def previous_durations(report_path: Path) -> dict[str, float]:
    """Per-module duration (all modes) from an earlier report.json, if there is a usable one."""
    try:
        modules = json.loads(report_path.read_text())["modules"]
        return {name: sum(run["duration"] for run in entry["runs"].values())
                for name, entry in modules.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def estimated_seconds(module: str, history: dict[str, float]) -> float:
    """The duration measured last time, else a guess that keeps KNOWN_SLOW_MODULES' order."""
    if module in history:
        return history[module]
    for rank, slow in enumerate(KNOWN_SLOW_MODULES):
        if name_covers(slow, module):
            return KNOWN_SLOW_SECONDS - rank
    return 0.0


def schedule(modules: list[str], modes: tuple[str, ...],
             history: dict[str, float]) -> list[tuple[str, str]]:
    """(module, mode) jobs, slowest modules first, the modes of one module next to each other."""
    ordered = sorted(modules, key=lambda module: -estimated_seconds(module, history))
    return [(module, mode) for module in ordered for mode in modes]


# ---------------------------------------------------------------------------- environments

def plain_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in CPJIT_ENV_VARS}


def job_environment(mode: str, tmpdir: Path, stats_prefix: Path,
                    threshold: int = 0) -> dict[str, str]:
    env = plain_environment()
    env["TMPDIR"] = str(tmpdir)
    if mode == "cpjit":
        env.update(CPJIT="1", CPJIT_THRESHOLD=str(threshold), CPJIT_STATS_FILE=str(stats_prefix))
    return env


def preflight(python: str) -> None:
    """Fail early, with a useful message, when cpjit cannot be enabled in `python`."""
    env = plain_environment()
    env["CPJIT"] = "1"
    proc = subprocess.run([python, "-c", PREFLIGHT_SNIPPET], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RunnerError(
            f"cpjit is not enabled by CPJIT=1 in {python}:\n{proc.stderr.strip()}\n"
            "Install it first: `pip install .` from the repository root, or `.ci/setup`.")


def interpreter_info(python: str) -> dict:
    proc = subprocess.run([python, "-c", INTERPRETER_INFO_SNIPPET], env=plain_environment(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RunnerError(f"cannot run {python}:\n{proc.stderr}")
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------- running one job

@dataclasses.dataclass
class SuiteConfig:
    """What every job needs to know."""
    python: str
    out_dir: Path
    timeout: float
    resources: list[str]
    threshold: int = 0

    def log_path(self, module: str, mode: str) -> Path:
        return self.out_dir / "logs" / f"{module}.{mode}.log"

    def junit_path(self, module: str, mode: str) -> Path:
        return self.out_dir / "junit" / f"{module}.{mode}.xml"

    def stats_dir(self, module: str) -> Path:
        return self.out_dir / "stats" / module


def regrtest_command(config: SuiteConfig, module: str, junit_path: Path) -> list[str]:
    command = [config.python, "-m", "test", "-W", "--fail-env-changed",
               "--timeout", str(config.timeout), "--junit-xml", str(junit_path)]
    if config.resources:
        command += ["-u", ",".join(config.resources)]
    return command + [module]


class ProcessGroups:
    """The process groups of the running jobs, so that all can be killed on Ctrl-C.

    After kill_all(), a group added by a job that was just starting is killed at once.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self._stopped = False

    def add(self, pgid: int) -> None:
        with self._lock:
            self._running.add(pgid)
            stopped = self._stopped
        if stopped:
            kill_process_group(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._running.discard(pgid)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            groups = list(self._running)
        for pgid in groups:
            kill_process_group(pgid)


def kill_process_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_process(command: list[str], env: dict, cwd: Path, log_path: Path, limit: float,
                groups: ProcessGroups) -> tuple[int, bool]:
    """Run `command` in a new session, output appended to log_path; kill its group after `limit`.

    Returns (returncode, killed_by_runner). Leftover processes of the group are killed too.
    """
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        groups.add(proc.pid)
        try:
            proc.wait(timeout=limit)
            killed = False
        except subprocess.TimeoutExpired:
            kill_process_group(proc.pid)
            proc.wait()
            killed = True
        finally:
            kill_process_group(proc.pid)
            groups.discard(proc.pid)
    return proc.returncode, killed


def run_job(config: SuiteConfig, module: str, mode: str, groups: ProcessGroups) -> RunResult:
    """Run one module in one mode in a fresh cwd and TMPDIR, and return its parsed outcome."""
    log_path, junit_path = config.log_path(module, mode), config.junit_path(module, mode)
    stats_dir = config.stats_dir(module)
    junit_path.unlink(missing_ok=True)
    if mode == "cpjit":
        shutil.rmtree(stats_dir, ignore_errors=True)
        stats_dir.mkdir(parents=True)
    command = regrtest_command(config, module, junit_path)
    limit = config.timeout + KILL_GRACE_SECONDS
    scratch = Path(tempfile.mkdtemp(prefix=f"cpython-suite-{module}-{mode}-"))
    try:
        (scratch / "cwd").mkdir()
        (scratch / "tmp").mkdir()
        env = job_environment(mode, scratch / "tmp", stats_dir / "s", config.threshold)
        write_log_header(log_path, command, env)
        start = time.monotonic()
        returncode, killed = run_process(command, env, scratch / "cwd", log_path, limit, groups)
        duration = time.monotonic() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = log_path.read_text(errors="replace")
    result = parse_run(module, mode, returncode, output, killed_after=limit if killed else None,
                       junit_path=junit_path)
    result.duration = duration
    result.log = str(log_path)
    if mode == "cpjit":
        attach_stats(result, stats_dir)
    return result


def write_log_header(log_path: Path, command: list[str], env: dict) -> None:
    settings = [f"{key}={env[key]}" for key in CPJIT_ENV_VARS if key in env]
    with open(log_path, "w") as log:
        log.write(f"# {' '.join(settings + [shlex.join(command)])}\n")


# ---------------------------------------------------------------------------- parsing a run

def parse_run(module: str, mode: str, returncode: int, output: str,
              killed_after: float | None, junit_path: Path) -> RunResult:
    """Status, detail and failing test cases of a finished run."""
    status, detail = classify_run(returncode, output, killed_after)
    junit_cases = failing_cases_from_junit(junit_path)
    cases = set(failing_cases_from_output(output)) | set(junit_cases or [])
    return RunResult(module, mode, status, detail, returncode, failing_cases=sorted(cases))


def classify_run(returncode: int, output: str, killed_after: float | None) -> tuple[str, str]:
    """(status, detail) from regrtest's exit code and output.

    A "Fatal Python error" with a proper "Result:" line and matching exit code is not a crash:
    with -W, a failing test's captured output (test_faulthandler, test_capi...) may contain one.
    """
    if killed_after is not None:
        return TIMED_OUT, f"killed by the runner after {killed_after:.0f} s"
    timeout = REGRTEST_TIMEOUT_LINE.search(output)
    if timeout and returncode == 1:
        return TIMED_OUT, f"regrtest --timeout expired ({timeout.group(1)})"
    if returncode < 0:
        return CRASHED, crash_detail(returncode, output)
    results = RESULT_LINE.findall(output)
    if not results:
        return CRASHED, crash_detail(returncode, output)
    result = results[-1].strip()
    expected_code = EXIT_CODE_OF_RESULT.get(result)
    if expected_code != returncode:
        return CRASHED, f"exit code {returncode} after 'Result: {result}'"
    return status_of_result(result, output)


def status_of_result(result: str, output: str) -> tuple[str, str]:
    """Status for a regrtest run that ended normally with 'Result: <result>'."""
    verdict = module_verdict(output)
    if result == "FAILURE":
        return FAILED, verdict
    if result == "ENV CHANGED":
        return ENV_CHANGED, verdict
    if all_test_files_skipped(output):
        return SKIPPED, verdict
    if result == "NO TESTS RAN":
        return NO_TESTS_RAN, verdict
    return PASSED, ""


def module_verdict(output: str) -> str:
    """regrtest's own words about the module, e.g. 'test_x failed (1 error, 2 failures)'."""
    first_verdict_per_module: dict[str, str] = {}
    for match in MODULE_VERDICT_LINE.finditer(output):
        first_verdict_per_module.setdefault(match.group(1), match.group(0).strip())
    return "; ".join(first_verdict_per_module.values())


def file_totals(output: str) -> dict[str, str]:
    """'Total test files: run=1/1 skipped=1' -> {'run': '1/1', 'skipped': '1'}."""
    lines = FILE_TOTALS_LINE.findall(output)
    if not lines:
        return {}
    return dict(item.split("=", 1) for item in lines[-1].split() if "=" in item)


def all_test_files_skipped(output: str) -> bool:
    """True when every selected test file was skipped (resource denied included)."""
    totals = file_totals(output)
    selected = totals.get("run", "").partition("/")[2]
    skipped = int(totals.get("skipped", 0)) + int(totals.get("resource_denied", 0))
    return selected.isdigit() and skipped >= int(selected) > 0


def crash_detail(returncode: int, output: str) -> str:
    """What killed the process, and in which test when faulthandler's traceback says so."""
    fatal = FATAL_ERROR_LINE.findall(output)
    if fatal:
        what = f"Fatal Python error: {fatal[-1].strip()}"
    elif returncode < 0:
        what = f"killed by {signal_name(-returncode)}"
    else:
        what = f"exit code {returncode} without a regrtest result"
    site = crashing_test(output)
    return f"{what} in {site}" if site else what


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def crashing_test(output: str) -> str | None:
    """The test method in the first faulthandler traceback: the frame under _callTestMethod."""
    lines = output.splitlines()
    for caller, callee in zip(lines[1:], lines):
        caller_frame = TRACEBACK_FRAME_LINE.match(caller)
        callee_frame = TRACEBACK_FRAME_LINE.match(callee)
        if caller_frame and callee_frame and caller_frame.group(2) == "_callTestMethod":
            path, function = callee_frame.groups()
            return f"{function} ({os.path.basename(path)})"
    return None


def test_case_id(name: str) -> str:
    """Test case ids as 'module.Class.test', without the 'test.' package prefix."""
    return canonical_name(name)


def failing_cases_from_junit(path: Path) -> list[str] | None:
    """Ids of testcase elements with a failure, an error or an unexpected success; None if no
    readable XML (the process crashed or was killed before regrtest wrote it)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    cases = []
    for case in root.iter("testcase"):
        name = case.get("name")
        unexpected_success = any(outcome.text == "UNEXPECTED_SUCCESS"
                                 for outcome in case.iter("outcome"))
        failed = case.find("failure") is not None or case.find("error") is not None
        if name and (failed or unexpected_success):
            cases.append(test_case_id(name))
    return cases


def failing_cases_from_output(output: str) -> list[str]:
    """Ids from unittest's 'FAIL: test_x (mod.Class.test_x)' / 'ERROR: setUpClass (mod.Class)'
    lines, which -W prints for failing modules, subtests included."""
    cases = []
    for match in FAILING_CASE_LINE.finditer(output):
        method, test_id = match.group(2), match.group(3)
        if not test_id.endswith("." + method):
            test_id = f"{test_id}.{method}"
        cases.append(test_case_id(test_id))
    return list(dict.fromkeys(cases))


# ---------------------------------------------------------------------------- cpjit statistics

def sum_stats(all_stats: list[dict]) -> dict:
    """Sum stats dicts of several processes: numbers added, dicts summed per key, lists joined
    (only the first 5 items kept). Keys are treated generically, new ones included."""
    total: dict = {}
    for stats in all_stats:
        total = add_stats(total, stats)
    return truncate_lists(total)


def add_stats(total: dict, stats: dict) -> dict:
    merged = dict(total)
    for key, value in stats.items():
        if key not in merged:
            merged[key] = add_stats({}, value) if isinstance(value, dict) else value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = add_stats(merged[key], value)
        elif is_number(value) and is_number(merged[key]):
            merged[key] = merged[key] + value
        elif isinstance(value, list) and isinstance(merged[key], list):
            merged[key] = merged[key] + value
    return merged


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truncate_lists(stats: dict, keep: int = 5) -> dict:
    return {key: (truncate_lists(value, keep) if isinstance(value, dict)
                  else value[:keep] if isinstance(value, list) else value)
            for key, value in stats.items()}


def read_stats_files(stats_dir: Path) -> tuple[list[dict], list[str]]:
    """The stats of every process of one module, and the names of unreadable files (a process
    killed while writing leaves only its s.<pid>.tmp, which is skipped)."""
    stats, unreadable = [], []
    for path in sorted(stats_dir.glob("s.*")):
        if path.suffix == ".tmp":
            continue
        try:
            stats.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            unreadable.append(path.name)
    return stats, unreadable


def attach_stats(result: RunResult, stats_dir: Path) -> None:
    """Sum the module's stats files into `result` and warn when cpjit looks inactive."""
    all_stats, unreadable = read_stats_files(stats_dir)
    result.stats_files = len(all_stats)
    result.stats = sum_stats(all_stats) if all_stats else None
    if unreadable:
        result.warnings.append(f"unreadable stats files: {', '.join(unreadable)}")
    result.warnings.extend(cpjit_activity_warnings(result))


def cpjit_activity_warnings(result: RunResult) -> list[str]:
    """Signs that cpjit was not active in a cpjit run whose tests ran (a broken install?).

    Warnings rather than failures: the atexit hook cannot write stats in every situation.
    """
    if result.status not in TESTS_RAN_STATUSES:
        return []
    if result.stats is None:
        return ["cpjit was not active: no stats file was written"]
    if result.status in PASSING_STATUSES and not result.stats.get("frames_native"):
        return ["cpjit was not active: frames_native is 0"]
    return []


# ---------------------------------------------------------------------------- comparison

def read_known_differences(path: Path) -> dict[str, str]:
    """Known cpjit-only failing test cases (see tests/cpython_suite_known.txt): id -> cause."""
    known = {}
    for line in path.read_text().splitlines():
        case, _, cause = line.partition("#")
        if case.strip():
            known[case.strip()] = cause.strip()
    return known


def compare_module(plain: RunResult, cpjit: RunResult,
                   known: dict[str, str] | None = None) -> dict | None:
    """The difference between the two runs of a module, or None when cpjit did no worse.

    A module whose cpjit run failed only by test cases listed in `known` is a known difference
    (`"known": True`): reported, but not counted as a difference. So is a module listed by its
    own name (an open bug that fails or crashes the whole module, with its cause), as long as
    the plain run passes.
    """
    known = known or {}
    reasons = []
    new_cases = sorted(set(cpjit.failing_cases) - set(plain.failing_cases))
    unexplained = [case for case in new_cases if case not in known]
    only_known = bool(new_cases) and not unexplained and cpjit.status == FAILED
    module_known = plain.module in known and cpjit.status in (FAILED, CRASHED)
    if module_known:
        only_known = True
        new_cases = new_cases or [plain.module]
    if plain.status in PASSING_STATUSES and cpjit.status not in PASSING_STATUSES:
        reasons.append(f"passes plainly, {cpjit.status} under cpjit")
    elif cpjit.status == CRASHED:
        reasons.append(f"crashed under cpjit (plain: {plain.status})")
    elif cpjit.status == TIMED_OUT and plain.status != TIMED_OUT:
        # A hang under cpjit where the plain run finished, even failing: the cases after the
        # hang never ran, so comparing failing cases cannot tell.
        reasons.append(f"timed out under cpjit (plain: {plain.status})")
    if new_cases:
        reasons.append(f"{len(new_cases)} test cases fail only under cpjit"
                       + (" (all known)" if only_known else ""))
    if not reasons:
        return None
    return {"module": plain.module, "plain": plain.status, "cpjit": cpjit.status,
            "cpjit_detail": cpjit.detail, "reasons": reasons, "new_failing_cases": new_cases,
            "known": only_known, "known_causes": {case: known[case] for case in new_cases
                                                  if case in known}}


def broken_plainly(plain: RunResult) -> bool:
    """Plain runs that fail, time out or crash: broken on this machine, JIT or not."""
    return plain.status in FAILING_STATUSES


# ---------------------------------------------------------------------------- the whole run

def run_all(config: SuiteConfig, jobs: list[tuple[str, str]],
            parallelism: int) -> tuple[list[RunResult], bool]:
    """Run the jobs on a thread pool, printing a line per finished run.

    Returns the finished results and whether the user interrupted the run.
    """
    groups = ProcessGroups()
    results = []
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=parallelism)
    futures = [executor.submit(run_job_safely, config, module, mode, groups)
               for module, mode in jobs]
    try:
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            result = future.result()
            results.append(result)
            print(progress_line(done, len(jobs), result), flush=True)
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)
        groups.kill_all()
        return results, True
    executor.shutdown()
    return results, False


def retry_differences(config: SuiteConfig, results: list[RunResult],
                      known: dict[str, str]) -> list[RunResult]:
    """Run the cpjit side of every differing module once more, as CPython's CI re-runs failed
    tests: timing-sensitive tests fail now and then on a loaded machine, JIT or not. A crash is
    never retried. When the retry shows no difference it replaces the first attempt, which
    stays on record in `first_attempt` (the report lists such modules as flaky) and in the
    first attempt's log, kept as <module>.cpjit.attempt1.log."""
    plain = {r.module: r for r in results if r.mode == "plain"}
    retried = []
    for index, result in enumerate(results):
        first = plain.get(result.module)
        if result.mode != "cpjit" or first is None or result.status == CRASHED:
            continue
        difference = compare_module(first, result, known)
        if difference is None or difference["known"]:
            continue
        log = Path(result.log) if result.log else None
        if log and log.exists():
            shutil.copy(log, log.with_suffix(".attempt1.log"))
        again = run_job_safely(config, result.module, "cpjit", ProcessGroups())
        print(f"[retry] {progress_line(1, 1, again).split('] ', 1)[1]}", flush=True)
        again.first_attempt = f"{result.status}: {result.detail}".strip(": ")
        if compare_module(first, again, known) is None:
            results[index] = again
            retried.append(again)
    return retried


def run_job_safely(config: SuiteConfig, module: str, mode: str,
                   groups: ProcessGroups) -> RunResult:
    """run_job, with a failure of the runner itself recorded as that run's status."""
    try:
        if module in FIXED_PORT_MODULES:
            with _fixed_port_lock:
                return run_job(config, module, mode, groups)
        return run_job(config, module, mode, groups)
    except Exception as exc:  # reported as the run's status, the other runs go on
        return RunResult(module, mode, RUNNER_ERROR, f"{type(exc).__name__}: {exc}")


def progress_line(done: int, total: int, result: RunResult) -> str:
    line = (f"[{done}/{total}] {result.module} {result.mode}: "
            f"{result.status} in {result.duration:.1f}s")
    if result.failing_cases:
        line += f" ({len(result.failing_cases)} failing cases)"
    elif result.detail and result.status not in PASSING_STATUSES:
        line += f" ({result.detail})"
    return line


# ---------------------------------------------------------------------------- reports

def build_report(meta: dict, modes: tuple[str, ...], results: list[RunResult],
                 not_run: dict[str, str], known: dict[str, str] | None = None) -> dict:
    """Everything about the run, as written to report.json."""
    runs: dict[str, dict[str, RunResult]] = {}
    for result in results:
        runs.setdefault(result.module, {})[result.mode] = result
    modules, differences, known_differences, broken = {}, [], [], {}
    for module in sorted(runs):
        by_mode = runs[module]
        difference = None
        if "plain" in by_mode and "cpjit" in by_mode:
            difference = compare_module(by_mode["plain"], by_mode["cpjit"], known)
        if difference:
            (known_differences if difference["known"] else differences).append(difference)
        if "plain" in by_mode and broken_plainly(by_mode["plain"]):
            broken[module] = {"status": by_mode["plain"].status,
                              "detail": by_mode["plain"].detail}
        modules[module] = {"runs": {mode: dataclasses.asdict(run) for mode, run in by_mode.items()},
                           "difference": difference}
    cpjit_runs = [run for run in results if run.mode == "cpjit"]
    return {
        **meta,
        "modes": list(modes),
        "summary": summary_counts(runs, differences, not_run),
        "differences": differences,
        "known_differences": known_differences,
        "broken_plainly": broken,
        "not_run": not_run,
        "flaky": {run.module: run.first_attempt for run in results if run.first_attempt},
        "warnings": [f"{run.module} {run.mode}: {warning}"
                     for run in results for warning in run.warnings],
        "runner_errors": [f"{run.module} {run.mode}: {run.detail}"
                          for run in results if run.status == RUNNER_ERROR],
        "cpjit_stats_total": sum_stats([run.stats for run in cpjit_runs if run.stats]),
        "modules": modules,
    }


def summary_counts(runs: dict[str, dict[str, RunResult]], differences: list,
                   not_run: dict[str, str]) -> dict:
    def count(mode, statuses):
        return sum(1 for by_mode in runs.values()
                   if mode in by_mode and by_mode[mode].status in statuses)
    return {
        "modules_run": len(runs),
        "plain_passed": count("plain", PASSING_STATUSES),
        "cpjit_passed": count("cpjit", PASSING_STATUSES),
        "plain_failing": count("plain", FAILING_STATUSES),
        "cpjit_failing": count("cpjit", FAILING_STATUSES),
        "skipped": {mode: count(mode, {SKIPPED}) for mode in MODES},
        "env_changed": {mode: count(mode, {ENV_CHANGED}) for mode in MODES},
        "differences": len(differences),
        "not_run": len(not_run),
    }


def count_known(report: dict) -> int:
    return len(report.get("known_differences", []))


def summary_sentence(report: dict) -> str:
    totals = report["summary"]
    parts = [f"{totals['modules_run']} modules run"]
    for mode in report["modes"]:
        parts.append(f"{mode} passed {totals[f'{mode}_passed']}")
    if len(report["modes"]) == 2:
        parts.append(f"differences {totals['differences']}")
        parts.append(f"known differences {count_known(report)}")
    return "; ".join(parts)


def render_markdown(report: dict) -> str:
    """report.md: the summary a human reads first."""
    sections = [
        markdown_header(report),
        markdown_differences(report),
        markdown_known_differences(report),
        markdown_flaky(report),
        markdown_broken(report),
        markdown_not_run(report),
        markdown_warnings(report),
        markdown_stats(report["cpjit_stats_total"]),
        markdown_modules(report),
    ]
    return "\n".join(section for section in sections if section)


def markdown_header(report: dict) -> str:
    totals = report["summary"]
    lines = [
        "# CPython test suite: plain and under cpjit", "",
        f"- Command: `{shlex.join(report['command'])}`",
        f"- Python {report['python']['version']} ({report['python']['executable']}), "
        f"cpjit {report['python']['cpjit'] or 'version unknown'}",
        f"- Started {report['started']}, took {format_seconds(report['duration_seconds'])}, "
        f"{report['jobs']} jobs, regrtest --timeout {report['timeout']:g} s",
        "",
        f"**{summary_sentence(report)}**",
        "",
        f"Passed includes env changed (plain {totals['env_changed']['plain']}, "
        f"cpjit {totals['env_changed']['cpjit']}); whole module skipped: plain "
        f"{totals['skipped']['plain']}, cpjit {totals['skipped']['cpjit']}; "
        f"not run: {totals['not_run']}.",
    ]
    if report.get("interrupted"):
        lines += ["", "**Interrupted: this report covers only the runs that finished.**"]
    return "\n".join(lines) + "\n"


def markdown_differences(report: dict) -> str:
    if "cpjit" not in report["modes"] or "plain" not in report["modes"]:
        return ""
    if not report["differences"]:
        return "## Differences\n\nNone.\n"
    lines = ["## Differences", "",
             "| module | plain | cpjit | why | test cases failing only under cpjit |",
             "|---|---|---|---|---|"]
    for diff in report["differences"]:
        why = "; ".join(diff["reasons"] + ([diff["cpjit_detail"]] if diff["cpjit_detail"] else []))
        lines.append(f"| {diff['module']} | {diff['plain']} | {diff['cpjit']} | {escape_cell(why)} "
                     f"| {escape_cell(abbreviated(diff['new_failing_cases']))} |")
    return "\n".join(lines) + "\n"


def markdown_known_differences(report: dict) -> str:
    known = report.get("known_differences", [])
    if not known:
        return ""
    lines = ["## Known differences (tests/cpython_suite_known.txt)", ""]
    for diff in known:
        for case, cause in diff["known_causes"].items():
            lines.append(f"- {case}: {cause}")
    return "\n".join(lines) + "\n"


def markdown_flaky(report: dict) -> str:
    flaky = report.get("flaky", {})
    if not flaky:
        return ""
    lines = ["## Flaky under cpjit (differed, then passed on a retry)", ""]
    lines += [f"- {module}: first attempt {first}" for module, first in flaky.items()]
    return "\n".join(lines) + "\n"


def markdown_broken(report: dict) -> str:
    if not report["broken_plainly"]:
        return ""
    lines = ["## Broken on this machine without cpjit", ""]
    for module, broken in report["broken_plainly"].items():
        detail = f": {broken['detail']}" if broken["detail"] else ""
        lines.append(f"- {module}: {broken['status']}{detail}")
    return "\n".join(lines) + "\n"


def markdown_not_run(report: dict) -> str:
    if not report["not_run"]:
        return ""
    lines = ["## Not run", ""]
    lines += [f"- {module}: {reason}" for module, reason in report["not_run"].items()]
    return "\n".join(lines) + "\n"


def markdown_warnings(report: dict) -> str:
    problems = report["runner_errors"] + report["warnings"]
    if not problems:
        return ""
    return "\n".join(["## Warnings and runner errors", ""] + [f"- {p}" for p in problems]) + "\n"


def markdown_stats(stats: dict) -> str:
    if not stats:
        return ""
    interpreted = stats.get("frames_interpreted") or {}
    lines = [
        "## cpjit statistics (all processes of all cpjit runs)", "",
        f"- frames run natively: {stats.get('frames_native', 0):,}",
        f"- frames interpreted: {sum(interpreted.values()):,} ({largest_first(interpreted)})",
        f"- code objects compiled: {stats.get('compiled', 0):,}, compile failures: "
        f"{stats.get('compile_failed', 0):,}, native code {stats.get('native_bytes', 0):,} bytes, "
        f"compile time {stats.get('compile_seconds', 0):.1f} s",
    ]
    unsupported = stats.get("unsupported_opcodes") or {}
    if unsupported:
        lines.append(f"- unsupported opcodes: {largest_first(unsupported, limit=10)}")
    for error in stats.get("recent_compile_errors") or []:
        lines.append(f"- compile error: `{error}`")
    return "\n".join(lines) + "\n"


def largest_first(counts: dict[str, int], limit: int | None = None) -> str:
    """'exception 12, throw 3' from {'throw': 3, 'exception': 12, 'cold': 0}."""
    ordered = sorted(((n, k) for k, n in counts.items() if n), reverse=True)[:limit]
    return ", ".join(f"{key} {count:,}" for count, key in ordered) or "none"


def markdown_modules(report: dict) -> str:
    lines = ["## Per module", "",
             "| module | plain | plain s | cpjit | cpjit s | native frames | interpreted frames |",
             "|---|---|---|---|---|---|---|"]
    for module, entry in report["modules"].items():
        plain, cpjit = entry["runs"].get("plain"), entry["runs"].get("cpjit")
        lines.append(f"| {module} | {run_cell(plain)} | {duration_cell(plain)} | {run_cell(cpjit)} "
                     f"| {duration_cell(cpjit)} | {frames_cells(cpjit)} |")
    return "\n".join(lines) + "\n"


def frames_cells(cpjit_run: dict | None) -> str:
    """'native | interpreted' frame counts of a cpjit run, dashes when it left no stats."""
    stats = (cpjit_run or {}).get("stats")
    if not stats:
        return "— | —"
    interpreted = sum((stats.get("frames_interpreted") or {}).values())
    return f"{stats.get('frames_native', 0)} | {interpreted}"


def run_cell(run: dict | None) -> str:
    if run is None:
        return "—"
    if run["failing_cases"]:
        return f"{run['status']} ({len(run['failing_cases'])})"
    return run["status"]


def duration_cell(run: dict | None) -> str:
    return f"{run['duration']:.1f}" if run else "—"


def abbreviated(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … and {len(items) - limit} more" if len(items) > limit else "")


def escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"


def write_reports(out_dir: Path, report: dict) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report))


def exit_status(report: dict) -> int:
    if report["runner_errors"] or report.get("interrupted"):
        return 2
    if len(report["modes"]) == 2:
        return 1 if report["differences"] else 0
    return 1 if report["summary"][f"{report['modes'][0]}_failing"] else 0


def print_summary(report: dict, out_dir: Path) -> None:
    print()
    if report["interrupted"]:
        print("Interrupted: the reports cover only the runs that finished.")
    print(summary_sentence(report))
    for diff in report["differences"]:
        print(f"  DIFFERENCE {diff['module']}: {'; '.join(diff['reasons'])}")
    for module, first in report.get("flaky", {}).items():
        print(f"  flaky {module}: passed on retry (first attempt {first})")
    for diff in report.get("known_differences", []):
        print(f"  known difference {diff['module']}: {', '.join(diff['new_failing_cases'])}")
    for problem in report["runner_errors"]:
        print(f"  RUNNER ERROR {problem}")
    print(f"Reports: {out_dir / 'report.md'}, {out_dir / 'report.json'}")


# ---------------------------------------------------------------------------- command line

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run CPython's regression suite plainly and under cpjit; report differences.")
    parser.add_argument("modules", nargs="*", help="test modules (default: the whole suite)")
    parser.add_argument("--subset", type=Path, help="file of module names, one per line")
    parser.add_argument("--exclude", action="append", default=[], metavar="MODULE",
                        help="module to skip (repeatable; a package covers its submodules)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="regrtest --timeout in seconds (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("target/cpython-suite"))
    parser.add_argument("--only", choices=MODES, help="run one mode only, no comparison")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--threshold", type=int, default=0, metavar="N",
                        help="CPJIT_THRESHOLD of the cpjit runs (default 0: compile at first call)")
    parser.add_argument("--no-retry", action="store_true",
                        help="do not run differing modules' cpjit side a second time")
    parser.add_argument("--known", type=Path, default=DEFAULT_KNOWN_FILE,
                        help="known cpjit-only failing test cases (default %(default)s)")
    parser.add_argument("-u", dest="resources", action="append", default=[], metavar="RES",
                        help="regrtest resources (repeatable or comma-separated)")
    return parser.parse_args(argv)


def requested_modules(args: argparse.Namespace) -> list[str]:
    modules = [canonical_name(name) for name in args.modules]
    if args.subset:
        try:
            modules += read_subset_file(args.subset)
        except OSError as exc:
            raise RunnerError(f"cannot read --subset file: {exc}") from exc
    return modules or list_all_modules(args.python)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    modes = (args.only,) if args.only else MODES
    try:
        if "cpjit" in modes:
            preflight(args.python)
        info = interpreter_info(args.python)
        modules, not_run = select_modules(requested_modules(args), args.exclude)
        known = read_known_differences(args.known) if args.known else {}
    except OSError as exc:
        print(f"cpython_suite: cannot read --known file: {exc}", file=sys.stderr)
        return 2
    except RunnerError as exc:
        print(f"cpython_suite: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out.resolve()
    for sub in ("logs", "junit", "stats"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    config = SuiteConfig(args.python, out_dir, args.timeout, args.resources, args.threshold)
    jobs = schedule(modules, modes, previous_durations(out_dir / "report.json"))
    started, start = datetime.datetime.now().isoformat(timespec="seconds"), time.monotonic()
    results, interrupted = run_all(config, jobs, max(1, args.jobs))
    if not interrupted and len(modes) == 2 and not args.no_retry:
        retry_differences(config, results, known)
    meta = {"command": [sys.argv[0]] + argv, "python": info, "started": started,
            "duration_seconds": round(time.monotonic() - start, 1), "jobs": args.jobs,
            "timeout": args.timeout, "resources": args.resources, "threshold": args.threshold,
            "interrupted": interrupted}
    report = build_report(meta, modes, results, not_run, known)
    write_reports(out_dir, report)
    print_summary(report, out_dir)
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
