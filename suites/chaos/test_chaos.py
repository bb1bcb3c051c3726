"""Run one chaos experiment against the platform and record what it showed as Checks.

Steady state failing before any fault makes the suite inconclusive (not a failure); a guardrail
abort interrupts the run (exit code 2). Fault injections and heals reach the report's timeline as
they happen (the runner emits them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.chaos.claims import claim_checks
from harness.chaos.runner import ChaosRunner
from harness.events import ArtifactSaved, Interrupted, MetricsRecorded, Progress, SeriesRecorded, SuiteInconclusive


def test_experiment(experiment_path: Path, harness_config: Any, harness_platform: Any, harness_target: Any,
                    harness_run: Any, record_check: Any, harness_claims: Any) -> None:
    suite = record_check.suite
    runner = ChaosRunner(harness_platform, harness_target, out_dir=harness_run.run_dir / "chaos",
                         allow_hosts=harness_config.allow_hosts, load_workers=harness_config.load_workers,
                         seed=harness_config.seed or 1, emit=harness_run.emit)
    harness_run.emit(Progress(text=f"chaos: {experiment_path.stem}: steady state, fault, recovery under background "
                                   "load"))
    report = runner.run(experiment_path)
    harness_run.emit(Progress(text=f"chaos: {experiment_path.stem}: "
                                   f"{'aborted: ' + report.aborted if report.aborted else 'done'} in "
                                   f"{report.duration_s:.0f} s, system noticed after {report.time_to_detect_system_s} s,"
                                   f" time to recover {report.time_to_recover_s} s"))
    harness_run.emit(ArtifactSaved(suite=suite, paths=report.artifacts))
    harness_run.emit(MetricsRecorded(suite=suite, metrics=report.metrics()))
    if report.load_start_epoch is not None:  # background load, moved onto the suite's clock for the shaded timeline
        harness_run.emit(SeriesRecorded(suite=suite, rows=report.timeseries, start_epoch=report.load_start_epoch))
    if report.inconclusive:
        harness_run.emit(SuiteInconclusive(suite=suite, reason=report.inconclusive))
    if report.aborted:
        harness_run.emit(Interrupted(reason=f"chaos experiment {report.name}: {report.aborted}"))
    for check in report.checks():
        record_check(check)
    for check in claim_checks(report, harness_claims.claims):  # a claim's own recovery bound / reset time
        record_check(check)
