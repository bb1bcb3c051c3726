"""A resilience claim's own numbers judged on an experiment: the recovery bound and the breaker's reset time."""

from __future__ import annotations

from harness.chaos.claims import claim_checks
from harness.chaos.extension import Expect, HarnessExtension
from harness.chaos.report import ExperimentReport
from harness.claims.model import Claim
from harness.claims.parameters import BreakerParams, ClaimParams, SurvivesParams
from harness.model import Check, Status

BREAKER = Claim(id="breaker", text="CLOSED → OPEN → HALF_OPEN (reset 5 s)",
                verify=["chaos.*.breaker_cycle", "chaos.*.breaker_reset"],
                params=ClaimParams(breaker=BreakerParams(reset_s=5)))
RECOVERS = Claim(id="recovers", text="survives pod kill, recovers within 5 s", verify=["chaos.kill.recovery"],
                 params=ClaimParams(survives=SurvivesParams(component="gateway", recover_within_s=5)))


def report(*, phases: list[tuple[float, float]] = (), ttr: float | None = 8.0, breaker: bool = True) -> ExperimentReport:
    extension = HarnessExtension(fault="gpu_loss", target="inference-gpu", recover_within_s=20,
                                 expect=Expect(breaker_cycle="gpu" if breaker else None))
    return ExperimentReport(name="kill", title="t", extension=extension, time_to_recover_s=ttr,
                            open_durations_s={"gateway-1:gpu": list(phases)})


def by_id(checks: list[Check]) -> dict[str, Check]:
    return {c.id: c for c in checks}


def test_open_phases_are_judged_against_the_claimed_reset():
    fine = by_id(claim_checks(report(phases=[(5.1, 5.3), (5.6, 5.9)]), [BREAKER]))["chaos.kill.breaker_reset"]
    assert fine.status is Status.PASS and fine.claims == ["breaker"] and fine.claim_only
    short = by_id(claim_checks(report(phases=[(2.0, 2.2)]), [BREAKER]))["chaos.kill.breaker_reset"]
    assert short.status is Status.FAIL and "shorter than 5s" in short.message  # probes too early
    never = by_id(claim_checks(report(phases=[(9.0, 9.2)]), [BREAKER]))["chaos.kill.breaker_reset"]
    assert never.status is Status.FAIL and "longer than 7.5s" in never.message
    unknown = by_id(claim_checks(report(phases=[(1.0, 9.0)]), [BREAKER]))["chaos.kill.breaker_reset"]
    assert unknown.status is Status.SKIPPED  # timed too coarsely to say anything


def test_no_breaker_reset_check_where_the_experiment_expects_no_breaker():
    assert claim_checks(report(phases=[(5.1, 5.3)], breaker=False), [BREAKER]) == []


def test_a_claimed_recovery_bound_other_than_the_experiments_gets_its_own_check():
    slow = by_id(claim_checks(report(ttr=8.0), [RECOVERS]))["chaos.kill.recovery"]
    assert slow.status is Status.FAIL and "claimed within 5s" in slow.message
    assert slow.evidence.measured == {"time_to_recover_s": 8.0, "limit_s": 5}
    quick = by_id(claim_checks(report(ttr=3.0), [RECOVERS]))["chaos.kill.recovery"]
    assert quick.status is Status.PASS
    same_bound = RECOVERS.model_copy(update={"params": ClaimParams(survives=SurvivesParams(component="g",
                                                                                          recover_within_s=20))})
    assert claim_checks(report(), [same_bound]) == []  # the experiment's own recovery check already says it
