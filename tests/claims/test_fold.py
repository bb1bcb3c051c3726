"""Folding a run's checks into one verdict per claim: the rules, each shown on a small run."""

from __future__ import annotations

import pytest

from harness.claims.fold import fold_claims, summary_line
from harness.claims.model import Claim, ClaimsFile
from harness.claims.parameters import ClaimParams, RateLimitParams
from harness.gate.evaluate import evaluate
from harness.gate.policy import Policy
from harness.model import Check, ClaimVerdict, Evidence, RunResult, Severity, Status
from harness.verdict import judge
from tests.claims.refsys_claims import run_of


def run_with(*checks: Check, platform: str = "local") -> RunResult:
    return run_of(checks, platform=platform)


def check(check_id: str, status: Status = Status.PASS, *, claims: tuple[str, ...] = (), claim_only: bool = False,
          message: str = "", **measured: object) -> Check:
    return Check(id=check_id, suite=check_id.split(".")[0], title=check_id, status=status, message=message,
                 severity=Severity.HIGH, claims=list(claims), claim_only=claim_only,
                 evidence=Evidence(measured=dict(measured)))


RATE = Claim(id="rate", text="Rate limiting (30 req/min/user)", verify=["security.ratelimit.enforced"],
             params=ClaimParams(rate_limit=RateLimitParams(limit=30, window_s=60)))
CSRF = Claim(id="csrf", text="CSRF protection with double-submit cookie", verify=["security.csrf.*"])
AES = Claim(id="aes", text="AES-256 encryption at rest", untestable="encryption at rest is not observable")
PDB = Claim(id="pdb", text="PodDisruptionBudget (minAvailable: 2)", verify=["kubernetes.pdb.*"], platforms=["kind"])


def verdicts(run: RunResult, *claims: Claim) -> dict[str, ClaimVerdict]:
    return {r.id: r.verdict for r in fold_claims(run, ClaimsFile(claims=list(claims)))}


def test_the_claims_own_numbers_decide_over_the_suites_default_run():
    """Default run (100/min) passed; the claim's own run at 30/min failed: refuted, measured beside claimed."""
    run = run_with(check("security.ratelimit.enforced", accepted_before_429=100),
                 check("security.ratelimit.enforced", Status.FAIL, claims=("rate",), claim_only=True,
                       message="38 requests, never a 429 (claim 30 per 60 s)", accepted_before_429=38))
    [result] = fold_claims(run, ClaimsFile(claims=[RATE]))
    assert result.verdict is ClaimVerdict.REFUTED
    assert result.claimed == {"rate_limit": {"limit": 30, "window_s": 60.0, "per": "user"}}  # as stated
    assert result.measured == {"security.ratelimit.enforced": {"accepted_before_429": 38}}
    assert "never a 429" in result.reason and result.checks == ["security.ratelimit.enforced"]
    assert judge(run, Severity.MEDIUM).verdict.value == "ready"  # the claim-only failure never blocks the run
    assert evaluate(run, Policy()).verdict.value == "ready"  # nor the gate's check rules (refuted claims are its own)


def test_a_claim_only_check_of_another_claim_never_counts():
    other = check("security.ratelimit.enforced", Status.FAIL, claims=("someone-else",), claim_only=True)
    assert verdicts(run_with(other, check("security.ratelimit.enforced")), RATE)["rate"] is ClaimVerdict.VERIFIED
    assert verdicts(run_with(other), RATE)["rate"] is ClaimVerdict.INCONCLUSIVE  # nothing of its own, nothing ordinary


def test_globs_collect_every_check_and_one_failure_refutes():
    run = run_with(check("security.csrf.missing_token"), check("security.csrf.forged_pair", Status.FAIL))
    assert verdicts(run, CSRF)["csrf"] is ClaimVerdict.REFUTED
    assert verdicts(run_with(check("security.csrf.missing_token")), CSRF)["csrf"] is ClaimVerdict.VERIFIED


@pytest.mark.parametrize(("status", "expected"), [
    (Status.ERROR, ClaimVerdict.INCONCLUSIVE),
    (Status.SKIPPED, ClaimVerdict.INCONCLUSIVE),
    (Status.INCONCLUSIVE, ClaimVerdict.INCONCLUSIVE),  # e.g. throttled: the evidence could not decide
    (Status.WAIVED, ClaimVerdict.INCONCLUSIVE),  # a waived check (policy ignore, known noise) decides nothing
    (Status.NOT_APPLICABLE, ClaimVerdict.INCONCLUSIVE),  # all not applicable: nothing showed it
])
def test_undecided_checks(status, expected):
    [result] = fold_claims(run_with(check("security.csrf.missing_token", status, message="why")),
                           ClaimsFile(claims=[CSRF]))
    assert result.verdict is expected and result.reason


def test_not_applicable_or_waived_beside_a_pass_does_not_hold_a_claim_back():
    run = run_with(check("security.csrf.missing_token"), check("security.csrf.state_changing_get", Status.NOT_APPLICABLE),
                 check("security.csrf.mismatch", Status.WAIVED))
    [result] = fold_claims(run, ClaimsFile(claims=[CSRF]))
    assert result.verdict is ClaimVerdict.VERIFIED
    assert result.reason == "1 check(s) passed (1 waived, not counted: security.csrf.mismatch)"


def test_a_pattern_that_matched_nothing_says_which_suite_did_not_run():
    [result] = fold_claims(run_with(check("load.smoke.p95.all")), ClaimsFile(claims=[CSRF]))
    assert result.verdict is ClaimVerdict.INCONCLUSIVE
    assert result.reason == "no check matching security.csrf.* was recorded: the security suite did not run"


def test_untestable_and_platform_bound_claims_are_untested_with_their_reason():
    results = {r.id: r for r in fold_claims(run_with(check("security.csrf.x")), ClaimsFile(claims=[AES, PDB]))}
    assert results["aes"].verdict is ClaimVerdict.UNTESTED and "not observable" in results["aes"].reason
    assert results["pdb"].verdict is ClaimVerdict.UNTESTED
    assert results["pdb"].reason == ("verified on platform kind (kubernetes.pdb.*); this run used the local platform")
    on_kind = run_with(check("kubernetes.pdb.effective"), platform="kind")
    assert verdicts(on_kind, PDB)["pdb"] is ClaimVerdict.VERIFIED


def test_no_claims_file_no_claims_and_the_summary_line():
    assert fold_claims(run_with(check("security.csrf.x")), None) == []
    results = fold_claims(run_with(check("security.csrf.x", Status.FAIL)), ClaimsFile(claims=[CSRF, AES]))
    assert summary_line(results, "c.yaml") == "claims: 0 verified · 1 refuted · 0 inconclusive · 1 untested (c.yaml)"
