"""``harness gameday run``: one game day as one run, one report, one exit code.

The platform starts (or is attached), the day's background load and observers start once
(``Instruments``), the day's guardrail starts watching, and each step runs through the chaos suite's
own ``ChaosRunner`` on those instruments: same steady state, fault, rollback and measurements as
``harness run --suite chaos``. When a guardrail fires, or Ctrl-C / SIGTERM arrives, the day aborts:
chaoslib is interrupted and plays its rollbacks, the platform is healed once more, the background load
is stopped within a second, the report is written and the exit code is 2. The report holds one
timeline across all steps, the guardrail events, every step's times and journal, and the hypothesis'
verdict; the platform the harness started is stopped after that.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.chaos.instruments import Instruments
from harness.chaos.runner import ChaosRunner, ExperimentInterrupted
from harness.config import HarnessConfig
from harness.errors import HarnessError
from harness.events import (
    ArtifactSaved,
    CheckRecorded,
    Event,
    EventHandler,
    FaultInjected,
    GameDayConcluded,
    GameDayStarted,
    GuardrailFired,
    HarnessFailed,
    Interrupted,
    MetricsRecorded,
    Progress,
    SeriesRecorded,
    SuiteFinished,
    SuiteInconclusive,
    SuiteStarted,
)
from harness.gameday.guardrails import DayGuardrail, Firing
from harness.gameday.plan import Plan, PlannedStep
from harness.gameday.results import (
    SUITE,
    StepOutcome,
    day_result,
    hypothesis_check,
    step_checks,
    step_metrics,
    step_row,
    wall,
)
from harness.gameday.target import start_platform
from harness.model import GuardrailEvent, utcnow
from harness.report.webhook import WebhookNotifier
from harness.run_context import RunContext

ABORT_LOAD_GRACE_S = 0.8  # requests in flight get this long when the day aborts; then the workers are killed


class GameDayRunner:
    def __init__(self, plan: Plan, config: HarnessConfig, *, progress: Callable[[str], None] = lambda line: None,
                 run_id: str | None = None) -> None:
        self.plan = plan
        self.config = config
        self.progress = progress
        notes = plan.day.notifications
        self.notifier = WebhookNotifier(notes.webhooks, allow_hosts=notes.allow_hosts, events=notes.events,
                                        timeout_s=notes.timeout_s)
        os.environ.setdefault("HARNESS_TRIGGER", "gameday")  # the report's trigger (harness.environment)
        self.context = RunContext(config, run_id=run_id, handlers=day_handlers(config, self.notifier))
        self.outcomes = [StepOutcome(planned) for planned in plan.steps]
        self.guardrail_events: list[GuardrailEvent] = []
        self.instruments: Instruments | None = None
        self.guard: DayGuardrail | None = None
        self.stopped_at: str | None = None
        self.abort_reason: str | None = None  # a guardrail fired: the day aborts (exit 2)
        self.interrupted: str | None = None  # a signal: the day aborts too (exit 2)
        self.rolled_back_at: float | None = None
        self.load_stopped_at: float | None = None

    @property
    def run_dir(self) -> Path:
        return self.context.run_dir

    def run(self) -> int:
        """The day, start to finish; the exit code (0 ready, 1 not ready, 2 aborted, 3 harness error, 6 inconclusive)."""
        day, platform = self.plan.day, None
        with sigterm_as_interrupt():
            try:
                self.emit(GameDayStarted(run_id=self.context.run_id, title=day.title, hypothesis=day.hypothesis,
                                         owner=day.owner, steps=[s.id for s in self.plan.steps], file=str(self.plan.source)))
                try:
                    platform, target = start_platform(self.plan, self.config, self.context)
                    self._day(platform, target)
                except KeyboardInterrupt as exc:
                    self.interrupted = "interrupted (SIGINT/SIGTERM) during the game day; this report is partial"
                    if isinstance(exc, ExperimentInterrupted):
                        self._outcome(exc.report.name).report = exc.report
                except HarnessError as exc:
                    self.emit(HarnessFailed(error=str(exc)))
                self._wind_down(platform)
                return self._finish()
            finally:
                if self.guard is not None:
                    self.guard.stop()
                if self.instruments is not None:
                    self.instruments.stop(within_s=ABORT_LOAD_GRACE_S)  # already stopped unless something raised
                if platform is not None:
                    platform.stop()

    def emit(self, event: Event) -> None:
        if isinstance(event, FaultInjected) and self.guard is not None and self.instruments is not None:
            start = self.instruments.load.start_epoch or time.time()
            self.guard.watch_from(event.injection.started_at.timestamp() - start)
        self.context.emit(event)

    # -- the day ------------------------------------------------------------------------
    def _day(self, platform: Any, target: Any) -> None:
        self.instruments = Instruments(platform, target, self.plan.load, out_dir=self.run_dir / SUITE / "load",
                                       allow_hosts=tuple(self.config.allow_hosts),
                                       load_workers=self.plan.day.background_load.workers,
                                       state_dir=getattr(platform, "state_dir", None))
        self.emit(SuiteStarted(suite=SUITE))
        self.progress(f"background load {self.plan.load.name} at {self.plan.load_rate()} starting")
        self.instruments.start()
        self.guard = DayGuardrail(self.plan.day.guardrails, self.instruments.load.live,
                                  lambda: self.instruments.load.start_epoch if self.instruments else None,
                                  on_fire=self._guardrail_fired).start()
        runner = ChaosRunner(platform, target, out_dir=self.run_dir / SUITE, allow_hosts=self.config.allow_hosts,
                             seed=self.config.seed or 1, emit=self.emit, instruments=self.instruments,
                             watchdogs=[self.guard])
        for index, outcome in enumerate(self.outcomes):
            if self._stopping(outcome.planned):
                return
            self._step(runner, outcome)
            if self._stopping(outcome.planned):
                return
            if index + 1 < len(self.outcomes):
                pause = outcome.planned.pause_after_s(self.plan.day)
                self.progress(f"{pause:g} s under load before the next step")
                self.guard.fired_event.wait(pause)

    def _step(self, runner: ChaosRunner, outcome: StepOutcome) -> None:
        planned = outcome.planned
        assert self.guard is not None
        self.guard.enter_step(planned.id, planned.step.suspend_guardrails, self._load_time())
        self.progress(f"step {planned.index + 1}/{len(self.outcomes)} {planned.id}: {planned.extension.fault} on "
                      f"{planned.extension.target}")
        self.emit(Progress(text=f"step {planned.id} started"))
        outcome.started_at = utcnow()
        try:
            outcome.report = runner.run(planned.path, name=planned.id, experiment=planned.experiment)
        except KeyboardInterrupt:
            outcome.interrupted = True
            self.stopped_at = planned.id
            raise
        finally:
            outcome.ended_at = utcnow()
        report = outcome.report
        self.progress(f"step {planned.id}: {'aborted: ' + report.aborted if report.aborted else 'done'}, "
                      f"time to detect {report.time_to_detect_s} s, time to recover {report.time_to_recover_s} s")
        if report.aborted and self.guard.reason is None:  # the experiment's own guardrail
            firing = Firing(guardrail=f"{planned.id}.abort", reason=report.aborted, breach_at=None,
                            fired_at=time.time(), step=planned.id)
            self._guardrail_fired(firing)

    def _stopping(self, planned: PlannedStep) -> bool:
        """True when the day must not go on: a guardrail fired, or a step lost its steady state before its fault."""
        firing = self.guard.firing if self.guard is not None else None
        if self.abort_reason is not None or firing is not None:
            self.stopped_at = self.stopped_at or (firing.step if firing is not None else None) or planned.id
            return True
        report = self._outcome(planned.id).report
        if report is not None and report.inconclusive and not report.injections:
            self.stopped_at = planned.id
            self.progress(f"stopping: {report.inconclusive}")
            return True
        return False

    def _guardrail_fired(self, firing: Firing) -> None:
        """From the guardrail's thread (or the main one): note it and announce it; the main thread aborts."""
        if self.abort_reason is not None:
            return
        self.abort_reason = f"guardrail {firing.guardrail} fired: {firing.reason}"
        if self.instruments is not None:  # the load stops now, while chaoslib plays the rollbacks
            threading.Thread(target=self.instruments.stop_load_now, args=(ABORT_LOAD_GRACE_S,),
                             name="gameday-stop-load", daemon=True).start()
        self.guardrail_events.append(GuardrailEvent(guardrail=firing.guardrail, reason=firing.reason, step=firing.step,
                                                    breach_at=wall(firing.breach_at), fired_at=wall(firing.fired_at) or utcnow()))
        self.emit(GuardrailFired(guardrail=firing.guardrail, reason=firing.reason, step=firing.step,
                                 breach_at=wall(firing.breach_at)))

    # -- the end ------------------------------------------------------------------------
    def _wind_down(self, platform: Any) -> None:
        """Abort: heal once more, stop the load within a second, announce it. Otherwise stop the load gracefully."""
        aborting = self.abort_reason is not None or self.interrupted is not None
        if aborting:
            # every trial healed the platform after chaoslib's rollbacks (or on the signal); heal once more only
            # if the timeline still shows a fault on (e.g. a signal between an injection and its trial's heal)
            still_on = [i for i in self.context.result.timeline if i.ended_at is None]
            if still_on and platform is not None and hasattr(platform, "clear_all_faults"):
                platform.clear_all_faults()
            ended = [i.ended_at.timestamp() for i in self.context.result.timeline if i.ended_at is not None]
            self.rolled_back_at = time.time() if still_on or not ended else max(ended)  # the last fault's rollback
            if self.instruments is not None:
                self.instruments.stop(within_s=ABORT_LOAD_GRACE_S)
                self.load_stopped_at = self.instruments.load_stopped_at
            fired = self.guard.fired_at if self.guard is not None and self.guard.fired_at else None
            if fired is not None and self.load_stopped_at is not None:
                self.progress(f"aborted: faults rolled back {self.rolled_back_at - fired:.2f} s and load stopped "
                              f"{self.load_stopped_at - fired:.2f} s after the guardrail fired")
            self.emit(Interrupted(reason=self.abort_reason or self.interrupted or "aborted"))
        elif self.instruments is not None:
            self.instruments.stop()

    def _finish(self) -> int:
        """The day's results as events (steps, load series, the day's summary), then judge and write: the exit code."""
        emit = self.emit
        rows = []
        for outcome in self.outcomes:
            checks = step_checks(outcome)
            for check in checks:
                emit(CheckRecorded(check=check))
            emit(MetricsRecorded(suite=SUITE, metrics=step_metrics(outcome)))
            if outcome.report is not None:
                emit(ArtifactSaved(suite=SUITE, paths=outcome.report.artifacts))
            rows.append(step_row(outcome, checks, self.run_dir))
        error = self.context.result.error
        day = day_result(self.plan, rows, self.guardrail_events, stopped_at=self.stopped_at,
                         interrupted=self.interrupted, error=error)
        day.rolled_back_at, day.load_stopped_at = wall(self.rolled_back_at), wall(self.load_stopped_at)
        if day.hypothesis_verdict != "inconclusive" or not error:
            emit(CheckRecorded(check=hypothesis_check(day)))
        if self.instruments is not None and self.instruments.load.start_epoch is not None:
            emit(SeriesRecorded(suite=SUITE, rows=self.instruments.rows, start_epoch=self.instruments.load.start_epoch))
            load = self.instruments.result
            if load is not None and load.inconclusive:
                emit(SuiteInconclusive(suite=SUITE, reason=f"load generator unhealthy: {load.inconclusive}"))
            if load is not None and load.artifacts:
                emit(ArtifactSaved(suite=SUITE, paths=load.artifacts))
        lost = next((s for s in rows if s.status == "inconclusive"), None)
        if lost is not None and not any(s.status == "failed" for s in rows):
            emit(SuiteInconclusive(suite=SUITE, reason=f"{lost.id}: {lost.message}"))
        if any(suite.name == SUITE for suite in self.context.result.suites):
            emit(SuiteFinished(suite=SUITE))
        emit(GameDayConcluded(day=day))
        return int(self.context.finish().exit_code)

    def _outcome(self, step_id: str) -> StepOutcome:
        return next(o for o in self.outcomes if o.planned.id == step_id)

    def _load_time(self) -> float:
        start = self.instruments.load.start_epoch if self.instruments is not None else None
        return time.time() - start if start else 0.0


def day_handlers(config: HarnessConfig, notifier: WebhookNotifier) -> list[EventHandler]:
    """The report writers (with plugins' SARIF rules), plugins' own handlers, then the day's webhooks."""
    from harness.plugins import plugin_manager
    from harness.report import builtin_writers

    hook = plugin_manager().hook
    rules = {rule_id: rule for batch in hook.harness_sarif_rules() for rule_id, rule in (batch or {}).items()}
    handlers: list[EventHandler] = list(builtin_writers(rules))
    handlers += [h for batch in hook.harness_event_handlers(config=config) for h in batch or []]
    return [*handlers, notifier]


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C for the whole day (chaoslib handles both itself inside an experiment)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
