"""The outcome of a load run: merged percentiles, counts, generator health, thresholds → Checks."""

from __future__ import annotations

import statistics
from datetime import datetime

from pydantic import BaseModel, Field

from harness.load.hdr import LatencyStats
from harness.load.profile import LoadProfile, Thresholds
from harness.model import Check, Evidence, LoadSecond, Metric, Severity, Status
from harness.stats import CONFIDENCE, wilson_interval

ALL = "all"

# threshold field → (metric used in the check id, category, unit, True when "lower is better")
METRICS: dict[str, tuple[str, str, str, bool]] = {
    "p50_ms": ("p50", "latency", "ms", True),
    "p95_ms": ("p95", "latency", "ms", True),
    "p99_ms": ("p99", "latency", "ms", True),
    "p999_ms": ("p999", "latency", "ms", True),
    "max_error_rate": ("error_rate", "errors", "ratio", True),
    "max_dropped_ratio": ("dropped_ratio", "throughput", "ratio", True),
    "min_rate": ("rate", "throughput", "req/s", False),
    "min_rate_ratio": ("rate_ratio", "throughput", "ratio", False),
}


class LabelTotals(BaseModel):
    """Counts and latency of one label (an operation or ``all``) over the whole run."""

    requests: int = 0
    errors: int = 0
    dropped: int = 0
    scheduled_rate: float = 0.0  # what the profile asked for, req/s
    latency: LatencyStats = Field(default_factory=LatencyStats)  # from the intended start time
    service: LatencyStats = Field(default_factory=LatencyStats)  # from the actual send (what Locust reports)

    def measure(self, field: str, duration_s: float) -> float | None:
        if field in ("p50_ms", "p95_ms", "p99_ms", "p999_ms"):
            return getattr(self.latency, field)
        if field == "max_error_rate":
            return self.errors / self.requests if self.requests else None
        if field == "max_dropped_ratio":
            offered = self.requests + self.dropped
            return self.dropped / offered if offered else None
        rate = self.requests / duration_s if duration_s > 0 else 0.0
        if field == "min_rate":
            return rate
        return rate / self.scheduled_rate if self.scheduled_rate else None  # min_rate_ratio


class ThresholdResult(BaseModel):
    label: str
    field: str  # the Thresholds field, e.g. p95_ms
    limit: float
    measured: float | None
    samples: int
    passed: bool
    abort: bool = False

    @property
    def metric(self) -> str:
        return METRICS[self.field][0]

    @property
    def category(self) -> str:
        return METRICS[self.field][1]


def evaluate(
    label: str, thresholds: Thresholds, totals: LabelTotals, duration_s: float
) -> list[ThresholdResult]:
    out = []
    for field, limit in thresholds.limits().items():
        measured = totals.measure(field, duration_s)
        lower_is_better = METRICS[field][3]
        passed = measured is not None and (measured <= limit if lower_is_better else measured >= limit)
        samples = totals.latency.count if field.endswith("_ms") else totals.requests + totals.dropped
        out.append(ThresholdResult(label=label, field=field, limit=limit, measured=measured,
                                   samples=samples, passed=passed, abort=thresholds.abort))
    return out


def evaluate_profile(profile: LoadProfile, totals: dict[str, LabelTotals], duration_s: float) -> list[ThresholdResult]:
    results = evaluate(ALL, profile.thresholds, totals.get(ALL, LabelTotals()), duration_s)
    for op in profile.operations:
        if op.thresholds is not None:
            results += evaluate(op.name, op.thresholds, totals.get(op.name, LabelTotals()), duration_s)
    return results


class GeneratorHealth(BaseModel):
    worker: int
    cpu_mean: float | None = None
    cpu_max: float | None = None
    saturated_fraction: float = 0.0  # share of seconds above the CPU limit
    lag: LatencyStats = Field(default_factory=LatencyStats)
    reasons: list[str] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.reasons


