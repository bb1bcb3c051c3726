"""SLO windows, time-to-detect/-recover, breaker phases and the jitter verdict, on synthetic series."""

from __future__ import annotations

import time

import pytest
from chaoslib.exceptions import ActivityFailed

from harness.chaos import actions, probes
from harness.chaos.bounded import bounded
from harness.chaos.extension import HarnessExtension, Slo
from harness.chaos.observe import Transition, open_durations
from harness.chaos.report import ExperimentReport
from harness.chaos.slo import judge, time_to_detect, time_to_recover, weighted_percentile
from harness.model import LoadSecond, Status

SLO = Slo(max_error_rate=0.05, max_p95_ms=500, max_degraded_ratio=0.1, min_requests=5)


def series(errors_by_second: dict[int, int], seconds: int = 20, requests: int = 10) -> list[LoadSecond]:
    return [LoadSecond(t=float(t), requests=requests, errors=errors_by_second.get(t, 0), p95_ms=50.0)
            for t in range(seconds)]


def no_degraded(t: float) -> tuple[int, int]:
    return (2, 0)


def test_window_is_judged_on_its_totals() -> None:
    rows = series({5: 3})
    assert judge("before", rows, SLO, (10, 0), 0, 5).ok
    during = judge("during", rows, SLO, (10, 5), 4, 7)
    assert not during.ok
    assert during.errors == 3 and during.requests == 30
    assert "error rate 10.0% > 5.0%" in during.reasons and "degraded answers 50.0% > 10.0%" in during.reasons


def test_a_window_without_traffic_is_inconclusive_not_ok() -> None:
    window = judge("before", series({}, requests=1), SLO, (0, 0), 0, 3)
    assert window.inconclusive and "only 3 requests" in window.reasons[0]


def test_detect_and_recover_times_come_from_the_per_second_series() -> None:
    rows = series({8: 5, 9: 5, 10: 5, 11: 5, 12: 0, 13: 4, 14: 0, 15: 0, 16: 0})
    assert time_to_detect(rows, no_degraded, SLO, fault_start_s=6.5, fault_end_s=11.0) == pytest.approx(1.5)
    # 13 breaks the streak that began at 12; 14, 15, 16 are three good seconds in a row
    assert time_to_recover(rows, no_degraded, SLO, fault_end_s=11.0, settle_s=3) == pytest.approx(3.0)
    assert time_to_recover(series({t: 5 for t in range(20)}), no_degraded, SLO, 5.0, 3) is None


def test_weighted_percentile_weights_busy_seconds_more() -> None:
    assert weighted_percentile([(10.0, 99), (900.0, 1)], 0.95) == 10.0
    assert weighted_percentile([(10.0, 1), (900.0, 99)], 0.95) == 900.0
    assert weighted_percentile([], 0.95) is None


def phases(durations: list[float], resolution: float = 0.1) -> list[Transition]:
    events, now = [], 1000.0
    for d in durations:
        events.append(Transition(now, now - resolution, "gateway-1", "gpu", "closed", "open"))
        events.append(Transition(now + d, now + d - resolution, "gateway-1", "gpu", "open", "half_open"))
        events.append(Transition(now + d, now + d - resolution, "gateway-1", "gpu", "half_open", "closed"))
        now += d + 3
    return events


def report_with(durations: list[float]) -> ExperimentReport:
    extension = HarnessExtension(fault="gpu_loss", target="inference-gpu", expect={"jittered_breaker_reset": True})
    return ExperimentReport(name="gpu_loss", title="t", extension=extension,
                            open_durations_s={"gpu": open_durations(phases(durations), "gpu")})


def test_fixed_reset_times_are_flagged_as_lockstep_and_jittered_ones_pass() -> None:
    lockstep = report_with([4.0, 4.02, 4.05, 3.99, 4.01])._jitter("chaos.gpu_loss", [])
    assert lockstep.status is Status.FAIL and "lockstep" in lockstep.message
    jittered = report_with([4.0, 4.5, 4.2, 4.8, 4.1])._jitter("chaos.gpu_loss", [])
    assert jittered.status is Status.PASS
    too_few = report_with([4.0, 4.5])._jitter("chaos.gpu_loss", [])
    assert too_few.status is Status.SKIPPED


def test_open_durations_are_bounds_that_contain_the_true_length() -> None:
    (lo, hi), = open_durations(phases([4.0], resolution=0.1), "gpu")
    assert lo <= 4.0 <= hi and hi - lo == pytest.approx(0.2)


def test_activities_have_a_hard_timeout() -> None:
    @bounded(0.2)
    def hangs(seconds: float) -> None:
        time.sleep(seconds)

    started = time.monotonic()
    with pytest.raises(ActivityFailed, match="hard timeout"):
        hangs(5)
    assert time.monotonic() - started < 1.0
    assert bounded(1)(lambda: 42)() == 42


@pytest.mark.parametrize("module", [actions, probes], ids=["actions", "probes"])
def test_every_activity_of_the_extension_has_a_hard_timeout(module: object) -> None:
    exported = module.__all__  # type: ignore[attr-defined]
    unbounded = [name for name in exported if not getattr(getattr(module, name), "hard_timeout_s", None)]
    assert exported and not unbounded, f"activities without a hard timeout: {unbounded}"


def test_times_to_detect_and_recover_become_metrics() -> None:
    report = report_with([4.0])
    report.time_to_detect_s, report.time_to_recover_s = 2.0, 7.0
    assert [(m.name, m.value, m.unit) for m in report.metrics()] == [
        ("chaos.gpu_loss.time_to_detect_s", 2.0, "s"), ("chaos.gpu_loss.time_to_recover_s", 7.0, "s")]
    report.not_applicable = "no GPU tier"
    assert report.metrics() == []
