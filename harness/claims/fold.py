"""From a run's recorded checks to one verdict per claim: ``fold_claims(run, claims) -> [ClaimResult]``.

Pure: it reads ``RunResult`` and the claims file, touches neither, and never changes the run's verdict.

Which checks decide a claim: for every check id its ``verify`` patterns match, the checks of that id
that carry the claim's own id (run with the claim's numbers) if there are any, otherwise the run's
ordinary checks of that id. Checks recorded only for *another* claim's numbers (``claim_only``) never
count. Then:

- any counted check failed -> **refuted**, with what was measured beside what was claimed;
- a waived check (a policy's ``ignore``, a contract suite's known noise) decides nothing: it is named in
  the reason and the claim rests on the other checks (only waived checks: inconclusive);
- a check errored, was inconclusive or skipped (throttled, budget, unhealthy generator), a pattern matched no check, or every
  counted check was not applicable -> **inconclusive**, saying which and why;
- a claim nothing here can verify (``untestable``, or a platform this run did not use) -> **untested**;
- otherwise **verified**.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from harness.claims.model import Claim, ClaimsFile
from harness.model import Check, ClaimResult, ClaimVerdict, RunResult, Status

# what to show as "measured" for a check, by id pattern (other checks: their first scalar measurements)
HEADLINE_KEYS: list[tuple[str, tuple[str, ...]]] = [
    ("security.ratelimit.enforced", ("accepted_before_429", "elapsed_s", "identity")),
    ("security.ratelimit.window", ("max_accepted_in_rolling_window", "window_s")),
    ("security.ratelimit.burst", ("accepted", "sent")),
    ("security.ratelimit.per_user", ("other_status",)),
    ("security.ratelimit.bypass", ("X-Forwarded-For", "HEAD", "trailing slash")),
    ("security.auth.bruteforce", ("throttled_at", "attempts")),
    ("security.auth.token_lifetime", ("lifetime_s", "source")),
    ("security.auth.expired", ("ttl_s", "status_after")),
    ("security.auth.expired_replay", ("expired_for_s", "accepted")),
    ("security.headers.claimed", ("actual",)),
    ("security.cors.allowlist", ("allow_origin_answers",)),
    ("load.*", ("measured", "unit", "samples")),
    ("chaos.*.recovery", ("time_to_recover_s", "limit_s")),
    ("chaos.*.breaker_reset", ("open_phases_s", "claimed_reset_s")),
    ("chaos.*.hypothesis", ("time_to_recover_s", "time_to_detect_s")),
    ("chaos.*.retry_jitter", ("open_phases_s", "imprecise_phases")),
    ("chaos.*.breaker_cycle", ("time_to_detect_system_s", "time_to_recover_s")),
    ("chaos.*.no_data_lost", ("read_back",)),
    ("chaos.*.back_on_tier", ("time_to_recover_s",)),
]
MAX_MEASURED = 6
DECIDING = {Status.FAIL}


def fold_claims(run: RunResult, claims: ClaimsFile | None) -> list[ClaimResult]:
    """One ``ClaimResult`` per claim of the file, in the file's order."""
    if claims is None:
        return []
    checks = run.all_checks()
    return [fold_claim(claim, checks, run) for claim in claims.claims]


def counted_checks(claim: Claim, checks: list[Check]) -> tuple[list[Check], list[str]]:
    """The checks that decide ``claim`` and the patterns that matched none."""
    counted: list[Check] = []
    missing: list[str] = []
    for pattern in claim.verify:
        ids = list(dict.fromkeys(c.id for c in checks if fnmatchcase(c.id, pattern)))
        picked: list[Check] = []
        for check_id in ids:
            same_id = [c for c in checks if c.id == check_id]
            own = [c for c in same_id if claim.id in c.claims]
            picked += own or [c for c in same_id if not c.claim_only]
        if not picked:
            missing.append(pattern)
        counted += [c for c in picked if c not in counted]
    return counted, missing


