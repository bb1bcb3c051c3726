"""Run events: the one way a result enters a run's report.

Suites and the suite libraries never write into ``RunResult``. They emit typed events;
``RunContext`` (``harness/run_context.py``) folds each one into the ``RunResult`` and then hands
it to every event handler: the report writers in ``harness/report/`` (JSON, HTML, JUnit, SARIF,
terminal progress) and whatever plugins add through the ``harness_event_handlers`` hook. A
handler that raises is logged and isolated: the next handler still gets the event.

In a pytest suite (fixtures of ``harness.pytest_plugin``)::

    record_check(id="acme.health.ok", title="health is 200", status="pass")   # or record_check(check)
    record_finding(finding)                                                   # a Finding object
    harness_run.emit(SeriesRecorded(suite="load", rows=result.timeseries))    # any other event

``record_check``/``record_finding`` stamp the suite, the test's node id and the duration, and apply
the ``harness_modify_check`` hook; use them for checks and findings. Outside pytest (a game day,
a chaos library running under a runner) take an ``emit: Callable[[Event], None]`` and call it.

Vocabulary — what each event does to the ``RunResult``:

===================  =======================================================================
RunStarted           emitted by ``RunContext`` itself, before anything else
SuiteStarted         opens ``suites[suite]`` (its clock starts: platform start-up counts)
TargetAttached       ``target.base_url`` / ``target.openapi_url``
EnvironmentNoted     merges facts into ``environment.extra`` (``None`` values are left out)
CheckRecorded        appends the check to its suite
FindingReported      appends the finding to its suite (one per fingerprint and suite)
SeriesRecorded       appends per-second rows to the suite's time series; with ``start_epoch``
                     the rows' ``t`` counts from that moment and is moved onto the suite's clock
MetricsRecorded      appends named numbers (``Metric``: value, unit, bounds) to the suite's metrics
FaultInjected        appends the injection to the run's timeline
FaultHealed          closes that injection (matched by fault, target, start and experiment)
ArtifactSaved        appends paths to the suite's artifacts
SuiteInconclusive    the suite's first inconclusive reason (later ones do not replace it)
ClaimJudged          appends a claim's verdict to ``claims``
SuiteFinished        stamps the suite's ``finished_at``
Interrupted          ``aborted_reason``: a signal or a guardrail stopped the run (exit 2)
GameDayStarted       nothing: a game day announces its title, hypothesis and steps (webhooks)
GuardrailFired       nothing: a game day's stop condition held; the day aborts (``Interrupted`` follows)
GameDayConcluded     ``gameday``: the day's steps, guardrail events and hypothesis verdict
HarnessFailed        ``error``: the harness itself failed, e.g. a platform did not start (exit 3)
Progress             nothing: a status line for the terminal during long work
RunFinished          emitted by ``RunContext.finish`` once the run is stamped and judged; writers
                     render ``event.run`` then
===================  =======================================================================

Events are frozen pydantic models, so a handler can also serialise them (``event.model_dump_json()``; ``kind``
names the event) for a log or a webhook.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.model import (
    Check,
    ClaimResult,
    FaultInjection,
    Finding,
    GameDayResult,
    LoadSecond,
    Metric,
    RunResult,
    utcnow,
)

log = logging.getLogger(__name__)


class Event(BaseModel):
    """Base of every run event: when it happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "event"

    at: datetime = Field(default_factory=utcnow)


class RunStarted(Event):
    kind: Literal["run_started"] = "run_started"
    run_id: str


class SuiteStarted(Event):
    kind: Literal["suite_started"] = "suite_started"
    suite: str


class TargetAttached(Event):
    kind: Literal["target_attached"] = "target_attached"
    base_url: str
    openapi_url: str | None = None


class EnvironmentNoted(Event):
    kind: Literal["environment_noted"] = "environment_noted"
    facts: dict[str, Any]


class CheckRecorded(Event):
    kind: Literal["check_recorded"] = "check_recorded"
    check: Check


class FindingReported(Event):
    kind: Literal["finding_reported"] = "finding_reported"
    finding: Finding


class SeriesRecorded(Event):
    kind: Literal["series_recorded"] = "series_recorded"
    suite: str
    rows: list[LoadSecond]
    start_epoch: float | None = None  # the rows' t counts from here (default: the suite's start)


class MetricsRecorded(Event):
    kind: Literal["metrics_recorded"] = "metrics_recorded"
    suite: str
    metrics: list[Metric]


class FaultInjected(Event):
    kind: Literal["fault_injected"] = "fault_injected"
    injection: FaultInjection


class FaultHealed(Event):
    kind: Literal["fault_healed"] = "fault_healed"
    injection: FaultInjection  # the same injection, now with ``ended_at``


class ArtifactSaved(Event):
    kind: Literal["artifact_saved"] = "artifact_saved"
    suite: str
    paths: list[str]


class SuiteInconclusive(Event):
    kind: Literal["suite_inconclusive"] = "suite_inconclusive"
    suite: str
    reason: str


class ClaimJudged(Event):
    kind: Literal["claim_judged"] = "claim_judged"
    claim: ClaimResult


class SuiteFinished(Event):
    kind: Literal["suite_finished"] = "suite_finished"
    suite: str


class Interrupted(Event):
    kind: Literal["interrupted"] = "interrupted"
    reason: str


class HarnessFailed(Event):
    kind: Literal["harness_failed"] = "harness_failed"
    error: str


class Progress(Event):
    kind: Literal["progress"] = "progress"
    text: str


class GameDayStarted(Event):
    """A game day begins: what it sets out to show and the steps it will run, in order."""

    kind: Literal["gameday_started"] = "gameday_started"
    run_id: str
    title: str
    hypothesis: str
    owner: str
    steps: list[str]
    file: str


class GuardrailFired(Event):
    """A game day's stop condition held: the day stops now (faults rolled back, load stopped, report written)."""

    kind: Literal["guardrail_fired"] = "guardrail_fired"
    guardrail: str
    reason: str
    step: str | None = None
    breach_at: datetime | None = None  # when the breach completed, by the load series


class GameDayConcluded(Event):
    """The game day's own summary (steps, guardrails, the hypothesis' verdict), before the run is judged."""

    kind: Literal["gameday_concluded"] = "gameday_concluded"
    day: GameDayResult


class RunFinished(Event):
    kind: Literal["run_finished"] = "run_finished"
    run: RunResult


class EventHandler:
    """Receives every event of a run, after ``RunContext`` folded it into the ``RunResult``.

    ``start`` gets the run's report folder; ``handle`` each event in order; ``shutdown`` is called once
    at the end (also when the run failed). Override what you need. A handler whose ``required`` is
    true (the JSON writer) fails the run when it raises; any other is logged and isolated.
    """

    name: str = "handler"
    required: bool = False

    def start(self, run_dir: Path) -> None:
        """The run begins; its report folder exists."""

    def handle(self, event: Event) -> None:
        """One event, already folded into the run's result."""

    def shutdown(self) -> None:
        """The run is over: release what ``start`` took."""
