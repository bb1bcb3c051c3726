"""The data model: round trips, ordering, redaction, fingerprints."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from harness.model import (
    Check,
    EnvironmentInfo,
    Evidence,
    FaultInjection,
    Finding,
    LoadSecond,
    RunResult,
    Sample,
    Severity,
    Status,
    TargetInfo,
    redact,
    utcnow,
)


def make_run() -> RunResult:
    run = RunResult(
        run_id="20260101T000000Z-abcd",
        environment=EnvironmentInfo(harness_version="0", python="3.11", platform="linux", hostname="h", cpu_count=2),
        target=TargetInfo(platform="local", base_url="http://127.0.0.1:1"),
    )
    suite = run.suite("security")
    suite.checks.append(Check(
        id="security.headers.hsts", suite="security", title="HSTS", status=Status.FAIL, severity=Severity.HIGH,
        evidence=Evidence(measured={"value": None}, samples=[Sample(request="GET /", status_code=200)],
                          curl="curl -H 'Authorization: Bearer abc.def.ghi' http://127.0.0.1:1/"),
    ))
    suite.findings.append(Finding(fingerprint=Finding.make_fingerprint("a", "b"), check_id="security.headers.hsts",
                                  suite="security", title="HSTS missing", severity=Severity.HIGH))
    run.suite("load").timeseries.append(LoadSecond(t=1.0, requests=20, rate=20.0, p95_ms=12.5))
    run.timeline.append(FaultInjection(fault="kill", target="gateway-1", started_at=utcnow(),
                                       ended_at=utcnow() + timedelta(seconds=3)))
    return run


def test_run_result_round_trips_through_json():
    run = make_run()
    again = RunResult.model_validate_json(run.model_dump_json())
    assert again == run
    assert again.suite("security").checks[0].severity is Severity.HIGH


def test_severity_is_ordered():
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert sorted([Severity.HIGH, Severity.INFO, Severity.MEDIUM]) == [Severity.INFO, Severity.MEDIUM, Severity.HIGH]


def test_evidence_redacts_tokens_and_passwords():
    check = make_run().suite("security").checks[0]
    assert "abc.def.ghi" not in check.evidence.curl
    assert redact('{"password": "hunter2"}') == '{"password": "<redacted>"}'
    assert "s3cret" not in Sample(request="POST /auth/refresh refresh_token=s3cret").request


def test_check_ids_must_be_dotted_and_lowercase():
    with pytest.raises(ValidationError):
        Check(id="NoDots", suite="x", title="t", status=Status.PASS)
    with pytest.raises(ValidationError):
        Check(id="x.y", suite="x", title="t", status="maybe")


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError):
        Check(id="x.y", suite="x", title="t", status=Status.PASS, colour="red")


def test_fingerprint_is_stable_and_input_sensitive():
    assert Finding.make_fingerprint("GET /a", "bola") == Finding.make_fingerprint("GET /a", "bola")
    assert Finding.make_fingerprint("GET /a", "bola") != Finding.make_fingerprint("GET /b", "bola")


def test_suite_counts():
    run = make_run()
    assert run.suite("security").counts()["fail"] == 1
    assert run.suite("load").counts()["pass"] == 0
