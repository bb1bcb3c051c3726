"""HDR histograms merged across processes give the same percentiles as one histogram, to 0.1 %."""

from __future__ import annotations

import random

import pytest

from harness.load import hdr


def exact_percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(round(p / 100 * len(ordered) + 0.5) - 1, 0)  # nearest rank
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


def test_bulk_recording_matches_one_value_at_a_time() -> None:
    rng = random.Random(11)
    values = [int(rng.lognormvariate(7, 2.5)) for _ in range(20_000)] + [-5, 0, 1, 2047, 2048, 10**12]
    small = [v for v in values if v < hdr.TABLE_LIMIT_US] + [hdr.TABLE_LIMIT_US - 1]  # the lookup-table path
    large = [v for v in values if v >= hdr.TABLE_LIMIT_US]  # the arithmetic path
    one_by_one, bulk = hdr.new_histogram(), hdr.new_histogram()
    for value in small + large:
        one_by_one.record_value(min(max(value, hdr.LOWEST_US), hdr.HIGHEST_US))
    hdr.record_many_us(bulk, small[:5_000])
    hdr.record_many_us(bulk, small[5_000:])
    hdr.record_many_us(bulk, large)
    hdr.record_many_us(bulk, [])
    assert list(bulk.counts) == list(one_by_one.counts)
    assert (bulk.get_total_count(), bulk.get_min_value(), bulk.get_max_value()) == \
        (one_by_one.get_total_count(), one_by_one.get_min_value(), one_by_one.get_max_value())
    assert hdr.encode(bulk) == hdr.encode(one_by_one)
