"""Metrics against a baseline, honouring how precisely each run measured them.

The rule (docs/gate.md): a metric is worse than allowed only when the *whole* of the current run's
confidence interval lies beyond the *whole* of the baseline's interval moved by the tolerance. For a
metric where higher is worse and ``+10%``::

    regressed  ⇔  current.low  >  baseline.high × 1.10

``low``/``high`` are the bounds the suite recorded with the metric (99 % order-statistic bounds of a
percentile from the run's own histogram; Wilson bounds of an error rate). The tolerance thus applies
to what both runs can vouch for: a p95 from 30 samples, whose interval spans tens of percent, is
never called 1 % worse; a p95 from 100 000 samples is compared within a fraction of a percent. With
either bound wrong by chance at most 0.5 % of the time, a change right at the tolerance is called a
regression at most ~1 % of the time. A metric without bounds (one measurement, e.g. time to recover)
is compared by its value.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageError
from harness.gate.baseline import Baseline, BaselineMetric
from harness.gate.change import ALLOWED, Change, parse_change
from harness.gate.policy import BaselinePolicy
from harness.model import Metric, RunResult


@dataclass
class MetricChange:
    name: str
    unit: str
    before: BaselineMetric
    after: Metric
    change: Change
    limit: float  # the worst accepted value for the current run's favourable bound
    regressed: bool

    @property
    def relative(self) -> float | None:
        if self.before.value in (None, 0) or self.after.value is None:
            return None
        return (self.after.value - self.before.value) / abs(self.before.value)

    def line(self) -> str:
        """``load.smoke.list_analyses.p95_ms: 175 ms → 1149 ms (+555%, allowed +10%; …)``"""
        shift = f"{self.relative:+.0%}, " if self.relative is not None else ""
        side, bound = ("≥", self.after.low) if self.change.worse_when_higher else ("≤", self.after.high)
        limit_side = "≤" if self.change.worse_when_higher else "≥"
        sure = (f"with 99 % confidence {side} {fmt(bound, self.unit)} where {limit_side} {fmt(self.limit, self.unit)} "
                f"is allowed" if bound is not None else f"limit {fmt(self.limit, self.unit)}")
        return (f"{self.name}: {fmt(self.before.value, self.unit)} → {fmt(self.after.value, self.unit)} "
                f"({shift}allowed {self.change.text}; {sure}; {self.before.samples} → {self.after.samples} samples)")


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.2%}"
    return f"{value:.4g} {unit}"


def compare_metrics(run: RunResult, baseline: Baseline, policy: BaselinePolicy, source: str) -> list[MetricChange]:
    """Every current metric that the baseline also has and a policy expression covers."""
    out = []
    for metric in run.all_metrics():
        before = baseline.metrics.get(metric.name)
        entry = policy.change_for(metric.name)
        if before is None or entry is None or metric.value is None or before.value is None:
            continue
        pattern, expression = entry
        change = parse_change(expression)
        if not change.applies_to(metric.unit):
            raise UsageError(f"{source}: baseline.metrics.{pattern}: {expression!r} does not apply to {metric.name} "
                             f"(measured in {metric.unit}); allowed: {ALLOWED}")
        out.append(judge_change(metric, before, change))
    return out


def judge_change(after: Metric, before: BaselineMetric, change: Change) -> MetricChange:
    assert after.value is not None and before.value is not None
    if change.worse_when_higher:
        reference = before.high if before.high is not None else before.value
        current = after.low if after.low is not None else after.value
        limit = change.limit(reference, after.unit)
        regressed = current > limit
    else:
        reference = before.low if before.low is not None else before.value
        current = after.high if after.high is not None else after.value
        limit = change.limit(reference, after.unit)
        regressed = current < limit
    return MetricChange(name=after.name, unit=after.unit, before=before, after=after, change=change,
                        limit=limit, regressed=regressed)
