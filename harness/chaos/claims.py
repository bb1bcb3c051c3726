"""Resilience claims judged on an experiment with the claim's own numbers.

- ``survives: {component, recover_within_s}``: the experiment's time to recover against the claimed bound
  (a claim-only ``chaos.<experiment>.recovery`` when the bound differs from the experiment's own);
- ``breaker: {reset_s}``: every OPEN phase lasts about the claimed reset time
  (``chaos.<experiment>.breaker_reset``): not shorter (the breaker really waits), and not more than half
  as long again (it does probe; jitter spreads probes upwards only).

A claim applies to an experiment when one of its ``verify`` patterns matches that experiment's check.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from harness.chaos.report import MAX_PHASE_UNCERTAINTY_S, SUITE, ExperimentReport
from harness.claims.model import Claim
from harness.model import Check, Evidence, Severity, Status

RESET_OVERRUN = 1.5  # an OPEN phase may last up to this times the claimed reset (jitter, scrape timing)


def _applies(claim: Claim, check_id: str) -> bool:
    return any(fnmatchcase(check_id, pattern) for pattern in claim.verify)


def claim_checks(report: ExperimentReport, claims: list[Claim]) -> list[Check]:
    """One claim-only check per claim whose numbers this experiment can judge."""
    base = f"chaos.{report.name}".replace("-", "_")
    if report.not_applicable or report.inconclusive:
        return []
    out = []
    for claim in claims:
        survives, breaker = claim.params.survives, claim.params.breaker
        bound = survives.recover_within_s if survives else None
        if bound is not None and bound != report.extension.recover_within_s and _applies(claim, f"{base}.recovery"):
            out.append(_recovery(report, base, claim, bound))
        if (breaker and breaker.reset_s is not None and report.extension.expect.breaker_cycle
                and _applies(claim, f"{base}.breaker_reset")):
            out.append(_breaker_reset(report, base, claim, breaker.reset_s))
    return out


def _recovery(report: ExperimentReport, base: str, claim: Claim, bound: float) -> Check:
    ttr = report.time_to_recover_s
    ok = ttr is not None and ttr <= bound
    message = (f"recovered {ttr:.1f}s after the fault ended (claimed within {bound:g}s)" if ttr is not None else
               f"the SLO did not hold again within the experiment's {report.extension.recover_within_s:g}s "
               f"(claimed: recovers within {bound:g}s)")
    return _check(f"{base}.recovery", f"{report.title}: recovers within {bound:g}s (claim {claim.id})",
                  Status.PASS if ok else Status.FAIL, message,
                  Evidence(measured={"time_to_recover_s": ttr, "limit_s": bound}), claim)


def _breaker_reset(report: ExperimentReport, base: str, claim: Claim, reset_s: float) -> Check:
    """Each OPEN phase is known to lie in [lo, hi] (scrape timing); one that is known to be too short or too
    long decides. Phases timed less precisely than half the reset prove nothing either way and are left out."""
    precision = max(MAX_PHASE_UNCERTAINTY_S, reset_s / 2)
    phases = [(lo, hi) for values in report.open_durations_s.values() for lo, hi in values if hi - lo <= precision]
    evidence = Evidence(measured={"open_phases_s": [[round(lo, 2), round(hi, 2)] for lo, hi in phases],
                                  "claimed_reset_s": reset_s})
    title = f"{report.title}: the breaker stays OPEN about {reset_s:g}s (claim {claim.id})"
    if not phases:
        return _check(f"{base}.breaker_reset", title, Status.SKIPPED,
                      f"no OPEN phase was timed within {precision:g}s: the reset time could not be measured", evidence,
                      claim)
    short = [(lo, hi) for lo, hi in phases if hi < reset_s * 0.95]
    long = [(lo, hi) for lo, hi in phases if lo > reset_s * RESET_OVERRUN]
    if short or long:
        what = (f"{len(short)} OPEN phase(s) shorter than {reset_s:g}s, e.g. {short[0][1]:.2f}s" if short else
                f"{len(long)} OPEN phase(s) longer than {reset_s * RESET_OVERRUN:g}s, e.g. {long[0][0]:.2f}s")
        return _check(f"{base}.breaker_reset", title, Status.FAIL, f"{what} (claimed reset {reset_s:g}s)", evidence,
                      claim)
    return _check(f"{base}.breaker_reset", title, Status.PASS,
                  f"{len(phases)} OPEN phase(s) of {min(lo for lo, _ in phases):.2f}-{max(hi for _, hi in phases):.2f}s "
                  f"for a claimed reset of {reset_s:g}s", evidence, claim)


def _check(check_id: str, title: str, status: Status, message: str, evidence: Evidence, claim: Claim) -> Check:
    return Check(id=check_id, suite=SUITE, title=title, status=status, severity=Severity.MEDIUM, category="resilience",
                 message=message, evidence=evidence, claims=[claim.id], claim_only=True)
