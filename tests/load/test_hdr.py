"""HDR histograms merged across processes give the same percentiles as one histogram, to 0.1 %."""

from __future__ import annotations

import random

import pytest

from harness.load import hdr


def exact_percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(int(round(p / 100 * len(ordered) + 0.5)) - 1, 0)  # nearest rank
    return ordered[min(rank, len(ordered) - 1)]


def test_merged_percentiles_match_the_exact_values() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(-3, 1.2) for _ in range(50_000)]  # seconds, long tail
    parts = [hdr.new_histogram() for _ in range(4)]
    for index, value in enumerate(values):
        hdr.record_seconds(parts[index % 4], value)
    merged = hdr.merge([hdr.encode(part) for part in parts])
    stats = hdr.LatencyStats.of(merged)
    assert stats.count == len(values)
    for name, p in hdr.PERCENTILES.items():
        assert stats.metric(name) == pytest.approx(exact_percentile(values, p) * 1000, rel=0.002), name


def test_empty_histogram_has_no_percentiles() -> None:
    stats = hdr.LatencyStats.of(hdr.merge(["", ""]))
    assert stats.count == 0 and stats.p99_ms is None
