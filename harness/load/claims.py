"""Latency, throughput and error-rate claims judged on a load run, with the claim's own numbers.

A claim without a rate (or at the profile's peak rate) is judged on the profile's run; a claim made at
another rate (``P95 < 500 ms at 200 req/s``) gets a run of its own: the profile's traffic mix at that
rate for the profile's duration. Its checks are ``claim_only`` and carry the claim's id; their ids use
the claim's operation (``load.smoke.p95.get_analyses``) so ``harness claims extract`` can name them.
"""

from __future__ import annotations

import re

from harness.claims.model import Claim
from harness.load.profile import LoadProfile, Stage, Thresholds
from harness.load.result import ALL, LabelTotals, LoadResult, evaluate
from harness.model import Check, Evidence, Severity, Status

KINDS = ("latency", "throughput", "error_rate")
PERCENTILE_FIELD: dict[float, str] = {50: "p50_ms", 95: "p95_ms", 99: "p99_ms", 99.9: "p999_ms"}


def operation_slug(operation: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", operation.lower()).strip("_") if operation else ALL


def peak_rate(profile: LoadProfile) -> float | None:
    rates = [stage.rate for stage in profile.stages if stage.rate is not None]
    return max(rates) if rates else None


def load_claims(claims: list[Claim]) -> list[Claim]:
    return [c for c in claims if not c.untestable and any(getattr(c.params, kind) for kind in KINDS)]


def claims_by_rate(profile: LoadProfile, claims: list[Claim]) -> dict[float | None, list[Claim]]:
    """None: judged on the profile's own run; a rate: needs a run at that rate."""
    peak = peak_rate(profile)
    out: dict[float | None, list[Claim]] = {}
    for claim in load_claims(claims):
        rate = claim.params.latency.at_rate if claim.params.latency else None
        out.setdefault(None if rate is None or rate == peak else rate, []).append(claim)
    return out


def profile_at_rate(profile: LoadProfile, rate: float) -> LoadProfile:
    """The same traffic mix at ``rate`` arrivals/s for the profile's duration (an open-model profile)."""
    name = f"{profile.name}_at_{rate:g}rps".replace(".", "_")
    return profile.model_copy(update={"name": name, "model": "open",
                                      "stages": [Stage(duration_s=profile.duration_s, rate=rate)]})


def profile_label(profile: LoadProfile, operation: str | None) -> str | None:
    """The profile operation a claim's ``METHOD /path`` names (path placeholders match any name)."""
    if operation is None:
        return ALL
    method, _, path = operation.partition(" ")
    shape = re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))
    for op in profile.operations:
        if op.method == method and re.sub(r"\{[^}]*\}", "{}", op.path.rstrip("/")) == shape:
            return op.name
    return None


def claim_checks(result: LoadResult, profile: LoadProfile, claims: list[Claim], suite: str = "load") -> list[Check]:
    """One claim-only check per claimed number, judged on ``result`` (a run of ``profile``)."""
    checks = []
    for claim in claims:
        for label, thresholds in _thresholds(claim):
            source = profile_label(profile, claim.params.latency.operation if claim.params.latency else None)
            checks += [_tag(check, claim) for check in _judge(result, profile, label, source, thresholds, suite)]
    return checks


def _thresholds(claim: Claim) -> list[tuple[str, Thresholds]]:
    params = claim.params
    out = []
    if params.latency:
        field = PERCENTILE_FIELD[params.latency.percentile]
        out.append((operation_slug(params.latency.operation), Thresholds(**{field: params.latency.max_ms})))
    if params.throughput:
        out.append((ALL, Thresholds(min_rate=params.throughput.min_rps)))
    if params.error_rate:
        out.append((ALL, Thresholds(max_error_rate=params.error_rate.max_ratio)))
    return out


def _judge(result: LoadResult, profile: LoadProfile, label: str, source: str | None, thresholds: Thresholds,
           suite: str) -> list[Check]:
    field, limit = next(iter(thresholds.limits().items()))
    if source is None:
        metric = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "p999_ms": "p999"}.get(field, field)
        return [Check(id=f"load.{result.profile}.{metric}.{label}", suite=suite, category="latency",
                      title=f"{label} {metric} <= {limit:g} ms (claimed)", severity=Severity.MEDIUM,
                      status=Status.SKIPPED, message=f"the {profile.name} profile has no operation {label}: add it to "
                      "the profile (or name one it has) to verify this claim", evidence=Evidence())]
    totals = result.labels.get(source, LabelTotals())
    return [result.threshold_check(t, suite) for t in evaluate(label, thresholds, totals, result.duration_s)]


def _tag(check: Check, claim: Claim) -> Check:
    return check.model_copy(update={"claims": [claim.id], "claim_only": True,
                                    "title": f"{check.title} (claim {claim.id})"})
