"""Policy v2 files: old files load unchanged, rules decide in order, bad files exit 4 in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import UsageError
from harness.exitcodes import ExitCode
from harness.gate.policy import Policy, load_policy
from harness.model import Severity, Status
from tests.conftest import REPO
from tests.gate.factory import make_check, make_run

POLICIES = sorted((REPO / "scenarios" / "policies").glob("*.yaml"))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_shipped_policy_loads(path: Path):
    load_policy(path)


def test_a_version_1_file_keeps_its_meaning():
    policy = load_policy(REPO / "scenarios" / "policies" / "security-relaxed.yaml")
    assert policy.severity_threshold is Severity.HIGH and policy.security.rules["security.headers.hsts"] == "warn"
    assert policy.levels == [] and policy.rules == [] and policy.refuted_claims == "block"


def test_rules_decide_in_order_and_the_threshold_decides_the_rest():
    policy = Policy.model_validate({
        "severity_threshold": "high",
        "rules": [{"check": "security.headers.*", "action": "ignore"},
                  {"owasp": "API1:2023*", "action": "block"},
                  {"suite": "chaos", "min_severity": "medium", "action": "block"},
                  {"check": "security.*", "action": "warn"}],
    })
    failed = lambda id, severity="low", **kw: make_check(id, Status.FAIL, Severity(severity), **kw)  # noqa: E731
    assert policy.action_for(failed("security.headers.hsts", "critical")) == "ignore"  # first match wins
    assert policy.action_for(failed("security.authz.bola", owasp=["API1:2023"])) == "block"
    assert policy.action_for(failed("chaos.kill.recovery", "medium")) == "block"
    assert policy.action_for(failed("chaos.kill.rollback", "low")) == "warn"  # below the rule's min_severity
    assert policy.action_for(failed("security.injection.sqli", "critical")) == "warn"
    assert policy.action_for(failed("load.smoke.p95.all", "medium")) == "warn"  # below high, no rule
    assert policy.action_for(failed("load.smoke.p95.all", "high")) == "block"


def test_refuted_claims_follow_claim_rules_then_the_default():
    policy = Policy.model_validate({"refuted_claims": "warn", "rules": [{"claim": "api.rate_*", "action": "block"}]})
    assert policy.action_for_claim("api.rate_limit") == "block"
    assert policy.action_for_claim("api.headers") == "warn"


MALFORMED = [
    ("severity_threshold: urgent\n", "severity_threshold: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
     "allowed: info, low, medium, high, critical"),
    ("colour: red\n", "colour: unknown key 'colour'", "known keys: version, description, severity_threshold"),
    ("rules:\n  - {check: 'a.*', action: stop}\n", "rules.0.action", "allowed: block, warn, ignore"),
    ("rules:\n  - {action: block}\n", "rules.0: a rule needs at least one of check, suite, min_severity, owasp, claim",
     "allowed: a mapping with keys check, suite, min_severity, owasp, claim, action"),
    ("levels:\n  - {name: bronze, checks: 'load.*'}\n", "levels.0.checks", "allowed: a list of check id globs"),
    ("levels:\n  - {name: bronze, checks: [load.*]}\nrequire_level: gold\n",
     "require_level 'gold' is not a level of this policy (levels: bronze)", "allowed:"),
    ("baseline:\n  metrics:\n    load.*.p95_ms: 10\n", "baseline.metrics.load.*.p95_ms", "allowed: +N% (relative)"),
    ("baseline:\n  metrics:\n    load.*.p95_ms: 'ten percent'\n", "'ten percent' is not a change expression",
     "+Npp (percentage points"),
    ("waivers:\n  - {check: a.b, reason: known, owner: me, expires: soon}\n", "waivers.0.expires",
     "allowed: a date YYYY-MM-DD"),
    ("waivers:\n  - {check: a.b, fingerprint: ab12, reason: known, owner: me, expires: 2030-01-01}\n",
     "waivers.0: a waiver names exactly one of check, fingerprint, claim (got check, fingerprint)", "allowed:"),
    ("- a list\n", "a policy is a YAML mapping", ""),
    ("severity_threshold: [\n", "not valid YAML", ""),
]


@pytest.mark.parametrize(("text", "where", "allowed"), MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_a_malformed_policy_is_one_line_naming_file_key_and_allowed_values(tmp_path, capsys, text, where, allowed):
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    report = tmp_path / "readiness.json"
    report.write_text(make_run(make_check("s.c.one")).model_dump_json())
    assert main(["gate", str(report), "--policy", str(policy)]) == ExitCode.USAGE_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(policy) in err and where in err and allowed in err, err


def test_a_missing_policy_file_says_which_flag(tmp_path):
    with pytest.raises(UsageError, match=r"policy file .*nope\.yaml not found; pass an existing file to --policy"):
        load_policy(tmp_path / "nope.yaml")
