"""Runs one Chaos Toolkit experiment under background load and measures what happened.

Sequence per experiment: background load + metrics sampler + tracked writes start; the
steady state is observed for ``steady_state_s``; chaoslib runs the experiment on this (main)
thread with rollback strategy ``always`` while a guardrail watches the SLO; whatever happens,
the session heals the platform afterwards. The journal is saved next to the load artifacts and
the result is an ``ExperimentReport`` (windows, time-to-detect/-recover, breaker transitions,
read-back) that ``harness.chaos.verdict`` turns into Checks.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.loader import load_experiment

from harness import cgroups
from harness.chaos.background import LoadWorkersUndo, background_profile
from harness.chaos.guardrail import Guardrail
from harness.chaos.observe import MetricsSampler, open_durations
from harness.chaos.report import ExperimentReport, WriteSummary
from harness.chaos.session import ChaosSession, use_session
from harness.chaos.slo import judge, time_to_detect, time_to_recover
from harness.chaos.spec import HarnessExtension, harness_extension
from harness.chaos.writes import WriteTracker
from harness.load import LoadRun

log = logging.getLogger(__name__)
ROLLBACKS_ALWAYS = {"runtime": {"rollbacks": {"strategy": "always"}}}
WRITER_IDENTITIES = ["acme_user", "globex_user"]


def load_checked(path: Path) -> tuple[dict[str, Any], HarnessExtension]:
    """Load and validate an experiment file (chaoslib's validation + the harness extension)."""
    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)
    return experiment, harness_extension(experiment, str(path))


def unmet_requirements(platform: Any, extension: HarnessExtension) -> list[str]:
    missing = []
    if "postgres" in extension.requires and getattr(platform, "backend", None) != "postgres":
        missing.append("a PostgreSQL backend (--backend postgres); SQLite is a file inside each gateway")
    if "redis" in extension.requires and not getattr(platform, "redis", False):
        missing.append("Redis (--redis)")
    if "cgroups" in extension.requires and (reason := cgroups.availability()) is not None:
        missing.append(f"cgroup limits ({reason})")
    if not hasattr(platform, "link"):
        missing.append("a platform with fault links (local)")
    return missing


