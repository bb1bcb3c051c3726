"""The observers an experiment is measured with: background load, metrics sampler, system signals.

A suite experiment owns a set for its own trial (its background load sized by its ``harness``
extension); a game day starts one set for the whole day and lends it to every trial, so the day has
one load series, one timeline and one clock (``load.start_epoch``) across all its experiments.
"""

from __future__ import annotations

import threading
import time
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
        self.load_stopped_at: float | None = None  # wall clock when the last load worker was gone
        self._running = False
        self._load_lock = threading.Lock()

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

    def stop_load_now(self, within_s: float) -> float:
        """Stop the background load at once (an abort, from any thread): every worker gone within ``within_s``
        (killed if still finishing a request), only the per-second rows kept (merging the workers' histograms
        into a LoadResult can take seconds on a busy machine). Idempotent; when the load was gone (wall clock)."""
        with self._load_lock:
            if self.load_stopped_at is None:
                if self.load.start_epoch is not None:
                    self.load.stop_within(within_s)
                self.load_stopped_at = time.time()
            return self.load_stopped_at

    def stop(self, *, within_s: float | None = None) -> LoadResult | None:
        """Stop the load, then the pollers; the load's result (None if it never started, or on an abort).

        ``within_s`` bounds the whole stop (an abort, ``stop_load_now``), and the pollers are not joined
        (daemon threads; a poll in flight ends with its own timeout).
        """
        if not self._running:
            return self.result
        self._running = False
        try:
            if within_s is not None:
                self.stop_load_now(within_s)
            elif self.load.start_epoch is not None and self.load_stopped_at is None:
                self.load.stop()
                self.result = self.load.wait(timeout_s=30)
                self.load_stopped_at = time.time()
            if self.load.start_epoch is not None:
                finished = self.result
                self.rows = list(finished.timeseries) if finished is not None else self.load.final_rows()
        finally:
            self.sampler.stop(wait=within_s is None)
            self.signals.stop(wait=within_s is None)
        return self.result
