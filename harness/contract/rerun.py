"""``--seed N`` replays: find the Hypothesis database of an earlier run with that seed.

Every run writes ``<run>/contract/run.json`` (seed, profile) next to ``<run>/contract/hypothesis-db``.
A run started with an explicit seed reuses the newest earlier run folder's database for the same
seed and profile, so the failures that run found are tried first (and with one worker the seed
alone decides what is generated next).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.contract.runner import DATABASE_FOLDER


def previous_database(report_dir: Path, seed: int, profile: str, *, exclude: Path | None = None) -> Path | None:
    """The newest ``<run>/contract/hypothesis-db`` under ``report_dir`` of a run with ``seed`` and ``profile``."""
    candidates = []
    for artifact in report_dir.glob("*/contract/run.json"):
        run_dir = artifact.parent.parent
        if run_dir.is_symlink() or (exclude is not None and run_dir.resolve() == exclude.resolve()):
            continue  # reports/latest points at a run that is listed anyway
        database = artifact.parent / DATABASE_FOLDER
        try:
            recorded = json.loads(artifact.read_text())
        except (OSError, ValueError):
            continue  # an unreadable or partial artifact is not a run to replay
        if database.is_dir() and recorded.get("seed") == seed and (recorded.get("profile") or {}).get("name") == profile:
            candidates.append((artifact.stat().st_mtime, database))
    return max(candidates)[1] if candidates else None
