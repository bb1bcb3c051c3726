"""End to end through pytest: options, recorded checks, outcome mirroring, report folder, interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from harness.exitcodes import ExitCode
from harness.model import RunResult, Status, Verdict
from harness.schema import exported_schema
from tests.conftest import EXAMPLE_SUITE, REPO, run_harness_pytest

pytestmark = pytest.mark.integration


def load_run(report_dir: Path) -> RunResult:
    return RunResult.model_validate_json((report_dir / "latest" / "readiness.json").read_text())


def test_clean_target_is_ready_and_writes_every_report(tmp_path, example_server):
    url = example_server()
    result = run_harness_pytest(tmp_path, url)
    assert result.returncode == ExitCode.READY, result.stdout + result.stderr
    reports = tmp_path / "reports"
    latest = reports / "latest"
    assert latest.is_symlink() and (latest / "readiness.html").is_file()
    document = json.loads((latest / "readiness.json").read_text())
    jsonschema.validate(document, exported_schema())
    run = load_run(reports)
    assert run.verdict == Verdict.READY and run.target.base_url == url
    checks = {c.id: c for c in run.all_checks()}
    assert set(checks) == {"example.http.health", "example.headers.nosniff", "example.latency.p95",
                           "example.http.unknown_route"}
    assert checks["example.latency.p95"].evidence.measured["samples"] == 20
    assert checks["example.http.health"].suite == "example"
    cases = ET.parse(latest / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == 4 and not ET.parse(latest / "junit.xml").getroot().findall(".//failure")
    assert run.all_findings() == [] and json.loads((latest / "findings.sarif").read_text())["runs"][0]["results"] == []
    assert "readiness" in result.stdout and "verdict: ready (exit 0)" in result.stdout


def test_a_failed_check_fails_its_test_and_the_run(tmp_path, example_server):
    result = run_harness_pytest(tmp_path, example_server("--no-nosniff"))
    assert result.returncode == ExitCode.NOT_READY
    assert "1 failed, 3 passed" in result.stdout
    assert "FAIL example.headers.nosniff (medium)" in result.stdout
    run = load_run(tmp_path / "reports")
    failing = [c for c in run.all_checks() if c.status == Status.FAIL]
    assert [c.id for c in failing] == ["example.headers.nosniff"]
    assert failing[0].evidence.measured == {"x-content-type-options": None}
    junit = ET.parse(tmp_path / "reports" / "latest" / "junit.xml").getroot()
    assert [f.get("message") for f in junit.iter("failure")] == [
        "header is None, expected 'nosniff'"]


def test_a_third_party_suites_checks_and_finding_reach_every_report(tmp_path, example_server):
    """The example suite uses only record_check / record_finding: JSON, HTML, JUnit and SARIF all show them."""
    result = run_harness_pytest(tmp_path, example_server("--no-nosniff"))
    assert result.returncode == ExitCode.NOT_READY, result.stdout + result.stderr
    latest = tmp_path / "reports" / "latest"
    run = load_run(tmp_path / "reports")
    [finding] = run.all_findings()
    assert (finding.suite, finding.check_id, finding.location) == ("example", "example.headers.nosniff", "GET /items")
    assert finding.owasp == ["API8:2023"] and finding.evidence.curl.startswith("curl -i http://127.0.0.1:")
    html = (latest / "readiness.html").read_text()
    assert "example.headers.nosniff" in html and "GET /items" in html and "example.latency.p95" in html
    junit = ET.parse(latest / "junit.xml").getroot()
    assert {case.get("name") for case in junit.iter("testcase")} == {c.id for c in run.all_checks()}
    [sarif_run] = json.loads((latest / "findings.sarif").read_text())["runs"]
    [result_] = sarif_run["results"]
    assert result_["ruleId"] == "example.headers.nosniff" and "GET /items" in result_["message"]["text"]
    assert result_["partialFingerprints"]["harnessFindingFingerprint/v1"] == finding.fingerprint
    assert [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]] == ["example.headers.nosniff"]



def test_measured_numbers_follow_the_target(tmp_path, example_server):
    """The latency check reports what it measured: a 60 ms server cannot pass a 50 ms limit."""
    result = run_harness_pytest(tmp_path, example_server("--slow-ms", "60"), env={"EXAMPLE_P95_LIMIT_MS": "50"})
    assert result.returncode == ExitCode.NOT_READY
    p95 = {c.id: c for c in load_run(tmp_path / "reports").all_checks()}["example.latency.p95"]
    assert p95.status == Status.FAIL and p95.evidence.measured["p95_ms"] >= 60


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_a_partial_report_and_exits_2(tmp_path, example_server, sig):
    url = example_server()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(EXAMPLE_SUITE), "--target-url", url, "--report-dir",
         str(tmp_path / "reports"), "-p", "no:cacheprovider", "-q"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "EXAMPLE_SLOW_S": "60", "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while seen.count(".") < 4 and time.monotonic() < deadline:  # the four quick tests have passed
        seen += proc.stdout.read(1)
    time.sleep(0.5)  # now inside the slow loop
    proc.send_signal(sig)
    output = seen + proc.communicate(timeout=60)[0]
    assert proc.returncode == ExitCode.ABORTED, output
    run = load_run(tmp_path / "reports")
    assert run.verdict == Verdict.ABORTED and "partial" in (run.aborted_reason or "")
    assert len(run.all_checks()) == 4  # what was recorded before the interrupt is kept


def test_crashing_suite_test_becomes_an_error_check(tmp_path, example_server):
    suite = tmp_path / "crash_checks.py"
    suite.write_text(
        "def test_boom(harness_target, record_check):\n"
        "    raise RuntimeError('probe exploded')\n"
        "def test_not_applicable(harness_target, record_check):\n"
        "    record_check(id='crash.csrf.none', title='no cookie flow', status='not_applicable', message='no cookies')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "--target-url", example_server(), "--report-dir",
         str(tmp_path / "reports"), "-p", "no:cacheprovider", "-q", "-rs"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert "1 failed, 1 skipped" in result.stdout, result.stdout
    checks = {c.id.split(".", 1)[1]: c for c in load_run(tmp_path / "reports").all_checks()}
    assert checks["call.test_boom"].status == Status.ERROR
    assert "probe exploded" in checks["call.test_boom"].message
    assert checks["csrf.none"].status == Status.NOT_APPLICABLE


def test_sessions_without_harness_fixtures_write_no_report(tmp_path):
    plain = tmp_path / "test_plain.py"
    plain.write_text("def test_one():\n    assert 1 + 1 == 2\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(plain), "--report-dir", str(tmp_path / "reports"), "-p",
         "no:cacheprovider", "-q"], cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and not (tmp_path / "reports").exists()
