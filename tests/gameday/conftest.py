"""Helpers for game-day tests: a game-day file aimed at a loopback webhook receiver, and the CLI in a child."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

GAMEDAYS = Path(__file__).parent / "gamedays"
HARNESS = str(Path(sys.executable).with_name("harness"))


def day_file(tmp_path: Path, name: str, webhook: str | None = None, **replace: str) -> Path:
    """A copy of ``tests/gameday/gamedays/<name>.yaml`` posting to ``webhook`` (none: no webhooks)."""
    text = (GAMEDAYS / f"{name}.yaml").read_text()
    text = text.replace('["http://127.0.0.1:${PORT}/hook"]', f'["{webhook}"]' if webhook else "[]")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def harness_gameday(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """``harness gameday ARGS`` in a child process with its own state dir (``tmp_path/state``)."""
    log = (tmp_path / "gameday.log").open("w")
    return subprocess.Popen([HARNESS, "gameday", *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HARNESS_STATE_DIR": str(tmp_path / "state")})
