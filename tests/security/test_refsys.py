"""The whole security suite against the real reference system: clean -> no high finding; each defect -> detected
by its probe, with evidence, and nothing else of high severity fires (no collateral false alarms).

The platform runs with a short token TTL and a small rate-limit window (and says so in
``Target.extra``) so the expiry and fixed-window checks fit in seconds instead of minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.model import Severity
from harness.platforms.base import Target
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.probes.jwt import bruteforce
from harness.security.registry import load_all_probes, load_all_rules
from tests.claims.refsys_claims import assert_refuted, checks_of_outcomes, claim_results, refsys_claims

pytestmark = pytest.mark.integration  # each test one platform start and the whole suite: ~20-35 s

TEST_WINDOW = {"REFSYS_ACCESS_TTL_S": "2", "REFSYS_RATE_LIMIT": "20", "REFSYS_RATE_WINDOW_S": "3"}
# the reference system's claims (scenarios/claims/refsys.yaml), its rate limit at the test window
CLAIMS = refsys_claims(rate_limit=(20, 3))
SECURITY_CLAIMS = [c.id for c in CLAIMS.testable() if all(p.startswith("security.") for p in c.verify)]

# defect switch -> (the check that must catch it, other high/critical failures that are the same flaw)
DEFECT_MATRIX: dict[str, tuple[str, frozenset[str]]] = {
    "no_security_headers": ("security.headers.csp", frozenset()),
    "weak_csp": ("security.headers.csp", frozenset()),
    # the switch echoes every Origin, `null` included: one flaw, two checks
    "cors_reflect_origin": ("security.cors.origin_reflection", frozenset({"security.cors.null_origin"})),
    "no_rate_limit": ("security.ratelimit.enforced", frozenset()),
    "rate_limit_global": ("security.ratelimit.per_user", frozenset()),
    "rate_limit_fixed_window": ("security.ratelimit.window", frozenset()),
    "jwt_alg_none": ("security.auth.alg_none", frozenset()),
    "jwt_no_exp_check": ("security.auth.expired", frozenset()),
    "refresh_reuse": ("security.auth.refresh_reuse", frozenset()),
    "bola": ("security.authz.bola", frozenset()),
    "bfla": ("security.authz.bfla", frozenset()),
    "mass_assignment": ("security.authz.mass_assignment", frozenset()),
    "data_exposure": ("security.authz.data_exposure", frozenset()),
    "sqli": ("security.injection.sqli", frozenset()),
    "xss_reflect": ("security.injection.xss", frozenset()),
    "stack_trace_leak": ("security.errors.stack_trace", frozenset()),
    "ssrf": ("security.ssrf.loopback_callback", frozenset()),
    "csrf_unsigned": ("security.csrf.forged_pair", frozenset()),
}


@contextmanager
def refsys(tmp_path: Path, defects: list[str]) -> Iterator[ProbeContext]:
    from harness.platforms.local.platform import LocalPlatform

    platform = LocalPlatform(defects=defects, state_dir=tmp_path / "state", log_dir=tmp_path / "logs", env=TEST_WINDOW)
    with platform as target:
        target: Target
        target.extra.update({"access_ttl_s": 2})  # the platform publishes its 20/3 s limit itself
        ctx = ProbeContext.open(target, run_dir=tmp_path / "run", claims=CLAIMS)
        try:
            yield ctx
        finally:
            ctx.close()


def whole_suite(ctx: ProbeContext) -> list[Outcome]:
    """Every probe group in the suite's order (rate limit and brute force last, as suites/security runs them)."""
    return [o for group in load_all_probes().values() for o in group.run(ctx)] + bruteforce(ctx)


def high_failures(outcomes: list[Outcome]) -> dict[str, Outcome]:
    """High findings of the run (checks run only with a claim's own numbers decide claims, not the run)."""
    return {o.id: o for o in outcomes if o.failed and o.severity >= Severity.HIGH and not o.claim_only}


def test_the_expected_lists_name_known_checks_only():

    named = {check for expected, same_flaw in DEFECT_MATRIX.values() for check in (expected, *same_flaw)}
    assert named <= set(load_all_rules()), named - set(load_all_rules())
    assert load_all_probes().names()[-1] == "ratelimit"  # the budget-spending group runs last, as in the suite


@pytest.mark.slow  # every probe group incl. token expiry and rate-limit windows: ~25 s
def test_clean_reference_system_has_no_high_or_critical_finding(tmp_path):
    with refsys(tmp_path, []) as ctx:
        outcomes = whole_suite(ctx)
    assert high_failures(outcomes) == {}
    assert [o.id for o in outcomes if o.failed] == []  # README lists what would be medium/low: nothing today
    ran = {o.id for o in outcomes if o.status.value == "pass"}
    assert {"security.auth.expired", "security.ratelimit.window", "security.csrf.forged_pair"} <= ran
    results = claim_results(checks_of_outcomes(outcomes), CLAIMS)
    assert {cid: results[cid].verdict.value for cid in SECURITY_CLAIMS} == dict.fromkeys(SECURITY_CLAIMS, "verified")


@pytest.mark.slow  # 18 x (platform start + the whole suite): ~6-9 min in all
@pytest.mark.parametrize("defect", sorted(DEFECT_MATRIX))
def test_defect_is_detected_by_its_probe_with_evidence_and_nothing_else_high_fires(tmp_path, defect):
    expected, same_flaw = DEFECT_MATRIX[defect]
    with refsys(tmp_path, [defect]) as ctx:
        outcomes = whole_suite(ctx)
    found = {o.id: o for o in outcomes if o.failed}
    assert expected in found, f"{defect}: {expected} did not fire; failures: {sorted(found)}"
    evidence = found[expected].evidence
    assert evidence.measured and (evidence.samples or evidence.curl), f"{defect}: finding without evidence"
    collateral = set(high_failures(outcomes)) - {expected} - same_flaw
    assert not collateral, f"{defect}: unrelated high findings {sorted(collateral)}"
    assert_refuted(claim_results(checks_of_outcomes(outcomes), CLAIMS), defect)  # the claim it breaks
    if defect == "bola":  # writes are in the matrix: another tenant deletes the owner's (throwaway) object
        failing = {o.location for o in outcomes if o.id == expected and o.failed}
        assert {"GET /analyses/{analysis_id}", "DELETE /analyses/{analysis_id}"} <= failing, failing
