"""Inspect or stop a local platform from *another* process, using only its state file and undo log."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any

import psutil

from harness.faults import procs
from harness.faults.undo import UndoLog
from harness.platforms.local.faults import local_undo_kinds
from harness.platforms.local.state import PlatformState, read_state, remove_state
from harness.platforms.local.supervisor import ComponentSpec, probe

STOP_ORDER = ["lb", "gateway-", "inference-cpu", "inference-gpu", "edge", "redis", "postgres"]


def _stop_rank(name: str) -> int:
    for rank, prefix in enumerate(STOP_ORDER):
        if name.startswith(prefix):
            return rank
    return len(STOP_ORDER)


def _probe_spec(name: str, port: int) -> ComponentSpec:
    if name in ("postgres", "redis"):
        return ComponentSpec(name=name, argv=["-"], port=port, readiness="tcp")
    return ComponentSpec(name=name, argv=["-"], port=port, ready_path="/healthz" if name in ("edge", "lb") else "/readyz")


def platform_status(state_dir: Path) -> dict[str, Any] | None:
    """Per component: pid, port, alive, paused, ready; None when no platform is recorded there."""
    state = read_state(state_dir)
    if state is None:
        return None
    components: dict[str, Any] = {}
    for name, comp in state.components.items():
        alive = procs.same_process(comp.pid, comp.create_time)
        paused = False
        if alive:
            try:
                paused = psutil.Process(comp.pid).status() == psutil.STATUS_STOPPED
            except psutil.Error:
                alive = False
        ready = alive and not paused and probe(_probe_spec(name, comp.port), 0.5) is None
        components[name] = {"pid": comp.pid, "port": comp.port, "alive": alive, "paused": paused, "ready": ready,
                            "log": comp.log_path}
    owner_alive = procs.same_process(state.owner_pid, state.owner_create_time)
    return {
        "state_dir": str(state_dir),
        "owner": "harness up (detached)" if state.detached else f"pid {state.owner_pid}" + ("" if owner_alive else " (dead)"),
        "backend": state.backend, "redis": state.redis, "defects": state.defects,
        "target": state.target.model_dump() if state.target else None,
        "links": {link: port for edge in state.edges.values() for link, port in edge.links.items()},
        "components": components,
        "pending_faults": [e.description for e in UndoLog(state_dir, local_undo_kinds()).pending() if e.kind != "process"],
    }


def platform_down(state_dir: Path, timeout_s: float = 5.0) -> list[str]:
    """Stop everything recorded in ``state_dir`` (state file + undo log); returns what was stopped/undone."""
    done: list[str] = []
    state: PlatformState | None = read_state(state_dir)
    if state is not None:
        for name in sorted(state.components, key=_stop_rank):
            comp = state.components[name]
            sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
            if procs.terminate_group(comp.pid, comp.create_time, sig=sig, timeout_s=timeout_s):
                done.append(f"stopped {name} (pid {comp.pid})")
    done += UndoLog(state_dir, local_undo_kinds()).undo_pending()  # faults, limits and any process the state file missed
    if state is not None:
        for path in state.data_dirs:
            shutil.rmtree(path, ignore_errors=True)
    for leftover in ("edge.ready.json", "lb.ready.json"):
        (Path(state_dir) / leftover).unlink(missing_ok=True)
    remove_state(state_dir)
    return done
