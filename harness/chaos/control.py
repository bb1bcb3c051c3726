"""Chaos Toolkit control that makes a standalone ``chaos run scenarios/chaos/X.yaml`` measure like the suite.

Every shipped experiment declares it::

    controls: [{name: harness, provider: {type: python, module: harness.chaos.control}}]

Under ``harness run --suite chaos`` the runner has already installed a session, and this does
nothing. Standalone, it attaches to the system ``harness up`` started (``HARNESS_STATE_DIR``,
default ``.harness``), runs the trial's instruments (background load, metrics sampler, system
signals, tracked writes) with the experiment's own ``harness`` extension and its guardrail,
and raises chaoslib's rollback strategy from ``default`` to ``always``; after the experiment it heals the platform, waits for recovery, logs every check and writes the
harness's report to ``<state_dir>/chaos/<fault>/<fault>.report.json``. When that is not possible
(nothing is running, or the experiment needs what an attached platform cannot do) it interrupts
the experiment with one line saying what to run instead.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from chaoslib.exceptions import InterruptExecution
from chaoslib.run import RunEventHandler

from harness.chaos.analysis import complete_report
from harness.chaos.extension import harness_extension
from harness.chaos.guardrail import Guardrail
from harness.chaos.report import ExperimentReport
from harness.chaos.session import installed_session, use_session
from harness.chaos.trial import Trial
from harness.errors import HarnessError

logger = logging.getLogger("chaostoolkit")


class Standalone:
    """One standalone experiment: attach, instruments up, guardrail armed; then heal, measure, report."""

    def __init__(self, experiment: dict[str, Any], event_registry: Any) -> None:
        from harness.chaos.attach import AttachedLocalPlatform
        from harness.chaos.runner import unmet_requirements

        self.extension = harness_extension(experiment, "experiment")
        self.platform = AttachedLocalPlatform()
        missing = unmet_requirements(self.platform, self.extension, experiment)
        if missing:
            raise HarnessError(f"this experiment needs {'; '.join(missing)}; run it through "
                               "`harness run --suite chaos` (with the matching --backend/--redis) instead")
        name = self.extension.fault
        self.report = ExperimentReport(name=name, title=str(experiment.get("title", name)), extension=self.extension)
        self.trial = Trial(self.platform, self.platform.target, name, self.extension,
                           out_dir=self.platform.state_dir / "chaos" / name, state_dir=self.platform.state_dir)
        self.guard = Guardrail(self.trial.session, self.extension)
        if event_registry is not None:
            event_registry.register(self.guard.handler)  # disarms it when the rollbacks start
        self._session = contextlib.ExitStack()
        self._finished = False

    def begin(self, experiment: dict[str, Any]) -> None:
        self._session.enter_context(use_session(self.trial.session))
        logger.info("harness: background load and observers on the attached system; steady state for %gs",
                    self.extension.steady_state_s)
        self.trial.start()
        self.guard.start()
        self.guard.handler.started(experiment, None)  # arm it: chaoslib announced "started" before controls ran

    def finish(self, journal: dict[str, Any] | None) -> ExperimentReport:
        self._finished = True
        trial = self.trial
        try:
            trial.end_experiment(self.guard, self.report)
            trial.observe_recovery(self.report)
        finally:
            result = trial.stop()
        complete_report(self.report, trial, dict(journal or {}), result)
        path = trial.out_dir / f"{self.report.name}.report.json"
        path.write_text(self.report.model_dump_json(indent=1, exclude={"timeseries"}))
        for check in self.report.checks():
            logger.info("harness: %s %s: %s", check.status.value.upper(), check.id, check.message)
        logger.info("harness: report written to %s", path)
        return self.report

    def close(self) -> None:
        """Whatever happened: heal, stop every instrument, give the session back."""
        try:
            if not self._finished:
                self.trial.end_experiment(self.guard, self.report)
                self.trial.stop()
        finally:
            self._session.close()


_standalone: Standalone | None = None
_setup_error: str | None = None


class RollbacksAlways(RunEventHandler):
    """Raise the rollback strategy from ``default`` to ``always``, as the suite runs it (an explicit choice stays).

    chaoslib announces ``running`` with its settings after configuring controls and before it reads
    the strategy, so this is the moment to change it.
    """

    def running(self, experiment: Any, journal: Any, configuration: Any, secrets: Any, schedule: Any,
                settings: dict[str, Any] | None) -> None:
        rollbacks = (settings if settings is not None else {}).setdefault("runtime", {}).setdefault("rollbacks", {})
        if rollbacks.get("strategy", "default") == "default":
            rollbacks["strategy"] = "always"
            logger.info("harness: rollbacks always run (also after an abort or a failed hypothesis)")


def configure_control(experiment: dict[str, Any], event_registry: Any = None) -> None:
    global _standalone, _setup_error
    _standalone, _setup_error = None, None
    if installed_session() is not None:
        return  # the harness runner is in charge
    if event_registry is not None:
        event_registry.register(RollbacksAlways())
    try:
        _standalone = Standalone(experiment, event_registry)
    except HarnessError as exc:
        _setup_error = str(exc)


def before_experiment_control(context: dict[str, Any], **kwargs: Any) -> None:
    if _setup_error is not None:
        raise InterruptExecution(f"harness: {_setup_error}")
    if _standalone is not None:
        try:
            _standalone.begin(context)
        except HarnessError as exc:
            raise InterruptExecution(f"harness: {exc}") from None


def after_experiment_control(context: dict[str, Any], state: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if _standalone is not None:
        try:
            _standalone.finish(state)
        except Exception as exc:  # chaoslib would swallow it silently: say what went wrong
            logger.error("harness: measuring the experiment failed: %s: %s", type(exc).__name__, exc)
            raise


def cleanup_control() -> None:
    global _standalone
    if _standalone is not None:
        try:
            _standalone.close()
        finally:
            _standalone = None
