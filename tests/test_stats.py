"""The sampling bounds behind the gate's noise rule: exact ranks, and coverage checked by simulation."""

from __future__ import annotations

import random

import pytest

from harness.load.hdr import new_histogram, percentile_bounds, record_seconds
from harness.stats import order_statistic_ranks, wilson_interval


@pytest.mark.parametrize(("n", "q", "expected"), [
    (30, 0.95, (25, None)),      # a p95 of 30 samples has no 99 % upper bound: the maximum stands in
    (104, 0.95, (92, 104)),      # the smallest n with one (0.95^104 < 0.005)
    (300, 0.95, (275, 295)),
    (1000, 0.5, (459, 542)),
    (1, 0.95, (None, None)),
])
def test_order_statistic_ranks(n, q, expected):
    assert order_statistic_ranks(n, q) == expected


def test_bounds_cover_the_true_percentile_at_least_99_percent_of_the_time():
    rng = random.Random(7)
    true_p95 = -1000 * __import__("math").log(0.05)  # exponential, mean 1000 ms
    low_rank, high_rank = order_statistic_ranks(300, 0.95)
    misses_low = misses_high = 0
    trials = 2000
    for _ in range(trials):
        sample = sorted(rng.expovariate(1 / 1000) for _ in range(300))
        misses_low += sample[low_rank - 1] > true_p95
        misses_high += sample[high_rank - 1] < true_p95
    assert misses_low / trials <= 0.01 and misses_high / trials <= 0.01, (misses_low, misses_high)


def test_histogram_bounds_are_the_order_statistics_of_the_raw_samples():
    rng = random.Random(3)
    values = [rng.uniform(0.010, 0.200) for _ in range(500)]
    histogram = new_histogram()
    for value in values:
        record_seconds(histogram, value)
    low, high = percentile_bounds(histogram, 0.95)
    ordered = sorted(values)
    low_rank, high_rank = order_statistic_ranks(500, 0.95)
    assert low == pytest.approx(ordered[low_rank - 1] * 1000, rel=2e-3)  # HDR keeps 3 significant digits
    assert high == pytest.approx(ordered[high_rank - 1] * 1000, rel=2e-3)


def test_small_samples_fall_back_to_the_extremes():
    histogram = new_histogram()
    for ms in (10, 20, 30, 40, 50):
        record_seconds(histogram, ms / 1000)
    low, high = percentile_bounds(histogram, 0.95)
    assert high == pytest.approx(50, rel=2e-3)  # no upper rank with 5 samples: the maximum
    assert low == pytest.approx(30, rel=2e-3)  # the 3rd of 5: P(at most 2 of 5 below the p95) = 0.12 % <= 0.5 %


def test_wilson_interval_is_honest_about_zero_errors():
    low, high = wilson_interval(0, 160)
    assert low == 0 and 0.03 < high < 0.05  # 0 errors in 160 requests does not prove an error rate of 0
    assert wilson_interval(0, 0) is None
