"""The local platform's own undo kinds, on top of the host's (``harness.faults.host``).

* ``proxy_fault``  {control_url, link}         DELETE the link's faults on the edge control API
                                               (an edge that is gone took its faults with it)
* ``gpu_count``    {url, count, pid,           POST the original GPU count back to the inference
                    create_time}               tier's admin endpoint, if that process is still ours
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.errors import PlatformError
from harness.faults.host import host_undo_kinds
from harness.faults.procs import same_process
from harness.faults.undo import UndoKind, UndoKinds, UndoLog


def _undo_proxy_fault(data: dict[str, Any]) -> bool:
    url = f"{data['control_url']}/links/{data['link']}/faults"
    try:
        httpx.delete(url, timeout=2.0, trust_env=False, verify=False).raise_for_status()
        return True
    except httpx.ConnectError:
        return False  # the edge process is gone, and its faults with it


def _undo_gpu_count(data: dict[str, Any]) -> bool:
    if not same_process(data["pid"], data["create_time"]):
        return False  # the GPU tier is gone (or its pid reused): a new start sees every GPU again
    httpx.post(data["url"], json={"count": data["count"]}, timeout=5.0, trust_env=False, verify=False).raise_for_status()
    return True


# faults before processes: a paused process is resumed, its GPUs and links restored, before it is stopped
PROXY_FAULT = UndoKind("proxy_fault", _undo_proxy_fault, order=0)
GPU_COUNT = UndoKind("gpu_count", _undo_gpu_count, order=20)


def register_local_undo_kinds(kinds: UndoKinds) -> UndoKinds:
    kinds.add(PROXY_FAULT)
    kinds.add(GPU_COUNT)
    return kinds


def local_undo_kinds() -> UndoKinds:
    """Everything a local platform's undo log may hold: the host's kinds plus the fault proxy and GPUs."""
    return register_local_undo_kinds(host_undo_kinds())


def change_gpu_count(undo_log: UndoLog, *, port: int, pid: int, create_time: float, count: int, default: int,
                     undo_id: str | None) -> str | None:
    """Set inference-gpu's GPU count through its loopback admin endpoint, undo-logged before it changes.

    Returns the pending undo id while the count differs from ``default`` (None once it is back).
    """
    url = f"http://127.0.0.1:{port}/admin/gpus"
    if count != default and undo_id is None:
        undo_id = undo_log.record("gpu_count", f"inference-gpu sees {count} GPUs (pid {pid})", url=url, count=default,
                                  pid=pid, create_time=create_time)
    response = httpx.post(url, json={"count": count}, timeout=5.0, trust_env=False, verify=False)
    if response.status_code >= 400:
        raise PlatformError(f"inference-gpu refused GPU count {count}: {response.status_code} {response.text[:200]}")
    if count == default and undo_id is not None:
        undo_log.done(undo_id)
        undo_id = None
    return undo_id
