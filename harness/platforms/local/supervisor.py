"""Starts component processes, waits for readiness, and hurts them on request.

Each component is one OS process in its own process group, configured only through its
environment, logging to ``<log_dir>/<name>.log``. Every start, pause and resource limit goes
through the undo log first, so a killed run can be cleaned up by ``UndoLog.undo_pending``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import httpx
import psutil
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import PlatformError
from harness.faults import cgroups
from harness.faults.procs import (
    group_members,
    same_process,
    signal_group,
    start_time,
    terminate_group,
)
from harness.faults.undo import UndoLog

Readiness = Literal["http", "tcp", "postgres", "redis"]


class ComponentSpec(BaseModel):
    """How to run one component; ``restart`` reuses it verbatim (same port, same env)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = Field(default_factory=dict)
    readiness: Readiness = "http"
    ready_path: str = "/readyz"
    user: str | None = None  # run as this OS user (PostgreSQL refuses to run as root)
    cwd: str | None = None
    stop_signal: int = signal.SIGTERM
    ready_probe: dict[str, str] = Field(default_factory=dict)  # extra facts for the probe (db user)


class ComponentState(BaseModel):
    """What the state file remembers about a running component (never its environment: secrets)."""

    name: str
    pid: int
    create_time: float
    port: int
    log_path: str
    undo_id: str
    paused_undo_id: str | None = None
    limit_undo_id: str | None = None
    limit: dict[str, list[str]] | None = None


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports picked by the OS (all held open while picking, so
    they differ from each other); the components bind them right after."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    """A currently free loopback port (the OS picks it); the component binds it right after."""
    return free_ports(1)[0]


def log_tail(path: Path | str, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def probe(spec: ComponentSpec, timeout_s: float = 0.5) -> str | None:
    """None when the component answers as ready, else a short reason."""
    try:
        if spec.readiness == "http":
            response = httpx.get(f"http://127.0.0.1:{spec.port}{spec.ready_path}", timeout=timeout_s, trust_env=False, verify=False)
            return None if response.status_code == 200 else f"{spec.ready_path} answered {response.status_code}: {response.text[:200]}"
        if spec.readiness == "tcp":
            with socket.create_connection(("127.0.0.1", spec.port), timeout=timeout_s):
                return None
        if spec.readiness == "postgres":
            import psycopg

            user = spec.ready_probe.get("user", "postgres")
            with psycopg.connect(host="127.0.0.1", port=spec.port, user=user, dbname="postgres",
                                 connect_timeout=max(1, int(timeout_s))) as conn:
                conn.execute("SELECT 1")
            return None
        if spec.readiness == "redis":
            import redis

            client = redis.Redis(host="127.0.0.1", port=spec.port, socket_timeout=timeout_s,
                                 socket_connect_timeout=timeout_s)
            try:
                client.ping()
            finally:
                client.close()
            return None
    except Exception as exc:  # any failure just means "not ready yet"
        return f"{type(exc).__name__}: {exc}"[:300]
    return f"unknown readiness kind {spec.readiness!r}"


class Supervisor:
    def __init__(self, log_dir: Path, undo: UndoLog) -> None:
        self.log_dir = Path(log_dir)
        self.undo = undo
        self.specs: dict[str, ComponentSpec] = {}
        self.states: dict[str, ComponentState] = {}
        self._popen: dict[str, subprocess.Popen[bytes]] = {}

    # -- start / readiness -------------------------------------------------------------------
    def start(self, spec: ComponentSpec) -> ComponentState:
        if spec.name in self.states and self.alive(spec.name):
            raise PlatformError(f"{spec.name} is already running (pid {self.states[spec.name].pid})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{spec.name}.log"
        undo_id = self.undo.record("process", f"{spec.name} ({' '.join(spec.argv[:3])})", name=spec.name)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        with open(log_path, "ab") as log_file:
            log_file.write(f"\n--- starting {spec.name}: {' '.join(spec.argv)} (port {spec.port})\n".encode())
            log_file.flush()
            try:
                popen = subprocess.Popen(spec.argv, env=env, cwd=spec.cwd, stdin=subprocess.DEVNULL,
                                         stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                         user=spec.user, group=_primary_group(spec.user))
            except OSError as exc:
                self.undo.done(undo_id)
                raise PlatformError(f"cannot start {spec.name} ({spec.argv[0]}): {exc}") from None
        created = start_time(popen.pid) or time.time()
        self.undo.update(undo_id, pid=popen.pid, create_time=created)
        self.specs[spec.name] = spec
        self._popen[spec.name] = popen
        state = ComponentState(name=spec.name, pid=popen.pid, create_time=created, port=spec.port,
                               log_path=str(log_path), undo_id=undo_id)
        self.states[spec.name] = state
        return state

    def wait_ready(self, names: Iterable[str], timeout_s: float) -> None:
        """Poll until every named component is ready; PlatformError with the log tail otherwise."""
        waiting = list(names)
        deadline = time.monotonic() + timeout_s
        reasons: dict[str, str] = {}
        while waiting:
            for name in list(waiting):
                popen = self._popen[name]
                if popen.poll() is not None:
                    raise PlatformError(
                        f"{name} exited with code {popen.returncode} while starting; "
                        f"last lines of {self.states[name].log_path}:\n{log_tail(self.states[name].log_path)}")
                reason = probe(self.specs[name])
                if reason is None:
                    waiting.remove(name)
                else:
                    reasons[name] = reason
            if not waiting:
                return
            if time.monotonic() > deadline:
                name = waiting[0]
                raise PlatformError(
                    f"{name} not ready after {timeout_s:.0f} s (last probe: {reasons.get(name)}); "
                    f"raise startup_timeout_s or read the log. Last lines of {self.states[name].log_path}:\n"
                    f"{log_tail(self.states[name].log_path)}")
            time.sleep(0.1)

    # -- queries -----------------------------------------------------------------------------
    def alive(self, name: str) -> bool:
        state = self.states.get(name)
        if state is None:
            return False
        popen = self._popen.get(name)
        if popen is not None and popen.poll() is not None:
            return False
        return same_process(state.pid, state.create_time)

    def status(self, name: str) -> dict[str, object]:
        state = self._state(name)
        alive = self.alive(name)
        return {"pid": state.pid, "port": state.port, "alive": alive, "paused": state.paused_undo_id is not None,
                "ready": alive and state.paused_undo_id is None and probe(self.specs[name], 0.5) is None,
                "limited": state.limit is not None, "log": state.log_path}

    def _state(self, name: str) -> ComponentState:
        if name not in self.states:
            raise PlatformError(f"unknown component {name!r}; known: {', '.join(self.states)}")
        return self.states[name]

    # -- faults ------------------------------------------------------------------------------
    def kill(self, name: str) -> None:
        """SIGKILL the component's process group (a crash: no graceful shutdown)."""
        state = self._state(name)
        signal_group(state.pid, state.create_time, signal.SIGKILL)
        self._reap(name)
        self._forget_faults(state)

    def pause(self, name: str) -> None:
        state = self._state(name)
        if state.paused_undo_id is not None:
            return
        state.paused_undo_id = self.undo.record("sigstop", f"SIGSTOP {name} (pid {state.pid})",
                                                pid=state.pid, create_time=state.create_time)
        if not signal_group(state.pid, state.create_time, signal.SIGSTOP):
            self.undo.done(state.paused_undo_id)
            state.paused_undo_id = None
            raise PlatformError(f"cannot pause {name}: it is not running (restart it first)")
        _wait_until_stopped(state.pid)

    def resume(self, name: str) -> None:
        state = self._state(name)
        signal_group(state.pid, state.create_time, signal.SIGCONT)
        if state.paused_undo_id is not None:
            self.undo.done(state.paused_undo_id)
            state.paused_undo_id = None

    def limit(self, name: str, *, cpu_percent: float | None = None, memory_mb: int | None = None) -> None:
        state = self._state(name)
        if state.limit is not None:
            self.unlimit(name)
        plan = cgroups.plan_limit(name, cpu_percent=cpu_percent, memory_mb=memory_mb)
        undo_id = self.undo.record("cgroup", f"limit {name} cpu={cpu_percent}% memory={memory_mb}MB",
                                   dirs=list(plan.dirs), parents=list(plan.parents))
        pids = [p.pid for p in group_members(state.pid, state.create_time)]
        try:
            cgroups.apply_limit(plan, pids, cpu_percent=cpu_percent, memory_mb=memory_mb)
        except BaseException:
            cgroups.remove_limit(plan)
            self.undo.done(undo_id)
            raise
        state.limit = {"dirs": list(plan.dirs), "parents": list(plan.parents)}
        state.limit_undo_id = undo_id

    def unlimit(self, name: str) -> None:
        state = self._state(name)
        if state.limit is None:
            return
        cgroups.remove_limit(cgroups.CgroupLimit(dirs=tuple(state.limit["dirs"]), parents=tuple(state.limit["parents"])))
        if state.limit_undo_id:
            self.undo.done(state.limit_undo_id)
        state.limit = None
        state.limit_undo_id = None

    # -- stop / restart ----------------------------------------------------------------------
    def stop(self, name: str, timeout_s: float = 5.0) -> None:
        state = self.states.get(name)
        if state is None:
            return
        spec = self.specs.get(name)
        terminate_group(state.pid, state.create_time, sig=spec.stop_signal if spec else signal.SIGTERM,
                        timeout_s=timeout_s)
        self._reap(name)
        self._forget_faults(state)

    def restart(self, name: str, *, timeout_s: float = 20.0) -> ComponentState:
        """Stop (gracefully) and start again with the same spec (same port, same env); waits until ready."""
        spec = self.specs.get(name)
        if spec is None:
            raise PlatformError(f"unknown component {name!r}; known: {', '.join(self.specs)}")
        self.stop(name)
        self.start(spec)
        self.wait_ready([name], timeout_s)
        return self.states[name]

    def stop_all(self, order: Iterable[str] | None = None) -> None:
        for name in list(order if order is not None else reversed(list(self.states))):
            self.stop(name)

    def _reap(self, name: str) -> None:
        popen = self._popen.get(name)
        if popen is not None:
            try:
                popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=5)

    def _forget_faults(self, state: ComponentState) -> None:
        """The process is gone: its pause is moot, its cgroup is removed, its start is undone."""
        if state.limit is not None:
            cgroups.remove_limit(cgroups.CgroupLimit(dirs=tuple(state.limit["dirs"]), parents=tuple(state.limit["parents"])))
            state.limit = None
        for undo_id in (state.paused_undo_id, state.limit_undo_id, state.undo_id):
            if undo_id:
                self.undo.done(undo_id)
        state.paused_undo_id = state.limit_undo_id = None


def _primary_group(user: str | None) -> int | None:
    if user is None:
        return None
    import pwd

    return pwd.getpwnam(user).pw_gid


def python_module(module: str) -> list[str]:
    """argv for ``python -m module`` with this interpreter (the venv the harness runs in)."""
    return [sys.executable, "-m", module]


def _wait_until_stopped(pid: int, timeout_s: float = 2.0) -> None:
    """SIGSTOP is delivered asynchronously: return only once the kernel shows the process stopped,
    so a caller that pauses and then measures never measures a still-running process."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.005)
