"""SIGKILL the harness mid-experiment, then start again: nothing it did may survive.

Each round runs the runner in a child process against its own local platform - most rounds in a
process group of its own (like a shell job), some in the test's group (like a harness started
by a CI script, which leads no group) - kills it with SIGKILL at a random moment (before,
between or after the fault injections), then starts the harness again (``harness doctor
--cleanup``, which runs what every platform start runs first: ``undo_pending``) and checks that
no process of the killed run (components, load workers), no paused process, no cgroup and no
pending undo entry remain. Over all rounds, every kind of fault must have been pending at a kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.faults import cgroups
from harness.faults.undo import UNDO_FILE, UndoLog, undo_pending
from harness.platforms.local.faults import local_undo_kinds

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 10
OWN_GROUP_ROUNDS = 7  # the other rounds share the test's process group
INJECTIONS = 5  # many_faults.yaml: latency on 2 links, pause, CPU cap, GPU loss (one INJECTED line each)


def processes_of(pid: int) -> list[psutil.Process]:
    """The harness child, its descendants (load workers) and every component it recorded."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def components_from_undo_log(state_dir: Path) -> tuple[list[tuple[int, float]], list[str]]:
    """(pid, create_time) of started processes and cgroup dirs, as the killed run wrote them down."""
    procs, cgroups = [], []
    path = state_dir / UNDO_FILE
    for raw in path.read_text().splitlines() if path.exists() else []:
        line = json.loads(raw)
        data = line.get("data", {})
        if "pid" in data and data.get("create_time"):
            procs.append((data["pid"], data["create_time"]))
        cgroups += data.get("dirs", [])
    return procs, cgroups


def alive(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < 0.05 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout_s: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
        if line.startswith(prefix):
            return seen
    raise AssertionError(f"child never printed {prefix!r}; got {seen}")


def kill_points(rng: random.Random) -> list[int]:
    """How many injections to wait for before each kill: random, but twice with every fault on."""
    points = [INJECTIONS, INJECTIONS, *(rng.randint(0, INJECTIONS) for _ in range(ROUNDS - 2))]
    rng.shuffle(points)
    return points


@pytest.mark.slow
def test_sigkill_mid_experiment_leaves_nothing_behind(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("HARNESS_SEED", "7"))
    pending_at_kill: set[str] = set()
    for round_no, injections_to_wait in enumerate(kill_points(rng)):
        state_dir, out_dir = tmp_path / f"state-{round_no}", tmp_path / f"out-{round_no}"
        stderr_path = tmp_path / f"child-{round_no}.stderr"
        with stderr_path.open("w") as stderr:
            child = subprocess.Popen([sys.executable, "-m", "tests.chaos.killable_run", str(state_dir), str(out_dir)],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                     start_new_session=round_no < OWN_GROUP_ROUNDS)
        survivors: list[psutil.Process] = []
        try:
            try:
                wait_for_line(child, "READY", 60)
            except AssertionError as exc:
                raise AssertionError(f"round {round_no}: {exc}; its stderr ends:\n"
                                     f"{stderr_path.read_text()[-3000:]}") from None
            # kill points: while load starts, between injections, or with every fault on
            for seen in range(injections_to_wait):
                wait_for_line(child, "INJECTED", 30 if seen == 0 else 10)
            # an injection is announced just before it is applied: with all on, give the last one time
            time.sleep(rng.uniform(0.6 if injections_to_wait == INJECTIONS else 0.0, 1.5))
            survivors = [p for p in processes_of(child.pid) if p.pid != child.pid]
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
            pending_at_kill |= {entry.kind for entry in UndoLog(state_dir, local_undo_kinds()).pending()}
            recorded, cgroup_dirs = components_from_undo_log(state_dir)

            # start the harness again, as a user would after a crash: `harness doctor --cleanup`
            # runs what every platform start runs first (undo_pending)
            again = subprocess.run([sys.executable, "-m", "harness.cli", "doctor", "--cleanup"], cwd=REPO,
                                   capture_output=True, text=True, timeout=120,
                                   env={**os.environ, "HARNESS_STATE_DIR": str(state_dir), "COLUMNS": "200"})
            assert again.returncode == 0 and "cleanup: undid" in again.stdout, again.stdout + again.stderr
            assert "FAILED" not in again.stdout, again.stdout
            assert UndoLog(state_dir, local_undo_kinds()).pending() == [], "every logged fault and process was undone"
            left = [pid for pid, ct in recorded if alive(pid, ct)]
            assert not left, f"round {round_no}: recorded processes still alive: {left}"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                                      for p in survivors):
                time.sleep(0.1)
            orphans = [f"{p.pid} {' '.join(p.cmdline()[1:4])}" for p in survivors
                       if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            assert not orphans, f"round {round_no}: orphans of the killed harness: {orphans}"
            assert not [d for d in cgroup_dirs if Path(d).exists()], "cgroup limits removed"
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
            for proc in survivors:  # never leave anything running, even when an assertion failed
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            undo_pending(state_dir, local_undo_kinds())
    expected = {"process", "proxy_fault", "sigstop", "gpu_count"} | ({"cgroup"} if cgroups.availability() is None else set())
    assert expected <= pending_at_kill, f"never pending at a kill: {expected - pending_at_kill}"
