"""A load worker's bookkeeping: per-second HDR buckets streamed to disk, and whole-run histograms.

Imported only by ``harness.load.worker`` (after gevent's monkey-patching); it needs no gevent itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from harness.load import hdr
from harness.load.plan import WorkerPlan, series_file


class Recorder:
    """Per-second buckets (streamed to disk) and whole-run histograms for one worker.

    Requests arrive as ``(op_index, intended, began, ended, ok)`` tuples in ``pending`` (one
    list append on the hot path) and drops as ``(op_index, offset_s)`` in ``pending_drops``;
    ``drain()`` folds them in. Every histogram is a standard HDR histogram, so per-second and
    whole-run ones still merge exactly across workers.
    """

    def __init__(self, plan: WorkerPlan) -> None:
        self.plan = plan
        self.names = [op.name for op in plan.profile.operations]
        self.start = 0.0
        self.pending: list[tuple[int, float, float, float, bool]] = []
        self.pending_drops: list[tuple[int, float]] = []
        # second → op index → [requests, errors, dropped, latency µs values]
        self.seconds: dict[int, dict[int, list[Any]]] = defaultdict(dict)
        self.second_lag: dict[int, int] = {}  # second (of the send) → max lag µs
        self.latency = [hdr.new_histogram() for _ in self.names]  # whole run, from per-second ones
        self.service = [hdr.new_histogram() for _ in self.names]
        self.counts = [[0, 0, 0] for _ in self.names]  # requests, errors, dropped
        self.lag = hdr.new_histogram()
        self.cpu: list[float] = []
        self.flushed_upto = 0
        self.series = series_file(plan.out_dir, plan.worker_index).open("a", buffering=1)

    def drain(self) -> None:
        """Fold pending records into per-second buckets and the whole-run service/lag histograms."""
        start, floor = self.start, self.flushed_upto
        seconds, counts = self.seconds, self.counts
        if self.pending_drops:
            drops = self.pending_drops.copy()
            self.pending_drops.clear()
            for op, offset in drops:  # a drop belongs to the second it was due (or the oldest open one)
                second = int(offset)
                bucket = seconds[second if second > floor else floor].get(op)
                if bucket is None:
                    bucket = seconds[second if second > floor else floor][op] = [0, 0, 0, []]
                bucket[2] += 1
                counts[op][2] += 1
        if not self.pending:
            return
        batch = self.pending.copy()
        self.pending.clear()
        service: list[list[int]] = [[] for _ in self.names]
        lags: list[int] = []
        second_lag = self.second_lag
        current, buckets = -1, seconds[floor]
        for op, intended, began, ended, ok in batch:
            second = int(ended - start)
            if second != current:
                current = second
                buckets = seconds[second if second > floor else floor]
            bucket = buckets.get(op)
            if bucket is None:
                bucket = buckets[op] = [0, 0, 0, []]
            bucket[0] += 1
            if not ok:
                bucket[1] += 1
                counts[op][1] += 1
            bucket[3].append(int((ended - intended) * 1_000_000))
            service[op].append(int((ended - began) * 1_000_000))
            lag = int((began - intended) * 1_000_000)
            lags.append(lag)
            sent = int(began - start)
            if sent < floor:
                sent = floor
            if lag > second_lag.get(sent, -1):
                second_lag[sent] = lag
        for op, values in enumerate(service):
            counts[op][0] += len(values)
            hdr.record_many_us(self.service[op], values)
        hdr.record_many_us(self.lag, lags)

    def flush(self, upto: int, cpu: float | None) -> None:
        """Write every second below ``upto`` as JSON lines (one per label, plus a 'gen' line)."""
        self.drain()
        names, write = self.names, self.series.write
        for second in range(self.flushed_upto, upto):
            for op, (requests, errors, dropped, values) in sorted(self.seconds.pop(second, {}).items(),
                                                                  key=lambda item: names[item[0]]):
                encoded = ""
                if values:
                    histogram = hdr.new_histogram()
                    hdr.record_many_us(histogram, values)
                    self.latency[op].add(histogram)
                    encoded = hdr.encode(histogram)
                write(json.dumps({"kind": "second", "t": second, "label": names[op], "requests": requests,
                                  "errors": errors, "dropped": dropped, "latency": encoded}) + "\n")
            lag = self.second_lag.pop(second, None)
            gen = {"kind": "gen", "t": second, "worker": self.plan.worker_index,
                   "lag_max_ms": max(lag, hdr.LOWEST_US) / 1000 if lag is not None else 0.0}
            if cpu is not None and second == upto - 1:
                gen["cpu"] = cpu
            write(json.dumps(gen) + "\n")
        self.flushed_upto = max(self.flushed_upto, upto)

    def summary(self, scheduled: int, ended: float, stopped_early: bool) -> dict[str, Any]:
        labels = {}
        for op, (requests, errors, dropped) in enumerate(self.counts):
            if requests or errors or dropped:
                labels[self.names[op]] = {
                    "requests": requests, "errors": errors, "dropped": dropped,
                    "latency": hdr.encode(self.latency[op]) if requests else "",
                    "service": hdr.encode(self.service[op]) if requests else ""}
        return {"worker": self.plan.worker_index, "scheduled": scheduled, "started_at": self.start,
                "ended_at": ended, "stopped_early": stopped_early, "labels": labels,
                "lag": hdr.encode(self.lag) if self.lag.get_total_count() else "", "cpu": self.cpu}
