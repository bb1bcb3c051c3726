"""The background load every experiment runs under: a small open-model mix through the balancer.

Sized for a 2-core machine and the reference system's default limits: at ``rate`` arrivals/s,
20 % create analyses (they exercise inference, so degradation shows) and 10 % read one back,
spread over the target's user and admin identities so each stays far below 100 req/min;
the rest are liveness calls through the balancer (a dead or hung replica shows as errors).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from harness.faults import procs
from harness.faults.undo import UndoLog
from harness.load import LoadProfile, LoadRun
from harness.load.profile import parse_profile
from harness.load.result import LoadResult
from harness.platforms.local.faults import local_undo_kinds

IDENTITIES = ["role:user", "role:admin"]


def background_profile(rate: float, duration_s: float, *, seed: int = 1) -> LoadProfile:
    return parse_profile({
        "name": "chaos_background",
        "description": f"chaos steady state: {rate:g}/s open-model mix for up to {duration_s:.0f}s",
        "model": "open",
        "arrivals": "uniform",
        "seed": seed,
        "stages": [{"duration_s": duration_s, "rate": rate}],
        "max_users": max(30, int(rate * 8)),
        "timeout_s": 10,
        "setup": [{"name": "create_analysis", "method": "POST", "path": "/analyses",
                   "json": {"text": "chaos seed: the steady state"}, "identities": IDENTITIES,
                   "capture": {"analysis_id": "id"}}],
        "operations": [
            {"name": "create_analysis", "method": "POST", "path": "/analyses", "weight": 2,
             "json": {"text": "chaos {seq}: delivery was quick and the support team was friendly"},
             "identities": IDENTITIES, "capture": {"analysis_id": "id"}},
            {"name": "get_analysis", "path": "/analyses/{analysis_id}", "weight": 1, "identities": IDENTITIES},
            {"name": "healthz", "path": "/healthz", "weight": 7},
        ],
        "generator": {"max_cpu_percent": 90, "max_saturated_fraction": 0.5, "max_lag_p99_ms": 100},
    }, "chaos background load")


def external_background_profile(target: Any, rate: float, duration_s: float, *, seed: int = 1) -> LoadProfile:
    """A system the user runs: its own load profile (target file) or the starter of its safe GETs, at ``rate``."""
    from harness.load.profile import load_profile
    from harness.load.starter import probe_anonymous, starter_profile
    from harness.security.context import load_document

    if target.extra.get("load_profile"):
        base = load_profile(target.extra["load_profile"])
    else:
        import httpx

        document = load_document(target)
        with httpx.Client(base_url=target.base_url, timeout=10) as client:
            base = starter_profile(document, target, anonymous_status=probe_anonymous(client, document))
    data = base.model_dump(by_alias=True)
    data.update(name="chaos_background", seed=seed, stages=[{"duration_s": duration_s, "rate": rate}],
                description=f"chaos steady state on {target.base_url}: {base.name}'s operations at {rate:g}/s",
                max_users=max(30, int(rate * 8)),
                generator={"max_cpu_percent": 90, "max_saturated_fraction": 0.5, "max_lag_p99_ms": 250})
    return parse_profile(data, "chaos background load")


class TrackedLoadRun(LoadRun):
    """A ``LoadRun`` whose every worker process is in the undo log from fork until it exited.

    Workers are plain children of the harness (same process group), so a SIGKILLed harness
    leaves them running until their profile ends. Each one is recorded like a component start
    (an ``apply`` line before the fork, its pid and start time right after it, ``group: false``
    because it leads no group), so the next start or ``harness doctor --cleanup`` terminates
    exactly these processes, whatever process group the harness ran in.
    """

    def __init__(self, *args: Any, state_dir: Path | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._undo = UndoLog(state_dir, local_undo_kinds()) if state_dir is not None else None
        self._pending: list[tuple[str, subprocess.Popen[bytes]]] = []  # (undo id, worker)

    def spawn_worker(self, index: int) -> subprocess.Popen[bytes]:
        if self._undo is None:
            return super().spawn_worker(index)
        undo_id = self._undo.record("process", f"chaos load generator {index} of harness pid {os.getpid()}",
                                    name=f"chaos-load-{index}", group=False)
        try:
            proc = super().spawn_worker(index)
        except BaseException:
            self._undo.done(undo_id)
            raise
        created = procs.start_time(proc.pid)
        if created is None:  # already gone
            self._undo.done(undo_id)
        else:
            self._undo.update(undo_id, pid=proc.pid, create_time=created)
            self._pending.append((undo_id, proc))
        return proc

    def start(self) -> TrackedLoadRun:
        try:
            super().start()
        except BaseException:  # the workers it spawned were killed
            self._forget_exited()
            raise
        return self

    def stop_within(self, grace_s: float) -> bool:
        try:
            return super().stop_within(grace_s)
        finally:
            self._forget_exited()

    def wait(self, timeout_s: float | None = None) -> LoadResult:
        try:
            return super().wait(timeout_s)
        finally:
            self._forget_exited()

    def _forget_exited(self) -> None:
        """Close the undo entries of workers that have exited (a worker still running stays pending)."""
        if self._undo is None:
            return
        running = []
        for undo_id, proc in self._pending:
            if proc.poll() is None:
                running.append((undo_id, proc))
            else:
                self._undo.done(undo_id)
        self._pending = running
