"""Thresholds become Checks with measured value, limit and sample count; unhealthy → skipped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.load.hdr import LatencyStats
from harness.load.profile import Thresholds
from harness.load.result import GeneratorHealth, LabelTotals, LoadResult, TrendResult, evaluate, slope_per_min
from harness.model import Status


def totals(p95: float, requests: int = 100, errors: int = 0, dropped: int = 0) -> LabelTotals:
    return LabelTotals(requests=requests, errors=errors, dropped=dropped, scheduled_rate=10.0,
                       latency=LatencyStats(count=requests, p50_ms=p95 / 2, p95_ms=p95, p99_ms=p95 * 1.5))


def result(thresholds, inconclusive=None) -> LoadResult:  # type: ignore[no-untyped-def]
    return LoadResult(profile="smoke", model="open", base_url="http://127.0.0.1:1", workers=1,
                      started_at=datetime.now(UTC), duration_s=10, scheduled=100, requests=100,
                      errors=0, dropped=0, error_rate=0, achieved_rate=10, scheduled_rate=10, labels={},
                      lag=LatencyStats(),
                      generators=[GeneratorHealth(worker=0, reasons=[inconclusive] if inconclusive else [])], thresholds=thresholds, inconclusive=inconclusive)


def test_each_limit_is_evaluated_against_its_metric() -> None:
    limits = Thresholds(p95_ms=200, max_error_rate=0.01, min_rate_ratio=0.9, max_dropped_ratio=0.05)
    outcome = {t.field: t for t in evaluate("all", limits, totals(250, errors=2, dropped=3), 10.0)}
    assert not outcome["p95_ms"].passed and outcome["p95_ms"].measured == 250
    assert not outcome["max_error_rate"].passed and outcome["max_error_rate"].measured == pytest.approx(0.02)
    assert outcome["min_rate_ratio"].passed and outcome["min_rate_ratio"].measured == pytest.approx(1.0)
    assert outcome["max_dropped_ratio"].passed and outcome["max_dropped_ratio"].measured == pytest.approx(3 / 103)


def test_no_samples_fails_instead_of_passing() -> None:
    [p95] = evaluate("op", Thresholds(p95_ms=100), LabelTotals(), 10.0)
    assert p95.measured is None and not p95.passed


def test_checks_carry_id_category_and_evidence() -> None:
    thresholds = evaluate("create_analysis", Thresholds(p95_ms=200, max_error_rate=0.01), totals(150), 10.0)
    checks = {c.id: c for c in result(thresholds).to_checks()}
    p95 = checks["load.smoke.p95.create_analysis"]
    assert p95.status is Status.PASS and p95.category == "latency"
    assert p95.evidence.measured["measured"] == 150 and p95.evidence.measured["limit"] == 200
    assert p95.evidence.measured["samples"] == 100
    assert checks["load.smoke.error_rate.create_analysis"].category == "errors"
    assert checks["load.smoke.generator.health"].status is Status.PASS


def test_inconclusive_run_skips_instead_of_failing() -> None:
    thresholds = evaluate("all", Thresholds(p95_ms=100), totals(500), 10.0)
    checks = result(thresholds, inconclusive="worker 0: CPU saturated").to_checks()
    assert {c.status for c in checks} == {Status.SKIPPED}
    assert "inconclusive" in checks[0].message


def test_slope_is_per_minute_and_needs_enough_points() -> None:
    assert slope_per_min([(t, 100 + 0.5 * t) for t in range(10)]) == pytest.approx(30)
    assert slope_per_min([(0, 1), (1, 2)]) is None


def test_trend_leaves_the_warm_up_out() -> None:
    # RSS climbs 20 MB while caches fill during the first 10 s, then stays flat
    samples = [(float(t), 80 + 2.0 * min(t, 10)) for t in range(40)]
    assert not TrendResult.fit("rss.gw", "MB/min", samples, limit=5).passed  # the warm-up reads as growth
    flat = TrendResult.fit("rss.gw", "MB/min", samples, limit=5, warmup_s=10)
    assert flat.passed and flat.points == 30 and flat.slope_per_min == pytest.approx(0)
    leaking = [(t, v + 0.5 * t) for t, v in samples]  # +30 MB/min on top
    assert TrendResult.fit("rss.gw", "MB/min", leaking, limit=5, warmup_s=10).slope_per_min == pytest.approx(30)


def test_metrics_name_each_label_and_carry_their_bounds() -> None:
    run = result([]).model_copy(update={"labels": {"all": totals(120), "list_analyses": totals(300, requests=30)}})
    run.labels["list_analyses"].latency.bounds_ms = {"p95": (250.0, 410.0)}
    metrics = {m.name: m for m in run.to_metrics()}
    assert list(metrics)[:5] == [f"load.smoke.all.{stat}" for stat in ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rate")]
    p95 = metrics["load.smoke.list_analyses.p95_ms"]
    assert (p95.value, p95.samples, p95.low, p95.high) == (300, 30, 250.0, 410.0)
    errors = metrics["load.smoke.list_analyses.error_rate"]
    assert errors.value == 0 and errors.low == 0 and 0.1 < errors.high < 0.25  # 0 of 30: up to ~16 % at 99 %
    assert metrics["load.smoke.all.rate"].higher_is_worse is False
    assert result([], inconclusive="lag").to_metrics() == []  # an unhealthy generator's numbers are not the target's
