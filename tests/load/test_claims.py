"""Latency claims on a load profile: which operation they name, and whether they need a run at their own rate."""

from __future__ import annotations

from harness.claims.model import Claim
from harness.claims.parameters import ClaimParams, LatencyParams
from harness.load import load_profile
from harness.load.claims import claims_by_rate, operation_slug, profile_at_rate, profile_label


def latency(claim_id: str, operation: str | None = None, at_rate: float | None = None) -> Claim:
    return Claim(id=claim_id, text="P95 < 500 ms", verify=[f"load.*.p95.{operation_slug(operation)}"],
                 params=ClaimParams(latency=LatencyParams(max_ms=500, operation=operation, at_rate=at_rate)))


def test_a_claims_operation_names_the_profiles_operation_whatever_its_placeholder():
    smoke = load_profile("smoke")
    assert profile_label(smoke, "GET /analyses") == "list_analyses"
    assert profile_label(smoke, "GET /analyses/{id}") == "get_analysis"  # {analysis_id} in the profile
    assert profile_label(smoke, None) == "all"
    assert profile_label(smoke, "GET /nowhere") is None
    assert operation_slug("GET /analyses/{id}") == "get_analyses_id"


def test_claims_at_another_rate_get_a_run_of_their_own():
    smoke = load_profile("smoke")  # 20 arrivals/s
    grouped = claims_by_rate(smoke, [latency("a"), latency("b", at_rate=20), latency("c", at_rate=200)])
    assert {rate: [c.id for c in claims] for rate, claims in grouped.items()} == {None: ["a", "b"], 200: ["c"]}
    at_200 = profile_at_rate(smoke, 200)
    assert at_200.name == "smoke_at_200rps" and [(s.rate, s.duration_s) for s in at_200.stages] == [(200, 15)]
    assert at_200.operations == smoke.operations  # the same traffic mix
