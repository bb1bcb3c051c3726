"""The day's stop conditions, watched four times a second over the day-long background load.

A ``DayGuardrail`` is a run-wide ``Watchdog``: while chaoslib's method runs it interrupts it (SIGUSR1,
rollbacks kept); between experiments it keeps its reason and the day runner stops at once. Conditions
are watched from the first fault on (before it, a failing steady state makes the experiment
inconclusive, not the day aborted); a step can suspend some of them while it runs. The day's
``max_duration_s`` counts from the background load's start and is always watched.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.chaos.guardrail import Watchdog
from harness.gameday.spec import Guardrails, StopCondition
from harness.model import LoadSecond


@dataclass(frozen=True)
class Firing:
    """Which condition fired, why, and when the breach completed (wall clock) if the series says."""

    guardrail: str
    reason: str
    breach_at: float | None
    fired_at: float
    step: str | None


def second_value(condition: StopCondition, row: LoadSecond) -> float | None:
    """The condition's metric for one second of its operation (None: no evidence that second)."""
    if not row.requests:
        return None
    if condition.metric == "p95_ms":
        return row.p95_ms
    error_rate = row.errors / row.requests
    if condition.metric == "slo_burn":
        return error_rate / (1 - (condition.objective or 0.99))
    return error_rate


def breach(condition: StopCondition, rows: list[LoadSecond], not_before_s: float) -> tuple[float, float] | None:
    """(load second at which the breach completed, last value) when every second with traffic of the last
    ``for_s`` broke the limit and at least half of them had traffic; None otherwise.

    Only seconds at or after ``not_before_s`` count (the first fault, or the end of a suspension).
    """
    published = [row.t for row in rows if row.label == "all"]
    if not published:
        return None
    last = int(max(published))
    first = last - math.ceil(condition.for_s) + 1
    if first < not_before_s:
        return None
    by_second = {int(row.t): row for row in rows if row.label == condition.operation and first <= row.t <= last}
    values = [v for t in range(first, last + 1) if (row := by_second.get(t)) is not None
              and (v := second_value(condition, row)) is not None]
    if len(values) < max(1, math.ceil(condition.for_s / 2)) or not all(v > condition.above for v in values):
        return None
    return float(last + 1), values[-1]


class DayGuardrail(Watchdog):
    interval_s = 0.25
    keeps_reason = True

    def __init__(self, guardrails: Guardrails, rows: Callable[[], list[LoadSecond]], load_start: Callable[[], float | None],
                 on_fire: Callable[[Firing], None] = lambda firing: None) -> None:
        super().__init__()
        self.guardrails = guardrails
        self.rows = rows
        self.load_start = load_start  # wall clock of load second 0
        self.on_fire = on_fire
        self.firing: Firing | None = None
        self.fired_event = threading.Event()  # the day runner's pauses wait on this
        self.step: str | None = None
        self._suspended: set[str] = set()
        self._not_before: dict[str, float] | None = None  # per condition; None until the first fault
        self._state = threading.Lock()
        self._pending: tuple[str, float | None] | None = None

    # -- the day runner tells it what is going on ------------------------------------
    def watch_from(self, load_second: float) -> None:
        """The first fault went on at this load second: conditions are watched from now on (idempotent)."""
        with self._state:
            if self._not_before is None:
                self._not_before = {c.name: math.floor(load_second) for c in self.guardrails.stop_when}

    def enter_step(self, step: str, suspended: list[str], now_s: float) -> None:
        """A new step begins: its suspended conditions are not watched; the others resume from ``now_s``."""
        with self._state:
            resumed = self._suspended - set(suspended)
            self.step, self._suspended = step, set(suspended)
            if self._not_before is not None:
                for name in resumed:
                    self._not_before[name] = max(self._not_before[name], math.ceil(now_s))

    # -- the watchdog -----------------------------------------------------------------
    def check(self) -> str | None:
        start = self.load_start()
        if start is not None and time.time() - start > self.guardrails.max_duration_s:
            self._pending = ("max_duration", None)
            return f"max_duration: the game day ran past its max duration of {self.guardrails.max_duration_s:g} s"
        with self._state:
            if self._not_before is None:
                return None
            watched = [(c, self._not_before[c.name]) for c in self.guardrails.stop_when if c.name not in self._suspended]
        rows = self.rows()
        for condition, not_before in watched:
            found = breach(condition, rows, not_before)
            if found is not None:
                completed_s, value = found
                self._pending = (condition.name, start + completed_s if start is not None else None)
                shown = f"{value:.1%}" if condition.metric == "error_rate" else f"{value:.3g}"
                return f"{condition.describe()} (last second: {shown})"
        return None

    def fired(self, reason: str) -> None:
        name, breach_at = self._pending or ("?", None)
        self.firing = Firing(guardrail=name, reason=reason, breach_at=breach_at, fired_at=self.fired_at or time.time(),
                             step=self.step)
        self.fired_event.set()
        self.on_fire(self.firing)