class ChaosRunner:
    def __init__(self, platform: Any, target: Any, *, out_dir: Path, allow_hosts: Iterable[str] = (),
                 load_workers: int = 1, state_dir: Path | None = None, writer_identities: list[str] | None = None,
                 seed: int = 1) -> None:
        self.platform = platform
        self.target = target
        self.out_dir = Path(out_dir)
        self.allow_hosts = tuple(allow_hosts)
        self.load_workers = load_workers
        self.state_dir = state_dir if state_dir is not None else getattr(platform, "state_dir", None)
        self.writer_identities = writer_identities or [n for n in WRITER_IDENTITIES if n in target.identities]
        self.seed = seed

    def run(self, path: Path) -> ExperimentReport:
        experiment, extension = load_checked(path)
        name = path.stem
        report = ExperimentReport(name=name, title=experiment["title"], extension=extension)
        missing = unmet_requirements(self.platform, extension)
        if missing:
            report.not_applicable = "needs " + "; ".join(missing)
            return report
        out = self.out_dir / name
        out.mkdir(parents=True, exist_ok=True)
        session = ChaosSession(platform=self.platform, target=self.target, experiment=name, extension=extension)
        sampler = MetricsSampler(session.replica_urls(), interval_s=0.05, allow_hosts=self.allow_hosts)
        writes = WriteTracker(self.target, identities=self.writer_identities, rate_per_s=extension.load.writes_per_s,
                              allow_hosts=self.allow_hosts)
        profile = background_profile(extension.load.rate, extension.max_duration_s + 30, seed=self.seed)
        load = LoadRun(profile, self.target, workers=self.load_workers, out_dir=out / "load",
                       allow_hosts=self.allow_hosts)
        session.sampler, session.writes, session.load = sampler, writes, load
        journal: dict[str, Any] = {}
        started = time.monotonic()
        with LoadWorkersUndo(self.state_dir), sampler:
            load.start()
            try:
                writes.start()
                self._observe_steady_state(session, extension)
                guard = Guardrail(session, extension, clock_start=started).start()
                try:
                    with use_session(session):
                        journal = run_experiment(experiment, settings=ROLLBACKS_ALWAYS,
                                                 event_handlers=[guard.handler])
                finally:
                    guard.stop()
                    report.leftover_faults = session.heal()
                    report.aborted = guard.reason
                report.heal_done_s = session.load_time()
                self._wait_for_recovery(session, extension)
                writes.stop()
                if extension.expect.no_data_lost:
                    with use_session(session):
                        read_back = writes.read_back()
                    report.read_back = WriteSummary.of(writes, read_back)
            finally:
                writes.stop()
                load.stop()
                result = load.wait(timeout_s=30)
        journal_path = out / f"{name}.journal.json"
        journal_path.write_text(json.dumps(journal, indent=1, default=str))
        report.artifacts = [str(journal_path), *result.artifacts]
        report.journal_status = journal.get("status")
        report.deviated = bool(journal.get("deviated"))
        report.steady_state_before_met = _hypothesis_met(journal, "steady_states", "before")
        report.steady_state_after_met = _hypothesis_met(journal, "steady_states", "after")
        report.load_inconclusive = result.inconclusive
        report.injections = list(session.injections)
        report.observations = session.observations
        report.duration_s = time.monotonic() - started
        report.timeseries, report.load_start_epoch = list(result.timeseries), load.start_epoch
        self._analyse(report, session, result.timeseries, writes, extension)
        return report

    def _observe_steady_state(self, session: ChaosSession, extension: HarnessExtension) -> None:
        """Let the load run ``steady_state_s`` seconds (plus the first, warm-up second) before the fault."""
        deadline = time.monotonic() + extension.steady_state_s + 15
        while time.monotonic() < deadline:
            rows = [r for r in session.rows() if r.label == "all"]
            if rows and rows[-1].t + 1 >= extension.steady_state_s + 1:
                return
            time.sleep(0.25)

    def _wait_for_recovery(self, session: ChaosSession, extension: HarnessExtension) -> None:
        """Keep observing after the heal until the SLO held ``settle_s`` seconds (or ``recover_within_s``)."""
        fault_end = _fault_end(session)
        deadline = time.monotonic() + extension.recover_within_s + extension.settle_s + 2
        while time.monotonic() < deadline:
            if time_to_recover(session.rows(), session.degraded_at, extension.slo, fault_end,
                               extension.settle_s) is not None:
                return
            time.sleep(0.5)

    def _analyse(self, report: ExperimentReport, session: ChaosSession, rows: list[Any], writes: WriteTracker,
                 extension: HarnessExtension) -> None:
        starts = [session.load_time(i.started_at.timestamp()) for i in session.injections]
        if not starts:
            report.windows = [judge("before", rows, extension.slo, session.degraded_between(1, report.heal_done_s),
                                    1, report.heal_done_s)]
            return
        fault_start, fault_end = min(starts), _fault_end(session)
        report.fault_start_s, report.fault_end_s = fault_start, fault_end
        clean_until = float(math.floor(fault_start))  # only whole seconds that ended before the first fault
        before = judge("before", rows, extension.slo, session.degraded_between(1, clean_until), 1, clean_until)
        during = judge("during", rows, extension.during, session.degraded_between(fault_start, fault_end + 1),
                       fault_start, fault_end + 1)
        ttr = time_to_recover(rows, session.degraded_at, extension.slo, fault_end, extension.settle_s)
        after_start = fault_end + (ttr if ttr is not None else 0.0)
        last = max((r.t for r in rows if r.label == "all"), default=after_start) + 1
        after = judge("after", rows, extension.slo, session.degraded_between(after_start, last), after_start, last)
        report.windows = [before, during, after]
        report.time_to_detect_s = time_to_detect(rows, session.degraded_at, extension.slo, fault_start, fault_end)
        report.time_to_recover_s = ttr
        wall_start = session.load.start_epoch or 0.0
        transitions = session.sampler.transitions_between(wall_start, wall_start + last + 5)
        report.transitions = [f"{t.at - wall_start:.2f}s {t.replica} {t.tier}: {t.from_state}->{t.to_state}"
                              for t in transitions]
        report.open_durations_s = {tier: [(round(lo, 3), round(hi, 3)) for lo, hi in open_durations(transitions, tier)]
                                   for tier in ("gpu", "cpu")}
        by_phase = {}
        for phase, (a, b) in {"before": (1, clean_until), "during": (fault_start, fault_end + 1),
                              "after": (fault_end + 1, last)}.items():
            counts = session.sampler.counts_between(round(wall_start + a), round(wall_start + b))
            by_phase[phase] = {"analyses": counts.analyses, "degraded": counts.degraded,
                               "by_tier": dict(counts.by_tier), "calls": dict(counts.calls)}
        report.answers = by_phase
        failed = writes.failed_between(wall_start + fault_start, wall_start + fault_end + 1)
        report.writes_during_fault = {"failed": len(failed),
                                      "statuses": sorted({str(a.status) for a in failed}),
                                      "attempted": len([a for a in writes.attempts
                                                        if wall_start + fault_start <= a.at <= wall_start + fault_end + 1])}


def _fault_end(session: ChaosSession) -> float:
    ended = [i.ended_at.timestamp() for i in session.injections if i.ended_at is not None]
    return session.load_time(max(ended)) if ended else session.load_time()


def _hypothesis_met(journal: dict[str, Any], key: str, phase: str) -> bool | None:
    state = (journal.get(key) or {}).get(phase)
    return None if state is None else bool(state.get("steady_state_met"))

