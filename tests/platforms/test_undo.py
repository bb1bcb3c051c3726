"""The undo log: a controlling process SIGKILLed mid-experiment leaves nothing behind after undo_pending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness.errors import PlatformError
from harness.faults.undo import UndoKind, UndoLog, undo_pending
from harness.platforms.local.control import platform_down
from harness.platforms.local.faults import local_undo_kinds
from harness.platforms.local.platform import LocalPlatform
from harness.platforms.local.refsys import DEFAULT_GPUS

from .conftest import TINY, port_is_free

CONTROLLER = Path(__file__).with_name("crashing_controller.py")


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_and_kill_controller(tmp_path: Path) -> dict:
    state_dir, report = tmp_path / "state", tmp_path / "report.json"
    controller = subprocess.Popen([sys.executable, str(CONTROLLER), str(state_dir), str(report)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        while not report.exists():
            assert controller.poll() is None, controller.stdout.read().decode()[-3000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "controller did not start the platform in 40 s"
            time.sleep(0.1)
        time.sleep(0.1)
        facts = json.loads(report.read_text())
    finally:
        controller.send_signal(signal.SIGKILL)
        controller.wait(5)
        if not report.exists():
            undo_pending(state_dir, local_undo_kinds())
    return facts


def test_undo_pending_after_sigkill_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    facts = start_and_kill_controller(tmp_path)
    try:
        # the crash really left things behind: orphans, a stopped process, a slow link
        assert all(running(pid) for pid in facts["pids"].values())
        assert psutil.Process(facts["pids"]["gateway-1"]).status() == psutil.STATUS_STOPPED
        start = time.perf_counter()
        httpx.get(f"http://127.0.0.1:{facts['link_port']}/healthz", timeout=3)
        assert time.perf_counter() - start >= 0.2
        assert len(UndoLog(state_dir, local_undo_kinds()).pending()) >= 9
    finally:
        undone = undo_pending(state_dir, local_undo_kinds())
    kinds = {line.split(":")[0] for line in undone}
    assert {"proxy_fault", "sigstop", "process"} <= kinds, undone
    leftovers = [name for name, pid in facts["pids"].items() if running(pid)]
    assert leftovers == [], f"orphans left: {leftovers}"
    assert [p for p in facts["ports"] if not port_is_free(p)] == [], "a port is still listening"
    assert not any(Path(d).exists() for d in facts["cgroup_dirs"]), "a cgroup limit is left"
    assert UndoLog(state_dir, local_undo_kinds()).pending() == []
    assert undo_pending(state_dir, local_undo_kinds()) == [], "undo is idempotent"


def test_next_platform_start_cleans_up_a_crashed_run(tmp_path: Path) -> None:
    facts = start_and_kill_controller(tmp_path)
    platform = LocalPlatform(state_dir=tmp_path / "state", commands={"inference": TINY, "gateway": TINY})
    try:
        platform.start()
        assert any(line.startswith("sigstop") for line in platform.cleaned_up), platform.cleaned_up
        assert not any(running(pid) for pid in facts["pids"].values())
    finally:
        platform.stop()


def test_down_from_another_process_stops_everything(tmp_path: Path) -> None:
    facts = start_and_kill_controller(tmp_path)
    stopped = platform_down(tmp_path / "state")
    assert any(line.startswith("stopped gateway-1") for line in stopped)
    assert not any(running(pid) for pid in facts["pids"].values())
    assert [p for p in facts["ports"] if not port_is_free(p)] == []
    assert not (tmp_path / "state" / "platform.json").exists()


def test_a_reused_pid_is_never_killed(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        log = UndoLog(tmp_path, local_undo_kinds())
        entry = log.record("process", "a process of an old run whose pid was reused", name="old")
        real_start = psutil.Process(bystander.pid).create_time()
        log.update(entry, pid=bystander.pid, create_time=real_start - 3600)  # same pid, different process
        stop = log.record("sigstop", "old pause", pid=bystander.pid, create_time=real_start - 3600)
        os.kill(bystander.pid, signal.SIGSTOP)
        undone = undo_pending(tmp_path, local_undo_kinds())
        assert undone == []
        assert psutil.Process(bystander.pid).status() == psutil.STATUS_STOPPED, "not ours: not continued either"
        assert bystander.poll() is None, "a process that merely reuses the pid must survive"
        assert stop and log.pending() == []
    finally:
        bystander.kill()
        bystander.wait(5)


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    log = UndoLog(tmp_path, local_undo_kinds())
    log.record("proxy_fault", "fault on a gone edge", control_url="http://127.0.0.1:9", link="x")
    with open(log.path, "a") as fh:
        fh.write('{"op": "apply", "id": "tor')  # the crash hit mid-write
    assert [e.description for e in log.pending()] == ["fault on a gone edge"]
    assert undo_pending(tmp_path, local_undo_kinds()) == []  # the edge is gone: nothing to undo, but the entry is closed
    assert log.pending() == []


def gone_entry(kind: str, tmp_path: Path) -> dict:
    """Data of a ``kind`` fault whose target no longer exists (a dead pid, edge or cgroup)."""
    dead = subprocess.Popen(["true"])
    dead.wait(5)
    ghost = {"pid": dead.pid, "create_time": time.time() - 3600}
    return {
        "proxy_fault": {"control_url": "http://127.0.0.1:9", "link": "gateway-1->x"},
        "sigstop": ghost,
        "gpu_count": {**ghost, "url": "http://127.0.0.1:9/admin/gpus", "count": 2},
        "cgroup": {"dirs": [str(tmp_path / "no-such-cgroup")], "parents": [str(tmp_path)]},
        "process": {**ghost, "name": "old"},
    }[kind]


@pytest.mark.parametrize("kind", local_undo_kinds().names())
def test_every_kind_is_undone_in_order_and_a_gone_target_just_closes_its_entry(kind: str, tmp_path: Path) -> None:
    kinds = local_undo_kinds()
    assert kinds[kind].order < kinds["process"].order or kind == "process", "faults are undone before processes stop"
    log = UndoLog(tmp_path / "state", kinds)
    log.record(kind, f"a {kind} whose target is gone", **gone_entry(kind, tmp_path))
    assert undo_pending(tmp_path / "state", kinds) == [], "nothing was there to undo"
    assert log.pending() == [], "but the entry is closed"


def test_a_kind_nothing_could_undo_is_refused_before_the_fault(tmp_path: Path) -> None:
    log = UndoLog(tmp_path, local_undo_kinds())
    with pytest.raises(KeyError, match="unknown undo kind 'pod_delete'; known: cgroup, gpu_count"):
        log.record("pod_delete", "a kind this log cannot undo")
    assert not log.path.exists(), "nothing was written, so the caller never applies the fault"


def test_an_entry_of_a_platform_not_known_here_stays_pending_and_is_reported(tmp_path: Path) -> None:
    """Another platform's kinds (say a cluster's) in the same state dir: never dropped, never guessed."""
    with_cluster = local_undo_kinds()
    with_cluster.add(UndoKind("pod_delete", lambda data: True, order=5))
    UndoLog(tmp_path, with_cluster).record("pod_delete", "pod refsys-gateway-0 deleted", pod="refsys-gateway-0")
    local = UndoLog(tmp_path, local_undo_kinds())
    undone = local.undo_pending()
    assert len(undone) == 1 and undone[0].startswith("FAILED pod_delete: pod refsys-gateway-0 deleted: no undo")
    assert [e.kind for e in local.pending()] == ["pod_delete"]
    assert UndoLog(tmp_path, with_cluster).undo_pending() == ["pod_delete: pod refsys-gateway-0 deleted"]


def test_a_single_process_entry_stops_only_that_process(tmp_path: Path) -> None:
    """Load workers share the harness's process group: ``group: false`` must not signal the group."""
    leader = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                               "print(w.pid, flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert leader.stdout is not None
        worker = int(leader.stdout.readline())
        log = UndoLog(tmp_path, local_undo_kinds())
        log.record("process", "a load worker", pid=worker, create_time=psutil.Process(worker).create_time(),
                   name="chaos-load-0", group=False)
        assert undo_pending(tmp_path, local_undo_kinds()) == ["process: a load worker"]
        assert not running(worker) and running(leader.pid), "the worker is gone, its process group's leader is not"
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait(5)