class TrendResult(BaseModel):
    """A linear-regression slope over the run (soak): RSS of a target process or p95 latency."""

    name: str  # e.g. rss.gateway-1, p95.all
    unit: str  # per minute
    slope_per_min: float | None
    limit: float
    points: int
    first: float | None = None
    last: float | None = None

    @property
    def passed(self) -> bool:
        return self.slope_per_min is not None and self.slope_per_min <= self.limit

    @classmethod
    def fit(cls, name: str, unit: str, samples: list[tuple[float, float]], *, limit: float,
            warmup_s: float = 0.0) -> TrendResult:
        """The slope of ``(seconds since start, value)`` samples, leaving out the first ``warmup_s``."""
        points = [(t, v) for t, v in samples if t >= warmup_s]
        return cls(name=name, unit=unit, slope_per_min=slope_per_min(points), limit=limit, points=len(points),
                   first=points[0][1] if points else None, last=points[-1][1] if points else None)


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute; None with fewer than 5 points."""
    if len(points) < 5 or len({t for t, _ in points}) < 2:
        return None
    slope, _ = statistics.linear_regression([t for t, _ in points], [v for _, v in points])
    return slope * 60


class LoadResult(BaseModel):
    profile: str
    model: str
    base_url: str
    workers: int
    started_at: datetime
    duration_s: float
    scheduled: int  # arrivals the schedule offered (sent + dropped)
    requests: int
    errors: int
    dropped: int
    error_rate: float
    achieved_rate: float
    scheduled_rate: float
    labels: dict[str, LabelTotals]  # "all" and each operation
    lag: LatencyStats  # began - intended, all workers
    generators: list[GeneratorHealth]
    thresholds: list[ThresholdResult]
    trends: list[TrendResult] = Field(default_factory=list)
    timeseries: list[LoadSecond] = Field(default_factory=list)
    rss_mb: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)
    inconclusive: str | None = None
    aborted: str | None = None
    artifacts: list[str] = Field(default_factory=list)

    @property
    def latency(self) -> LatencyStats:
        return self.labels.get(ALL, LabelTotals()).latency

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.thresholds) and all(t.passed for t in self.trends)

    def summary(self) -> str:
        lat = self.latency
        return (f"{self.profile}: {self.requests} requests in {self.duration_s:.1f}s "
                f"({self.achieved_rate:.1f}/s of {self.scheduled_rate:.1f}/s scheduled), "
                f"errors {self.error_rate:.2%}, dropped {self.dropped}, "
                f"p50 {_ms(lat.p50_ms)} p95 {_ms(lat.p95_ms)} p99 {_ms(lat.p99_ms)}")

    def to_checks(self, suite: str = "load") -> list[Check]:
        """One Check per threshold and trend, plus one for the generator's own health."""
        checks = [self.threshold_check(t, suite) for t in self.thresholds]
        checks += [self._trend_check(t, suite) for t in self.trends]
        checks.append(self._generator_check(suite))
        return checks

    def to_metrics(self, suite: str = "load") -> list[Metric]:
        """Named numbers per label for baselines (``load.smoke.list_analyses.p95_ms``), with their bounds.

        None when the generator was unhealthy: its numbers may describe the generator, not the target.
        """
        if self.inconclusive:
            return []
        out = []
        for label in sorted(self.labels, key=lambda name: (name != ALL, name)):
            totals, base = self.labels[label], f"{suite}.{self.profile}.{label}"
            latency = totals.latency
            for name in ("p50", "p95", "p99"):
                low, high = latency.bounds_ms.get(name, (None, None))
                out.append(Metric(name=f"{base}.{name}_ms", value=latency.metric(name), unit="ms",
                                  samples=latency.count, low=low, high=high,
                                  confidence=CONFIDENCE if latency.bounds_ms else None))
            interval = wilson_interval(totals.errors, totals.requests)
            out.append(Metric(name=f"{base}.error_rate", value=totals.measure("max_error_rate", self.duration_s),
                              unit="ratio", samples=totals.requests, low=interval[0] if interval else None,
                              high=interval[1] if interval else None, confidence=CONFIDENCE if interval else None))
            out.append(Metric(name=f"{base}.rate", value=totals.measure("min_rate", self.duration_s), unit="req/s",
                              samples=totals.requests, higher_is_worse=False))
        return out

    def _status(self, passed: bool) -> Status:
        if self.inconclusive:
            return Status.SKIPPED  # the generator, not the target, may be to blame
        return Status.PASS if passed else Status.FAIL

    def threshold_check(self, t: ThresholdResult, suite: str = "load") -> Check:
        unit = METRICS[t.field][2]
        shown = "no samples" if t.measured is None else f"{t.measured:.4g} {unit}"
        verb = "≤" if METRICS[t.field][3] else "≥"
        message = f"{t.label} {t.metric}: measured {shown}, limit {verb} {t.limit:g} {unit} ({t.samples} samples)"
        if self.inconclusive:
            message = f"inconclusive ({self.inconclusive}); {message}"
        return Check(
            id=f"load.{self.profile}.{t.metric}.{t.label}", suite=suite, category=t.category,
            title=f"{t.label} {t.metric} {verb} {t.limit:g} {unit} under the {self.profile} profile",
            severity=Severity.MEDIUM, status=self._status(t.passed), message=message,
            evidence=Evidence(measured={"measured": t.measured, "limit": t.limit, "unit": unit,
                                        "samples": t.samples, "label": t.label,
                                        "achieved_rate": round(self.achieved_rate, 3)},
                              artifacts=self.artifacts),
        )

    def _trend_check(self, t: TrendResult, suite: str) -> Check:
        shown = "too few points" if t.slope_per_min is None else f"{t.slope_per_min:.3g} {t.unit}"
        return Check(
            id=f"load.{self.profile}.trend.{t.name}", suite=suite, category="resources",
            title=f"{t.name} grows at most {t.limit:g} {t.unit}", severity=Severity.MEDIUM,
            status=self._status(t.passed), message=f"{t.name}: slope {shown} (limit {t.limit:g}, {t.points} points)",
            evidence=Evidence(measured={"slope_per_min": t.slope_per_min, "limit": t.limit, "unit": t.unit,
                                        "points": t.points, "first": t.first, "last": t.last}),
        )

    def _generator_check(self, suite: str) -> Check:
        reasons = [r for g in self.generators for r in g.reasons]
        return Check(
            id=f"load.{self.profile}.generator.health", suite=suite, category="generator",
            title="load generator kept up with its schedule (CPU and lag within limits)",
            severity=Severity.INFO, status=Status.SKIPPED if reasons else Status.PASS,
            message="; ".join(reasons) or f"{self.workers} worker(s) healthy, schedule lag p99 {_ms(self.lag.p99_ms)}",
            evidence=Evidence(measured={"lag_p99_ms": self.lag.p99_ms, "lag_max_ms": self.lag.max_ms,
                                        "workers": [g.model_dump(exclude={"lag"}) for g in self.generators]}),
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"
