"""The undo log: every fault is written down (fsync) before it is applied, and undone after.

A run that is killed mid-experiment must not leave a paused process, a degraded link, a cgroup
limit or an orphan process behind. Each fault appends an ``apply`` line to
``<state_dir>/undo.jsonl`` before it happens (a started process right after fork, since its pid
does not exist earlier) and a ``done`` line once it is rolled back. ``undo_pending(state_dir)``
rolls back whatever has no ``done`` line, newest first; every platform start calls it.

Kinds and how they are undone:

* ``proxy_fault``  {control_url, link}         DELETE the link's faults on the edge control API
                                               (an edge that is gone took its faults with it)
* ``sigstop``      {pid, create_time}          SIGCONT the process group, if it is still ours
* ``gpu_count``    {url, count, pid,           POST the original GPU count back to the inference
                    create_time}               tier's admin endpoint, if that process is still ours
* ``cgroup``       {dirs, parents}             move processes back, delete the cgroups
* ``process``      {pid, create_time, name,    terminate the process group (``group: false``: only
                    group}                     that process, e.g. a load worker), if it is still ours
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx
import psutil
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

UNDO_FILE = "undo.jsonl"
Kind = Literal["process", "sigstop", "cgroup", "proxy_fault", "gpu_count"]
FAULT_KINDS = frozenset({"proxy_fault", "sigstop", "gpu_count", "cgroup"})  # everything but started processes
# faults before processes: a paused process is resumed, its GPUs and links restored, before it is stopped
UNDO_ORDER = {"proxy_fault": 0, "sigstop": 1, "gpu_count": 2, "cgroup": 3, "process": 4}


class UndoEntry(BaseModel):
    id: str
    kind: Kind
    description: str
    data: dict[str, Any] = Field(default_factory=dict)
    at: float


class UndoLog:
    """Append-only JSON lines; each line is ``{"op": "apply"|"update"|"done", ...}``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / UNDO_FILE

    def _append(self, line: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            prefix = b""
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    prefix = b"\n"  # a crash tore the last line: never glue a new line onto it
            fh.write(prefix + json.dumps(line, sort_keys=True).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def record(self, kind: Kind, description: str, **data: Any) -> str:
        """Write down a fault about to be applied; returns its id (for ``update``/``done``)."""
        entry = UndoEntry(id=uuid.uuid4().hex[:12], kind=kind, description=description, data=data, at=time.time())
        self._append({"op": "apply", **entry.model_dump()})
        return entry.id

    def update(self, entry_id: str, **data: Any) -> None:
        """Add facts learned after applying (e.g. a new process's pid and start time)."""
        self._append({"op": "update", "id": entry_id, "data": data})

    def done(self, entry_id: str) -> None:
        self._append({"op": "done", "id": entry_id})

    def pending(self) -> list[UndoEntry]:
        """Applied and not yet undone, oldest first."""
        if not self.path.exists():
            return []
        entries: dict[str, UndoEntry] = {}
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash: the fault it describes was never applied
            op = line.pop("op", None)
            if op == "apply":
                entries[line["id"]] = UndoEntry.model_validate(line)
            elif op == "update" and line["id"] in entries:
                entries[line["id"]].data.update(line["data"])
            elif op == "done":
                entries.pop(line["id"], None)
        return list(entries.values())

    def compact(self) -> None:
        """Rewrite the log with only the pending entries (drops history of finished faults)."""
        if not self.path.exists():
            return
        pending = self.pending()
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for entry in pending:
                fh.write(json.dumps({"op": "apply", **entry.model_dump()}, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def change_gpu_count(undo_log: UndoLog, *, port: int, pid: int, create_time: float, count: int, default: int,
                     undo_id: str | None) -> str | None:
    """Set inference-gpu's GPU count through its loopback admin endpoint, undo-logged before it changes.

    Returns the pending undo id while the count differs from ``default`` (None once it is back).
    """
    from harness.errors import PlatformError

    url = f"http://127.0.0.1:{port}/admin/gpus"
    if count != default and undo_id is None:
        undo_id = undo_log.record("gpu_count", f"inference-gpu sees {count} GPUs (pid {pid})", url=url, count=default,
                                  pid=pid, create_time=create_time)
    response = httpx.post(url, json={"count": count}, timeout=5.0, trust_env=False)
    if response.status_code >= 400:
        raise PlatformError(f"inference-gpu refused GPU count {count}: {response.status_code} {response.text[:200]}")
    if count == default and undo_id is not None:
        undo_log.done(undo_id)
        undo_id = None
    return undo_id


def _undo_proxy_fault(data: dict[str, Any]) -> bool:
    url = f"{data['control_url']}/links/{data['link']}/faults"
    try:
        httpx.delete(url, timeout=2.0, trust_env=False).raise_for_status()
        return True
    except httpx.ConnectError:
        return False  # the edge process is gone, and its faults with it


def _undo_sigstop(data: dict[str, Any]) -> bool:
    from harness.platforms.local.procs import signal_group

    return signal_group(data["pid"], data["create_time"], signal.SIGCONT)


def _undo_cgroup(data: dict[str, Any]) -> bool:
    from harness.cgroups import CgroupLimit, remove_limit

    existed = any(Path(d).exists() for d in data["dirs"])
    remove_limit(CgroupLimit(dirs=tuple(data["dirs"]), parents=tuple(data["parents"])))
    return existed


def _undo_gpu_count(data: dict[str, Any]) -> bool:
    from harness.platforms.local.procs import same_process

    if not same_process(data["pid"], data["create_time"]):
        return False  # the GPU tier is gone (or its pid reused): a new start sees every GPU again
    httpx.post(data["url"], json={"count": data["count"]}, timeout=5.0, trust_env=False).raise_for_status()
    return True


def _undo_process(data: dict[str, Any]) -> bool:
    from harness.platforms.local.procs import same_process, terminate_group

    if "pid" not in data:  # no pid: the fork never happened
        return False
    if data.get("group", True):
        return terminate_group(data["pid"], data["create_time"], timeout_s=3.0)
    if not same_process(data["pid"], data["create_time"]):
        return False
    try:
        proc = psutil.Process(data["pid"])
        proc.terminate()
        if not _gone_within(proc, 3.0):
            proc.kill()
            _gone_within(proc, 5.0)
    except psutil.NoSuchProcess:
        return False  # it exited meanwhile
    return True


def _gone_within(proc: psutil.Process, timeout_s: float) -> bool:
    """Wait until ``proc`` exited (a zombie has: only its parent can reap it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


# each returns True when it changed something (False: already gone, nothing to undo)
UNDOERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "proxy_fault": _undo_proxy_fault,
    "sigstop": _undo_sigstop,
    "gpu_count": _undo_gpu_count,
    "cgroup": _undo_cgroup,
    "process": _undo_process,
}


def undo_pending(state_dir: Path, kinds: frozenset[str] | None = None) -> list[str]:
    """Roll back everything a previous (killed) run left applied; returns what was actually undone.

    Faults are undone before processes (newest first), so a paused process is resumed and its
    link cleared before it is terminated. A rollback that fails stays pending for the next call
    and is reported as ``"FAILED ..."``. ``kinds`` limits it (``FAULT_KINDS``: heal a running
    system without stopping it).
    """
    undo_log = UndoLog(state_dir)
    pending = [e for e in undo_log.pending() if kinds is None or e.kind in kinds]
    done: list[str] = []
    for entry in sorted(reversed(pending), key=lambda e: UNDO_ORDER[e.kind]):
        try:
            acted = UNDOERS[entry.kind](entry.data)
        except Exception as exc:  # keep going: one stuck fault must not block the rest
            log.warning("undo of %s failed: %s", entry.description, exc)
            done.append(f"FAILED {entry.kind}: {entry.description}: {exc}")
            continue
        undo_log.done(entry.id)
        if acted:
            done.append(f"{entry.kind}: {entry.description}")
    undo_log.compact()
    return done
