"""Unit tests of tests/cpython_suite.py: parsing regrtest's output, comparing runs, summing stats.

No test suite is run here: outputs are synthetic (shaped like CPython 3.11.7's regrtest).
"""
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "cpython_suite.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("cpython_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


suite = load_runner()


def regrtest_output(result, totals="run=1/1", body=""):
    """The tail regrtest prints for one test file run sequentially."""
    return (
        "Using random seed: 1\n"
        "0:00:00 load avg: 0.10 Run 1 test sequentially (timeout: 10 min)\n"
        "0:00:00 load avg: 0.10 [1/1] test_x\n"
        f"{body}"
        f"\n== Tests result: {result} ==\n\n"
        "Total duration: 1.0 sec\n"
        "Total tests: run=10\n"
        f"Total test files: {totals}\n"
        f"Result: {result}\n"
    )


# ---------------------------------------------------------------------------- statuses

@pytest.mark.parametrize("result, returncode, totals, body, status", [
    ("SUCCESS", 0, "run=1/1", "", suite.PASSED),
    ("FAILURE", 2, "run=1/1 failed=1", "test_x failed (2 failures)\n", suite.FAILED),
    ("ENV CHANGED", 3, "run=1/1 env_changed=1", "test_x failed (env changed)\n",
     suite.ENV_CHANGED),
    ("SUCCESS", 0, "run=1/1 skipped=1", "test_x skipped -- No module named 'winreg'\n",
     suite.SKIPPED),
    ("NO TESTS RAN", 4, "run=0/1 resource_denied=1",
     "test_x skipped -- Use of the `network' resource not enabled\n", suite.SKIPPED),
    ("NO TESTS RAN", 4, "run=1/1 run_no_tests=1", "test_x ran no tests\n", suite.NO_TESTS_RAN),
    # a test package: two of its files skipped, the others passed
    ("SUCCESS", 0, "run=29/29 skipped=2", "", suite.PASSED),
])
def test_status_from_result_line_and_exit_code(result, returncode, totals, body, status):
    output = regrtest_output(result, totals, body)
    assert suite.classify_run(returncode, output, killed_after=None)[0] == status


def test_failed_detail_is_regrtests_verdict():
    output = regrtest_output("FAILURE", "run=1/1 failed=1",
                             "test test_x failed\ntest_x failed (1 error, 2 failures)\n")
    assert suite.classify_run(2, output, None) == (suite.FAILED,
                                                   "test_x failed (1 error, 2 failures)")


def test_skip_reason_is_kept():
    output = regrtest_output("SUCCESS", "run=1/1 skipped=1",
                             "test_x skipped -- No module named 'winreg'\ntest_x skipped\n")
    assert suite.classify_run(0, output, None) == (
        suite.SKIPPED, "test_x skipped -- No module named 'winreg'")


def test_signal_is_a_crash_and_names_the_test():
    output = (
        "0:00:00 load avg: 0.10 [1/1] test_x\n"
        "Fatal Python error: Segmentation fault\n\n"
        "Current thread 0x00007f (most recent call first):\n"
        '  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at\n'
        '  File "/usr/lib/python3.11/test/test_x.py", line 6 in test_crash\n'
        '  File "/usr/lib/python3.11/unittest/case.py", line 579 in _callTestMethod\n'
        '  File "/usr/lib/python3.11/unittest/case.py", line 623 in run\n'
    )
    assert suite.classify_run(-11, output, None) == (
        suite.CRASHED, "Fatal Python error: Segmentation fault in test_crash (test_x.py)")


def test_signal_without_faulthandler_output():
    assert suite.classify_run(-9, "[1/1] test_x\n", None) == (suite.CRASHED, "killed by SIGKILL")


def test_exit_without_result_line_is_a_crash():
    status, detail = suite.classify_run(1, "Traceback (most recent call last):\n", None)
    assert (status, detail) == (suite.CRASHED, "exit code 1 without a regrtest result")


def test_exit_code_not_matching_the_result_is_a_crash():
    status, detail = suite.classify_run(1, regrtest_output("SUCCESS"), None)
    assert status == suite.CRASHED
    assert "exit code 1" in detail


