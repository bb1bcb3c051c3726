"""Run folders: ``reports/<run-id>/`` plus a ``reports/latest`` link to the newest one; reading a saved report."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from harness.errors import UsageError, error_location
from harness.model import RunResult


def new_run_id() -> str:
    """Sortable and unique: UTC timestamp plus 4 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def prepare_run_folder(report_dir: Path, run_id: str) -> Path:
    folder = report_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def update_latest(report_dir: Path, folder: Path) -> Path:
    """Point ``report_dir/latest`` at ``folder`` atomically (relative symlink)."""
    link = report_dir / "latest"
    tmp = report_dir / f".latest-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, link)
    return link


def load_report(path: Path) -> tuple[RunResult, Path]:
    """A saved ``readiness.json`` (or the one in a run folder) and its path; ``UsageError`` when it is not one."""
    file = path / "readiness.json" if path.is_dir() else path
    if not file.is_file():
        raise UsageError(f"no report at {file}; pass a readiness.json or a run folder such as reports/latest")
    try:
        return RunResult.model_validate_json(file.read_text()), file
    except ValidationError as exc:
        where, message = error_location(exc)
        raise UsageError(f"{file}: not a readiness report ({where}: {message})") from None
