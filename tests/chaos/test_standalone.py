"""Standalone ``chaos run scenarios/chaos/X.yaml`` against a system ``harness up`` started, as a user runs it.

The harness control in each experiment attaches to the running system and measures like the
suite (background load, guardrail, report); what it cannot do there - nothing running, a kill
it could not undo - ends the experiment with one line saying what to run instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.chaos.extension import EXPERIMENT_DIR
from harness.chaos.report import ExperimentReport
from harness.faults.procs import same_process
from harness.faults.undo import UndoLog
from harness.model import Status
from harness.platforms.local.faults import local_undo_kinds
from harness.platforms.local.state import read_state
from tests.conftest import REPO

CHAOS = str(Path(sys.executable).with_name("chaos"))
HARNESS = [sys.executable, "-m", "harness.cli"]


def chaos_run(experiment: str, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    journal = tmp_path / f"{experiment}.journal.json"
    done = subprocess.run([CHAOS, "--no-version-check", "--log-file", str(tmp_path / f"{experiment}.log"), "run",
                           "--journal-path", str(journal), str(EXPERIMENT_DIR / f"{experiment}.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    return done, json.loads(journal.read_text()) if journal.exists() else {}


@pytest.mark.slow
def test_standalone_chaos_run_measures_like_the_suite_or_says_what_to_run(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    env = {**os.environ, "HARNESS_STATE_DIR": str(state_dir), "PYTHONPATH": str(REPO)}

    nothing, journal = chaos_run("gateway_hang", tmp_path, env)
    output = nothing.stdout + nothing.stderr
    assert "harness: no running local platform recorded" in output and "`harness up`" in output, output[-3000:]
    assert "Traceback" not in output and journal["status"] == "interrupted"

    up = subprocess.run([*HARNESS, "up"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        hang, journal = chaos_run("gateway_hang", tmp_path, env)
        assert hang.returncode == 0 and journal["status"] == "completed", (hang.stdout + hang.stderr)[-4000:]
        assert not journal["deviated"] and journal["steady_states"]["before"]["steady_state_met"]
        report = ExperimentReport.model_validate_json((state_dir / "chaos" / "pause" / "pause.report.json").read_text())
        statuses = {c.id: c.status for c in report.checks()}
        assert statuses == {f"chaos.pause.{aspect}": Status.PASS for aspect in ("hypothesis", "recovery", "rollback")}
        assert report.windows and report.windows[0].requests > 0, "the background load ran"
        assert report.time_to_detect_system_s is not None, report.system_signals
        assert "harness: PASS chaos.pause.hypothesis" in hang.stdout + hang.stderr
        assert [e for e in UndoLog(state_dir, local_undo_kinds()).pending() if e.kind in local_undo_kinds().fault_names()] == [], "no fault left behind"

        kill, journal = chaos_run("gateway_replica_kill", tmp_path, env)
        output = kill.stdout + kill.stderr
        assert "kill_component" in output and "`harness run --suite chaos`" in output, output[-3000:]
        assert "Traceback" not in output and journal["status"] == "interrupted"
        state = read_state(state_dir)
        assert state is not None and all(same_process(c.pid, c.create_time) for c in state.components.values()), \
            "nothing was killed"
    finally:
        down = subprocess.run([*HARNESS, "down"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert UndoLog(state_dir, local_undo_kinds()).pending() == []
