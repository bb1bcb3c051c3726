"""Faults on a system the user runs: docker containers (through the Docker SDK) and processes (by PID or
command line), named in the target file's ``chaos.components``.

Same contract as the local platform: every fault is written to the undo log (``<state dir>/undo.jsonl``)
*before* it is applied, and undone by the experiment's rollbacks, the runner's heal, the next start, or
``harness doctor --cleanup``. Undo kinds:

* ``docker_paused``        {container}           unpause it, if it is still paused
* ``docker_stopped``       {container}           start it again, if it is not running (after a kill)
* ``docker_disconnected``  {container, network}  connect it to the network again, if it is not
* ``process_paused``       {pid, create_time}    SIGCONT, if that process is still the one paused
* ``process_killed``       {argv, cwd, match}    start ``argv`` again (detached), unless a process whose
                                                 command line contains ``match`` already runs

Only what the target file names is ever touched; a command that matches no process, or more than one,
is refused before anything happens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from harness.errors import PlatformError
from harness.faults.procs import same_process, start_time
from harness.faults.undo import UndoKind, UndoKinds, UndoLog

DOCKER_TIMEOUT_S = 20


def docker_client() -> Any:
    """The Docker SDK client (``DOCKER_HOST`` or the local socket); ``PlatformError`` when no daemon answers."""
    try:
        import docker

        client = docker.from_env(timeout=DOCKER_TIMEOUT_S)
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001 - docker raises many kinds; the sentence is what matters
        raise PlatformError(f"no docker daemon answers ({str(exc).splitlines()[0][:160]}); container chaos needs "
                            "one (DOCKER_HOST or /var/run/docker.sock)") from None


def _container(name: str) -> Any:
    try:
        return docker_client().containers.get(name)
    except PlatformError:
        raise
    except Exception as exc:  # noqa: BLE001 - docker.errors.NotFound and friends
        raise PlatformError(f"container {name!r}: {str(exc).splitlines()[0][:160]}") from None


def _undo_docker_paused(data: dict[str, Any]) -> bool:
    container = _container(data["container"])
    container.reload()
    if container.status != "paused":
        return False
    container.unpause()
    return True


def _undo_docker_stopped(data: dict[str, Any]) -> bool:
    container = _container(data["container"])
    container.reload()
    if container.status == "running":
        return False
    container.start()
    return True


def _undo_docker_disconnected(data: dict[str, Any]) -> bool:
    container = _container(data["container"])
    container.reload()
    if data["network"] in (container.attrs.get("NetworkSettings", {}).get("Networks") or {}):
        return False
    docker_client().networks.get(data["network"]).connect(container)
    return True


def _undo_process_paused(data: dict[str, Any]) -> bool:
    if not same_process(data["pid"], data["create_time"]):
        return False
    os.kill(data["pid"], signal.SIGCONT)
    return True


def _undo_process_killed(data: dict[str, Any]) -> bool:
    if matching_processes(data["match"]):
        return False
    start_detached(data["argv"], data.get("cwd"))
    return True


def external_undo_kinds() -> UndoKinds:
    return UndoKinds([
        UndoKind("docker_paused", _undo_docker_paused, order=0),
        UndoKind("docker_disconnected", _undo_docker_disconnected, order=5),
        UndoKind("docker_stopped", _undo_docker_stopped, order=10),
        UndoKind("process_paused", _undo_process_paused, order=0),
        UndoKind("process_killed", _undo_process_killed, order=10),
    ])


def matching_processes(match: str) -> list[psutil.Process]:
    """Processes (not this one, nor its ancestors) whose command line contains ``match``."""
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if match in cmdline and proc.pid not in mine and proc.status() != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def start_detached(argv: list[str], cwd: str | None) -> int:
    """Start a process again the way the user ran it: its own session, output to a log in the state dir."""
    log = Path(os.environ.get("HARNESS_STATE_DIR") or ".harness").absolute() / "restarted.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    return proc.pid


class ExternalFaults:
    """Kill, pause, resume, restart and (containers) network-disconnect the components a target file names."""

    def __init__(self, components: dict[str, dict[str, Any]], undo: UndoLog) -> None:
        self.components = components
        self.undo = undo
        self._open: dict[tuple[str, str], str] = {}  # (component, fault) -> undo id

    def spec(self, name: str) -> dict[str, Any]:
        if name not in self.components:
            raise PlatformError(f"no chaos component {name!r}; the target file names: "
                                f"{', '.join(self.components) or 'none'} (chaos.components)")
        return self.components[name]

    def process(self, name: str) -> psutil.Process:
        spec = self.spec(name)
        if "pid" in spec:
            try:
                return psutil.Process(int(spec["pid"]))
            except psutil.NoSuchProcess:
                raise PlatformError(f"{name}: no process {spec['pid']}") from None
        found = matching_processes(spec["command"])
        if len(found) != 1:
            raise PlatformError(f"{name}: {len(found)} processes match {spec['command']!r}; name exactly one")
        return found[0]

    def _record(self, name: str, fault: str, kind: str, description: str, **data: Any) -> None:
        self._open[(name, fault)] = self.undo.record(kind, description, **data)

    def _close(self, name: str, fault: str) -> None:
        undo_id = self._open.pop((name, fault), None)
        if undo_id is not None:
            self.undo.done(undo_id)

    def kill(self, name: str) -> None:
        spec = self.spec(name)
        if "container" in spec:
            self._record(name, "kill", "docker_stopped", f"killed container {spec['container']}",
                         container=spec["container"])
            _container(spec["container"]).kill()
            return
        proc = self.process(name)
        argv = list(spec.get("restart") or proc.cmdline())
        self._record(name, "kill", "process_killed", f"killed {name} (pid {proc.pid})", argv=argv, cwd=proc.cwd(),
                     match=spec.get("command") or " ".join(argv))
        proc.kill()
        proc.wait(timeout=10)

    def pause(self, name: str) -> None:
        spec = self.spec(name)
        if "container" in spec:
            self._record(name, "pause", "docker_paused", f"paused container {spec['container']}",
                         container=spec["container"])
            _container(spec["container"]).pause()
            return
        proc = self.process(name)
        self._record(name, "pause", "process_paused", f"SIGSTOP {name} (pid {proc.pid})", pid=proc.pid,
                     create_time=start_time(proc.pid))
        proc.suspend()

    def resume(self, name: str) -> None:
        spec = self.spec(name)
        if "container" in spec:
            container = _container(spec["container"])
            container.reload()
            if container.status == "paused":
                container.unpause()
        else:
            self.process(name).resume()
        self._close(name, "pause")

    def restart(self, name: str) -> None:
        """Stop gracefully and start again; returns when it runs (containers: docker restart)."""
        spec = self.spec(name)
        if "container" in spec:
            _container(spec["container"]).restart(timeout=10)
            return
        proc = self.process(name)
        argv, cwd = list(spec.get("restart") or proc.cmdline()), proc.cwd()
        undo_id = self.undo.record("process_killed", f"restarting {name} (pid {proc.pid})", argv=argv, cwd=cwd,
                                   match=spec.get("command") or " ".join(argv))
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except psutil.TimeoutExpired:
            proc.kill()
        start_detached(argv, cwd)
        self.undo.done(undo_id)

    def restore(self, name: str) -> None:
        """Rollback of kill/pause: resume it if paused, start it again if it is not running."""
        self.resume(name)
        undo_id = self._open.pop((name, "kill"), None)
        if undo_id is not None:
            entry = next((e for e in self.undo.pending() if e.id == undo_id), None)
            if entry is not None:
                self.undo.kinds[entry.kind].undo(entry.data)
            self.undo.done(undo_id)

    def disconnect(self, name: str) -> None:
        spec = self.spec(name)
        if "container" not in spec or not spec.get("network"):
            raise PlatformError(f"{name}: network_disconnect needs a container with a network in the target file")
        self._record(name, "disconnect", "docker_disconnected", f"disconnected {spec['container']} from "
                     f"{spec['network']}", container=spec["container"], network=spec["network"])
        docker_client().networks.get(spec["network"]).disconnect(_container(spec["container"]), force=True)

    def reconnect(self, name: str) -> None:
        spec = self.spec(name)
        _undo_docker_disconnected({"container": spec["container"], "network": spec["network"]})
        self._close(name, "disconnect")

    def alive(self, name: str) -> bool:
        spec = self.spec(name)
        if "container" in spec:
            container = _container(spec["container"])
            container.reload()
            return bool(container.status == "running")
        try:
            return self.process(name).is_running()
        except PlatformError:
            return False

    def clear_all(self) -> list[str]:
        """Undo every fault this platform still has open (newest first)."""
        self._open.clear()
        return self.undo.undo_pending(faults_only=True)

    def wait_alive(self, name: str, timeout_s: float = 30) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.alive(name):
                return True
            time.sleep(0.2)
        return False
