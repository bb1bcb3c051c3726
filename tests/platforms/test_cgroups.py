"""Resource limits through cgroups: applied (measured), removed, and undone after a crash."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.faults import cgroups
from harness.faults.undo import UndoLog, undo_pending
from harness.platforms.local.faults import local_undo_kinds
from harness.platforms.local.supervisor import ComponentSpec, Supervisor

pytestmark = pytest.mark.skipif(cgroups.availability() is not None,
                                reason=f"cgroups not usable here: {cgroups.availability()}")

BURN = [sys.executable, "-c", "while True: pass"]
HOG = [sys.executable, "-c",
       "import time\ntime.sleep(0.3)\nheld = []\nfor _ in range(40):\n    held.append(bytearray(8 * 1024 * 1024))\n"
       "    time.sleep(0.02)\nprint('ALLOCATED', flush=True)\ntime.sleep(30)"]


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "logs", UndoLog(tmp_path, local_undo_kinds()))
    try:
        yield sup
    finally:
        sup.stop_all()


def cpu_share(pid: int, seconds: float = 1.0) -> float:
    """Fraction of one core the process used over ``seconds``."""
    proc = psutil.Process(pid)
    before = sum(proc.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(proc.cpu_times()[:2]) - before) / seconds


def throttled_periods(cgroup_dir: Path) -> int:
    """How often the kernel throttled the cgroup for exceeding its CPU quota (v1 and v2 cpu.stat)."""
    stats = dict(line.split() for line in (cgroup_dir / "cpu.stat").read_text().splitlines())
    return int(stats["nr_throttled"])


def test_cpu_limit_caps_usage_and_unlimit_restores_it(supervisor: Supervisor) -> None:
    state = supervisor.start(ComponentSpec(name="burner", argv=BURN, port=0, readiness="tcp"))
    supervisor.limit("burner", cpu_percent=20)
    cgroup_dirs = [Path(d) for d in supervisor.states["burner"].limit["dirs"]]  # type: ignore[index]
    cpu_dir = next(d for d in cgroup_dirs if (d / "cpu.stat").exists())
    limited = cpu_share(state.pid, 1.5)
    assert limited <= 0.27, f"20% cap, measured {limited:.2f} of a core"
    assert throttled_periods(cpu_dir) >= 5, "the kernel must be enforcing the quota (cpu.stat nr_throttled)"
    assert any(d.name in line for d in cgroup_dirs for line in cgroups.cgroup_of(state.pid))
    supervisor.unlimit("burner")
    assert not any(d.exists() for d in cgroup_dirs), "unlimit removes the cgroup"
    assert not any("harness-burner" in line for line in cgroups.cgroup_of(state.pid)), "moved back to the parent"
    assert [e.kind for e in UndoLog(supervisor.undo.state_dir, local_undo_kinds()).pending()] == ["process"], "the limit is closed in the log"


def test_memory_limit_gets_a_hog_oom_killed(supervisor: Supervisor) -> None:
    state = supervisor.start(ComponentSpec(name="hog", argv=HOG, port=0, readiness="tcp"))
    supervisor.limit("hog", memory_mb=64)  # the hog wants 320 MB
    dirs = list(supervisor.states["hog"].limit["dirs"])  # type: ignore[index]
    returncode = supervisor._popen["hog"].wait(timeout=15)
    assert returncode == -9, f"expected the OOM killer (SIGKILL), got {returncode}"
    assert not Path(state.log_path).read_text().rstrip().endswith("ALLOCATED")
    supervisor.stop("hog")
    assert not any(Path(d).exists() for d in dirs), "stopping a limited component removes its cgroup"


def test_undo_pending_removes_a_limit_left_by_a_crashed_run(supervisor: Supervisor, tmp_path: Path) -> None:
    state = supervisor.start(ComponentSpec(name="burner", argv=BURN, port=0, readiness="tcp"))
    supervisor.limit("burner", cpu_percent=10)
    dirs = list(supervisor.states["burner"].limit["dirs"])  # type: ignore[index]
    supervisor._popen.clear()  # forget everything, as a SIGKILLed controller would
    supervisor.states.clear()
    undone = undo_pending(tmp_path, local_undo_kinds())
    assert any(line.startswith("cgroup:") for line in undone), undone
    assert any(line.startswith("process:") for line in undone), undone
    assert not any(Path(d).exists() for d in dirs)
    assert not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE


def test_limit_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="cpu_percent and/or memory_mb"):
        cgroups.plan_limit("x")
    with pytest.raises(ValueError, match="between 1 and"):
        cgroups.plan_limit("x", cpu_percent=0)
