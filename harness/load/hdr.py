"""HDR histograms (the ``hdrhistogram`` package): record in µs, encode per process, merge in the parent.

Three significant digits over 1 µs .. 10 min keeps p99.9 within 0.1 % of the exact value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, Field

from harness.stats import order_statistic_ranks

LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes
SIGNIFICANT_DIGITS = 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_seconds(histogram: HdrHistogram, seconds: float) -> None:
    """Record a duration given in seconds (clamped into the histogram's range)."""
    histogram.record_value(min(max(int(seconds * 1_000_000), LOWEST_US), HIGHEST_US))


def record_many_us(histogram: HdrHistogram, values: Sequence[int]) -> None:
    """Record many durations in whole µs at once (clamped into range), same counts as ``record_value``.

    The load worker appends raw µs values per request and folds them in here a few times a second.
    Bucket indices come from a lookup table below ``TABLE_LIMIT_US`` (else ``HdrHistogram``'s
    arithmetic, inlined) and are counted in C (``Counter``): ~80 ns a value instead of the ~850 ns
    of ``HdrHistogram.record_value``'s chain of method calls.
    """
    if not values:
        return
    low, high = min(values), max(values)
    if low < LOWEST_US or high > HIGHEST_US:
        values = [LOWEST_US if v < LOWEST_US else HIGHEST_US if v > HIGHEST_US else v for v in values]
        low, high = max(low, LOWEST_US), min(high, HIGHEST_US)
    layout = (histogram.sub_bucket_mask, histogram.unit_magnitude, histogram.sub_bucket_half_count_magnitude,
              histogram.sub_bucket_half_count)
    if high < TABLE_LIMIT_US:
        table = _INDEX_TABLES.get(layout)
        if table is None:
            table = _INDEX_TABLES[layout] = _counts_indices(range(TABLE_LIMIT_US), *layout)
        indices = Counter([table[v] for v in values])
    else:
        indices = Counter(_counts_indices(values, *layout))
    counts = histogram.counts
    for index, count in indices.items():
        counts[index] += count
    histogram.total_count += len(values)
    histogram.min_value = min(histogram.min_value, low)
    histogram.max_value = max(histogram.max_value, high)


TABLE_LIMIT_US = 1 << 15  # 32.8 ms: the table costs ~1 MB and ~5 ms to build, once per process
_INDEX_TABLES: dict[tuple[int, int, int, int], list[int]] = {}


def _counts_indices(values: Iterable[int], mask: int, unit: int, magnitude: int, half: int) -> list[int]:
    """``HdrHistogram._counts_index_for`` of each value, inlined: the bucket is the bit length above
    the sub-bucket range, the sub-bucket the value shifted down by it."""
    shift = unit + magnitude + 1
    return [(((b := (v | mask).bit_length() - shift) + 1) << magnitude) + (v >> (b + unit)) - half for v in values]


def encode(histogram: HdrHistogram) -> str:
    return histogram.encode().decode("ascii")


def merge(encoded: list[str]) -> HdrHistogram:
    merged = new_histogram()
    for item in encoded:
        if item:
            merged.decode_and_add(item)
    return merged


class LatencyStats(BaseModel):
    """Percentiles of one histogram, in milliseconds."""

    count: int = 0
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    min_ms: float | None = None
    # percentile name -> (low, high) at stats.CONFIDENCE, for whole-run totals only (see ``percentile_bounds``)
    bounds_ms: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @classmethod
    def of(cls, histogram: HdrHistogram, *, mean: bool = True, bounds: bool = False) -> LatencyStats:
        """Percentiles in one pass over the buckets; ``mean`` costs another full pass (skip it per second).

        ``bounds`` adds each percentile's confidence interval (a few more passes: totals only).
        """
        count = histogram.get_total_count()
        if count == 0:
            return cls()
        by_percentile = histogram.get_percentile_to_value_dict(list(PERCENTILES.values()))
        values = {f"{name}_ms": by_percentile[p] / 1000 for name, p in PERCENTILES.items()}
        return cls(
            count=count,
            mean_ms=histogram.get_mean_value() / 1000 if mean else None,
            max_ms=histogram.get_max_value() / 1000,
            min_ms=histogram.get_min_value() / 1000,
            bounds_ms={name: percentile_bounds(histogram, p / 100) for name, p in PERCENTILES.items()} if bounds else {},
            **values,
        )

    def metric(self, name: str) -> float | None:
        """``p95`` → ``p95_ms``."""
        return getattr(self, f"{name}_ms", None)


def percentile_bounds(histogram: HdrHistogram, q: float) -> tuple[float, float]:
    """The q-quantile's order-statistic confidence interval in ms, read off the histogram.

    When the run has too few samples for a bound at ``stats.CONFIDENCE`` (a p95's upper bound needs
    104 samples), the sample's extreme stands in: the maximum bounds the p95 of 30 samples with only
    1 - 0.95^30 = 79 % confidence, which the gate's comparison rule accounts for (docs/gate.md).
    """
    count = histogram.get_total_count()
    low_rank, high_rank = order_statistic_ranks(count, q)
    low = histogram.get_value_at_percentile(100.0 * low_rank / count) if low_rank else histogram.get_min_value()
    high = histogram.get_value_at_percentile(100.0 * high_rank / count) if high_rank else histogram.get_max_value()
    return low / 1000, high / 1000
