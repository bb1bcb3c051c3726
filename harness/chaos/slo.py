"""Steady state as numbers: SLO windows over the background load's per-second series.

The load engine gives one ``LoadSecond`` per second (requests, errors, p95 from the intended
start time); the metrics sampler gives analyses answered and how many were degraded. A window
is judged on its totals; time-to-detect / time-to-recover are read second by second.

``LoadSecond`` carries percentiles, not histograms, so a window's p95 is the request-weighted
95th percentile of its per-second p95 values (an upper-leaning approximation, stated in evidence).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from harness.chaos.extension import Slo
from harness.model import LoadSecond

DegradedLookup = Callable[[float, float], tuple[int, int]]  # (wall start, wall end) -> (analyses, degraded)


class Window(BaseModel):
    """One judged window of the steady state."""

    name: str
    start_s: float  # seconds since the load started
    end_s: float
    requests: int = 0
    errors: int = 0
    error_rate: float | None = None
    p95_ms: float | None = None
    analyses: int = 0
    degraded: int = 0
    degraded_ratio: float | None = None
    ok: bool = True
    inconclusive: bool = False
    reasons: list[str] = []


def weighted_percentile(points: Sequence[tuple[float, int]], q: float) -> float | None:
    """The ``q`` quantile of values weighted by their counts."""
    points = sorted((v, w) for v, w in points if w > 0)
    total = sum(w for _, w in points)
    if not total:
        return None
    threshold = q * total
    running = 0
    for value, weight in points:
        running += weight
        if running >= threshold:
            return value
    return points[-1][0]


def overall(rows: Sequence[LoadSecond]) -> list[LoadSecond]:
    return [row for row in rows if row.label == "all"]


def judge(name: str, rows: Sequence[LoadSecond], slo: Slo, degraded: tuple[int, int], start_s: float,
          end_s: float) -> Window:
    """Judge the ``all`` rows with ``start_s <= t < end_s`` against ``slo``."""
    chosen = [row for row in overall(rows) if start_s <= row.t < end_s]
    requests = sum(row.requests for row in chosen)
    errors = sum(row.errors for row in chosen)
    analyses, degraded_n = degraded
    window = Window(name=name, start_s=start_s, end_s=end_s, requests=requests, errors=errors,
                    error_rate=errors / requests if requests else None,
                    p95_ms=weighted_percentile([(row.p95_ms, row.requests) for row in chosen
                                                if row.p95_ms is not None], 0.95),
                    analyses=analyses, degraded=degraded_n,
                    degraded_ratio=degraded_n / analyses if analyses else None)
    if requests < slo.min_requests:
        window.inconclusive = True
        window.reasons.append(f"only {requests} requests in {end_s - start_s:.0f}s (need {slo.min_requests})")
        return window
    window.reasons = breaches(slo, window.error_rate, window.p95_ms, window.degraded_ratio)
    window.ok = not window.reasons
    return window


def breaches(slo: Slo, error_rate: float | None, p95_ms: float | None, degraded_ratio: float | None) -> list[str]:
    out = []
    if slo.max_error_rate is not None and error_rate is not None and error_rate > slo.max_error_rate:
        out.append(f"error rate {error_rate:.1%} > {slo.max_error_rate:.1%}")
    if slo.max_p95_ms is not None and p95_ms is not None and p95_ms > slo.max_p95_ms:
        out.append(f"p95 {p95_ms:.0f} ms > {slo.max_p95_ms:.0f} ms")
    if slo.max_degraded_ratio is not None and degraded_ratio is not None and degraded_ratio > slo.max_degraded_ratio:
        out.append(f"degraded answers {degraded_ratio:.1%} > {slo.max_degraded_ratio:.1%}")
    return out


def second_is_good(row: LoadSecond, degraded: tuple[int, int], slo: Slo) -> bool | None:
    """None for a second without traffic (no evidence either way)."""
    if row.requests == 0 and row.errors == 0:
        return None
    analyses, degraded_n = degraded
    return not breaches(slo, row.errors / row.requests if row.requests else 1.0, row.p95_ms,
                        degraded_n / analyses if analyses else None)


def time_to_detect(rows: Sequence[LoadSecond], degraded_at: Callable[[float], tuple[int, int]], slo: Slo,
                   fault_start_s: float, fault_end_s: float) -> float | None:
    """Seconds from the fault's start to the first second that breaks the SLO (None: never)."""
    for row in overall(rows):
        if row.t + 1 <= fault_start_s or row.t > fault_end_s + 5:
            continue
        if second_is_good(row, degraded_at(row.t), slo) is False:
            return max(row.t - fault_start_s, 0.0)
    return None


def time_to_recover(rows: Sequence[LoadSecond], degraded_at: Callable[[float], tuple[int, int]], slo: Slo,
                    fault_end_s: float, settle_s: float) -> float | None:
    """Seconds from the fault's end to the first of ``settle_s`` consecutive good seconds (None: never)."""
    needed = max(math.ceil(settle_s), 1)
    streak_start: float | None = None
    streak = 0
    for row in overall(rows):
        if row.t + 1 <= fault_end_s:
            continue
        good = second_is_good(row, degraded_at(row.t), slo)
        if good is None:
            continue  # an empty second neither breaks nor builds the streak
        if good:
            streak_start = row.t if streak == 0 else streak_start
            streak += 1
            if streak >= needed and streak_start is not None:
                return max(streak_start - fault_end_s, 0.0)
        else:
            streak, streak_start = 0, None
    return None
