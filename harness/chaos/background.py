"""The background load every experiment runs under: a small open-model mix through the balancer.

Sized for a 2-core machine and the reference system's default limits: at ``rate`` arrivals/s,
20 % create analyses (they exercise inference, so degradation shows) and 10 % read one back,
spread over the target's user and admin identities so each stays far below 100 req/min;
the rest are liveness calls through the balancer (a dead or hung replica shows as errors).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.load import LoadProfile
from harness.load.profile import parse_profile
from harness.platforms.local import procs
from harness.undo import UndoLog

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


class LoadWorkersUndo:
    """Lets the next start reap load generators a SIGKILLed harness left behind.

    Workers inherit the harness's process group, so when the harness leads its own group (a
    shell job, or a subprocess started with ``start_new_session``) the group is written to the
    undo log while load runs: a dead harness's group then holds only its orphaned workers.
    When the harness is not a group leader nothing is logged (the group would be the caller's);
    orphans then end on their own when their profile's duration is over.
    """

    def __init__(self, state_dir: Path | None) -> None:
        self._undo = UndoLog(state_dir) if state_dir is not None else None
        self._entry: str | None = None

    def __enter__(self) -> LoadWorkersUndo:
        me = os.getpid()
        if self._undo is not None and os.getpgid(0) == me:
            self._entry = self._undo.record("process", f"chaos load generators (process group of harness pid {me})",
                                            pid=me, create_time=procs.start_time(me), name="chaos-load")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._entry is not None and self._undo is not None:
            self._undo.done(self._entry)
