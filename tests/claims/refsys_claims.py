"""The reference system's claims file, and which claim each defect switch breaks.

Used by the per-suite defect tests (security, chaos, contract, load): each folds the checks its real run
recorded with ``scenarios/claims/refsys.yaml`` and asserts that the claim of the defect is refuted.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.claims.fold import fold_claims
from harness.claims.model import ClaimsFile, load_claims_file
from harness.model import Check, ClaimResult, ClaimVerdict, EnvironmentInfo, RunResult, TargetInfo
from harness.security.catalog import Outcome

REPO = Path(__file__).resolve().parents[2]
REFSYS_CLAIMS = REPO / "scenarios" / "claims" / "refsys.yaml"

# defect switch -> the claim of scenarios/claims/refsys.yaml it breaks (every row of fixtures/refsys/DEFECTS.md)
DEFECT_CLAIM: dict[str, str] = {
    "no_security_headers": "security.headers.owasp",
    "weak_csp": "security.headers.owasp",
    "cors_reflect_origin": "security.cors.allowlist",
    "no_rate_limit": "security.rate_limit.per_user",
    "rate_limit_global": "security.rate_limit.per_user",
    "rate_limit_fixed_window": "security.rate_limit.per_user",
    "jwt_alg_none": "security.auth.jwt",
    "jwt_no_exp_check": "security.auth.short_expiry",
    "refresh_reuse": "security.auth.refresh_rotation",
    "bola": "security.authz.tenant_isolation",
    "bfla": "security.authz.rbac",
    "mass_assignment": "security.authz.rbac",
    "data_exposure": "security.authz.data_exposure",
    "sqli": "security.injection.sql",
    "xss_reflect": "security.injection.xss",
    "stack_trace_leak": "security.errors.no_stack_traces",
    "ssrf": "security.ssrf",
    "csrf_unsigned": "security.csrf.double_submit",
    "contract_drift": "contract.openapi",
    "500_on_edge_input": "contract.input_validation",
    "slow_endpoint": "performance.list_latency",
    "memory_leak": "performance.no_memory_growth",
    "data_loss_on_restart": "durability.no_acknowledged_write_lost",
    "no_circuit_breaker": "resilience.circuit_breaker",
    "breaker_never_half_open": "resilience.circuit_breaker",
    "no_fallback": "resilience.gpu_fallback",
    "no_retry_jitter": "resilience.retry_jitter",
    # manifest defects (--platform kind): the kubernetes suite's checks
    "no_pdb": "kubernetes.pdb",
    "gpu_affinity_missing": "kubernetes.gpu_placement",
    "privileged_pod": "kubernetes.pod_security",
    "no_network_policy": "kubernetes.network_policies",
    "no_resource_limits": "kubernetes.resource_limits",
}


def refsys_claims(rate_limit: tuple[int, float] | None = None) -> ClaimsFile:
    """refsys.yaml; ``rate_limit=(20, 3)`` scales the rate-limit claim to a test platform's short window."""
    claims = load_claims_file(REFSYS_CLAIMS)
    if rate_limit is None:
        return claims
    scaled = []
    for claim in claims.claims:
        if claim.params.rate_limit is not None:
            params = claim.params.rate_limit.model_copy(update={"limit": rate_limit[0], "window_s": float(rate_limit[1])})
            claim = claim.model_copy(update={"params": claim.params.model_copy(update={"rate_limit": params})})
        scaled.append(claim)
    return claims.model_copy(update={"claims": scaled})


def run_of(checks: Iterable[Check], platform: str = "local", profile: str = "smoke") -> RunResult:
    run = RunResult(run_id="test", environment=EnvironmentInfo(harness_version="0", python="3", platform="linux",
                                                               hostname="h", cpu_count=1),
                    target=TargetInfo(platform=platform), profile=profile)
    for check in checks:
        run.suite(check.suite).checks.append(check)
    return run


def checks_of_outcomes(outcomes: Iterable[Outcome]) -> list[Check]:
    """Probe outcomes as the security suite records them (``judge_outcomes`` without pytest)."""
    from harness.security.record import judge_outcomes

    checks, _findings = judge_outcomes(list(outcomes))
    return checks


def claim_results(checks: Iterable[Check], claims: ClaimsFile, profile: str = "smoke",
                  platform: str = "local") -> dict[str, ClaimResult]:
    return {r.id: r for r in fold_claims(run_of(checks, platform=platform, profile=profile), claims)}


def assert_refuted(results: dict[str, ClaimResult], defect: str) -> ClaimResult:
    """The defect's claim is refuted, with what was measured beside what was claimed."""
    result = results[DEFECT_CLAIM[defect]]
    assert result.verdict is ClaimVerdict.REFUTED, f"{defect}: {result.id} is {result.verdict.value}: {result.reason}"
    assert result.measured and result.reason, result
    return result
