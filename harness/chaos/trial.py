"""Everything that runs around one experiment: background load, metrics sampler, system signals, tracked writes.

Every way of running an experiment uses it: ``ChaosRunner`` (``harness run --suite chaos``, game days) and
the Chaos Toolkit control (standalone ``chaos run`` against a system started with ``harness up``).
``start()`` brings the instruments up and observes the steady state; ``stop()`` (idempotent,
bounded) takes them down and returns the background load's result. A game day lends the trial its
day-long ``Instruments``: the trial then starts and stops only its tracked writes, and judges the
load series from its own start (``window_start_s``) to its end.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.chaos.background import background_profile, external_background_profile
from harness.chaos.bounded import ACTIVITY_THREAD_PREFIX
from harness.chaos.extension import HarnessExtension
from harness.chaos.guardrail import Guardrail
from harness.chaos.instruments import Instruments
from harness.chaos.precondition import wait_until_healthy
from harness.chaos.report import ExperimentReport, WriteSummary
from harness.chaos.session import ChaosSession
from harness.chaos.slo import time_to_recover
from harness.chaos.writes import WriteTracker
from harness.events import Event
from harness.load import LoadResult

WRITER_IDENTITIES = ["acme_user", "globex_user"]


class Trial:
    def __init__(self, platform: Any, target: Any, name: str, extension: HarnessExtension, *, out_dir: Path,
                 allow_hosts: tuple[str, ...] = (), load_workers: int = 1, state_dir: Path | None = None,
                 writer_identities: list[str] | None = None, seed: int = 1,
                 emit: Callable[[Event], None] | None = None, instruments: Instruments | None = None,
                 halted: Callable[[], bool] = lambda: False) -> None:
        """``instruments``: lent for the trial (a game day's); None: the trial runs its own, sized by ``extension``.
        ``halted``: a run-wide stop (a game day's guardrail); the trial's waits end as soon as it is true."""
        self.name = name
        self.extension = extension
        self.out_dir = Path(out_dir)
        self.session = ChaosSession(platform=platform, target=target, experiment=name, extension=extension,
                                    emit=emit)
        self.owns_instruments = instruments is None
        if instruments is None:
            if getattr(platform, "name", "") == "external":  # a system the user runs: its own operations
                profile = external_background_profile(target, extension.load.rate, load_duration_s(extension),
                                                      seed=seed)
            else:
                profile = background_profile(extension.load.rate, load_duration_s(extension), seed=seed)
            instruments = Instruments(platform, target, profile, out_dir=self.out_dir / "load", allow_hosts=allow_hosts,
                                      load_workers=load_workers, state_dir=state_dir)
        self.instruments = instruments
        self.sampler, self.signals, self.load = instruments.sampler, instruments.signals, instruments.load
        identities = writer_identities or [n for n in WRITER_IDENTITIES if n in target.identities]
        self.writes = WriteTracker(target, identities=identities, rate_per_s=extension.load.writes_per_s,
                                   allow_hosts=allow_hosts)
        self.session.sampler, self.session.writes, self.session.load = self.sampler, self.writes, self.load
        self.started = time.monotonic()
        self.allow_hosts = allow_hosts
        self.halted = halted
        self.window_start_s = 1.0  # load seconds: the trial's own steady state starts here (the first is warm-up)
        self.window_end_s: float | None = None  # a lent load runs on after the trial: its series is cut here
        self._result: LoadResult | None = None
        self._running = False

    def start(self) -> Trial:
        """Wait for a healthy system, start every instrument and let the load run ``steady_state_s`` seconds.

        Stops the instruments again on failure.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        wait_until_healthy(self.signals.replicas, self.signals.lb_backends, allow_hosts=self.allow_hosts,
                           halted=self.halted)
        self.started = time.monotonic()
        self._running = True
        try:
            if self.owns_instruments:
                self.instruments.start()
            else:
                self.window_start_s = float(math.ceil(self.session.load_time()))
            self.writes.start()
            self.observe_steady_state()
        except BaseException:
            self.stop()
            raise
        return self

    def observe_steady_state(self) -> None:
        """Let the load run ``steady_state_s`` seconds (plus the first, warm-up second) before the fault."""
        deadline = time.monotonic() + self.extension.steady_state_s + 15
        while time.monotonic() < deadline and not self.halted():
            rows = [r for r in self.session.rows() if r.label == "all"]
            if rows and rows[-1].t + 1 >= self.window_start_s + self.extension.steady_state_s:
                return
            time.sleep(0.25)

    def wait_for_recovery(self) -> None:
        """Keep observing after the heal until the SLO held ``settle_s`` seconds (or ``recover_within_s``)."""
        extension = self.extension
        fault_end = self.session.fault_end_s()
        deadline = time.monotonic() + extension.recover_within_s + extension.settle_s + 2
        while time.monotonic() < deadline and not self.halted():
            if time_to_recover(self.session.rows(), self.session.degraded_at, extension.slo, fault_end,
                               extension.settle_s) is not None:
                return
            time.sleep(0.5)

    def end_experiment(self, guard: Guardrail, report: ExperimentReport) -> None:
        """Right after chaoslib: stop the guardrail, heal whatever the rollbacks left, note an abort."""
        guard.stop()
        if self.session.left_by_rollbacks is None or self.session.open_injections() or activity_still_running():
            self.session.heal()  # the harness's safety net (the experiment's own heal_platform ran last otherwise)
        report.heal_done_s = self.session.load_time()
        report.aborted = guard.reason

    def observe_recovery(self, report: ExperimentReport) -> None:
        """Keep the load on until the SLO recovered, then read back every acknowledged write (if expected)."""
        self.wait_for_recovery()
        self.writes.stop()
        if self.extension.expect.no_data_lost and not self.halted():
            report.read_back = WriteSummary.of(self.writes, self.writes.read_back())

    def stop(self) -> LoadResult | None:
        """Stop writes and (when the trial owns them) load, sampler and signals, bounded; the load's result
        (None if it never started, or the load is lent: the lender stops it)."""
        if not self._running:
            return self._result
        self._running = False
        self.window_end_s = self.session.load_time()
        self.writes.stop(wait=not self.halted())
        if self.owns_instruments:
            self._result = self.instruments.stop()
        return self._result

    def rows(self, result: LoadResult | None) -> list[Any]:
        """The load series this trial is judged on: its own load's, or the lent load's up to the trial's end."""
        if self.owns_instruments:
            return list(result.timeseries) if result is not None else []
        end = self.window_end_s if self.window_end_s is not None else self.session.load_time()
        return [row for row in self.session.rows() if row.t < end]

    @property
    def duration_s(self) -> float:
        return time.monotonic() - self.started


def activity_still_running() -> bool:
    """An activity that outlived its hard timeout may still apply its fault (``harness.chaos.bounded``)."""
    return any(thread.name.startswith(ACTIVITY_THREAD_PREFIX) and thread.is_alive() for thread in threading.enumerate())


def load_duration_s(extension: HarnessExtension) -> float:
    """Background load long enough for the longest trial: steady state, the experiment up to its max
    duration, the recovery wait and read-back (``stop()`` ends it as soon as the trial is over)."""
    return (extension.steady_state_s + 15 + extension.max_duration_s + extension.recover_within_s
            + extension.settle_s + 20)
