"""The state file: what a running local platform started, so another process can inspect or stop it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, Field

from harness.platforms.base import Target
from harness.platforms.local.supervisor import ComponentState

STATE_FILE = "platform.json"


def default_state_dir() -> Path:
    return Path(os.environ.get("HARNESS_STATE_DIR") or ".harness").absolute()


class EdgeInfo(BaseModel):
    control_url: str
    links: dict[str, int] = Field(default_factory=dict)  # link name -> listen port


class PlatformState(BaseModel):
    owner_pid: int
    owner_create_time: float
    detached: bool = False  # True after `harness up`: nobody owns it until `harness down`
    started_at: float = Field(default_factory=time.time)
    backend: str
    redis: bool
    defects: list[str]
    replicas: int
    log_dir: str
    data_dirs: list[str] = Field(default_factory=list)
    components: dict[str, ComponentState] = Field(default_factory=dict)
    edges: dict[str, EdgeInfo] = Field(default_factory=dict)  # "edge" (links) and "lb"
    target: Target | None = None


def state_path(state_dir: Path) -> Path:
    return Path(state_dir) / STATE_FILE


def read_state(state_dir: Path) -> PlatformState | None:
    path = state_path(state_dir)
    if not path.exists():
        return None
    return PlatformState.model_validate_json(path.read_text())


def write_state(state_dir: Path, state: PlatformState) -> None:
    path = state_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2))
    os.replace(tmp, path)


def remove_state(state_dir: Path) -> None:
    state_path(state_dir).unlink(missing_ok=True)
