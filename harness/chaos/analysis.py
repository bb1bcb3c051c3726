"""Turn what a trial observed (journal, load series, metrics, signals, writes) into an ``ExperimentReport``."""

from __future__ import annotations

import math
from typing import Any

from harness.chaos.observe import open_durations
from harness.chaos.report import ExperimentReport, SystemNotice
from harness.chaos.slo import judge, time_to_detect, time_to_recover
from harness.chaos.trial import Trial
from harness.chaos.writes import WriteTracker
from harness.load import LoadResult

# a write counts as "during the fault" only once the fault is surely on (it is noted just before it is applied)
FAULT_ON_GRACE_S = 0.5


def complete_report(report: ExperimentReport, trial: Trial, journal: dict[str, Any], result: LoadResult | None) -> None:
    session = trial.session
    report.journal_status = journal.get("status")
    report.deviated = bool(journal.get("deviated"))
    report.steady_state_before_met = _hypothesis_met(journal, "before")
    report.steady_state_after_met = _hypothesis_met(journal, "after")
    report.injections = list(session.injections)
    report.leftover_faults = list(session.left_by_rollbacks or [])
    report.observations = session.observations
    report.duration_s = trial.duration_s
    rows = trial.rows(result)
    if trial.owns_instruments:
        if result is None:
            report.load_inconclusive = "the background load never started"
            return
        report.load_inconclusive = result.inconclusive
    elif not rows:
        report.load_inconclusive = "the background load published no second during the experiment"
        return
    report.timeseries, report.load_start_epoch = rows, trial.load.start_epoch
    _analyse(report, trial, rows)


def _analyse(report: ExperimentReport, trial: Trial, rows: list[Any]) -> None:
    session, extension = trial.session, trial.extension
    first = trial.window_start_s  # the trial's own steady state (a lent load ran before it)
    starts = [session.load_time(i.started_at.timestamp()) for i in session.injections]
    if not starts:
        end = report.heal_done_s or trial.window_end_s or first
        report.windows = [judge("before", rows, extension.slo, session.degraded_between(first, end), first, end)]
        return
    fault_start, fault_end = min(starts), session.fault_end_s()
    report.fault_start_s, report.fault_end_s = fault_start, fault_end
    clean_until = float(math.floor(fault_start))  # only whole seconds that ended before the first fault
    before = judge("before", rows, extension.slo, session.degraded_between(first, clean_until), first, clean_until)
    during = judge("during", rows, extension.during, session.degraded_between(fault_start, fault_end + 1),
                   fault_start, fault_end + 1)
    ttr = time_to_recover(rows, session.degraded_at, extension.slo, fault_end, extension.settle_s)
    after_start = fault_end + (ttr if ttr is not None else 0.0)
    last = max((r.t for r in rows if r.label == "all"), default=after_start) + 1
    after = judge("after", rows, extension.slo, session.degraded_between(after_start, last), after_start, last)
    report.windows = [before, during, after]
    report.time_to_detect_s = time_to_detect(rows, session.degraded_at, extension.slo, fault_start, fault_end)
    report.time_to_recover_s = ttr
    wall_start = trial.load.start_epoch or 0.0
    transitions = trial.sampler.transitions_between(wall_start + first, wall_start + last + 5)
    report.transitions = [f"{t.at - wall_start:.2f}s {t.replica} {t.tier}: {t.from_state}->{t.to_state}"
                          for t in transitions]
    report.open_durations_s = {tier: [(round(lo, 3), round(hi, 3)) for lo, hi in open_durations(transitions, tier)]
                               for tier in ("gpu", "cpu")}
    _system_noticed(report, trial, wall_start, fault_start, fault_end, first, last)
    by_phase = {}
    for phase, (a, b) in {"before": (first, clean_until), "during": (fault_start, fault_end + 1),
                          "after": (fault_end + 1, last)}.items():
        counts = trial.sampler.counts_between(round(wall_start + a), round(wall_start + b))
        by_phase[phase] = {"analyses": counts.analyses, "degraded": counts.degraded,
                           "by_tier": dict(counts.by_tier), "calls": dict(counts.calls)}
    report.answers = by_phase
    report.writes_during_fault = writes_during(trial.writes, wall_start + fault_start + FAULT_ON_GRACE_S,
                                               wall_start + fault_end)


def _system_noticed(report: ExperimentReport, trial: Trial, wall_start: float, fault_start: float,
                    fault_end: float, window_start: float, last: float) -> None:
    """When the system itself saw the fault: first breaker OPEN, readiness red, balancer marking a replica down."""
    since, until = wall_start + fault_start, wall_start + fault_end + 5
    noticed = {source: SystemNotice(after_s=round(max(s.at - since, 0.0), 2), what=f"{s.subject}: {s.state}")
               for source, s in trial.signals.first_noticed(since, until).items()}
    opened = [t for t in trial.sampler.transitions_between(since, until) if t.to_state == "open"]
    if opened:
        first = min(opened, key=lambda t: t.at)
        noticed["breaker"] = SystemNotice(after_s=round(max(first.at - since, 0.0), 2),
                                          what=f"{first.replica}: {first.tier} breaker {first.from_state}->open")
    report.system_noticed = dict(sorted(noticed.items(), key=lambda item: item[1].after_s))
    report.time_to_detect_system_s = min((n.after_s for n in noticed.values()), default=None)
    report.system_signals = [s.describe(wall_start) for s in
                             trial.signals.between(wall_start + window_start, wall_start + last + 5)][:80]


def writes_during(writes: WriteTracker, start: float, end: float) -> dict[str, Any]:
    """Tracked writes sent and answered in [start, end] (wall clock): how many, how they were answered."""
    attempts = writes.attempts_between(start, end)
    failed = [a for a in attempts if a.status != 201]
    counts: dict[str, int] = {}
    for attempt in attempts:
        counts[str(attempt.status)] = counts.get(str(attempt.status), 0) + 1
    return {"attempted": len(attempts), "succeeded": len(attempts) - len(failed), "failed": len(failed),
            "statuses": sorted({str(a.status) for a in failed}), "status_counts": counts,
            "errors": sorted({a.error for a in failed if a.status is None})[:5]}


def _hypothesis_met(journal: dict[str, Any], phase: str) -> bool | None:
    state = (journal.get("steady_states") or {}).get(phase)
    return None if state is None else bool(state.get("steady_state_met"))
