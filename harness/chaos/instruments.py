"""The observers an experiment is measured with: background load, metrics sampler, system signals.

A suite experiment owns a set for its own trial (its background load sized by its ``harness``
extension); a game day starts one set for the whole day and lends it to every trial, so the day has
one load series, one timeline and one clock (``load.start_epoch``) across all its experiments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.chaos.background import TrackedLoadRun
from harness.chaos.observe import MetricsSampler
from harness.chaos.session import replica_urls
from harness.chaos.signals import SystemSignals
from harness.load import LoadProfile, LoadResult
from harness.model import LoadSecond


class Instruments:
    def __init__(self, platform: Any, target: Any, profile: LoadProfile, *, out_dir: Path,
                 allow_hosts: tuple[str, ...] = (), load_workers: int = 1, state_dir: Path | None = None) -> None:
        urls = replica_urls(platform)
        self.sampler = MetricsSampler(urls, interval_s=0.05, allow_hosts=allow_hosts)
        self.signals = SystemSignals(urls, getattr(platform, "lb_backends", None), allow_hosts=allow_hosts)
        self.load = TrackedLoadRun(profile, target, workers=load_workers, out_dir=Path(out_dir),
                                   allow_hosts=allow_hosts, state_dir=state_dir)
        self.result: LoadResult | None = None
        self.rows: list[LoadSecond] = []  # the whole series once stopped (also after a hard stop)
        self._running = False

    def start(self) -> Instruments:
        """Sampler, signals, then the load (its workers log in and run their setup first). Stops them on failure."""
        self._running = True
        try:
            self.sampler.start()
            self.signals.start()
            self.load.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, within_s: float | None = None) -> LoadResult | None:
        """Stop the load, then the pollers; the load's result (None if it never started, or on an abort).

        ``within_s`` bounds the whole stop (an abort): load workers still finishing requests then are killed,
        only the per-second rows are kept (no generator health), and the pollers are not joined (daemon
        threads; a poll in flight ends with its own timeout).
        """
        if not self._running:
            return self.result
        self._running = False
        try:
            if self.load.start_epoch is not None:
                if within_s is None:
                    self.load.stop()
                    self.result = self.load.wait(timeout_s=30)
                else:  # an abort: the workers are gone within the bound; merging their histograms into a
                    # LoadResult can take seconds on a busy machine, so only the per-second rows are kept
                    self.load.stop_within(within_s)
                self.rows = list(self.result.timeseries) if self.result is not None else self.load.final_rows()
        finally:
            self.sampler.stop(wait=within_s is None)
            self.signals.stop(wait=within_s is None)
        return self.result