def test_fatal_error_text_in_a_failing_tests_output_is_not_a_crash():
    body = "AssertionError: 'Fatal Python error: Aborted' not found\n"
    output = regrtest_output("FAILURE", "run=1/1 failed=1", body + "Fatal Python error: x\n")
    assert suite.classify_run(2, output, None)[0] == suite.FAILED


def test_regrtest_timeout_is_timed_out():
    output = "[1/1] test_x\nTimeout (0:10:00)!\nThread 0x1 (most recent call first):\n"
    assert suite.classify_run(1, output, None) == (
        suite.TIMED_OUT, "regrtest --timeout expired (0:10:00)")


def test_runner_kill_is_timed_out():
    assert suite.classify_run(-9, "", killed_after=720.0) == (
        suite.TIMED_OUT, "killed by the runner after 720 s")


# ---------------------------------------------------------------------------- failing cases

JUNIT = """<testsuites tests="6" errors="1" failures="2"><testsuite tests="6" errors="1" failures="2">
<testcase name="test.test_x.T.test_err" status="run" result="completed"><error type="RuntimeError">tb</error></testcase>
<testcase name="test.test_x.T.test_fail" status="run" result="completed"><failure type="AssertionError">tb</failure></testcase>
<testcase name="test.test_x.T.test_ok" status="run" result="completed" />
<testcase name="test.test_x.T.test_skip" status="run" result="completed"><skipped>x</skipped></testcase>
<testcase name="test.test_x.T.test_xpass" status="run" result="completed"><outcome>UNEXPECTED_SUCCESS</outcome></testcase>
<testcase />
</testsuite></testsuites>"""


