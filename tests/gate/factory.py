"""Small hand-made reports for the gate's unit tests (the real-run tests are in test_refsys.py)."""

from __future__ import annotations

from harness.model import (
    Check,
    ClaimResult,
    ClaimVerdict,
    EnvironmentInfo,
    Finding,
    Metric,
    RunResult,
    Severity,
    Status,
    TargetInfo,
    Verdict,
)


def make_check(id: str, status: Status = Status.PASS, severity: Severity = Severity.MEDIUM, **extra) -> Check:
    return Check(id=id, suite=id.split(".")[0], title=id, status=status, severity=severity, **extra)


def make_finding(check_id: str, location: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(fingerprint=Finding.make_fingerprint(check_id, location), check_id=check_id,
                   suite=check_id.split(".")[0], title=f"{check_id} at {location}", severity=severity, location=location)


def p95(name: str, value: float, low: float, high: float, samples: int = 300) -> Metric:
    return Metric(name=name, value=value, unit="ms", samples=samples, low=low, high=high, confidence=0.99)


def make_run(*checks: Check, findings: list[Finding] = (), metrics: list[Metric] = (),
             claims: list[ClaimResult] = (), profile: str = "smoke") -> RunResult:
    run = RunResult(run_id="20260101T000000Z-test", profile=profile, verdict=Verdict.READY, exit_code=0,
                    environment=EnvironmentInfo(harness_version="0", python="3.11", platform="linux", hostname="h",
                                                cpu_count=2),
                    target=TargetInfo(platform="local"))
    for check in checks:
        run.suite(check.suite).checks.append(check)
    for finding in findings:
        run.suite(finding.suite).findings.append(finding)
    for metric in metrics:
        run.suite(metric.name.split(".")[0]).metrics.append(metric)
    run.claims = list(claims)
    return run


def claim(id: str, verdict: ClaimVerdict, reason: str = "") -> ClaimResult:
    return ClaimResult(id=id, text=f"claim {id}", verdict=verdict, reason=reason)
