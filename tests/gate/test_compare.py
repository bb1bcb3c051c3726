"""Metrics against a baseline: the tolerance applies to what both runs' sample sizes can vouch for."""

from __future__ import annotations

import random

import pytest

from harness.errors import UsageError
from harness.gate.baseline import BaselineMetric, from_run
from harness.gate.change import parse_change
from harness.gate.compare import compare_metrics, judge_change
from harness.gate.policy import BaselinePolicy
from harness.load.hdr import LatencyStats, new_histogram, record_seconds
from harness.model import Metric
from tests.gate.factory import make_run


def p95_of(samples: list[float], name: str = "load.smoke.op.p95_ms") -> Metric:
    """A p95 metric exactly as the load suite records it: HDR histogram, order-statistic bounds."""
    histogram = new_histogram()
    for seconds in samples:
        record_seconds(histogram, seconds)
    stats = LatencyStats.of(histogram, bounds=True)
    low, high = stats.bounds_ms["p95"]
    return Metric(name=name, value=stats.p95_ms, unit="ms", samples=stats.count, low=low, high=high)


def latencies(n: int, scale: float = 1.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [scale * rng.lognormvariate(-3.5, 0.6) for _ in range(n)]  # ~30 ms median, long tail


def stored(metric: Metric) -> BaselineMetric:
    return BaselineMetric(value=metric.value, unit=metric.unit, samples=metric.samples, low=metric.low, high=metric.high)


PLUS_10 = parse_change("+10%")


def test_thirty_samples_cannot_show_a_twenty_percent_change():
    before, after = p95_of(latencies(30, seed=1)), p95_of(latencies(30, scale=1.2, seed=2))
    change = judge_change(after, stored(before), PLUS_10)
    assert not change.regressed, change.line()
    assert after.value > before.value * 1.10  # the point estimates alone would have cried wolf


def test_twenty_thousand_samples_show_the_same_twenty_percent_change():
    before, after = p95_of(latencies(20_000, seed=1)), p95_of(latencies(20_000, scale=1.2, seed=2))
    change = judge_change(after, stored(before), PLUS_10)
    assert change.regressed, change.line()
    assert "→" in change.line() and "allowed +10%" in change.line()


@pytest.mark.parametrize("seed", range(3))
def test_the_same_system_measured_twice_is_not_a_regression(seed):
    for n in (30, 300, 5_000):
        before, after = p95_of(latencies(n, seed=seed)), p95_of(latencies(n, seed=seed + 100))
        assert not judge_change(after, stored(before), PLUS_10).regressed, (n, seed)


def test_a_slow_endpoint_is_a_regression_even_from_thirty_samples():
    before = p95_of(latencies(30, seed=1))
    after = p95_of([0.8 + s for s in latencies(30, seed=2)])  # the slow_endpoint defect adds ~800 ms
    assert judge_change(after, stored(before), PLUS_10).regressed


@pytest.mark.parametrize(("expression", "before", "after", "unit", "regressed"), [
    ("+2s", 3.0, 5.0, "s", False),      # exactly the tolerance: accepted
    ("+2s", 3.0, 6.0, "s", True),
    ("+500ms", 3.0, 3.6, "s", True),
    ("+0.5pp", 0.010, 0.014, "ratio", False),
    ("+0.5pp", 0.010, 0.016, "ratio", True),
    ("-10%", 100.0, 91.0, "req/s", False),  # a drop is worse: 9 % is within 10 %
    ("-10%", 100.0, 89.0, "req/s", True),
])
def test_expressions_without_bounds_compare_values(expression, before, after, unit, regressed):
    metric = Metric(name="chaos.kill.time_to_recover_s", value=after, unit=unit, samples=1)
    change = judge_change(metric, BaselineMetric(value=before, unit=unit, samples=1), parse_change(expression))
    assert change.regressed is regressed, change.line()


def test_only_metrics_both_runs_have_and_the_policy_covers_are_compared():
    base_run = make_run(metrics=[Metric(name="load.smoke.op.p95_ms", value=10, unit="ms", samples=1),
                                 Metric(name="load.smoke.op.rate", value=10, unit="req/s", samples=1)])
    run = make_run(metrics=[Metric(name="load.smoke.op.p95_ms", value=20, unit="ms", samples=1),
                            Metric(name="load.smoke.op.rate", value=5, unit="req/s", samples=1),
                            Metric(name="load.smoke.new.p95_ms", value=99, unit="ms", samples=1)])
    changes = compare_metrics(run, from_run(base_run, "main"), BaselinePolicy(), "policy.yaml")
    assert [(c.name, c.regressed) for c in changes] == [("load.smoke.op.p95_ms", True)]  # rate: no default expression


def test_an_expression_in_the_wrong_unit_is_a_usage_error_naming_the_key():
    run = make_run(metrics=[Metric(name="load.smoke.op.rate", value=5, unit="req/s", samples=1)])
    policy = BaselinePolicy(metrics={"load.*": "+2s"})
    with pytest.raises(UsageError, match=r"policy.yaml: baseline.metrics.load.\*: '\+2s' does not apply to "
                                         r"load.smoke.op.rate \(measured in req/s\); allowed: \+N%"):
        compare_metrics(run, from_run(run, "main"), policy, "policy.yaml")
