"""The load suite as a user runs it: a child pytest on suites/load, verdict and report checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_suite_reports_the_slow_endpoint_and_exits_not_ready(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/load", "--defects", "slow_endpoint", "--report-dir",
         str(tmp_path), "-p", "no:cacheprovider", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert child.returncode == 1, child.stdout[-2000:]
    [report] = {path.resolve() for path in tmp_path.glob("*/readiness.json")}  # the run folder and `latest`
    load = next(s for s in json.loads(report.read_text())["suites"] if s["name"] == "load")
    status = {c["id"]: c["status"] for c in load["checks"]}
    assert status["load.smoke.p95.list_analyses"] == "fail"
    assert status["load.smoke.p95.get_analysis"] == "pass"
    assert {row["label"] for row in load["timeseries"]} >= {"all", "list_analyses"}
    # long work is not silent: a status line every 5 s on the terminal, even with output captured
    assert "⋯ load smoke: " in child.stdout and " req/s · p95 " in child.stdout
