"""Ctrl-C in the middle of an experiment: chaoslib catches it, the harness still ends the run aborted (exit 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.exitcodes import ExitCode
from harness.faults.undo import UndoLog
from harness.model import RunResult
from harness.platforms.local.faults import local_undo_kinds
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_sigint_during_an_experiment_aborts_the_run_and_leaves_nothing(tmp_path: Path) -> None:
    state_dir, reports, log = tmp_path / "state", tmp_path / "reports", tmp_path / "run.log"
    with log.open("w") as out:
        child = subprocess.Popen([str(Path(sys.executable).with_name("harness")), "run", "--suite", "chaos", "--profile", "smoke",
                                  "--report-dir", str(reports)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "HARNESS_STATE_DIR": str(state_dir)})
        deadline = time.monotonic() + 120
        while "steady state, fault" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(8)  # inside chaoslib's run: steady state observed, the fault about to be or being injected
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=180)
    output = log.read_text()[-3000:]
    assert code == ExitCode.ABORTED, output
    run = RunResult.model_validate_json((reports / "latest" / "readiness.json").read_text())
    assert run.aborted_reason and "interrupted" in run.aborted_reason, run.aborted_reason
    assert UndoLog(state_dir, local_undo_kinds()).pending() == [], "no fault or process left behind"
