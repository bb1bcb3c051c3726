"""The game day's run record: its ``RunContext`` (report folder, ``RunResult``) and its event handlers.

Until the run-events work (issue 11) gives ``RunContext`` an ``emit`` of its own, this is the one
place where a game day's events are folded into the ``RunResult`` (fault timeline, aborted reason)
and handed to the handlers (the webhook notifier), a failing handler logged and isolated. When it
lands, ``emit`` here becomes ``RunContext.emit``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from harness.config import HarnessConfig
from harness.events import Event, EventHandler, FaultHealed, FaultInjected, Interrupted, RunFinished, RunStarted
from harness.run_context import RunContext

log = logging.getLogger(__name__)


class DayRecord:
    def __init__(self, config: HarnessConfig, handlers: Iterable[EventHandler] = (), *, run_id: str | None = None) -> None:
        self.context = RunContext(config, run_id=run_id)
        self.context.result.trigger = "gameday"
        self.handler_failures: list[str] = []
        self._handlers = list(handlers)
        self._lock = threading.RLock()  # faults are announced from activity threads, guardrails from theirs
        for handler in self._handlers:
            self._call(handler, "start", self.context.run_dir)
        self.emit(RunStarted(run_id=self.context.run_id))

    @property
    def run_id(self) -> str:
        return self.context.run_id

    def emit(self, event: Event) -> None:
        with self._lock:
            self._fold(event)
            for handler in self._handlers:
                self._call(handler, "handle", event)

    def _fold(self, event: Event) -> None:
        timeline = self.context.result.timeline
        if isinstance(event, FaultInjected):
            timeline.append(event.injection.model_copy())
        elif isinstance(event, FaultHealed):
            healed = event.injection
            for index, known in enumerate(timeline):
                if (known.ended_at is None and known.fault == healed.fault and known.target == healed.target
                        and known.started_at == healed.started_at and known.experiment == healed.experiment):
                    timeline[index] = healed.model_copy()
                    break
        elif isinstance(event, Interrupted):
            self.context.result.aborted_reason = event.reason

    def _call(self, handler: EventHandler, method: str, *args: object) -> None:
        try:
            getattr(handler, method)(*args)
        except Exception as exc:  # one broken handler must cost neither the others nor the run anything
            log.exception("event handler %s failed in %s", handler.name, method)
            self.handler_failures.append(f"{handler.name}: {type(exc).__name__}: {exc}"[:300])

    def finish(self) -> int:
        """Judge, write the report (JSON first), announce the verdict; the run's exit code."""
        judgement = self.context.finish(aborted_reason=self.context.result.aborted_reason)
        self.emit(RunFinished(run=self.context.result))
        return int(judgement.exit_code)

    def shutdown(self) -> None:
        for handler in self._handlers:
            self._call(handler, "shutdown")
