"""The run being recorded: events in, one ``RunResult`` folded from them, handlers told of each.

``RunContext.emit(event)`` is the only way anything enters the result (see ``harness.events`` for
the vocabulary). The fold is small and lives here; rendering is the handlers' job.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from harness.claims.fold import fold_claims
from harness.claims.model import ClaimsFile
from harness.config import HarnessConfig
from harness.environment import detect_trigger, environment_info
from harness.events import (
    ArtifactSaved,
    CheckRecorded,
    ClaimJudged,
    EnvironmentNoted,
    Event,
    EventHandler,
    FaultHealed,
    FaultInjected,
    FindingReported,
    GameDayConcluded,
    HarnessFailed,
    Interrupted,
    MetricsRecorded,
    RunFinished,
    RunStarted,
    SeriesRecorded,
    SuiteFinished,
    SuiteInconclusive,
    SuiteStarted,
    TargetAttached,
)
from harness.gate.evaluate import GateResult, apply_gate
from harness.gate.policy import Policy, load_policy
from harness.model import Check, RunResult, TargetInfo, utcnow
from harness.report.folder import new_run_id, prepare_run_folder, update_latest

log = logging.getLogger(__name__)


class RunContext:
    """One run: its report folder, the ``RunResult`` folded from its events, and the handlers."""

    def __init__(self, config: HarnessConfig, *, run_id: str | None = None,
                 handlers: Iterable[EventHandler] = (), claims: ClaimsFile | None = None) -> None:
        self.config = config
        self.claims = claims
        self.run_id = run_id or os.environ.get("HARNESS_RUN_ID") or new_run_id()
        self.report_dir = config.report_dir
        self.run_dir = prepare_run_folder(config.report_dir, self.run_id)
        self._result = RunResult(
            run_id=self.run_id,
            trigger=detect_trigger(),
            environment=environment_info(),
            # a target file or URL means a system someone else runs, whatever the platform setting (make_platform)
            target=TargetInfo(platform="external" if config.target or config.target_url else config.platform.value,
                              base_url=config.target_url, defects=config.defects),
            profile=config.profile,
        )
        self.checks_by_test: dict[str, list[Check]] = defaultdict(list)
        self.handler_failures: list[str] = []  # "name: error", for the terminal summary
        self._lock = threading.RLock()  # events may come from helper threads
        self._handlers = list(handlers)
        self._finished = False
        for handler in self._handlers:
            self._call(handler, "start", self.run_dir)
        self.emit(RunStarted(run_id=self.run_id))

    @property
    def result(self) -> RunResult:
        """The result folded so far: read it, never write it (emit an event instead)."""
        return self._result

    def add_handler(self, handler: EventHandler) -> None:
        with self._lock:
            self._handlers.append(handler)
            self._call(handler, "start", self.run_dir)

    # -- events -----------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Fold ``event`` into the result, then hand it to every handler (a failing one is isolated)."""
        with self._lock:
            fold(self._result, event)
            if isinstance(event, CheckRecorded) and event.check.test_nodeid:
                self.checks_by_test[event.check.test_nodeid].append(event.check)
            required_failed = [h.name for h in self._handlers if not self._call(h, "handle", event) and h.required]
        if required_failed:
            raise RuntimeError(f"report handler(s) {', '.join(required_failed)} failed on {event.kind}; "
                               "see the log above")

    def _call(self, handler: EventHandler, method: str, *args: object) -> bool:
        try:
            getattr(handler, method)(*args)
            return True
        except Exception as exc:  # one broken handler must not cost the others (or the run) their events
            log.exception("event handler %s failed in %s", handler.name, method)
            self.handler_failures.append(f"{handler.name}: {type(exc).__name__}: {exc}"[:300])
            return False

    # -- finishing --------------------------------------------------------------------------
    def policy(self) -> Policy:
        """The run's gate policy (validated when the run started), else the configured severity threshold."""
        return policy_of(self.config)

    def finish(self, *, aborted_reason: str | None = None) -> GateResult:
        """Stamp end times, judge, hand ``RunFinished`` to the writers, move ``latest``. Call once."""
        with self._lock:
            if aborted_reason:
                self.emit(Interrupted(reason=aborted_reason))
            # claims before the gate: its policy may require no refuted claim (the fold never changes the verdict)
            for claim in fold_claims(self._result, self.claims):
                self.emit(ClaimJudged(claim=claim))
            judgement = stamp_and_judge(self._result, self.config)
            try:
                self.emit(RunFinished(run=self._result))
                update_latest(self.report_dir, self.run_dir)
            finally:
                self._finished = True
                for handler in self._handlers:
                    self._call(handler, "shutdown")
        return judgement