ATTACHED_GPU_LOSS = """
import sys, time
from harness.chaos.attach import AttachedLocalPlatform
AttachedLocalPlatform(sys.argv[1]).set_gpu_count(0)
print("LOST", flush=True)
time.sleep(60)
"""


def gpu_count(platform: LocalPlatform) -> int:
    port = platform.supervisor.states["inference-gpu"].port
    devices = httpx.get(f"http://127.0.0.1:{port}/admin/gpus", timeout=5).json()["devices"]
    return len([d for d in devices if d["name"].startswith("gpu:")])


def test_gpu_loss_of_a_killed_run_is_undone_without_stopping_the_system(tmp_path: Path) -> None:
    """A chaos run attached to a running system (``harness up``) is SIGKILLed with 0 GPUs left."""
    state_dir = tmp_path / "state"
    platform = LocalPlatform(state_dir=state_dir, commands={"gateway": TINY}, startup_timeout_s=40)
    platform.start()
    try:
        chaos = subprocess.Popen([sys.executable, "-c", ATTACHED_GPU_LOSS, str(state_dir)], stdout=subprocess.PIPE,
                                 text=True, cwd=Path(__file__).resolve().parents[2])
        assert chaos.stdout is not None and chaos.stdout.readline().strip() == "LOST"
        chaos.kill()
        chaos.wait(5)
        assert gpu_count(platform) == 0
        assert [e.kind for e in UndoLog(state_dir, local_undo_kinds()).pending()].count("gpu_count") == 1
        undone = undo_pending(state_dir, local_undo_kinds(), faults_only=True)  # what the next attach (or any start) runs first
        assert [u.split(":")[0] for u in undone] == ["gpu_count"], undone
        assert gpu_count(platform) == DEFAULT_GPUS, "every GPU is back"
        assert all(platform.supervisor.alive(name) for name in platform.components()), "the system kept running"
        with pytest.raises(PlatformError):  # a refused change: the entry was written before, so it is undone too
            platform.set_gpu_count(99)
        assert [e.kind for e in UndoLog(state_dir, local_undo_kinds()).pending()].count("gpu_count") == 1
    finally:
        platform.stop()
    assert UndoLog(state_dir, local_undo_kinds()).pending() == []
