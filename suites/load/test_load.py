"""Run the profile named by ``--profile`` (default smoke) and record one Check per threshold.

The run is *inconclusive* (suite marked, checks skipped) when the load generator itself was
the bottleneck: CPU-saturated or lagging behind its arrival schedule.
"""

from __future__ import annotations

import time
from typing import Any

from harness.load import LoadRun, load_profile
from harness.load.profile import LoadProfile
from harness.load.result import LoadResult
from harness.model import LoadSecond
from harness.platforms.base import Platform

RECORDED_FIELDS = ("id", "title", "status", "severity", "category", "message", "evidence")
WATCHED_COMPONENTS = ("gateway-1", "gateway-2")  # RSS sampled for soak trends when the platform has pids


def watched_pids(platform: Platform) -> dict[str, int]:
    pid_of = getattr(platform, "pid", None)
    pids: dict[str, int] = {}
    for component in WATCHED_COMPONENTS if pid_of else ():
        try:
            pids[component] = int(pid_of(component))
        except Exception:  # noqa: BLE001 - a platform without this component simply has nothing to watch
            continue
    return pids


def record_result(result: LoadResult, record_check: Any, harness_run: Any) -> None:
    for check in result.to_checks(suite="load"):
        record_check(**{field: getattr(check, field) for field in RECORDED_FIELDS})
    suite = harness_run.suite("load")
    suite.timeseries.extend(result.timeseries)
    suite.metrics.extend(result.to_metrics(suite="load"))
    suite.artifacts.extend(result.artifacts)
    if result.inconclusive:
        suite.inconclusive = f"load generator unhealthy: {result.inconclusive}"


def progress_line(profile: LoadProfile, rows: list[LoadSecond]) -> str:
    overall = [row for row in rows if row.label == "all"]
    last = overall[-1]
    p95 = f"{last.p95_ms:.0f} ms" if last.p95_ms is not None else "-"
    return (f"load {profile.name}: {last.t + 1:.0f}/{profile.duration_s:.0f} s · "
            f"{sum(r.requests for r in overall)} requests · {last.rate:.0f} req/s · p95 {p95} · "
            f"{sum(r.errors for r in overall)} errors · {sum(r.dropped for r in overall)} dropped")


def test_load_profile(harness_config, harness_platform, harness_target, harness_run, record_check) -> None:
    overrides = dict(item.split("=", 1) for item in getattr(harness_config, "load_overrides", []) or [])
    profile = load_profile(harness_config.profile, overrides)
    with LoadRun(profile, harness_target, workers=harness_config.load_workers,
                 out_dir=harness_run.run_dir / "load" / profile.name, allow_hosts=harness_config.allow_hosts,
                 watch_pids=watched_pids(harness_platform)) as run:
        next_line = time.monotonic() + 5
        while not run.finished():  # a status line every 5 s: long profiles are not silent
            time.sleep(0.25)
            if time.monotonic() >= next_line and any(row.label == "all" for row in run.live()):
                harness_run.progress(progress_line(profile, run.live()))
                next_line += 5
        result = run.wait()
    print(result.summary())
    record_result(result, record_check, harness_run)
