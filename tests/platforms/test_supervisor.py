"""Process faults on components: kill, pause/resume, restart on the same port; startup failures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness.errors import PlatformError, UsageError
from harness.faults.undo import UndoLog
from harness.platforms.local.faults import local_undo_kinds
from harness.platforms.local.platform import LocalPlatform

from .conftest import TINY, port_is_free


def component_url(platform: LocalPlatform, name: str) -> str:
    return f"http://127.0.0.1:{platform.supervisor.states[name].port}"


def test_kill_pause_resume_restart(tiny_platform: LocalPlatform) -> None:
    url = component_url(tiny_platform, "inference-cpu")
    pid = tiny_platform.pid("inference-cpu")

    tiny_platform.pause("inference-cpu")
    assert psutil.Process(pid).status() == psutil.STATUS_STOPPED
    with pytest.raises(httpx.TimeoutException):
        httpx.get(f"{url}/healthz", timeout=0.5)
    assert tiny_platform.status()["inference-cpu"]["paused"] is True
    tiny_platform.resume("inference-cpu")
    assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200

    tiny_platform.kill("inference-cpu")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert tiny_platform.status()["inference-cpu"]["alive"] is False
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=0.5)

    tiny_platform.restart("inference-cpu")
    assert tiny_platform.pid("inference-cpu") != pid
    assert httpx.get(f"{url}/whoami", timeout=2).json()["pid"] == tiny_platform.pid("inference-cpu"), "same port"


def test_restart_of_a_running_component_keeps_port_and_env(tiny_platform: LocalPlatform) -> None:
    before = tiny_platform.supervisor.states["gateway-2"]
    tiny_platform.restart("gateway-2")
    after = tiny_platform.supervisor.states["gateway-2"]
    assert after.port == before.port and after.pid != before.pid
    assert tiny_platform.supervisor.specs["gateway-2"].env["REFSYS_INSTANCE"] == "gateway-2"


def test_restart_of_the_lb_keeps_its_port_and_links(tiny_platform: LocalPlatform) -> None:
    base_url = tiny_platform._target.base_url  # type: ignore[union-attr]
    tiny_platform.restart("lb")
    assert httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    assert set(tiny_platform.lb_backends()) == {"lb->gateway-1", "lb->gateway-2"}


def test_no_pending_undo_and_no_process_after_stop(tmp_path: Path) -> None:
    platform = LocalPlatform(state_dir=tmp_path, commands={"inference": TINY, "gateway": TINY})
    platform.start()
    platform.pause("gateway-1")
    platform.link("gateway-2->inference-gpu").latency(50)
    pids = [s.pid for s in platform.supervisor.states.values()]
    ports = [s.port for s in platform.supervisor.states.values()]
    platform.stop()
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert all(port_is_free(port) for port in ports)
    assert UndoLog(tmp_path, local_undo_kinds()).pending() == []
    assert not (tmp_path / "platform.json").exists()


def test_startup_timeout_names_the_component_and_shows_its_log_tail(tmp_path: Path) -> None:
    never_ready = [sys.executable, "-c",
                   "print('gateway: cannot reach database at db.invalid', flush=True); import time; time.sleep(60)"]
    # 10 s: the other components (inference, edge proxies) must be up first, even on a loaded machine
    platform = LocalPlatform(state_dir=tmp_path, startup_timeout_s=10,
                             commands={"inference": TINY, "gateway": never_ready})
    start = time.monotonic()
    with pytest.raises(PlatformError) as excinfo:
        with platform:
            pass
    message = str(excinfo.value)
    assert "gateway-1" in message and "cannot reach database at db.invalid" in message
    assert time.monotonic() - start < 40  # gives up at its timeout, not at the 60 s the process sleeps
    assert UndoLog(tmp_path, local_undo_kinds()).pending() == [], "a failed start must stop what it started"
    assert platform.supervisor.states and not any(platform.supervisor.alive(n) for n in platform.supervisor.states)


def test_component_that_exits_during_startup_fails_fast(tmp_path: Path) -> None:
    crashes = [sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)"]
    platform = LocalPlatform(state_dir=tmp_path, startup_timeout_s=15, commands={"inference": crashes})
    start = time.monotonic()
    with pytest.raises(PlatformError, match=r"(?s)exited with code 3.*boom: bad config"):
        platform.start()
    assert time.monotonic() - start < 8


def test_bad_arguments_are_usage_errors_listing_valid_values() -> None:
    with pytest.raises(UsageError, match=r"valid names: .*bola"):
        LocalPlatform(defects=["bola", "not_a_defect"])
    with pytest.raises(UsageError, match="sqlite, postgres"):
        LocalPlatform(backend="mysql")
    with pytest.raises(UsageError):
        LocalPlatform(replicas=0)


def test_a_second_platform_on_the_same_state_dir_is_refused(tiny_platform: LocalPlatform) -> None:
    other = LocalPlatform(state_dir=tiny_platform.state_dir, commands={"inference": TINY, "gateway": TINY})
    with pytest.raises(PlatformError, match="another local platform"):
        other.start()
    assert tiny_platform.status()["gateway-1"]["alive"], "the refused start must not touch the running one"


def test_unknown_component_and_link_names_are_explained(tiny_platform: LocalPlatform) -> None:
    with pytest.raises(PlatformError, match=r"known: .*gateway-1"):
        tiny_platform.kill("gateway-9")
    with pytest.raises(PlatformError, match=r"known: .*lb->gateway-1"):
        tiny_platform.link("lb->gateway-9")
