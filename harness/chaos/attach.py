"""Hurt a local platform that another process started (``harness up``), from its state file.

Standalone ``chaos run`` has no platform object in its process: this attaches through what the
owner wrote down (``platform.json``: pids, ports, edge control URLs) and the shared undo log,
so every fault is still logged before it is applied, and faults a killed earlier run left in that
log are undone when the next one attaches. Restarting a component needs its full
spec (argv and environment, which is deliberately not stored on disk), so ``restart`` and
``limit`` raise ``NotImplementedError`` here; kill is refused for the same reason (nothing could
bring the component back).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx

from harness.errors import PlatformError
from harness.faults import procs
from harness.faults.undo import UndoLog
from harness.platforms.local.faults import change_gpu_count, local_undo_kinds
from harness.platforms.local.links import LinkControl
from harness.platforms.local.refsys import DEFAULT_GPUS
from harness.platforms.local.state import PlatformState, default_state_dir, read_state


class AttachedLocalPlatform:
    name = "local-attached"
    # not kill, restart or cgroup limits: see the module docstring
    fault_kinds = frozenset({"pause", "link", "dependency_outage", "gpu_loss"})

    def __init__(self, state_dir: Path | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        state = read_state(self.state_dir)
        if state is None or state.target is None:
            raise PlatformError(f"no running local platform recorded in {self.state_dir}; start one with "
                                "`harness up` (or set HARNESS_STATE_DIR to its state dir)")
        self.state: PlatformState = state
        self.target = state.target
        self.undo = UndoLog(self.state_dir, local_undo_kinds())
        self._active_link_faults: dict[str, str] = {}
        self._paused: dict[str, str] = {}
        self._gpus_changed = False
        self._gpu_undo_id: str | None = None
        # a previous chaos run against this system that was killed left its faults in the shared log:
        # undo them (never the system's own processes, which `harness up` owns)
        self.cleaned_up = self.undo.undo_pending(faults_only=True)

    @property
    def backend(self) -> str:
        return self.state.backend

    @property
    def redis(self) -> bool:
        return self.state.redis

    def components(self) -> list[str]:
        return [n for n in self.state.components if n != "edge"]

    def _comp(self, component: str) -> Any:
        if component not in self.state.components or component == "edge":
            raise PlatformError(f"unknown component {component!r}; known: {', '.join(self.components())}")
        return self.state.components[component]

    def port(self, component: str) -> int:
        return int(self._comp(component).port)

    def links(self) -> list[str]:
        return sorted(link for edge in self.state.edges.values() for link in edge.links)

    def link(self, name: str) -> LinkControl:
        for edge in self.state.edges.values():
            if name in edge.links:
                return LinkControl(name, edge.control_url, self.undo, self._active_link_faults)
        raise PlatformError(f"unknown link {name!r}; known: {', '.join(self.links())}")

    def pause(self, component: str) -> None:
        comp = self._comp(component)
        undo_id = self.undo.record("sigstop", f"SIGSTOP {component} (pid {comp.pid})", pid=comp.pid,
                                   create_time=comp.create_time)
        if not procs.signal_group(comp.pid, comp.create_time, signal.SIGSTOP):
            self.undo.done(undo_id)
            raise PlatformError(f"cannot pause {component}: it is not running")
        self._paused[component] = undo_id

    def resume(self, component: str) -> None:
        comp = self._comp(component)
        procs.signal_group(comp.pid, comp.create_time, signal.SIGCONT)
        undo_id = self._paused.pop(component, None)
        if undo_id:
            self.undo.done(undo_id)

    def kill(self, component: str) -> None:
        raise NotImplementedError("an attached platform cannot kill components: nothing could restart them; "
                                  "run the experiment through `harness run --suite chaos` instead")

    def restart(self, component: str) -> None:
        raise NotImplementedError("an attached platform cannot restart components (their spec is not on disk)")

    def limit(self, component: str, *, cpu_percent: float | None = None, memory_mb: int | None = None) -> None:
        raise NotImplementedError("an attached platform cannot apply cgroup limits; use `harness run`")

    def unlimit(self, component: str) -> None:
        return None

    def set_gpu_count(self, n: int) -> None:
        comp = self._comp("inference-gpu")
        self._gpu_undo_id = change_gpu_count(self.undo, port=comp.port, pid=comp.pid, create_time=comp.create_time,
                                             count=n, default=DEFAULT_GPUS, undo_id=self._gpu_undo_id)
        self._gpus_changed = n != DEFAULT_GPUS

    def lb_backends(self) -> dict[str, Any]:
        """The balancer's view of the replicas (healthy flags), from its control API."""
        response = httpx.get(f"{self.state.edges['lb'].control_url}/lb", timeout=2.0, trust_env=False, verify=False)
        return dict(response.json()["backends"])

    def clear_all_faults(self) -> None:
        for component in list(self._paused):
            self.resume(component)
        for edge in self.state.edges.values():
            httpx.post(f"{edge.control_url}/faults/clear", timeout=5.0, trust_env=False, verify=False).raise_for_status()
        for undo_id in self._active_link_faults.values():
            self.undo.done(undo_id)
        self._active_link_faults.clear()
        if self._gpus_changed:
            self.set_gpu_count(DEFAULT_GPUS)