def fold_claim(claim: Claim, checks: list[Check], run: RunResult) -> ClaimResult:
    base: dict[str, Any] = {"id": claim.id, "text": claim.text, "source": str(claim.source),
                            "category": claim.category, "status": claim.status, "claimed": claim.params.stated()}
    if claim.untestable:
        return ClaimResult(**base, verdict=ClaimVerdict.UNTESTED, reason=claim.untestable)
    if claim.platforms and run.target.platform not in claim.platforms:
        return ClaimResult(**base, verdict=ClaimVerdict.UNTESTED,
                           reason=f"verified on platform {' or '.join(claim.platforms)} ({', '.join(claim.verify)}); "
                                  f"this run used the {run.target.platform} platform")
    counted, missing = counted_checks(claim, checks)
    failed = [c for c in counted if c.status in DECIDING]
    if failed:
        return ClaimResult(**base, verdict=ClaimVerdict.REFUTED, measured=measured_of(failed),
                           checks=_ids(failed), reason="; ".join(_refutation(c) for c in failed[:3]))
    undecided = [c for c in counted if c.status in (Status.ERROR, Status.SKIPPED, Status.INCONCLUSIVE)]
    ran = [c for c in counted if c.status == Status.PASS]
    waived = [c for c in counted if c.status == Status.WAIVED]
    reasons = [f"{c.id} {c.status.value}: {c.message or c.title}" for c in undecided[:3]]
    reasons += [_not_run(pattern, run) for pattern in missing]
    if not ran and counted and not undecided:
        reasons.append("no check that could decide it applied to this system: "
                       + "; ".join(f"{c.id} {c.status.value}: {c.message}" for c in counted[:2]))
    if reasons:
        return ClaimResult(**base, verdict=ClaimVerdict.INCONCLUSIVE, measured=measured_of(ran + undecided),
                           checks=_ids(undecided + ran), reason="; ".join(reasons))
    note = f" ({len(waived)} waived, not counted: {', '.join(_ids(waived))})" if waived else ""
    return ClaimResult(**base, verdict=ClaimVerdict.VERIFIED, measured=measured_of(ran), checks=_ids(ran),
                       reason=f"{len(ran)} check(s) passed{note}")


def measured_of(checks: list[Check]) -> dict[str, Any]:
    """The numbers the deciding checks measured, keyed by check id (the first check of each id: a probe that
    ran on several operations shows the first, with how many more there were)."""
    out: dict[str, Any] = {}
    for check in checks:
        if check.id in out or len(out) >= MAX_MEASURED:
            continue
        out[check.id] = headline(check)
        more = sum(c.id == check.id for c in checks) - 1
        if more:
            out[check.id] = {**out[check.id], "more_locations": more}
    return out


def headline(check: Check) -> dict[str, Any]:
    measured = check.evidence.measured
    for pattern, keys in HEADLINE_KEYS:
        if fnmatchcase(check.id, pattern):
            chosen = {k: measured[k] for k in keys if k in measured}
            if chosen:
                return chosen
    scalars = {k: v for k, v in measured.items() if isinstance(v, (int, float, str, bool)) or v is None}
    return dict(list(scalars.items())[:4]) or {"status": check.status.value}


def _refutation(check: Check) -> str:
    return f"{check.id}: {check.message or check.title}"


def _not_run(pattern: str, run: RunResult) -> str:
    suite = pattern.split(".", 1)[0]
    ran = {s.name for s in run.suites}
    if run.aborted_reason:
        return f"no check matching {pattern} was recorded (the run was aborted: {run.aborted_reason})"
    if suite not in ran:
        return f"no check matching {pattern} was recorded: the {suite} suite did not run"
    return f"no check matching {pattern} was recorded: the {suite} suite ran, but not that check (profile {run.profile})"


def _ids(checks: list[Check]) -> list[str]:
    return list(dict.fromkeys(c.id for c in checks))


def count_verdicts(results: list[ClaimResult]) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in ClaimVerdict}
    for result in results:
        counts[result.verdict.value] += 1
    return counts


def summary_line(results: list[ClaimResult], source: str = "") -> str:
    """``claims: 12 verified · 1 refuted · 3 inconclusive · 20 untested (STATUS.yaml)``, for the terminal."""
    counts = count_verdicts(results)
    parts = " · ".join(f"{n} {verdict}" for verdict, n in counts.items())
    return f"claims: {parts}" + (f" ({source})" if source else "")
