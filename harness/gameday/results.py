"""From what each step's experiment showed to the game day's checks, steps table and hypothesis verdict.

Checks of a step keep the experiment's aspects under the step's id: ``gameday.<step>.hypothesis``,
``.recovery``, ``.rollback``, ``.breaker_cycle`` ...; ``gameday.hypothesis`` carries the day's own
hypothesis: confirmed when every step that could run passed, refuted by a failed check or a guardrail,
inconclusive when the day lost its steady state before any fault, was interrupted, or nothing ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.chaos.report import ExperimentReport
from harness.gameday.plan import Plan, PlannedStep
from harness.model import Check, Evidence, GameDayResult, GameDayStep, GuardrailEvent, Metric, Severity, Status

SUITE = "gameday"


@dataclass
class StepOutcome:
    planned: PlannedStep
    report: ExperimentReport | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    interrupted: bool = False  # Ctrl-C / SIGTERM during it


def step_checks(outcome: StepOutcome) -> list[Check]:
    report = outcome.report
    if report is None:
        return []
    prefix = f"chaos.{report.name}."
    return [check.model_copy(update={"id": f"{SUITE}.{outcome.planned.id}." + check.id.removeprefix(prefix),
                                      "suite": SUITE}) for check in report.checks()]


def step_metrics(outcome: StepOutcome) -> list[Metric]:
    if outcome.report is None:
        return []
    prefix = f"chaos.{outcome.report.name}."
    return [m.model_copy(update={"name": f"{SUITE}.{outcome.planned.id}." + m.name.removeprefix(prefix)})
            for m in outcome.report.metrics()]


def step_status(outcome: StepOutcome, checks: list[Check]) -> tuple[str, str]:
    report = outcome.report
    if report is None:
        return ("interrupted", "interrupted before it started") if outcome.interrupted else ("not_run", "")
    if report.not_applicable:
        return "not_applicable", report.not_applicable
    if report.aborted:
        return "aborted", report.aborted
    if outcome.interrupted:
        return "interrupted", "interrupted by a signal (Ctrl-C / SIGTERM)"
    if report.inconclusive:
        return "inconclusive", report.inconclusive
    failed = [c for c in checks if c.is_failure]
    if failed:
        return "failed", "; ".join(f"{c.id.rsplit('.', 1)[-1]}: {c.message}" for c in failed)[:600]
    return "passed", ""


def step_row(outcome: StepOutcome, checks: list[Check], run_dir: Path) -> GameDayStep:
    planned, report = outcome.planned, outcome.report
    status, message = step_status(outcome, checks)
    journal = next((a for a in (report.artifacts if report else []) if a.endswith(".journal.json")), None)
    return GameDayStep(
        id=planned.id, experiment=planned.step.experiment, title=planned.title, fault=planned.extension.fault,
        target=planned.extension.target, status=status, message=message, started_at=outcome.started_at,
        ended_at=outcome.ended_at, time_to_detect_s=report.time_to_detect_s if report else None,
        time_to_detect_system_s=report.time_to_detect_system_s if report else None,
        time_to_recover_s=report.time_to_recover_s if report else None,
        journal=_relative(journal, run_dir) if journal else None)


def _relative(path: str, run_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return path


def hypothesis_verdict(steps: list[GameDayStep], guardrails: list[GuardrailEvent], interrupted: str | None,
                       error: str | None) -> tuple[str, str]:
    """(confirmed | refuted | inconclusive, why)."""
    if guardrails:
        fired = guardrails[0]
        return "refuted", f"guardrail {fired.guardrail} fired during {fired.step or 'the day'}: {fired.reason}"
    failed = [s for s in steps if s.status == "failed"]
    if failed:
        return "refuted", "; ".join(f"{s.id}: {s.message}" for s in failed)[:1000]
    if error:
        return "inconclusive", f"the harness failed: {error}"
    if interrupted:
        return "inconclusive", f"interrupted: {interrupted}"
    lost = next((s for s in steps if s.status == "inconclusive"), None)
    if lost is not None:
        return "inconclusive", f"{lost.id}: {lost.message}"
    ran = [s for s in steps if s.status == "passed"]
    if not ran:
        return "inconclusive", "no step could run here: " + "; ".join(f"{s.id}: {s.message}" for s in steps)
    skipped = [s.id for s in steps if s.status != "passed"]
    return "confirmed", (f"all {len(ran)} steps held their SLO and recovered" +
                         (f" ({', '.join(skipped)} not applicable here)" if skipped else ""))


def hypothesis_check(day: GameDayResult) -> Check:
    status = {"confirmed": Status.PASS, "refuted": Status.FAIL}.get(day.hypothesis_verdict, Status.INCONCLUSIVE)
    measured: dict[str, Any] = {
        "steps": {s.id: {"status": s.status, "time_to_detect_s": s.time_to_detect_s,
                         "time_to_detect_system_s": s.time_to_detect_system_s,
                         "time_to_recover_s": s.time_to_recover_s} for s in day.steps},
        "guardrails": [g.model_dump(mode="json") for g in day.guardrails],
        "stopped_at": day.stopped_at,
    }
    return Check(id=f"{SUITE}.hypothesis", suite=SUITE, category="resilience", title=day.hypothesis,
                 severity=Severity.HIGH, status=status, message=f"{day.hypothesis_verdict}: {day.verdict_reason}",
                 evidence=Evidence(measured=measured, notes=f"game day {day.title!r}, owner {day.owner}"))


def day_result(plan: Plan, rows: list[GameDayStep], guardrails: list[GuardrailEvent], *, stopped_at: str | None,
               interrupted: str | None, error: str | None) -> GameDayResult:
    verdict, reason = hypothesis_verdict(rows, guardrails, interrupted, error)
    day = plan.day
    return GameDayResult(title=day.title, hypothesis=day.hypothesis, owner=day.owner, file=str(plan.source),
                         schedule=day.schedule.cron if day.schedule else None,
                         background_load=f"{plan.load.name} at {plan.load_rate()}", hypothesis_verdict=verdict,
                         verdict_reason=reason, steps=rows, guardrails=guardrails, stopped_at=stopped_at)


def wall(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
