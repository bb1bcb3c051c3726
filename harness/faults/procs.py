"""Signalling process groups safely: identify a process by (pid, start time), never pid alone.

A pid can be reused after its process exits; a recorded process is only "ours" when a process
with that pid exists *and* started at the recorded time. Components run in their own process
group (pgid == pid of the leader), so signals go to the whole group (uvicorn workers, postgres
backends) — but only after the leader (or, if it died, the surviving members) checks out.
"""

from __future__ import annotations

import os
import signal
import time

import psutil

START_TIME_TOLERANCE_S = 0.05


def start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def same_process(pid: int, create_time: float) -> bool:
    """True if ``pid`` is still the process that started at ``create_time`` (and not a zombie)."""
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < START_TIME_TOLERANCE_S and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int, create_time: float) -> list[psutil.Process]:
    """Live processes of the group started by (pgid, create_time); [] if the group is someone else's now."""
    leader_alive = psutil.pid_exists(pgid)
    if leader_alive and not same_process(pgid, create_time):
        try:
            if psutil.Process(pgid).status() != psutil.STATUS_ZOMBIE:
                return []  # the pgid belongs to a different, newer process: not ours
        except psutil.Error:
            pass
    members = []
    for proc in psutil.process_iter(["pid", "create_time", "status"]):
        try:
            if (os.getpgid(proc.pid) == pgid and proc.info["create_time"] >= create_time - START_TIME_TOLERANCE_S
                    and proc.info["status"] != psutil.STATUS_ZOMBIE):
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    return members


def signal_group(pgid: int, create_time: float, sig: int) -> bool:
    """Send ``sig`` to our process group; False when nothing of it is left (or it is not ours)."""
    if not group_members(pgid, create_time):
        return False
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def wait_gone(pgid: int, create_time: float, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not group_members(pgid, create_time):
            return True
        time.sleep(0.05)
    return not group_members(pgid, create_time)


def terminate_group(pgid: int, create_time: float, *, sig: int = signal.SIGTERM, timeout_s: float = 5.0) -> bool:
    """Stop a group: SIGCONT (a stopped process cannot handle SIGTERM), ``sig``, wait, then SIGKILL.

    Returns True if anything of the group was running.
    """
    if not group_members(pgid, create_time):
        return False
    signal_group(pgid, create_time, signal.SIGCONT)
    signal_group(pgid, create_time, sig)
    if not wait_gone(pgid, create_time, timeout_s):
        signal_group(pgid, create_time, signal.SIGKILL)
        wait_gone(pgid, create_time, 5.0)
    return True
