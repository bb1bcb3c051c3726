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

from harness.platforms.local.control import platform_down
from harness.platforms.local.platform import LocalPlatform
from harness.undo import UndoLog, undo_pending

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
            undo_pending(state_dir)
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
        assert len(UndoLog(state_dir).pending()) >= 9
    finally:
        undone = undo_pending(state_dir)
    kinds = {line.split(":")[0] for line in undone}
    assert {"proxy_fault", "sigstop", "process"} <= kinds, undone
    leftovers = [name for name, pid in facts["pids"].items() if running(pid)]
    assert leftovers == [], f"orphans left: {leftovers}"
    assert [p for p in facts["ports"] if not port_is_free(p)] == [], "a port is still listening"
    assert not any(Path(d).exists() for d in facts["cgroup_dirs"]), "a cgroup limit is left"
    assert UndoLog(state_dir).pending() == []
    assert undo_pending(state_dir) == [], "undo is idempotent"


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
        log = UndoLog(tmp_path)
        entry = log.record("process", "a process of an old run whose pid was reused", name="old")
        real_start = psutil.Process(bystander.pid).create_time()
        log.update(entry, pid=bystander.pid, create_time=real_start - 3600)  # same pid, different process
        stop = log.record("sigstop", "old pause", pid=bystander.pid, create_time=real_start - 3600)
        os.kill(bystander.pid, signal.SIGSTOP)
        undone = undo_pending(tmp_path)
        assert undone == []
        assert psutil.Process(bystander.pid).status() == psutil.STATUS_STOPPED, "not ours: not continued either"
        assert bystander.poll() is None, "a process that merely reuses the pid must survive"
        assert stop and log.pending() == []
    finally:
        bystander.kill()
        bystander.wait(5)


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    log = UndoLog(tmp_path)
    log.record("proxy_fault", "fault on a gone edge", control_url="http://127.0.0.1:9", link="x")
    with open(log.path, "a") as fh:
        fh.write('{"op": "apply", "id": "tor')  # the crash hit mid-write
    assert [e.description for e in log.pending()] == ["fault on a gone edge"]
    assert undo_pending(tmp_path) == []  # the edge is gone: nothing to undo, but the entry is closed
    assert log.pending() == []


@pytest.mark.parametrize("kind", ["proxy_fault", "sigstop", "cgroup", "process"])
def test_every_kind_has_an_undoer(kind: str) -> None:
    from harness.undo import UNDOERS

    assert kind in UNDOERS
