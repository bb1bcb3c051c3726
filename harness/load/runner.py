"""``LoadRun``: start N generator processes, follow them live, merge their histograms.

The parent never imports Locust or gevent (monkey-patching would break pytest-asyncio);
it only spawns ``python -m harness.load.worker`` and reads the files the workers write.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import psutil

from harness.errors import HarnessError, UsageError
from harness.load import hdr
from harness.load.plan import (
    WorkerPlan,
    log_file,
    ready_file,
    start_file,
    stop_file,
    summary_file,
)
from harness.load.profile import LoadProfile
from harness.load.result import (
    ALL,
    GeneratorHealth,
    LabelTotals,
    LoadResult,
    TrendResult,
    evaluate_profile,
)
from harness.load.schedule import expected_arrivals
from harness.load.series import SeriesReader
from harness.model import LoadSecond
from harness.platforms.base import Target
from harness.safety import ensure_allowed

REPO_ROOT = Path(__file__).resolve().parents[2]


class LoadGeneratorError(HarnessError):
    """A generator process failed to start or crashed (exit 3); its log tail is in the message."""


class LoadRun:
    """One load run against ``target``; use as a context manager or start()/wait().

    >>> with LoadRun(profile, target, out_dir=tmp) as run:   # doctest: +SKIP
    ...     time.sleep(5); print(run.live()[-1])
    ...     result = run.wait()
    """

    def __init__(
        self,
        profile: LoadProfile,
        target: Target,
        *,
        workers: int = 1,
        out_dir: Path,
        allow_hosts: Iterable[str] = (),
        watch_pids: dict[str, int] | None = None,
        ready_timeout_s: float = 60.0,
    ) -> None:
        if workers < 1:
            raise UsageError(f"workers must be >= 1, got {workers}")
        self.profile = profile
        self.target = target
        self.workers = workers
        self.out_dir = Path(out_dir).absolute()  # workers run with the repo as their cwd
        self.allow_hosts = list(allow_hosts)
        self.watch_pids = dict(watch_pids or {})
        self.ready_timeout_s = ready_timeout_s
        self.start_epoch: float | None = None
        self.aborted: str | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._reader = SeriesReader(self.out_dir, workers)
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._rss: dict[str, list[tuple[float, float]]] = {name: [] for name in self.watch_pids}
        self._result: LoadResult | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> LoadRun:
        """Spawn the workers, wait until all are ready, then give them a common start time."""
        ensure_allowed(self.target.base_url, self.allow_hosts)
        self.profile = resolve_identities(self.profile, self.target)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.out_dir.glob("worker-*"):
            stale.unlink()
        start_file(self.out_dir).unlink(missing_ok=True)
        stop_file(self.out_dir).unlink(missing_ok=True)
        try:
            for index in range(self.workers):
                self._procs.append(self.spawn_worker(index))
            self._wait_ready()
        except BaseException:
            self._kill()
            raise
        self.start_epoch = time.time() + 0.3
        pending = start_file(self.out_dir).with_suffix(".tmp")
        pending.write_text(repr(self.start_epoch))
        pending.replace(start_file(self.out_dir))  # atomic: a polling worker never reads it half-written
        self._monitor = threading.Thread(target=self._watch, name="load-monitor", daemon=True)
        self._monitor.start()
        return self

    def live(self) -> list[LoadSecond]:
        """Per-second rows so far (every label plus ``all``), merged across workers."""
        with self._lock:
            return list(self._reader.update())

    def stop(self) -> None:
        """Ask the workers to stop early; they finish in-flight requests and write summaries."""
        if self._procs:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            stop_file(self.out_dir).touch()

    def stop_within(self, grace_s: float) -> bool:
        """Stop now and have every worker gone within ``grace_s`` (an abort): they get that long to finish
        in-flight requests and write their summaries, whichever still runs then is killed. True when all
        finished cleanly (``wait()`` has the full result); otherwise only ``final_rows()`` are known."""
        if not self._procs:
            return True
        self.stop()
        deadline = time.time() + grace_s
        for proc in self._procs:
            try:
                proc.wait(timeout=max(deadline - time.time(), 0.01))
            except subprocess.TimeoutExpired:
                pass
        clean = all(proc.poll() is not None and summary_file(self.out_dir, index).exists()
                    for index, proc in enumerate(self._procs))
        if not clean:
            self._kill()
            self.aborted = self.aborted or f"stopped within {grace_s:g}s (abort): requests in flight were cut off"
        return clean

    def final_rows(self) -> list[LoadSecond]:
        """Every per-second row the workers wrote, once they are gone (also after a hard stop)."""
        with self._lock:
            return list(self._reader.finish())

    def finished(self) -> bool:
        """True once every worker process has exited (the profile ran out or the run was stopped)."""
        return bool(self._procs) and all(proc.poll() is not None for proc in self._procs)

    def wait(self, timeout_s: float | None = None) -> LoadResult:
        """Block until the workers exit and return the merged result."""
        if self._result is not None:
            return self._result
        if not self._procs:
            raise UsageError("LoadRun.wait() called before start()")
        budget = timeout_s if timeout_s is not None else self.profile.duration_s + self.profile.timeout_s + 30
        deadline = time.time() + budget
        for proc in self._procs:
            try:
                proc.wait(timeout=max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                self.stop()
                self._kill(grace_s=self.profile.timeout_s + 2)
                self.aborted = self.aborted or f"load workers did not finish within {budget:.0f}s; stopped"
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self._result = self._collect()
        return self._result

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.stop()
            self._kill(grace_s=self.profile.timeout_s + 2)
        elif self._result is None:
            self.wait()
        self._kill()

    # -- internals ---------------------------------------------------------------------
    def _users_per_worker(self) -> int:
        if self.profile.model == "open":
            total = self.profile.max_users
        else:
            total = max(int(stage.users or 0) for stage in self.profile.stages)
        return max(math.ceil(total / self.workers), 1)

    def spawn_worker(self, index: int) -> subprocess.Popen[bytes]:
        """Start generator process ``index`` (plan on stdin). A hook: the chaos suite wraps it to put
        each worker in the undo log, so a killed harness never leaves load running."""
        plan = WorkerPlan(
            profile=self.profile, base_url=self.target.base_url, login=self.target.login,
            identities={name: i for name, i in self.target.identities.items() if name in self.profile.identity_names()},
            worker_index=index, workers=self.workers, users=self._users_per_worker(), out_dir=self.out_dir,
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
        log = log_file(self.out_dir, index).open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "harness.load.worker"], stdin=subprocess.PIPE,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        log.close()
        assert proc.stdin is not None
        proc.stdin.write(plan.model_dump_json(by_alias=True).encode())  # passwords via stdin, never disk
        proc.stdin.close()
        return proc

    def _wait_ready(self) -> None:
        deadline = time.time() + self.ready_timeout_s
        pending = set(range(self.workers))
        while pending:
            for index in list(pending):
                if ready_file(self.out_dir, index).exists():
                    pending.discard(index)
                elif self._procs[index].poll() is not None:
                    raise LoadGeneratorError(f"load worker {index} exited during setup: {self._log_tail(index)}")
            if time.time() > deadline:
                raise LoadGeneratorError(f"load workers {sorted(pending)} not ready after {self.ready_timeout_s:.0f}s; "
                                         f"log: {self._log_tail(min(pending))}")
            time.sleep(0.02)

    def _watch(self) -> None:
        """Monitor thread: poll series, sample target RSS, abort on breach after the grace delay."""
        processes = {name: _process(pid) for name, pid in self.watch_pids.items()}
        while any(proc.poll() is None for proc in self._procs):
            elapsed = time.time() - (self.start_epoch or time.time())
            for name, process in processes.items():
                if process is not None and elapsed >= 0:
                    try:
                        self._rss[name].append((elapsed, process.memory_info().rss / 2**20))
                    except psutil.Error:
                        processes[name] = None
            with self._lock:
                self._reader.update()
                totals = self._live_totals()
            if self.aborted is None and elapsed > self.profile.abort_grace_s:
                breached = [t for t in evaluate_profile(self.profile, totals, max(elapsed, 1e-3))
                            if t.abort and not t.passed and t.measured is not None]
                if breached:
                    first = breached[0]
                    self.aborted = (f"threshold {first.label} {first.metric} breached after {elapsed:.0f}s "
                                    f"(measured {first.measured:.4g}, limit {first.limit:g}); run stopped early")
                    self.stop()
            for _ in range(10):  # poll once a second, but notice the workers' exit within 0.1 s
                if all(proc.poll() is not None for proc in self._procs):
                    break
                time.sleep(0.1)

    def _live_totals(self) -> dict[str, LabelTotals]:
        merged = hdr.new_histogram()
        totals: dict[str, LabelTotals] = {}
        requests = errors = dropped = 0
        for label, (req, err, drop, histogram) in self._reader.totals.items():
            totals[label] = LabelTotals(requests=req, errors=err, dropped=drop, latency=hdr.LatencyStats.of(histogram, mean=False),
                                        scheduled_rate=self._scheduled_rate(label))
            merged.add(histogram)
            requests, errors, dropped = requests + req, errors + err, dropped + drop
        totals[ALL] = LabelTotals(requests=requests, errors=errors, dropped=dropped,
                                  latency=hdr.LatencyStats.of(merged, mean=False), scheduled_rate=self._scheduled_rate(ALL))
        return totals

    def _scheduled_rate(self, label: str) -> float:
        mean = expected_arrivals(self.profile) / self.profile.duration_s if self.profile.model == "open" else 0.0
        if label == ALL:
            return mean
        weights = {op.name: op.weight for op in self.profile.operations}
        return mean * weights.get(label, 0.0) / sum(weights.values())

    def _collect(self) -> LoadResult:
        summaries = []
        for index in range(self.workers):
            path = summary_file(self.out_dir, index)
            if not path.exists():
                raise LoadGeneratorError(f"load worker {index} wrote no summary (exit code "
                                         f"{self._procs[index].returncode}): {self._log_tail(index)}")
            summaries.append(json.loads(path.read_text()))
        timeseries = self._reader.finish()
        started = min(s["started_at"] for s in summaries)
        ended = max(s["ended_at"] for s in summaries)
        stopped_early = any(s["stopped_early"] for s in summaries)
        duration = min(max(ended - started, 1e-3), self.profile.duration_s) if stopped_early else self.profile.duration_s

        labels = _merge_labels(summaries, self._scheduled_rate)
        everything = labels[ALL]
        lag = hdr.merge([s["lag"] for s in summaries])
        generators = [self._health(s) for s in summaries]
        reasons = [f"worker {g.worker}: {r}" for g in generators for r in g.reasons]
        result = LoadResult(
            profile=self.profile.name, model=self.profile.model, base_url=self.target.base_url,
            workers=self.workers, started_at=datetime.fromtimestamp(started, UTC), duration_s=duration,
            scheduled=sum(s["scheduled"] for s in summaries), requests=everything.requests,
            errors=everything.errors, dropped=everything.dropped,
            error_rate=everything.errors / everything.requests if everything.requests else 0.0,
            achieved_rate=everything.requests / duration, scheduled_rate=self._scheduled_rate(ALL),
            labels=labels, lag=hdr.LatencyStats.of(lag), generators=generators,
            thresholds=evaluate_profile(self.profile, labels, duration),
            trends=self._trends(timeseries), timeseries=timeseries, rss_mb=self._rss,
            inconclusive="; ".join(reasons) or None, aborted=self.aborted,
        )
        artifact = self.out_dir / "load-result.json"
        result.artifacts = [str(artifact)]
        artifact.write_text(result.model_dump_json(indent=1, exclude={"timeseries"}))
        return result

    def _health(self, summary: dict) -> GeneratorHealth:
        limits = self.profile.generator
        cpu = summary["cpu"]
        lag = hdr.LatencyStats.of(hdr.merge([summary["lag"]]))
        saturated = sum(1 for c in cpu if c > limits.max_cpu_percent) / len(cpu) if cpu else 0.0
        reasons = []
        if saturated > limits.max_saturated_fraction:
            reasons.append(f"CPU above {limits.max_cpu_percent:g}% of a core in {saturated:.0%} of seconds "
                           f"(generator saturated; add --load-workers or lower the rate)")
        if lag.p99_ms is not None and lag.p99_ms > limits.max_lag_p99_ms:
            reasons.append(f"schedule lag p99 {lag.p99_ms:.1f}ms > {limits.max_lag_p99_ms:g}ms tolerance")
        return GeneratorHealth(worker=summary["worker"], cpu_mean=sum(cpu) / len(cpu) if cpu else None,
                               cpu_max=max(cpu) if cpu else None, saturated_fraction=saturated, lag=lag,
                               reasons=reasons)

    def _trends(self, timeseries: list[LoadSecond]) -> list[TrendResult]:
        trends = self.profile.trends
        out = []
        if trends.max_rss_growth_mb_per_min is not None:
            out += [TrendResult.fit(f"rss.{name}", "MB/min", samples, limit=trends.max_rss_growth_mb_per_min,
                                    warmup_s=trends.warmup_s) for name, samples in self._rss.items()]
        if trends.max_p95_growth_ms_per_min is not None:
            p95 = [(row.t, row.p95_ms) for row in timeseries if row.label == ALL and row.p95_ms is not None]
            out.append(TrendResult.fit("p95.all", "ms/min", p95, limit=trends.max_p95_growth_ms_per_min,
                                       warmup_s=trends.warmup_s))
        return out

    def _kill(self, grace_s: float = 0.0) -> None:
        for proc in self._procs:
            if proc.poll() is None and grace_s:
                try:
                    proc.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    pass
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)

    def _log_tail(self, index: int, lines: int = 15) -> str:
        path = log_file(self.out_dir, index)
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or f"(empty log {path})"


def resolve_identities(profile: LoadProfile, target: Target) -> LoadProfile:
    """Replace selectors (``role:user``, ``tenant:acme``) by the target's identity names.

    Profiles stay portable across targets that name their identities differently.
    """

    def expand(ref: str) -> list[str]:
        if ":" not in ref:
            if ref not in target.identities:
                raise UsageError(f"load profile {profile.name!r} uses identity {ref!r}; the target has "
                                 f"{sorted(target.identities) or 'none'} (or use role:<role> / tenant:<tenant>)")
            return [ref]
        key, _, value = ref.partition(":")
        if key not in ("role", "tenant"):
            raise UsageError(f"load profile {profile.name!r}: identity selector {ref!r} must be role:<r> or tenant:<t>")
        found = sorted(name for name, i in target.identities.items() if getattr(i, key) == value)
        if not found:
            raise UsageError(f"load profile {profile.name!r}: no target identity matches {ref!r} "
                             f"(target has: {sorted(target.identities) or 'none'})")
        return found

    def resolved(ops: list) -> list:
        return [op.model_copy(update={"identities": [n for ref in op.identities for n in expand(ref)]}) for op in ops]

    return profile.model_copy(update={"operations": resolved(profile.operations), "setup": resolved(profile.setup)})


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _merge_labels(summaries: list[dict], scheduled_rate) -> dict[str, LabelTotals]:
    names = sorted({label for s in summaries for label in s["labels"]})
    out: dict[str, LabelTotals] = {}
    all_latency, all_service = hdr.new_histogram(), hdr.new_histogram()
    sums = [0, 0, 0]
    for name in names:
        parts = [s["labels"][name] for s in summaries if name in s["labels"]]
        latency = hdr.merge([p["latency"] for p in parts])
        service = hdr.merge([p["service"] for p in parts])
        counts = [sum(p[key] for p in parts) for key in ("requests", "errors", "dropped")]
        out[name] = LabelTotals(requests=counts[0], errors=counts[1], dropped=counts[2],
                                scheduled_rate=scheduled_rate(name), latency=hdr.LatencyStats.of(latency, bounds=True),
                                service=hdr.LatencyStats.of(service))
        all_latency.add(latency)
        all_service.add(service)
        sums = [a + b for a, b in zip(sums, counts, strict=True)]
    out[ALL] = LabelTotals(requests=sums[0], errors=sums[1], dropped=sums[2], scheduled_rate=scheduled_rate(ALL),
                           latency=hdr.LatencyStats.of(all_latency, bounds=True), service=hdr.LatencyStats.of(all_service))
    return out


def run_load(
    profile: LoadProfile,
    target: Target,
    *,
    workers: int = 1,
    out_dir: Path,
    allow_hosts: Iterable[str] = (),
    watch_pids: dict[str, int] | None = None,
) -> LoadResult:
    """Run the whole profile and return the merged result (blocking)."""
    with LoadRun(profile, target, workers=workers, out_dir=out_dir, allow_hosts=allow_hosts,
                 watch_pids=watch_pids) as run:
        return run.wait()