def test_junit_failing_cases(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text(JUNIT)
    assert suite.failing_cases_from_junit(path) == [
        "test_x.T.test_err", "test_x.T.test_fail", "test_x.T.test_xpass"]


def test_junit_missing_or_truncated(tmp_path):
    assert suite.failing_cases_from_junit(tmp_path / "none.xml") is None
    truncated = tmp_path / "t.xml"
    truncated.write_text(JUNIT[:200])
    assert suite.failing_cases_from_junit(truncated) is None


def test_failing_cases_from_unittest_lines():
    output = (
        "ERROR: test_err (test.test_x.T.test_err)\n"
        "FAIL: test_sub (test.test_x.T.test_sub) (i=1)\n"
        "FAIL: test_sub (test.test_x.T.test_sub) (i=2)\n"
        "ERROR: setUpClass (test.test_x.Fixture)\n"
        "FAIL: helper (test.test_x)\n"
        "UNEXPECTED SUCCESS: test_xpass (test.test_x.T.test_xpass)\n"
        "  FAIL: indented lines are not unittest's\n"
    )
    assert suite.failing_cases_from_output(output) == [
        "test_x.T.test_err", "test_x.T.test_sub", "test_x.Fixture.setUpClass",
        "test_x.helper", "test_x.T.test_xpass"]


def test_parse_run_joins_junit_and_subtest_lines(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text(JUNIT)
    output = regrtest_output("FAILURE", "run=1/1 failed=1",
                             "FAIL: test_sub (test.test_x.T.test_sub) (i=1)\n")
    run = suite.parse_run("test_x", "cpjit", 2, output, None, path)
    assert run.status == suite.FAILED
    assert run.failing_cases == ["test_x.T.test_err", "test_x.T.test_fail", "test_x.T.test_sub",
                                 "test_x.T.test_xpass"]


# ---------------------------------------------------------------------------- comparison

def run(status, cases=(), mode="plain", module="test_x"):
    return suite.RunResult(module, mode, status, failing_cases=list(cases))


def test_no_difference_when_both_pass():
    assert suite.compare_module(run(suite.PASSED), run(suite.ENV_CHANGED, mode="cpjit")) is None


def test_cpjit_failing_where_plain_passes():
    diff = suite.compare_module(run(suite.PASSED), run(suite.FAILED, ["a.T.t"], "cpjit"))
    assert diff["new_failing_cases"] == ["a.T.t"]
    assert diff["reasons"][0] == "passes plainly, failed under cpjit"


def test_same_failures_in_both_modes_are_no_difference():
    assert suite.compare_module(run(suite.FAILED, ["a.T.t"]),
                                run(suite.FAILED, ["a.T.t"], "cpjit")) is None


def test_extra_failures_of_a_module_broken_plainly():
    diff = suite.compare_module(run(suite.FAILED, ["a.T.t"]),
                                run(suite.FAILED, ["a.T.t", "a.T.u"], "cpjit"))
    assert diff["new_failing_cases"] == ["a.T.u"]


def test_cpjit_timeout_is_a_difference_when_plain_finishes_failing():
    # test_threading: one case failed plainly; under cpjit a child process hung and the module
    # timed out, its later cases never run (and so not among the failing ones).
    diff = suite.compare_module(run(suite.FAILED, ["a.T.t"]), run(suite.TIMED_OUT, mode="cpjit"))
    assert diff is not None and not diff["known"]
    assert diff["reasons"] == ["timed out under cpjit (plain: failed)"]
    assert suite.compare_module(run(suite.TIMED_OUT), run(suite.TIMED_OUT, mode="cpjit")) is None


def test_cpjit_crash_is_a_difference_even_when_plain_fails():
    diff = suite.compare_module(run(suite.FAILED, ["a.T.t"]), run(suite.CRASHED, mode="cpjit"))
    assert diff["reasons"] == ["crashed under cpjit (plain: failed)"]


def test_timing_out_in_both_modes_is_no_difference():
    assert suite.compare_module(run(suite.TIMED_OUT), run(suite.TIMED_OUT, mode="cpjit")) is None


def test_skipped_plainly_and_failing_under_cpjit():
    diff = suite.compare_module(run(suite.SKIPPED), run(suite.FAILED, ["a.T.t"], "cpjit"))
    assert diff["new_failing_cases"] == ["a.T.t"]


# ---------------------------------------------------------------------------- stats

def test_sum_stats_is_generic():
    first = {"compiled": 2, "compile_seconds": 0.5, "frames_native": 10,
             "frames_interpreted": {"cold": 1, "exception": 2},
             "unsupported_opcodes": {"X": 1}, "recent_compile_errors": ["e1", "e2", "e3"]}
    second = {"compiled": 3, "compile_seconds": 0.25, "frames_native": 5,
              "frames_interpreted": {"exception": 4, "new_reason": 7},
              "unsupported_opcodes": {}, "recent_compile_errors": ["e4", "e5", "e6"],
              "new_counter": 9}
    assert suite.sum_stats([first, second]) == {
        "compiled": 5, "compile_seconds": 0.75, "frames_native": 15,
        "frames_interpreted": {"cold": 1, "exception": 6, "new_reason": 7},
        "unsupported_opcodes": {"X": 1},
        "recent_compile_errors": ["e1", "e2", "e3", "e4", "e5"],
        "new_counter": 9}
    assert first["frames_interpreted"] == {"cold": 1, "exception": 2}  # inputs left alone


def test_attach_stats_reads_every_process(tmp_path):
    (tmp_path / "s.100").write_text('{"frames_native": 3, "frames_interpreted": {"cold": 1}}')
    (tmp_path / "s.101").write_text('{"frames_native": 4, "frames_interpreted": {"cold": 2}}')
    (tmp_path / "s.102").write_text('{"frames_nat')
    result = run(suite.PASSED, mode="cpjit")
    suite.attach_stats(result, tmp_path)
    assert result.stats == {"frames_native": 7, "frames_interpreted": {"cold": 3}}
    assert result.stats_files == 2
    assert result.warnings == ["unreadable stats files: s.102"]


def test_inactive_cpjit_warnings(tmp_path):
    no_stats = run(suite.PASSED, mode="cpjit")
    suite.attach_stats(no_stats, tmp_path)
    assert no_stats.warnings == ["cpjit was not active: no stats file was written"]
    (tmp_path / "s.1").write_text('{"frames_native": 0}')
    nothing_native = run(suite.PASSED, mode="cpjit")
    suite.attach_stats(nothing_native, tmp_path)
    assert nothing_native.warnings == ["cpjit was not active: frames_native is 0"]
    crashed = run(suite.CRASHED, mode="cpjit")
    suite.attach_stats(crashed, tmp_path / "empty")
    assert crashed.warnings == []


# ---------------------------------------------------------------------------- selection

def test_subset_file(tmp_path):
    subset = tmp_path / "subset.txt"
    subset.write_text("# header\n\ntest_a   # why\ntest.test_asyncio.test_tasks\n  test_b\n")
    assert suite.read_subset_file(subset) == ["test_a", "test_asyncio.test_tasks", "test_b"]


def test_selection_skips_known_hangs_and_exclusions():
    to_run, not_run = suite.select_modules(
        ["test_a", "test_interpreters", "test_asyncio.test_tasks", "test_a",
         "test__xxsubinterpreters", "test_b"],
        excluded=["test_asyncio", "test.test_b"])
    assert to_run == ["test_a"]
    assert not_run == {
        "test_interpreters": suite.HANGS_WITHOUT_CPJIT,
        "test_asyncio.test_tasks": "not run: excluded on the command line",
        "test__xxsubinterpreters": suite.HANGS_WITHOUT_CPJIT,
        "test_b": "not run: excluded on the command line",
    }


def test_schedule_puts_slow_modules_first_and_modes_together():
    jobs = suite.schedule(["test_a", "test_asyncio.test_tasks", "test_b"], suite.MODES,
                          history={"test_b": 1000.0})
    assert jobs == [("test_b", "plain"), ("test_b", "cpjit"),
                    ("test_asyncio.test_tasks", "plain"), ("test_asyncio.test_tasks", "cpjit"),
                    ("test_a", "plain"), ("test_a", "cpjit")]


def test_schedule_keeps_the_order_of_the_known_slow_list():
    jobs = suite.schedule(["test_signal", "test_multiprocessing_spawn"], ("cpjit",), history={})
    assert jobs == [("test_multiprocessing_spawn", "cpjit"), ("test_signal", "cpjit")]


def test_cpjit_environment_and_plain_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CPJIT", "1")
    monkeypatch.setenv("CPJIT_THRESHOLD", "7")
    plain = suite.job_environment("plain", tmp_path, tmp_path / "s")
    assert not {"CPJIT", "CPJIT_THRESHOLD", "CPJIT_STATS_FILE"} & plain.keys()
    assert plain["TMPDIR"] == str(tmp_path)
    jit = suite.job_environment("cpjit", tmp_path, tmp_path / "s")
    assert (jit["CPJIT"], jit["CPJIT_THRESHOLD"], jit["CPJIT_STATS_FILE"]) == (
        "1", "0", str(tmp_path / "s"))
    # --threshold N: the cpjit runs compile after N interpreted calls (quickened code).
    tiered = suite.job_environment("cpjit", tmp_path, tmp_path / "s", 16)
    assert tiered["CPJIT_THRESHOLD"] == "16"
    assert suite.parse_args(["--threshold", "16"]).threshold == 16
    assert suite.parse_args([]).threshold == 0


# ---------------------------------------------------------------------------- process and report

def test_run_process_kills_the_group_after_the_limit(tmp_path):
    log = tmp_path / "log"
    command = ["sh", "-c", "sleep 30 & sleep 30"]
    returncode, killed = suite.run_process(command, None, tmp_path, log, 0.3,
                                           suite.ProcessGroups())
    assert killed and returncode < 0


def make_report(results, modes=suite.MODES, not_run=None):
    meta = {"command": ["cpython_suite.py"], "started": "t", "duration_seconds": 1.0,
            "jobs": 2, "timeout": 600, "resources": [], "interrupted": False,
            "python": {"version": "3.11.7", "executable": "python3", "cpjit": "0.1.0"}}
    return suite.build_report(meta, modes, results, not_run or {})


def test_report_and_exit_status():
    stats = {"frames_native": 5, "frames_interpreted": {"exception": 2}}
    results = [
        run(suite.PASSED, module="test_a"),
        suite.RunResult("test_a", "cpjit", suite.PASSED, stats=stats),
        run(suite.PASSED, module="test_b"),
        suite.RunResult("test_b", "cpjit", suite.FAILED, failing_cases=["test_b.T.t"],
                        stats=stats),
        run(suite.FAILED, ["test_c.T.t"], module="test_c"),
        suite.RunResult("test_c", "cpjit", suite.FAILED, failing_cases=["test_c.T.t"]),
    ]
    report = make_report(results, not_run={"test_interpreters": suite.HANGS_WITHOUT_CPJIT})
    assert suite.summary_sentence(report) == (
        "3 modules run; plain passed 2; cpjit passed 1; differences 1; known differences 0")
    assert [diff["module"] for diff in report["differences"]] == ["test_b"]
    assert list(report["broken_plainly"]) == ["test_c"]
    assert report["cpjit_stats_total"] == {"frames_native": 10,
                                           "frames_interpreted": {"exception": 4}}
    assert suite.exit_status(report) == 1
    markdown = suite.render_markdown(report)
    assert "test_b.T.t" in markdown and "hangs without cpjit" in markdown


def test_exit_status_of_one_mode_and_of_clean_runs():
    assert suite.exit_status(make_report([run(suite.PASSED)], modes=("plain",))) == 0
    assert suite.exit_status(make_report([run(suite.CRASHED)], modes=("plain",))) == 1
    both_pass = [run(suite.PASSED), run(suite.PASSED, mode="cpjit")]
    assert suite.exit_status(make_report(both_pass)) == 0
    runner_error = [run(suite.PASSED), run(suite.RUNNER_ERROR, mode="cpjit")]
    assert suite.exit_status(make_report(runner_error)) == 2


def test_known_cpjit_only_failures_are_reported_apart(tmp_path):
    known_file = tmp_path / "known.txt"
    known_file.write_text("# comment\na.T.known  # why it differs\n\n")
    known = suite.read_known_differences(known_file)
    assert known == {"a.T.known": "why it differs"}
    diff = suite.compare_module(run(suite.PASSED), run(suite.FAILED, ["a.T.known"], "cpjit"), known)
    assert diff["known"] and diff["known_causes"] == {"a.T.known": "why it differs"}
    # One unlisted case makes it a difference again; so does a crash.
    diff = suite.compare_module(run(suite.PASSED),
                                run(suite.FAILED, ["a.T.known", "a.T.new"], "cpjit"), known)
    assert not diff["known"]
    diff = suite.compare_module(run(suite.PASSED), run(suite.CRASHED, ["a.T.known"], "cpjit"), known)
    assert not diff["known"]


def test_a_module_listed_by_name_is_a_known_difference_even_when_it_crashes(tmp_path):
    known_file = tmp_path / "known.txt"
    known_file.write_text("test_mod  # an open bug, with its cause\n")
    known = suite.read_known_differences(known_file)
    plain = suite.RunResult("test_mod", "plain", suite.PASSED)
    diff = suite.compare_module(plain, suite.RunResult("test_mod", "cpjit", suite.CRASHED, "SIGSEGV"),
                                known)
    assert diff["known"] and diff["known_causes"] == {"test_mod": "an open bug, with its cause"}
    assert "crashed" in diff["reasons"][0]  # still reported as what it is
    # Another module crashing is not covered by that entry.
    other = suite.compare_module(suite.RunResult("test_other", "plain", suite.PASSED),
                                 suite.RunResult("test_other", "cpjit", suite.CRASHED), known)
    assert not other["known"]


def test_a_differing_module_is_retried_once_and_a_crash_never(monkeypatch):
    calls = []

    def rerun(config, module, mode, groups):
        calls.append((module, mode))
        return suite.RunResult(module, mode, suite.PASSED)

    monkeypatch.setattr(suite, "run_job_safely", rerun)
    results = [
        run(suite.PASSED, module="test_flaky"),
        suite.RunResult("test_flaky", "cpjit", suite.FAILED, "1 failure", failing_cases=["x.T.t"]),
        run(suite.PASSED, module="test_crash"),
        suite.RunResult("test_crash", "cpjit", suite.CRASHED, "SIGSEGV"),
    ]
    retried = suite.retry_differences(None, results, {})
    assert calls == [("test_flaky", "cpjit")]
    assert [r.module for r in retried] == ["test_flaky"]
    assert results[1].status == suite.PASSED and results[1].first_attempt == "failed: 1 failure"
    assert results[3].status == suite.CRASHED
