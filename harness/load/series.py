"""Reads what the workers stream to disk and merges it into per-second ``LoadSecond`` rows.

Reading is incremental (byte offsets per file), so ``LoadRun.live()`` can be polled every
second during an hour-long soak without re-reading the files. A second is published only
once every worker has flushed it, so live rows never change afterwards.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.load import hdr
from harness.load.plan import series_file
from harness.model import LoadSecond

ALL = "all"


class SeriesReader:
    def __init__(self, out_dir: Path, workers: int) -> None:
        self.out_dir = out_dir
        self.workers = workers
        self._offsets = [0] * workers
        self._pending: dict[int, dict[str, list[Any]]] = defaultdict(dict)  # second → label → bucket
        self._flushed = [0] * workers  # per worker: seconds below this are on disk
        self._published = 0
        self.rows: list[LoadSecond] = []
        self.cpu: dict[int, list[float]] = defaultdict(list)
        # cumulative totals per label, for abort-on-breach while the run is going
        self.totals: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, hdr.new_histogram()])

    def update(self) -> list[LoadSecond]:
        for worker in range(self.workers):
            self._read(worker)
        complete = min(self._flushed)
        for second in range(self._published, complete):
            self._publish(second)
        self._published = max(self._published, complete)
        return self.rows

    def finish(self) -> list[LoadSecond]:
        """After the workers exited: publish whatever is left."""
        self.update()
        for second in sorted(s for s in self._pending if s >= self._published):
            self._publish(second)
        return self.rows

    def _read(self, worker: int) -> None:
        path = series_file(self.out_dir, worker)
        if not path.exists():
            return
        with path.open("rb") as handle:
            handle.seek(self._offsets[worker])
            data = handle.read()
        end = data.rfind(b"\n") + 1  # only whole lines; a half-written one is read next time
        self._offsets[worker] += end
        for line in data[:end].splitlines():
            self._ingest(worker, json.loads(line))

    def _ingest(self, worker: int, row: dict[str, Any]) -> None:
        if row["kind"] == "gen":
            self._flushed[worker] = max(self._flushed[worker], row["t"] + 1)
            if "cpu" in row:
                self.cpu[worker].append(row["cpu"])
            return
        bucket = self._pending[row["t"]].setdefault(row["label"], [0, 0, 0, hdr.new_histogram()])
        total = self.totals[row["label"]]
        for index, key in enumerate(("requests", "errors", "dropped")):
            bucket[index] += row[key]
            total[index] += row[key]
        if row["latency"]:
            bucket[3].decode_and_add(row["latency"])
            total[3].decode_and_add(row["latency"])

    def _publish(self, second: int) -> None:
        labels = self._pending.pop(second, {})
        merged = [0, 0, 0, hdr.new_histogram()]
        for label, bucket in sorted(labels.items()):
            self.rows.append(_row(second, label, bucket))
            for index in range(3):
                merged[index] += bucket[index]
            merged[3].add(bucket[3])
        self.rows.append(_row(second, ALL, merged))


def _row(second: int, label: str, bucket: list[Any]) -> LoadSecond:
    requests, errors, dropped, histogram = bucket
    stats = hdr.LatencyStats.of(histogram, mean=False)
    return LoadSecond(t=float(second), label=label, requests=requests, errors=errors, dropped=dropped,
                      rate=float(requests), p50_ms=stats.p50_ms, p95_ms=stats.p95_ms, p99_ms=stats.p99_ms)
