"""The reference system's claims (scenarios/claims/refsys.yaml): the defect table walked, and one clean run.

Each defect switch refutes the claim it breaks: every row of fixtures/refsys/DEFECTS.md names a claim here
(``DEFECT_CLAIM``) whose checks include the one that catches the defect, and each suite's defect test
(tests/security/test_refsys.py, tests/chaos/test_live.py, tests/contract/test_refsys.py,
tests/load/test_refsys.py) folds its real run with refsys.yaml and asserts that claim refuted. The clean
reference system, run through ``harness run --claims`` on the smoke profile (the README's demo,
tests/test_demo.py), verifies every claim that the smoke profile can decide; the two that need a longer
profile say so.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from fixtures.refsys.defects import KNOWN_DEFECTS, MANIFEST_DEFECTS
from harness.model import ClaimVerdict, RunResult
from tests.claims.refsys_claims import DEFECT_CLAIM, REFSYS_CLAIMS, REPO, refsys_claims

DEFECTS_MD = REPO / "fixtures" / "refsys" / "DEFECTS.md"
# the check each non-security defect fails (the security ones: tests/security/test_refsys.DEFECT_MATRIX)
CAUGHT_BY_CHECK = {
    "contract_drift": "contract.post_analyses.response_schema_conformance",
    "500_on_edge_input": "contract.post_analyses.not_a_server_error",
    "slow_endpoint": "load.smoke.p95.get_analyses",
    "memory_leak": "load.soak.trend.rss.gateway-1",
    "data_loss_on_restart": "chaos.gateway_replica_kill.no_data_lost",
    "no_circuit_breaker": "chaos.gpu_loss.breaker_cycle",
    "breaker_never_half_open": "chaos.gpu_loss.breaker_cycle",
    "no_fallback": "chaos.gpu_loss.hypothesis",
    "no_retry_jitter": "chaos.gpu_loss.retry_jitter",
    # manifest defects: the kubernetes suite (shown failing in tests/platforms/kind/test_kind_cluster.py)
    "no_pdb": "kubernetes.pdb.gateway",
    "gpu_affinity_missing": "kubernetes.gpu.placement",
    "privileged_pod": "kubernetes.pod_security.restricted",
    "no_network_policy": "kubernetes.network_policy.enforced",
    "no_resource_limits": "kubernetes.resources.limits",
}
# the chaos suite times breaker OPEN phases by scraping; on a loaded machine too coarsely to judge jitter, and
# then says so (skipped): the claim is inconclusive for that stated reason, never verified or refuted by it
TIMING_TOO_COARSE = {"resilience.retry_jitter": "precisely timed breaker openings"}
NEEDS_LONGER_PROFILE = {  # inconclusive on smoke, verified by the runs named in the reason
    "security.rate_limit.per_user": "security.ratelimit.window skipped",  # ~2.7 windows of 60 s: profile full
    "performance.no_memory_growth": "no check matching load.*.trend.rss*",  # RSS trends: profile soak
}


def defect_table() -> list[str]:
    return re.findall(r"^\| `([a-z0-9_]+)` \|", DEFECTS_MD.read_text(), re.MULTILINE)


def test_the_defect_table_and_the_claims_file_agree():
    from tests.security.test_refsys import DEFECT_MATRIX

    assert sorted(defect_table()) == sorted([*KNOWN_DEFECTS, *MANIFEST_DEFECTS]) == sorted(DEFECT_CLAIM)
    claims = {c.id: c for c in refsys_claims().testable()}
    caught_by = {**{d: check for d, (check, _) in DEFECT_MATRIX.items()}, **CAUGHT_BY_CHECK}
    assert sorted(caught_by) == sorted(DEFECT_CLAIM)
    for defect, claim_id in DEFECT_CLAIM.items():
        assert claim_id in claims, f"{defect}: no claim {claim_id} in {REFSYS_CLAIMS.name}"
        patterns = claims[claim_id].verify
        assert any(fnmatchcase(caught_by[defect], p) for p in patterns), (defect, caught_by[defect], patterns)


def assert_clean_refsys_claims(report: RunResult, stdout: str) -> None:
    """A clean run of every suite on smoke with refsys.yaml (tests/test_demo.py, the README's demo): every claim
    the smoke profile can decide is verified; the rest say why not."""
    results = {c.id: c for c in report.claims}
    assert list(results) == [c.id for c in refsys_claims().claims]
    for claim_id, result in results.items():
        if claim_id.startswith("kubernetes."):
            assert result.verdict is ClaimVerdict.UNTESTED and "platform kind" in result.reason
        elif claim_id in NEEDS_LONGER_PROFILE:
            assert result.verdict is ClaimVerdict.INCONCLUSIVE and NEEDS_LONGER_PROFILE[claim_id] in result.reason
        elif result.verdict is ClaimVerdict.INCONCLUSIVE and TIMING_TOO_COARSE.get(claim_id, "?") in result.reason:
            print(f"{claim_id}: {result.reason}")
        else:
            assert result.verdict is ClaimVerdict.VERIFIED, f"{claim_id}: {result.verdict.value}: {result.reason}"
    untested = sum(claim_id.startswith("kubernetes.") for claim_id in results)  # the kind platform's claims
    assert re.search(rf"claims: 2[56] verified · 0 refuted · [23] inconclusive · {untested} untested", stdout), \
        stdout[-800:]
    assert results["observability.metrics"].measured["load.smoke.metrics.requests_counted"]  # both replicas scraped
    breaker = results["resilience.circuit_breaker"].measured
    assert breaker["chaos.gpu_loss.breaker_reset"]["claimed_reset_s"] == 5  # OPEN phases measured against 5 s
