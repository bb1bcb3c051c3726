"""Policy rules (probe id -> fail / warn / ignore) as a run applies them, and an errored probe under ``ignore``."""

import json

import pytest

from harness.model import Severity, Status
from harness.security.probes.headers import HSTS
from harness.security.rules import Action, apply_rules
from tests.security.test_suite_end_to_end import run_suite, security_suite

POLICY = """\
severity_threshold: medium
security:
  rules:
    "security.headers.csp": warn     # weak_csp: kept as a low finding, the check passes
    "security.authz.bola": ignore    # bola: waived, no finding
"""


def test_ignore_waives_an_errored_probe_without_a_finding():
    errored, is_finding = apply_rules(HSTS.error("probe crashed: timeout"), {"security.headers.*": Action.IGNORE})
    assert (errored.status, is_finding) == (Status.WAIVED, False)
    assert errored.message == "ignored by policy rule: probe crashed: timeout"


def test_warn_and_fail_keep_an_errored_probe_an_error_with_its_finding():
    for action in (Action.WARN, Action.FAIL):
        errored, is_finding = apply_rules(HSTS.error("probe crashed"), {"security.headers.hsts": action})
        assert (errored.status, errored.severity, is_finding) == (Status.ERROR, HSTS.severity, True)


@pytest.mark.integration
def test_warn_and_ignore_rules_shape_a_real_run(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    result, report = run_suite(tmp_path / "reports", "suites/security/test_surface.py", "suites/security/test_authz.py",
                               "suites/security/test_auth.py", "--defects", "weak_csp,bola", "--policy", str(policy))
    security = security_suite(report)
    checks = security["checks"]
    findings = {f["check_id"]: f for f in security["findings"]}

    csp = [c for c in checks if c["id"] == "security.headers.csp"]
    assert csp and all(c["status"] == "pass" for c in csp)
    assert any(c["message"].startswith("WARN:") and c["severity"] == "low" for c in csp)
    assert findings["security.headers.csp"]["severity"] == Severity.LOW.value  # tracked, not blocking

    bola = [c for c in checks if c["id"] == "security.authz.bola"]
    assert any(c["status"] == "waived" and c["message"].startswith("ignored by policy rule:") for c in bola)
    assert not any(c["status"] == "fail" for c in bola) and "security.authz.bola" not in findings

    # the suite's short access-token TTL (SuiteSpec.platform_env) lets the smoke profile prove expiry on clean
    assert [c["status"] for c in checks if c["id"] == "security.auth.expired"] == ["pass"]
    assert result.returncode == 0 and report["verdict"] == "ready", result.stdout[-3000:]
    sarif = json.loads((tmp_path / "reports" / "latest" / "findings.sarif").read_text())
    levels = {r["ruleId"]: r["level"] for r in sarif["runs"][0]["results"]}
    assert levels == {"security.headers.csp": "warning"}  # the warned finding; the ignored one is not there


@pytest.mark.integration
def test_smoke_run_catches_jwt_no_exp_check(tmp_path):
    result, report = run_suite(tmp_path, "suites/security/test_auth.py", "--defects", "jwt_no_exp_check",
                               "--profile", "smoke")
    expired = next(c for c in security_suite(report)["checks"] if c["id"] == "security.auth.expired")
    assert expired["status"] == "fail", expired["message"]
    assert expired["evidence"]["measured"]["status_after"] == 200 and expired["evidence"]["curl"]
    assert result.returncode == 1 and report["verdict"] == "not_ready"
    platform_env = {k: v for k, v in report["environment"]["extra"].items() if k.startswith("platform_env")}
    assert platform_env == {"platform_env[security]": "REFSYS_ACCESS_TTL_S=5"}  # the report says what ran
