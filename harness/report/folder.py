"""Run folders: ``reports/<run-id>/`` plus a ``reports/latest`` link to the newest one."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path


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
