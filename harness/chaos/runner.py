"""Runs one Chaos Toolkit experiment under background load and measures what happened.

Sequence per experiment: the trial's instruments start (background load, metrics sampler,
system signals, tracked writes) and the steady state is observed for ``steady_state_s``;
chaoslib runs the experiment on this (main) thread with rollback strategy ``always`` while a
guardrail watches the SLO; whatever happens, the session heals the platform afterwards and the
journal is saved next to the load artifacts (also when something raised). The result is an
``ExperimentReport`` (windows, time-to-detect/-recover, breaker transitions, read-back) whose
``checks()`` the suite records.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.loader import load_experiment
from chaoslib.run import RunEventHandler

from harness.chaos.analysis import complete_report
from harness.chaos.extension import HarnessExtension, harness_extension, read_experiment
from harness.chaos.faults import load_fault_kinds, python_activities
from harness.chaos.guardrail import Guardrail, Watchdog
from harness.chaos.instruments import Instruments
from harness.chaos.report import ExperimentReport
from harness.chaos.session import use_session
from harness.chaos.trial import Trial
from harness.errors import UsageError
from harness.events import Event
from harness.faults import cgroups

log = logging.getLogger(__name__)
ROLLBACKS_ALWAYS = {"runtime": {"rollbacks": {"strategy": "always"}}}


def load_checked(path: Path) -> tuple[dict[str, Any], HarnessExtension]:
    """Load and validate an experiment file (chaoslib's validation + the harness extension).

    Anything wrong is a one-line ``UsageError`` naming the file: nothing has started yet.
    """
    read_experiment(path)  # a YAML error named by line and column, before chaoslib's own parser
    try:
        experiment = load_experiment(str(path))
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise UsageError(f"{path}: not a valid Chaos Toolkit experiment: {' '.join(str(exc).split())}") from None
    unknown = load_fault_kinds().unknown(experiment)
    if unknown:
        raise UsageError(f"{path}: {', '.join(unknown)} is not a fault action (harness.chaos.faults lists "
                         "what each action injects and undoes)")
    return experiment, harness_extension(experiment, str(path))


def unmet_requirements(platform: Any, extension: HarnessExtension, experiment: dict[str, Any]) -> list[str]:
    """What the experiment needs that this platform lacks ([]: it can run here)."""
    missing = []
    kinds = load_fault_kinds()
    cannot = [k for k in kinds.injected_by(experiment) if k not in getattr(platform, "fault_kinds", ())]
    if cannot:
        used = set(python_activities(experiment))
        actions = sorted(a.split(":", 1)[1] for k in cannot for a in kinds[k].inject if a in used)
        missing.append(f"a platform that can apply {', '.join(cannot)} faults ({', '.join(actions)}; platform "
                       f"{getattr(platform, 'name', '?')!r} cannot)")
    if "postgres" in extension.requires and getattr(platform, "backend", None) != "postgres":
        missing.append("a PostgreSQL backend (--backend postgres); SQLite is a file inside each gateway")
    if "redis" in extension.requires and not getattr(platform, "redis", False):
        missing.append("Redis (--redis)")
    if "cgroups" in extension.requires and (reason := cgroups.availability()) is not None:
        missing.append(f"cgroup limits ({reason})")
    if getattr(platform, "name", "") == "external":
        if extension.target not in platform.components():
            missing.append(f"a chaos component named {extension.target!r} in the target file (chaos.components)")
    elif not hasattr(platform, "link"):
        missing.append("a platform with fault links (local)")
    return missing


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during an experiment: raised once the platform is healed, with what was measured."""

    def __init__(self, report: ExperimentReport) -> None:
        super().__init__(f"{report.name}: interrupted by a signal during the experiment")
        self.report = report


class ChaosRunner:
    def __init__(self, platform: Any, target: Any, *, out_dir: Path, allow_hosts: Iterable[str] = (),
                 load_workers: int = 1, state_dir: Path | None = None, writer_identities: list[str] | None = None,
                 seed: int = 1, emit: Callable[[Event], None] | None = None, instruments: Instruments | None = None,
                 watchdogs: Sequence[Watchdog] = ()) -> None:
        """``emit`` receives the run's events as they happen (fault injected / healed); None: keep them in the
        report. A game day lends its day-long ``instruments`` and its run-wide ``watchdogs`` (guardrails): once
        one fired, the runner stops at the next safe point (chaoslib interrupted, rollbacks played, no recovery
        wait) and marks the report aborted."""
        self.platform = platform
        self.target = target
        self.out_dir = Path(out_dir)
        self.allow_hosts = tuple(allow_hosts)
        self.load_workers = load_workers
        self.state_dir = state_dir if state_dir is not None else getattr(platform, "state_dir", None)
        self.writer_identities = writer_identities
        self.seed = seed
        self.emit = emit
        self.instruments = instruments
        self.watchdogs = list(watchdogs)

    def halted(self) -> str | None:
        """Why a run-wide watchdog stopped the run (None: it goes on)."""
        return next((w.reason for w in self.watchdogs if w.reason), None)

    def run(self, path: Path, *, name: str | None = None, experiment: dict[str, Any] | None = None) -> ExperimentReport:
        """Run the experiment at ``path`` (or ``experiment``, already loaded and checked) as ``name``."""
        if experiment is None:
            experiment, extension = load_checked(path)
        else:
            extension = harness_extension(experiment, str(path))
        name = name or path.stem
        report = ExperimentReport(name=name, title=experiment["title"], extension=extension)
        missing = unmet_requirements(self.platform, extension, experiment)
        if missing:
            report.not_applicable = "needs " + "; ".join(missing)
            return report
        trial = Trial(self.platform, self.target, name, extension, out_dir=self.out_dir / name,
                      allow_hosts=self.allow_hosts, load_workers=self.load_workers, state_dir=self.state_dir,
                      writer_identities=self.writer_identities, seed=self.seed, emit=self.emit,
                      instruments=self.instruments, halted=lambda: self.halted() is not None)
        keeper = JournalKeeper()
        interrupted: KeyboardInterrupt | None = None
        try:
            trial.start()
            if self.halted() is None:
                self._experiment(trial, experiment, report, keeper)
            if self.halted() is None:
                trial.observe_recovery(report)
        except KeyboardInterrupt as exc:
            if trial.session.left_by_rollbacks is None:  # the signal came before the heal: heal now
                trial.session.heal()
            interrupted = exc
        finally:
            result = trial.stop()
            report.artifacts = [str(save_journal(trial.out_dir / f"{name}.journal.json", keeper.journal)),
                                *(result.artifacts if result is not None else [])]
        report.aborted = report.aborted or self.halted()
        complete_report(report, trial, keeper.journal, result)
        if interrupted is not None:
            raise ExperimentInterrupted(report) from interrupted
        return report

    def _experiment(self, trial: Trial, experiment: dict[str, Any], report: ExperimentReport, keeper: JournalKeeper) -> None:
        """chaoslib runs the experiment under the guardrails; the platform is healed whatever happened."""
        guard = Guardrail(trial.session, trial.extension).start()
        handlers = [guard.handler, keeper, SigtermAsCtrlC(), *(w.handler for w in self.watchdogs)]
        try:
            with use_session(trial.session):
                run_experiment(experiment, settings=ROLLBACKS_ALWAYS, event_handlers=handlers)
        finally:
            trial.end_experiment(guard, report)
        if keeper.journal.get("status") == "interrupted" and report.aborted is None and self.halted() is None:
            # chaoslib catches Ctrl-C and SIGTERM itself (journal "interrupted", rollbacks run) and returns;
            # not a guardrail, so the user's: pass it on, the run ends with a partial report (exit 2)
            raise KeyboardInterrupt(f"{trial.name}: interrupted by a signal during the experiment")


class SigtermAsCtrlC(RunEventHandler):
    """SIGTERM interrupts the experiment the way Ctrl-C does.

    chaoslib's own SIGTERM handler raises ``InterruptExecution``, which an activity running at that moment
    records as its own failure: the method goes on and the run is not interrupted. ``KeyboardInterrupt``
    interrupts the run (journal "interrupted", rollbacks played). chaoslib restores the previous handler
    when the experiment ends.
    """

    def started(self, experiment: Any, journal: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


class JournalKeeper(RunEventHandler):
    """Holds chaoslib's journal from the experiment's start, so it is saved even when the run raises."""

    def __init__(self) -> None:
        super().__init__()
        self.journal: dict[str, Any] = {}

    def started(self, experiment: Any, journal: Any) -> None:
        self.journal = journal  # the live journal chaoslib fills in

    def finish(self, journal: Any) -> None:
        self.journal = journal


def save_journal(path: Path, journal: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(journal, indent=1, default=str))
    return path
