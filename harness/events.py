"""Run events: typed records of what happened during a run, handed to event handlers.

This is the subset of the run-events vocabulary (issue 11) that game days need today, with the
same names and shapes as that work: when it lands, its ``harness/events.py`` replaces this file
and ``RunContext.emit`` replaces the game day's own dispatcher (``harness.gameday.record``).

Events are frozen pydantic models: a handler can serialise them (``event.model_dump(mode="json")``;
``kind`` names the event) for a log or a webhook.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.model import FaultInjection, RunResult, utcnow


class Event(BaseModel):
    """Base of every run event: when it happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = "event"

    at: datetime = Field(default_factory=utcnow)


class RunStarted(Event):
    kind: Literal["run_started"] = "run_started"
    run_id: str


class FaultInjected(Event):
    kind: Literal["fault_injected"] = "fault_injected"
    injection: FaultInjection


class FaultHealed(Event):
    kind: Literal["fault_healed"] = "fault_healed"
    injection: FaultInjection  # the same injection, now with ``ended_at``


class Interrupted(Event):
    kind: Literal["interrupted"] = "interrupted"
    reason: str


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
    """A stop condition held: the run stops now (faults rolled back, load stopped, report written)."""

    kind: Literal["guardrail_fired"] = "guardrail_fired"
    guardrail: str
    reason: str
    step: str | None = None
    breach_at: datetime | None = None  # when the breach completed, by the load series


class RunFinished(Event):
    kind: Literal["run_finished"] = "run_finished"
    run: RunResult


class EventHandler:
    """Receives every event of a run, in order.

    ``start`` gets the run's report folder; ``handle`` each event; ``shutdown`` is called once at the
    end (also when the run failed). A handler that raises is logged and isolated by the dispatcher.
    """

    name: str = "handler"
    required: bool = False

    def start(self, run_dir: Path) -> None:
        """The run begins; its report folder exists."""

    def handle(self, event: Event) -> None:
        """One event."""

    def shutdown(self) -> None:
        """The run is over: release what ``start`` took."""
