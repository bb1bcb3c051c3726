"""From checks to one verdict and its exit code: the base every gate judgement starts from.

``harness.gate.evaluate`` adds rules, waivers, levels and baselines on top; this module decides what
no policy can change (aborted, harness error, nothing ran) and the severity-threshold view of checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.exitcodes import ExitCode
from harness.model import Check, RunResult, Severity, Status, Verdict

RAN_STATUSES = {Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED, Status.INCONCLUSIVE}

VERDICT_EXIT = {
    Verdict.READY: ExitCode.READY,
    Verdict.NOT_READY: ExitCode.NOT_READY,
    Verdict.ABORTED: ExitCode.ABORTED,
    Verdict.ERROR: ExitCode.INTERNAL_ERROR,
    Verdict.NOTHING_RAN: ExitCode.NOTHING_RAN,
    Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
}


@dataclass
class Judgement:
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    blocking: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return VERDICT_EXIT[self.verdict]


def judge(run: RunResult, threshold: Severity) -> Judgement:
    """Aborted > harness error > nothing ran > blocking failure > inconclusive > ready.

    When no check ran because a suite could not decide (every check skipped, e.g. an unhealthy load
    generator), the answer is inconclusive (6), not "nothing ran" (5).

    A blocking failure outranks an inconclusive suite: one proven defect is enough to say
    "not ready", whatever another suite could not decide.
    """
    if run.aborted_reason:
        return Judgement(Verdict.ABORTED, [run.aborted_reason])
    if run.error:
        return Judgement(Verdict.ERROR, [run.error])
    checks = run.run_checks()  # claim-only checks decide claims: a claims file never changes the run's verdict
    inconclusive = [f"{s.name}: {s.inconclusive}" for s in run.suites if s.inconclusive]
    if not any(check.status in RAN_STATUSES for check in checks):
        if inconclusive:  # checks were skipped because the suite could not decide, e.g. an unhealthy generator
            return Judgement(Verdict.INCONCLUSIVE, inconclusive)
        return Judgement(Verdict.NOTHING_RAN, ["no check ran (all skipped, not applicable, or none recorded)"])
    blocking = [c for c in checks if c.blocks and c.severity >= threshold]
    if blocking:
        reasons = [f"{c.id} {c.status.value} ({c.severity.value}): {c.message or c.title}" for c in blocking]
        return Judgement(Verdict.NOT_READY, reasons, blocking)
    # a check that could not decide (throttled, no evidence) blocks "ready" like a failure would, but
    # proves nothing: the run is inconclusive, never ready on its evidence, never not ready either
    inconclusive += [f"{c.id} inconclusive ({c.severity.value}): {c.message or c.title}" for c in checks
                     if c.status == Status.INCONCLUSIVE and c.severity >= threshold]
    if inconclusive:
        return Judgement(Verdict.INCONCLUSIVE, inconclusive)
    return Judgement(Verdict.READY, [f"every check of severity >= {threshold.value} passed"])