def policy_of(config: HarnessConfig) -> Policy:
    """The policy file's, else the configured severity threshold.

    Without a policy file a refuted claim is shown (warn), not blocking: a claims file never changes the
    run's verdict by itself; a policy that wants "no refuted claim" says ``refuted_claims: block``.
    """
    if config.policy:
        return load_policy(config.policy)
    return Policy(severity_threshold=config.severity_threshold, refuted_claims="warn")


def stamp_and_judge(run: RunResult, config: HarnessConfig) -> GateResult:
    """Stamp end times and the environment fingerprint, then judge by the run's gate policy."""
    now = utcnow()
    run.finished_at = now
    for suite in run.suites:
        suite.finished_at = suite.finished_at or now
    run.environment_fingerprint = run.environment.fingerprint()
    return apply_gate(run, policy_of(config), str(config.policy or "default"))


def fold(run: RunResult, event: Event) -> None:
    """What one event does to the run's result (the table in ``harness.events``)."""
    match event:
        case SuiteStarted(suite=name):
            run.suite(name)
        case TargetAttached():
            run.target.base_url = event.base_url
            run.target.openapi_url = event.openapi_url
        case EnvironmentNoted(facts=facts):
            run.environment.extra.update({k: v for k, v in facts.items() if v is not None})
        case CheckRecorded(check=check):
            run.suite(check.suite).checks.append(check)
        case FindingReported(finding=finding):
            findings = run.suite(finding.suite).findings
            if all(known.fingerprint != finding.fingerprint for known in findings):
                findings.append(finding)
        case SeriesRecorded():
            suite = run.suite(event.suite)
            offset = 0.0 if event.start_epoch is None else event.start_epoch - suite.started_at.timestamp()
            suite.timeseries.extend(row.model_copy(update={"t": row.t + offset}) if offset else row
                                    for row in event.rows)
        case MetricsRecorded():
            run.suite(event.suite).metrics.extend(event.metrics)
        case FaultInjected(injection=injection):
            run.timeline.append(injection.model_copy())
        case FaultHealed(injection=healed):
            for index, known in enumerate(run.timeline):
                if (known.ended_at is None and known.fault == healed.fault and known.target == healed.target
                        and known.started_at == healed.started_at and known.experiment == healed.experiment):
                    run.timeline[index] = healed.model_copy()
                    break
            else:
                run.timeline.append(healed.model_copy())  # its injection was never announced: keep it anyway
        case ArtifactSaved():
            run.suite(event.suite).artifacts.extend(event.paths)
        case SuiteInconclusive():
            suite = run.suite(event.suite)
            suite.inconclusive = suite.inconclusive or event.reason
        case ClaimJudged(claim=claim):
            run.claims.append(claim)
        case SuiteFinished(suite=name):
            run.suite(name).finished_at = event.at
        case Interrupted(reason=reason):
            run.aborted_reason = reason
        case HarnessFailed(error=error):
            run.error = error
        case GameDayConcluded(day=day):
            run.gameday = day.model_copy()
        case _:
            pass  # RunStarted, Progress, GameDayStarted, GuardrailFired, RunFinished, plugins' own


def relative_to_cwd(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
