"""Guardrails: the burn check (error rate, p95, degraded ratio) on synthetic series, and real aborts end to end.

The end-to-end test runs the chaos suite's own test function over the experiments in
``tests/chaos/experiments/guardrails`` in a child pytest, as ``harness run`` would: the SLO-burn
abort and the max-duration abort must each stop the method, play the rollbacks, leave no undo
entry pending and make the run exit 2; an experiment whose rollbacks forget a fault fails its
rollback check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.chaos.extension import HarnessExtension
from harness.chaos.guardrail import Guardrail
from harness.exitcodes import ExitCode
from harness.faults.undo import UndoLog
from harness.model import LoadSecond, RunResult, Status
from harness.platforms.local.faults import local_undo_kinds
from tests.conftest import REPO

GUARDRAIL_SUITE = Path(__file__).with_name("guardrail_suite.py")


@dataclass
class StubSession:
    """What the guardrail reads: the live series, degraded answers per second, whether a fault is on."""

    seconds: list[tuple[int, int, float, int, int]]  # (requests, errors, p95 ms, analyses, degraded)
    injections: list[str] = field(default_factory=lambda: ["a fault"])

    def rows(self) -> list[LoadSecond]:
        return [LoadSecond(t=float(t), requests=r, errors=e, p95_ms=p) for t, (r, e, p, _, _) in enumerate(self.seconds)]

    def degraded_at(self, t: float) -> tuple[int, int]:
        return self.seconds[int(t)][3:]


def guard(seconds: list[tuple[int, int, float, int, int]], **abort: float) -> Guardrail:
    extension = HarnessExtension(fault="f", target="t", abort={"grace_s": 3, **abort})
    return Guardrail(StubSession(seconds), extension)  # type: ignore[arg-type]


HEALTHY = (10, 0, 50.0, 4, 0)


def test_errors_above_the_limit_for_the_whole_grace_period_abort() -> None:
    assert guard([HEALTHY] * 5 + [(10, 8, 50.0, 4, 0)] * 3).check().startswith("SLO burn for 3s")
    assert guard([HEALTHY] * 5 + [(10, 8, 50.0, 4, 0)] * 2).check() is None, "shorter than the grace period"
    assert guard([HEALTHY] * 5 + [(10, 8, 50.0, 4, 0), HEALTHY, (10, 8, 50.0, 4, 0)]).check() is None


def test_p95_and_degraded_ratio_burn_only_when_the_experiment_sets_them() -> None:
    slow = [HEALTHY] * 5 + [(10, 0, 4000.0, 4, 0)] * 3
    assert guard(slow).check() is None
    assert "p95 4000 ms > 2000 ms" in guard(slow, max_p95_ms=2000).check()
    degraded = [HEALTHY] * 5 + [(10, 0, 50.0, 4, 3)] * 3
    assert guard(degraded).check() is None
    assert "degraded answers 75.0% > 50.0%" in guard(degraded, max_degraded_ratio=0.5).check()


def test_no_burn_before_a_fault_or_in_seconds_without_requests() -> None:
    burning = [(10, 10, 50.0, 4, 0)] * 5
    quiet = guard(burning)
    quiet.session.injections = []
    assert quiet.check() is None, "the SLO is only a guardrail once a fault is on"
    assert guard([HEALTHY] * 5 + [(0, 0, 0.0, 0, 0)] * 3).check() is None


def test_max_duration_counts_from_the_experiments_start() -> None:
    extension = HarnessExtension(fault="f", target="t", max_duration_s=0.2)
    watch = Guardrail(StubSession([HEALTHY]), extension)  # type: ignore[arg-type]
    time.sleep(0.3)
    watch.handler.started({}, {})  # chaoslib starts the experiment now: the steady state before is not counted
    assert watch.check() is None
    time.sleep(0.3)
    assert watch.check() == "experiment exceeded its max duration of 0.2s"


@pytest.mark.slow
def test_guardrails_abort_with_rollbacks_and_the_run_exits_2(tmp_path: Path) -> None:
    state_dir, reports = tmp_path / "state", tmp_path / "reports"
    child = subprocess.run([sys.executable, "-m", "pytest", str(GUARDRAIL_SUITE), "-p", "no:cacheprovider", "-q",
                            "--report-dir", str(reports)], cwd=REPO, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "HARNESS_STATE_DIR": str(state_dir)})
    output = child.stdout[-4000:] + child.stderr[-2000:]
    assert child.returncode == ExitCode.ABORTED, output
    run = RunResult.model_validate_json((reports / "latest" / "readiness.json").read_text())
    assert (run.aborted_reason or "").startswith("chaos experiment abort_on_"), run.aborted_reason
    checks = {c.id: c for suite in run.suites for c in suite.checks}
    for name, why in {"abort_on_slo_burn": "SLO burn", "abort_on_max_duration": "experiment exceeded its max duration"}.items():
        hypothesis = checks[f"chaos.{name}.hypothesis"]
        assert hypothesis.status is Status.FAIL and f"aborted by guardrail: {why}" in hypothesis.message, hypothesis
        assert checks[f"chaos.{name}.rollback"].status is Status.PASS, "its own rollbacks undid the fault"
        journal = json.loads(next((reports / "latest" / "chaos" / name).glob("*.journal.json")).read_text())
        assert journal["status"] == "interrupted", journal["status"]
        played = {r["activity"]["name"]: r["status"] for r in journal["rollbacks"]}
        assert played.get("heal-platform") == "succeeded" and len(played) == 2, played
        assert journal["duration"] < 40, "stopped in the middle of the method's long pause"
    forgot = checks["chaos.forgets_a_rollback.rollback"]
    assert forgot.status is Status.FAIL and "link:latency_ms on gateway-1->inference-cpu" in forgot.message
    assert UndoLog(state_dir, local_undo_kinds()).pending() == [], "no fault or process left behind"
