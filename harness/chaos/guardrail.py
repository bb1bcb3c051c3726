"""Guardrails: abort an experiment whose SLO burns too long, or that runs past its max duration.

The max duration counts from chaoslib's start of the experiment (the steady state the harness
observes before it, with the background load's start-up, is not part of it).

The watchdog thread judges the live load series once a second: a second burns when it breaks any
abort limit the experiment sets (error rate; p95 and degraded ratio when given). To abort, it
sends SIGUSR1 to its own process: chaoslib's documented way (``chaoslib.exit.exit_gracefully``)
to stop the method *and still play the rollbacks*. The signal is only sent while chaoslib's handlers are
installed and before rollbacks start (tracked by a ``RunEventHandler``), never at a moment
where the default action (terminate the process) would apply.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any, Self

from chaoslib.run import RunEventHandler

from harness.chaos.extension import HarnessExtension
from harness.chaos.session import ChaosSession
from harness.chaos.slo import breaches, overall
from harness.model import LoadSecond


class _Arming(RunEventHandler):
    """Armed from ``started`` until rollbacks start or the run finishes."""

    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def started(self, experiment: Any, journal: Any) -> None:
        self._watchdog.experiment_started()
        self._watchdog._set_armed(True)

    def start_rollbacks(self, experiment: Any) -> None:
        self._watchdog._set_armed(False)

    def finish(self, journal: Any) -> None:
        self._watchdog._set_armed(False)


class Watchdog:
    """A thread that asks ``check()`` every ``interval_s`` whether to stop; fires once, with its reason.

    Armed (chaoslib's method is running, rollbacks have not started) it interrupts chaoslib with SIGUSR1:
    the method stops, the rollbacks still play. Disarmed, an experiment's guardrail waits for the next
    armed moment; a run-wide one (``keeps_reason``, a game day's) keeps its reason at once, so whoever
    runs the day stops at the next safe point, and signals as soon as chaoslib arms it again.
    """

    interval_s = 1.0
    keeps_reason = False

    def __init__(self) -> None:
        self.reason: str | None = None
        self.fired_at: float | None = None  # wall clock (time.time()) of the decision
        self.handler = _Arming(self)  # register with chaoslib's run_experiment(event_handlers=...)
        self._armed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"chaos-{type(self).__name__.lower()}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def check(self) -> str | None:
        """The reason to stop now, or None."""
        raise NotImplementedError

    def experiment_started(self) -> None:
        """chaoslib started an experiment (before the steady-state probes)."""

    def fired(self, reason: str) -> None:
        """Called once, from the watchdog's thread, when it decided to stop and before it interrupts chaoslib
        (e.g. to announce it); keep it short."""

    def _set_armed(self, armed: bool) -> None:
        with self._lock:
            self._armed = armed
            if armed and self.reason is not None:
                os.kill(os.getpid(), signal.SIGUSR1)  # fired while disarmed: stop this experiment at once

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.reason is not None:
                continue
            reason = self.check()
            if reason is None:
                continue
            with self._lock:
                if not self._armed and not self.keeps_reason:
                    continue  # rollbacks are running (or nothing is): never interrupt them
                self.reason, self.fired_at = reason, time.time()
                self.fired(reason)  # announced before the rollbacks it causes
                if self._armed:
                    os.kill(os.getpid(), signal.SIGUSR1)  # chaoslib: stop now, keep the rollbacks


class Guardrail(Watchdog):
    """One experiment's own guardrail: its ``abort`` limits over the live SLO, and its ``max_duration_s``."""

    def __init__(self, session: ChaosSession, extension: HarnessExtension) -> None:
        super().__init__()
        self.session = session
        self.extension = extension
        self.started = time.monotonic()  # reset when chaoslib starts the experiment

    def experiment_started(self) -> None:
        self.started = time.monotonic()  # max_duration_s is the experiment's own run

    def check(self) -> str | None:
        """The reason to abort now, or None."""
        elapsed = time.monotonic() - self.started
        if elapsed > self.extension.max_duration_s:
            return f"experiment exceeded its max duration of {self.extension.max_duration_s:g}s"
        if not self.session.injections:
            return None  # the SLO is only a guardrail once a fault is on
        limit = self.extension.abort
        rows = overall(self.session.rows())
        if not rows:
            return None
        recent = [row for row in rows if row.t > rows[-1].t - limit.grace_s]
        if len(recent) < max(int(limit.grace_s), 1):
            return None
        burns = [self._burn(row) for row in recent]
        if all(burns):
            return f"SLO burn for {limit.grace_s:g}s (last second: {'; '.join(burns[-1])})"
        return None

    def _burn(self, row: LoadSecond) -> list[str]:
        """The abort limits this second broke ([] if none; a second without requests never burns)."""
        if not row.requests:
            return []
        analyses, degraded = self.session.degraded_at(row.t)
        return breaches(self.extension.abort.as_slo(), row.errors / row.requests, row.p95_ms,
                        degraded / analyses if analyses else None)
