"""The day's stop conditions on synthetic per-second series: what holds, what does not, and when it is watched."""

from __future__ import annotations

import time

from harness.gameday.guardrails import DayGuardrail, breach
from harness.gameday.spec import Guardrails, StopCondition
from harness.model import LoadSecond


def rows(*seconds: tuple[int, int, float], label: str = "all") -> list[LoadSecond]:
    """One (requests, errors, p95) per second from t=0, as ``label`` and (summed) ``all``."""
    out = [LoadSecond(t=float(t), label=label, requests=r, errors=e, p95_ms=p) for t, (r, e, p) in enumerate(seconds)]
    if label != "all":
        out += [LoadSecond(t=float(t), label="all", requests=20, errors=e, p95_ms=p) for t, (_, e, p) in enumerate(seconds)]
    return out


def condition(**fields: object) -> StopCondition:
    return StopCondition.model_validate({"name": "c", "metric": "error_rate", "above": 0.5, "for_s": 3, **fields})


OK, BAD = (10, 0, 50.0), (10, 8, 50.0)


def test_every_second_of_the_window_must_break_the_limit() -> None:
    assert breach(condition(), rows(OK, OK, BAD, BAD, BAD), not_before_s=0) == (5.0, 0.8)
    assert breach(condition(), rows(OK, OK, OK, BAD, BAD), not_before_s=0) is None, "only 2 of 3 seconds"
    assert breach(condition(), rows(BAD, BAD, OK, BAD, BAD), not_before_s=0) is None


def test_seconds_without_traffic_neither_break_nor_clear_but_half_must_have_some() -> None:
    quiet = (0, 0, 0.0)
    assert breach(condition(operation="create_analysis"), rows(OK, BAD, quiet, BAD, label="create_analysis"), 0) == (4.0, 0.8)
    assert breach(condition(operation="create_analysis"), rows(OK, quiet, quiet, BAD, label="create_analysis"), 0) is None


def test_an_operation_is_judged_on_its_own_rows() -> None:
    creates_fail = rows((1, 1, 30.0), (1, 1, 30.0), (1, 1, 30.0), label="create_analysis")
    assert breach(condition(operation="create_analysis"), creates_fail, 0) == (3.0, 1.0)
    assert breach(condition(), creates_fail, 0) is None, "overall only 1 of 20 requests failed each second"


def test_p95_and_slo_burn() -> None:
    slow = rows((10, 0, 900.0), (10, 0, 6000.0), (10, 0, 7000.0), (10, 0, 5500.0))
    assert breach(condition(metric="p95_ms", above=5000), slow, 0) == (4.0, 5500.0)
    burning = rows((100, 3, 50.0), (100, 3, 50.0), (100, 3, 50.0))
    found = breach(condition(metric="slo_burn", above=2, objective=0.99), burning, 0)
    assert found is not None and found[0] == 3.0 and abs(found[1] - 3.0) < 1e-9, "3 % errors spend a 1 % budget 3x"
    assert breach(condition(metric="slo_burn", above=2, objective=0.9), burning, 0) is None


def test_only_seconds_from_the_first_fault_or_the_end_of_a_suspension_count() -> None:
    burning = rows(BAD, BAD, BAD, BAD)
    assert breach(condition(), burning, not_before_s=2) is None
    assert breach(condition(), burning, not_before_s=1) == (4.0, 0.8)


def test_the_watchdog_waits_for_the_first_fault_honours_suspensions_and_reports_the_breach_time() -> None:
    series = rows(BAD, BAD, BAD, BAD, BAD)
    fired = []
    guard = DayGuardrail(Guardrails(stop_when=[condition(name="errors")]), lambda: series, lambda: 1000.0,
                         on_fire=fired.append)
    guard.load_start = lambda: time.time() - 10  # ten seconds into the day (not past its max duration)
    assert guard.check() is None, "not watched before the first fault"
    guard.watch_from(0.4)
    guard.enter_step("db", ["errors"], now_s=2.0)
    assert guard.check() is None, "suspended during this step"
    guard.enter_step("next", [], now_s=2.2)
    assert guard.check() is None, "resumes from the end of the suspension: seconds 3..5 are not yet a full window"
    series.extend(rows(BAD, BAD, BAD, BAD, BAD, BAD, BAD)[5:])
    reason = guard.check()
    assert reason is not None and reason.startswith("errors: error rate > 50% for 3 s"), reason
    guard.reason, guard.fired_at = reason, time.time()
    guard.fired(reason)
    [firing] = fired
    assert firing.guardrail == "errors" and firing.step == "next" and firing.breach_at is not None
    assert guard.fired_event.is_set()


def test_the_day_max_duration_is_always_watched() -> None:
    guard = DayGuardrail(Guardrails(stop_when=[condition()], max_duration_s=5), lambda: [], lambda: time.time() - 6)
    assert (guard.check() or "").startswith("max_duration: the game day ran past its max duration of 5 s")
