"""Several run folders judged as one: a CI matrix runs suites in parallel jobs, one gate judges them all."""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.model import RunResult


def load_reports(paths: list[Path]) -> tuple[RunResult, str]:
    """One report, or several merged (their suites side by side); and how to name it in messages."""
    from harness.report.folder import load_report

    loaded = [load_report(path) for path in paths]
    if len(loaded) == 1:
        run, file = loaded[0]
        return run, str(file)
    return merge_runs([run for run, _ in loaded]), " + ".join(str(file) for _, file in loaded)


def merge_runs(runs: list[RunResult]) -> RunResult:
    seen: dict[str, str] = {}
    for run in runs:
        for suite in run.suites:
            if suite.name in seen:
                raise UsageError(f"suite {suite.name} is in two reports (runs {seen[suite.name]} and {run.run_id}); "
                                 "gate reports of different suites together, or one report at a time")
            seen[suite.name] = run.run_id
    merged = runs[0].model_copy(deep=True)
    merged.run_id = "+".join(run.run_id for run in runs)
    merged.profile = "+".join(dict.fromkeys(run.profile for run in runs))
    merged.suites = [suite for run in runs for suite in run.suites]
    merged.claims = [claim for run in runs for claim in run.claims]
    merged.timeline = [fault for run in runs for fault in run.timeline]
    merged.aborted_reason = "; ".join(r.aborted_reason for r in runs if r.aborted_reason) or None
    merged.error = "; ".join(r.error for r in runs if r.error) or None
    merged.finished_at = max((r.finished_at for r in runs if r.finished_at), default=None)
    return merged
