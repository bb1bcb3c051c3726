"""Undo kinds for faults on this host's processes, whichever platform applied them.

* ``sigstop``  {pid, create_time}          SIGCONT the process group, if it is still ours
* ``cgroup``   {dirs, parents}             move processes back, delete the cgroups
* ``process``  {pid, create_time, name,    terminate the process group (``group: false``: only
                group}                     that process, e.g. a load worker), if it is still ours
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil

from harness.faults.cgroups import CgroupLimit, remove_limit
from harness.faults.procs import same_process, signal_group, terminate_group
from harness.faults.undo import UndoKind, UndoKinds


def _undo_sigstop(data: dict[str, Any]) -> bool:
    return signal_group(data["pid"], data["create_time"], signal.SIGCONT)


def _undo_cgroup(data: dict[str, Any]) -> bool:
    existed = any(Path(d).exists() for d in data["dirs"])
    remove_limit(CgroupLimit(dirs=tuple(data["dirs"]), parents=tuple(data["parents"])))
    return existed


def _undo_process(data: dict[str, Any]) -> bool:
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


SIGSTOP = UndoKind("sigstop", _undo_sigstop, order=10)
CGROUP = UndoKind("cgroup", _undo_cgroup, order=30)
PROCESS = UndoKind("process", _undo_process, order=100, is_fault=False)  # last: faults on it are undone first


def host_undo_kinds() -> UndoKinds:
    """The host-level kinds; a platform merges its own into these."""
    return UndoKinds([SIGSTOP, CGROUP, PROCESS])
