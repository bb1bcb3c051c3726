"""The engine end to end against the selftest app: real subprocesses, real sockets, real numbers."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.errors import DisallowedHostError, UsageError
from harness.load import LoadGeneratorError, LoadRun, run_load
from harness.load.profile import LoadProfile, parse_profile
from harness.model import Status
from harness.platforms.base import Identity, Target

pytestmark = pytest.mark.integration

FAST = {"name": "fast", "path": "/fast", "weight": 3, "thresholds": {"p95_ms": 150}}
SLOW = {"name": "slow", "path": "/slow", "thresholds": {"p95_ms": 150}}  # the app sleeps 300 ms
CREATE = {"name": "create_item", "method": "POST", "path": "/items", "json": {"text": "item {seq}"},
          "identities": ["tester"], "capture": {"item_id": "id"}}
READ = {"name": "read_item", "path": "/items/{item_id}", "identities": ["role:user"]}


def profile(duration_s: float = 4, rate: float = 30, **fields: Any) -> LoadProfile:
    data = {"name": "t", "stages": [{"duration_s": duration_s, "rate": rate}], "operations": [FAST],
            "max_users": 40, "thresholds": {"p95_ms": 150, "max_error_rate": 0.0, "min_rate_ratio": 0.9}}
    return parse_profile({**data, **fields}, "test")


def test_clean_target_passes_every_threshold(selftest_target: Target, tmp_path: Path) -> None:
    shape = profile(operations=[FAST, CREATE, READ], setup=[CREATE])
    result = run_load(shape, selftest_target, out_dir=tmp_path)
    assert result.passed, [t for t in result.thresholds if not t.passed]
    assert result.requests == result.scheduled == 120 and result.errors == 0 and result.dropped == 0
    assert set(result.labels) == {"all", "fast", "create_item", "read_item"}
    assert all(c.status is Status.PASS for c in result.to_checks())
    per_second = [row for row in result.timeseries if row.label == "all"]
    assert sum(row.requests for row in per_second) == result.requests
    assert len(per_second) >= 4
    assert (tmp_path / "load-result.json").is_file()
    # Locust and gevent ran only in the worker subprocess, never in this (pytest) process.
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_slow_operation_fails_its_own_threshold_only(selftest_target: Target, tmp_path: Path) -> None:
    result = run_load(profile(operations=[FAST, SLOW]), selftest_target, out_dir=tmp_path)
    verdicts = {(t.label, t.field): t for t in result.thresholds}
    assert not verdicts[("slow", "p95_ms")].passed
    assert verdicts[("slow", "p95_ms")].measured == pytest.approx(300, abs=60)
    assert verdicts[("fast", "p95_ms")].passed
    failed = {c.id for c in result.to_checks() if c.status is Status.FAIL}
    assert "load.t.p95.slow" in failed and "load.t.p95.fast" not in failed


def test_two_workers_split_the_schedule_and_merge(selftest_target: Target, tmp_path: Path) -> None:
    result = run_load(profile(rate=40), selftest_target, workers=2, out_dir=tmp_path)
    assert result.requests == 160 and result.scheduled == 160
    assert [g.worker for g in result.generators] == [0, 1]
    assert all(g.cpu_mean is not None for g in result.generators)
    assert result.latency.count == 160


def test_live_series_then_stop_early(selftest_target: Target, tmp_path: Path) -> None:
    with LoadRun(profile(duration_s=30, rate=20), selftest_target, out_dir=tmp_path) as run:
        time.sleep(3.2)
        live = run.live()
        run.stop()
        result = run.wait()
    assert {row.t for row in live if row.label == "all"} >= {0.0, 1.0}
    assert result.duration_s < 10 and 40 <= result.requests <= 120
    assert result.achieved_rate == pytest.approx(20, rel=0.15)


def test_abort_on_breach_after_grace(selftest_target: Target, tmp_path: Path) -> None:
    slow_only = profile(duration_s=30, rate=10, operations=[SLOW], abort_grace_s=1,
                        thresholds={"p95_ms": 100, "abort": True})
    started = time.monotonic()
    result = run_load(slow_only, selftest_target, out_dir=tmp_path)
    assert time.monotonic() - started < 12
    assert result.aborted and "p95 breached" in result.aborted
    assert not result.passed


def test_arrivals_with_no_free_user_are_dropped_not_delayed(selftest_target: Target, tmp_path: Path) -> None:
    starved = profile(rate=20, operations=[SLOW], max_users=2, thresholds={"max_dropped_ratio": 0.01})
    result = run_load(starved, selftest_target, out_dir=tmp_path)
    # 2 users x ~3.3 req/s each can serve ~1/3 of 20 req/s; the rest is dropped, on schedule.
    assert result.dropped == pytest.approx(80 - result.requests, abs=1)
    assert result.requests < 40 and not result.passed
    assert result.lag.p99_ms is not None and result.lag.p99_ms < 50
    # Counted in the second they were due (~13 a second), not in bursts when a user frees up.
    dropped = {row.t: row.dropped for row in result.timeseries if row.label == "all"}
    assert all(8 <= dropped[t] <= 18 for t in (1.0, 2.0, 3.0)), dropped


def test_unhealthy_generator_makes_the_run_inconclusive(selftest_target: Target, tmp_path: Path) -> None:
    strict = profile(generator={"max_lag_p99_ms": 0.001})  # no real generator keeps a 1 µs lag
    result = run_load(strict, selftest_target, out_dir=tmp_path)
    assert result.inconclusive and "schedule lag" in result.inconclusive
    assert {c.status for c in result.to_checks()} == {Status.SKIPPED}


def test_closed_model_keeps_a_fixed_number_of_users_busy(selftest_target: Target, tmp_path: Path) -> None:
    closed = parse_profile({"name": "c", "model": "closed", "stages": [{"duration_s": 3, "users": 3}],
                            "operations": [SLOW], "think_time_s": 0.0}, "test")
    result = run_load(closed, selftest_target, out_dir=tmp_path)
    each_s = result.labels["slow"].service.mean_ms / 1000  # ~300 ms sleep + server overhead
    assert result.requests == pytest.approx(3 * 3 / each_s, abs=3)  # 3 users back to back for 3 s
    assert result.dropped == 0


def test_refuses_a_host_outside_the_allowlist(tmp_path: Path) -> None:
    with pytest.raises(DisallowedHostError):
        run_load(profile(), Target(base_url="http://198.51.100.7:80"), out_dir=tmp_path)
    assert not list(tmp_path.glob("worker-*"))


def test_unknown_identity_is_a_usage_error(selftest_target: Target, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="uses identity 'nobody'"):
        run_load(profile(operations=[{**CREATE, "identities": ["nobody"]}]), selftest_target, out_dir=tmp_path)


def test_worker_failure_surfaces_its_log(selftest_url: str, tmp_path: Path) -> None:
    wrong = Identity(name="tester", username="tester", password="wrong", tenant="t1", role="user")
    target = Target(base_url=selftest_url, identities={"tester": wrong})
    with pytest.raises(LoadGeneratorError, match=r"exited during setup.*401"):
        run_load(profile(operations=[CREATE]), target, out_dir=tmp_path)
