"""Real runs of the reference system for the gate's tests: each made once per test session, on demand.

Only the suites a test needs run (load smoke for ``slow_endpoint``, security smoke for ``bola``); every
variant (waivers, levels, baselines that know or miss a finding) is derived from these reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.model import RunResult
from tests.conftest import REPO

# The gate tests judge the gate, not the load generator: on a busy shared machine the smoke run's
# schedule lag often passes the 50 ms tolerance and the load suite turns inconclusive (no metrics).
# Lag adds to both runs' latencies alike, and slow_endpoint adds ~800 ms, so 250 ms is tolerance enough.
LOAD_TOLERANCE = ("--load-set", "generator.max_lag_p99_ms=250")


@dataclass
class RealRun:
    name: str
    folder: Path  # the run folder (reports/<run-id>)
    exit_code: int

    @property
    def report(self) -> RunResult:
        return RunResult.model_validate_json((self.folder / "readiness.json").read_text())


def harness_run(base: Path, name: str, *args: str) -> RealRun:
    work = base / name
    work.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", "smoke", "--report-dir", str(work / "reports"),
         *LOAD_TOLERANCE, *args],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HARNESS_STATE_DIR": str(work / "state")},
    )
    folder = (work / "reports" / "latest").resolve()
    assert (folder / "readiness.json").is_file(), proc.stdout[-4000:] + proc.stderr[-2000:]
    return RealRun(name, folder, proc.returncode)


@pytest.fixture(scope="session")
def real_runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gate-real-runs")


@pytest.fixture(scope="session")
def clean_run(real_runs_dir: Path) -> RealRun:
    """The clean reference system: load and security smoke in one run (~80 s)."""
    return harness_run(real_runs_dir, "clean", "--suite", "load", "--suite", "security")


@pytest.fixture(scope="session")
def slow_endpoint_run(real_runs_dir: Path) -> RealRun:
    """``slow_endpoint``: GET /analyses answers ~800 ms late. Load smoke only (~45 s)."""
    return harness_run(real_runs_dir, "slow_endpoint", "--suite", "load", "--defects", "slow_endpoint")


@pytest.fixture(scope="session")
def bola_run(real_runs_dir: Path) -> RealRun:
    """``bola``: another tenant reads and deletes your analyses. Security smoke only (~45 s), judged in-run by
    the test levels policy (so the report carries its level)."""
    return harness_run(real_runs_dir, "bola", "--suite", "security", "--defects", "bola",
                       "--policy", str(Path(__file__).with_name("levels.yaml")))
