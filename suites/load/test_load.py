"""Run the profile named by ``--profile`` (default smoke) and record one Check per threshold.

The run is *inconclusive* (suite marked, checks skipped) when the load generator itself was
the bottleneck: CPU-saturated or lagging behind its arrival schedule.
"""

from __future__ import annotations

import time
from fnmatch import fnmatchcase
from typing import Any

from harness.claims.model import Claim
from harness.events import ArtifactSaved, MetricsRecorded, Progress, SeriesRecorded, SuiteInconclusive
from harness.load import LoadRun, load_profile
from harness.load.claims import claim_checks, claims_by_rate, profile_at_rate
from harness.load.ops import health_check, metrics_checks, metrics_urls, scrape
from harness.load.profile import LoadProfile
from harness.load.result import LoadResult
from harness.model import LoadSecond
from harness.platforms.base import Platform

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


def record_result(result: LoadResult, record_check: Any, harness_run: Any, suite: str = "load") -> None:
    for check in result.to_checks(suite=suite):
        record_check(check)
    harness_run.emit(SeriesRecorded(suite=suite, rows=result.timeseries))
    harness_run.emit(MetricsRecorded(suite=suite, metrics=result.to_metrics(suite=suite)))
    harness_run.emit(ArtifactSaved(suite=suite, paths=result.artifacts))
    if result.inconclusive:
        harness_run.emit(SuiteInconclusive(suite=suite, reason=f"load generator unhealthy: {result.inconclusive}"))


def progress_line(profile: LoadProfile, rows: list[LoadSecond]) -> str:
    overall = [row for row in rows if row.label == "all"]
    last = overall[-1]
    p95 = f"{last.p95_ms:.0f} ms" if last.p95_ms is not None else "-"
    return (f"load {profile.name}: {last.t + 1:.0f}/{profile.duration_s:.0f} s · "
            f"{sum(r.requests for r in overall)} requests · {last.rate:.0f} req/s · p95 {p95} · "
            f"{sum(r.errors for r in overall)} errors · {sum(r.dropped for r in overall)} dropped")


def ops_claims(profile: str, claims: list[Claim]) -> dict[str, bool]:
    """Whether any claim names the observability checks of this run (they run only for claims)."""
    patterns = [p for c in claims if not c.untestable for p in c.verify]
    return {kind: any(fnmatchcase(f"load.{profile}.{kind}.{name}", p) for p in patterns for name in names)
            for kind, names in (("metrics", ("requests_counted", "latency_histogram")), ("health", ("endpoints",)))}


def run_profile(profile: LoadProfile, harness_config: Any, harness_platform: Any, harness_target: Any,
                harness_run: Any) -> LoadResult:
    with LoadRun(profile, harness_target, workers=harness_config.load_workers,
                 out_dir=harness_run.run_dir / "load" / profile.name, allow_hosts=harness_config.allow_hosts,
                 watch_pids=watched_pids(harness_platform)) as run:
        next_line = time.monotonic() + 5
        while not run.finished():  # a status line every 5 s: long profiles are not silent
            time.sleep(0.25)
            if time.monotonic() >= next_line and any(row.label == "all" for row in run.live()):
                harness_run.emit(Progress(text=progress_line(profile, run.live())))
                next_line += 5
        return run.wait()


def test_load_profile(harness_config, harness_platform, harness_target, harness_run, record_check,
                      harness_claims) -> None:
    overrides = dict(item.split("=", 1) for item in getattr(harness_config, "load_overrides", []) or [])
    profile = load_profile(harness_config.profile, overrides)
    wants = ops_claims(profile.name, harness_claims.claims)
    urls = metrics_urls(harness_target.extra, harness_target.metrics_url)
    before = scrape(urls, harness_config.allow_hosts) if wants["metrics"] else None
    result = run_profile(profile, harness_config, harness_platform, harness_target, harness_run)
    print(result.summary())
    record_result(result, record_check, harness_run)
    ops = metrics_checks(profile.name, before, scrape(urls, harness_config.allow_hosts), result.requests) \
        if before is not None else []
    ops += [health_check(profile.name, harness_target.base_url, harness_config.allow_hosts)] if wants["health"] else []
    for check in ops:  # observability claims: /metrics counts what was sent, health endpoints answer
        ids = [c.id for c in harness_claims.claims if any(fnmatchcase(check.id, p) for p in c.verify)]
        record_check(check.model_copy(update={"claims": ids, "claim_only": True}))
    # latency/throughput/error-rate claims: judged with their own numbers, at their own rate (claim-only checks)
    for rate, claims in claims_by_rate(profile, harness_claims.claims).items():
        at_rate, judged = profile, result
        if rate is not None:
            harness_run.emit(Progress(text=f"load: claims {', '.join(c.id for c in claims)} at {rate:g} req/s"))
            at_rate = profile_at_rate(profile, rate)
            judged = run_profile(at_rate, harness_config, harness_platform, harness_target, harness_run)
        for check in claim_checks(judged, at_rate, claims):
            record_check(check)
