"""Run one chaos experiment against the platform and record what it showed as Checks.

Steady state failing before any fault makes the suite inconclusive (not a failure); a guardrail
abort sets the run's ``aborted_reason`` (exit code 2). Each experiment moves the suite's
``finished_at``, so readiness.json holds how long the chaos suite itself took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.chaos.runner import ChaosRunner
from harness.model import utcnow


def test_experiment(experiment_path: Path, harness_config: Any, harness_platform: Any, harness_target: Any,
                    harness_run: Any, record_check: Any) -> None:
    runner = ChaosRunner(harness_platform, harness_target, out_dir=harness_run.run_dir / "chaos",
                         allow_hosts=harness_config.allow_hosts, load_workers=harness_config.load_workers,
                         seed=harness_config.seed or 1)
    harness_run.progress(f"chaos: {experiment_path.stem}: steady state, fault, recovery under background load")
    report = runner.run(experiment_path)
    harness_run.progress(f"chaos: {experiment_path.stem}: {'aborted: ' + report.aborted if report.aborted else 'done'}"
                         f" in {report.duration_s:.0f} s, system noticed after {report.time_to_detect_system_s} s,"
                         f" time to recover {report.time_to_recover_s} s")
    for injection in report.injections:
        harness_run.add_fault(injection)
    suite = harness_run.suite("chaos")
    suite.artifacts.extend(report.artifacts)
    suite.metrics.extend(report.metrics())
    if report.load_start_epoch is not None:  # background load on the suite's clock, for the shaded timeline
        offset = report.load_start_epoch - suite.started_at.timestamp()
        suite.timeseries.extend(row.model_copy(update={"t": row.t + offset}) for row in report.timeseries)
    if report.inconclusive:
        suite.inconclusive = suite.inconclusive or report.inconclusive
    if report.aborted:
        harness_run.result.aborted_reason = f"chaos experiment {report.name}: {report.aborted}"
    for check in report.checks():
        record_check(**check)
    suite.finished_at = utcnow()
