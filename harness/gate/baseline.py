"""Baselines: a run's metrics, check statuses, finding fingerprints and claim verdicts in a small JSON.

``harness baseline save RUN --name main`` writes ``.harness-baselines/main.json``: a folder meant to be
committed (``.harness/`` stays git-ignored: it holds platform state and the undo log). A PR's gate
then compares its run with ``--baseline main`` — what got worse since main.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import UsageError
from harness.inputs import read_mapping, validate
from harness.model import ClaimVerdict, RunResult, Severity, Status, Verdict, utcnow

DEFAULT_DIR = Path(".harness-baselines")
NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
FAILING = (Status.FAIL, Status.ERROR)
# worst first: the status a check id has when its instances (one per operation, say) differ
_STATUS_ORDER = [Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.PASS, Status.WAIVED, Status.SKIPPED,
                 Status.NOT_APPLICABLE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaselineMetric(_Strict):
    value: float | None
    unit: str
    samples: int = 0
    low: float | None = None
    high: float | None = None


class BaselineFinding(_Strict):
    check_id: str
    title: str
    severity: Severity
    location: str = ""


class Baseline(_Strict):
    baseline_version: Literal[1] = 1
    name: str = Field(pattern=NAME_PATTERN)
    saved_at: datetime = Field(default_factory=utcnow)
    run_id: str
    profile: str
    commit: str | None = None  # the CI's commit when it was saved (GITHUB_SHA / CI_COMMIT_SHA)
    metrics: dict[str, BaselineMetric] = Field(default_factory=dict)
    checks: dict[str, Status] = Field(default_factory=dict)
    findings: dict[str, BaselineFinding] = Field(default_factory=dict)
    claims: dict[str, ClaimVerdict] = Field(default_factory=dict)

    def describe(self) -> str:
        commit = f", commit {self.commit[:12]}" if self.commit else ""
        return f"baseline '{self.name}' (run {self.run_id}, {self.profile}, saved {self.saved_at:%Y-%m-%d}{commit})"


def check_statuses(run: RunResult) -> dict[str, Status]:
    """One status per check id: the worst of its instances (a probe may run once per operation)."""
    out: dict[str, Status] = {}
    for check in run.run_checks():
        known = out.get(check.id)
        if known is None or _STATUS_ORDER.index(check.status) < _STATUS_ORDER.index(known):
            out[check.id] = check.status
    return out


def from_run(run: RunResult, name: str) -> Baseline:
    if run.verdict in (Verdict.ABORTED, Verdict.ERROR, Verdict.NOTHING_RAN):
        raise UsageError(f"run {run.run_id} ended {run.verdict.value}: a baseline needs a run that finished; "
                         "save one from a complete run")
    return Baseline(
        name=name, run_id=run.run_id, profile=run.profile,
        commit=os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA"),
        metrics={m.name: BaselineMetric(value=m.value, unit=m.unit, samples=m.samples, low=m.low, high=m.high)
                 for m in run.all_metrics()},
        checks=check_statuses(run),
        findings={f.fingerprint: BaselineFinding(check_id=f.check_id, title=f.title[:200], severity=f.severity,
                                                 location=f.location) for f in run.all_findings()},
        claims={c.id: c.verdict for c in run.claims},
    )


def checked_name(name: str) -> str:
    if not re.match(NAME_PATTERN, name):
        raise UsageError(f"baseline name {name!r}: use letters, digits, '.', '_' or '-' (e.g. main)")
    return name


def baseline_path(name_or_path: str, directory: Path = DEFAULT_DIR) -> Path:
    """A path as given (it exists or ends in .json), else ``<directory>/<name>.json``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.is_file() or os.sep in name_or_path:
        return candidate
    return directory / f"{checked_name(name_or_path)}.json"


def save_baseline(baseline: Baseline, directory: Path = DEFAULT_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{baseline.name}.json"
    path.write_text(baseline.model_dump_json(indent=1, exclude_none=True) + "\n")
    return path


def load_baseline(name_or_path: str, directory: Path = DEFAULT_DIR) -> Baseline:
    path = baseline_path(name_or_path, directory)
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
        raise UsageError(f"no baseline at {path} (known in {directory}: {', '.join(known) or 'none'}); "
                         "save one with: harness baseline save reports/latest --name NAME")
    return validate(Baseline, read_mapping(path, "baseline", "--baseline", '{"name": "main", …}'), str(path))
