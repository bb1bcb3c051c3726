"""What the parent hands each generator process, and the files they exchange.

Protocol (all files in ``out_dir``; the plan itself goes over stdin so passwords never
touch the disk):

- worker writes ``worker-<i>.ready`` once users are spawned and identities logged in;
- parent writes ``start`` holding the common start epoch once every worker is ready;
- worker appends one JSON line per finished second to ``worker-<i>.jsonl``;
- parent writes ``stop`` to end early; worker finishes in-flight requests, then writes
  ``worker-<i>.summary.json`` (whole-run encoded histograms and counts) and exits.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.load.profile import LoadProfile
from harness.login import LoginSpec
from harness.platforms.base import Identity


class WorkerPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: LoadProfile
    base_url: str
    login: LoginSpec = LoginSpec()
    identities: dict[str, Identity] = {}
    worker_index: int = 0
    workers: int = 1
    users: int = 1
    out_dir: Path


def ready_file(out_dir: Path, index: int) -> Path:
    return out_dir / f"worker-{index}.ready"


def series_file(out_dir: Path, index: int) -> Path:
    return out_dir / f"worker-{index}.jsonl"


def summary_file(out_dir: Path, index: int) -> Path:
    return out_dir / f"worker-{index}.summary.json"


def log_file(out_dir: Path, index: int) -> Path:
    return out_dir / f"worker-{index}.log"


def start_file(out_dir: Path) -> Path:
    return out_dir / "start"


def stop_file(out_dir: Path) -> Path:
    return out_dir / "stop"
