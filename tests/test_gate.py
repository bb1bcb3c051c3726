"""`harness gate`: a report plus a policy gives the documented exit code."""

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.model import Check, Severity, Status
from harness.verdict import judge
from tests.test_model import make_run


def write_report(tmp_path: Path, run) -> Path:
    path = tmp_path / "readiness.json"
    path.write_text(run.model_dump_json())
    return path


def run_with(*checks: Check, inconclusive: str | None = None, aborted: str | None = None):
    run = make_run()
    run.suites = []
    suite = run.suite("s")
    suite.checks.extend(checks)
    suite.inconclusive = inconclusive
    run.aborted_reason = aborted
    return run


def check(status: Status, severity: Severity = Severity.MEDIUM, id: str = "s.c.one") -> Check:
    return Check(id=id, suite="s", title=id, status=status, severity=severity)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (run_with(check(Status.PASS)), ExitCode.READY),
        (run_with(check(Status.PASS), check(Status.FAIL, Severity.HIGH, "s.c.two")), ExitCode.NOT_READY),
        (run_with(check(Status.ERROR, Severity.MEDIUM)), ExitCode.NOT_READY),
        (run_with(check(Status.FAIL, Severity.LOW)), ExitCode.READY),  # below the default threshold
        (run_with(check(Status.PASS), aborted="SIGINT"), ExitCode.ABORTED),
        (run_with(check(Status.SKIPPED), check(Status.NOT_APPLICABLE, id="s.c.two")), ExitCode.NOTHING_RAN),
        (run_with(), ExitCode.NOTHING_RAN),
        (run_with(check(Status.PASS), inconclusive="generator CPU saturated"), ExitCode.INCONCLUSIVE),
        (run_with(check(Status.FAIL, Severity.HIGH), inconclusive="lag"), ExitCode.NOT_READY),
        (run_with(check(Status.WAIVED, Severity.CRITICAL)), ExitCode.READY),
        # a throttled check decides nothing: never ready on it, never not ready either
        (run_with(check(Status.PASS), check(Status.INCONCLUSIVE, Severity.HIGH, "s.c.two")), ExitCode.INCONCLUSIVE),
        (run_with(check(Status.INCONCLUSIVE, Severity.HIGH)), ExitCode.INCONCLUSIVE),
        (run_with(check(Status.INCONCLUSIVE, Severity.HIGH), check(Status.FAIL, Severity.HIGH, "s.c.two")),
         ExitCode.NOT_READY),
        (run_with(check(Status.PASS), check(Status.INCONCLUSIVE, Severity.LOW, "s.c.two")), ExitCode.READY),
    ],
)
def test_gate_exit_codes(tmp_path, capsys, run, expected):
    assert main(["gate", str(write_report(tmp_path, run))]) == expected


def test_policy_threshold_changes_the_answer(tmp_path):
    report = write_report(tmp_path, run_with(check(Status.FAIL, Severity.LOW)))
    strict = Path(__file__).resolve().parent.parent / "scenarios" / "policies" / "strict.yaml"
    assert main(["gate", str(report)]) == ExitCode.READY
    assert main(["gate", str(report), "--policy", str(strict)]) == ExitCode.NOT_READY


def test_gate_accepts_a_run_folder(tmp_path):
    write_report(tmp_path, run_with(check(Status.PASS)))
    assert main(["gate", str(tmp_path)]) == ExitCode.READY


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"run_id": 3}), "[]"],
)
def test_malformed_report_is_a_usage_error(tmp_path, capsys, content):
    (tmp_path / "readiness.json").write_text(content)
    assert main(["gate", str(tmp_path / "readiness.json")]) == ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert "not a readiness report" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("policy", "message"),
    [("severity_threshold: urgent\n", "allowed: info, low, medium, high, critical"),
     ("- a list\n", "a policy is a YAML mapping"),
     ("severity_threshold: [\n", "not valid YAML"),
     ("colour: red\n", "colour")],
)
def test_malformed_policy_is_a_usage_error(tmp_path, capsys, policy, message):
    report = write_report(tmp_path, run_with(check(Status.PASS)))
    (tmp_path / "policy.yaml").write_text(policy)
    assert main(["gate", str(report), "--policy", str(tmp_path / "policy.yaml")]) == ExitCode.USAGE_ERROR
    assert message in capsys.readouterr().err


def test_blocking_checks_are_listed_in_the_judgement():
    judgement = judge(run_with(check(Status.FAIL, Severity.CRITICAL)), Severity.MEDIUM)
    assert [c.id for c in judgement.blocking] == ["s.c.one"]
