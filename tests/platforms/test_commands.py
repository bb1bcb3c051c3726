"""`harness up` / `status` / `down`, each run as its own process, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from .conftest import port_is_free

pytestmark = pytest.mark.integration

RUNNER = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"  # the real `harness`


def harness(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, timeout=90,
                            env={**os.environ, "COLUMNS": "400"})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_up_status_down_leave_nothing_behind(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    try:
        up = json.loads(harness("up", "--state-dir", state, "--defects", "weak_csp", "--json").stdout)
        assert up["target"]["base_url"].startswith("http://127.0.0.1:")
        assert set(up["target"]["identities"]) == {"acme_user", "acme_admin", "globex_user", "globex_admin"}
        status = json.loads(harness("status", "--state-dir", state, "--json").stdout)
        assert status["owner"] == "harness up (detached)" and status["defects"] == ["weak_csp"]
        assert all(c["alive"] and c["ready"] for c in status["components"].values()), status["components"]
        again = harness("up", "--state-dir", state, check=False)
        assert again.returncode == 3 and "run `harness down` first" in again.stderr, again.stderr
    finally:
        down = harness("down", "--state-dir", state)
    assert "stopped gateway-1" in down.stdout
    pids = [c["pid"] for c in status["components"].values()]
    ports = [c["port"] for c in status["components"].values()] + list(status["links"].values())
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert [p for p in ports if not port_is_free(p)] == []
    assert harness("status", "--state-dir", state).stdout.startswith("no local platform")


def test_up_rejects_unknown_defects_and_backends_before_starting_anything(tmp_path: Path) -> None:
    from harness.errors import UsageError
    from harness.platforms.commands import up

    with pytest.raises(UsageError, match="valid names"):
        up(defects="bola,nope", state_dir=tmp_path)
    with pytest.raises(UsageError, match="sqlite, postgres"):
        up(backend="oracle", state_dir=tmp_path)
    with pytest.raises(UsageError, match="local or kind"):
        up(platform="mars", state_dir=tmp_path)
    with pytest.raises(UsageError, match="no_pdb"):  # kind validates app + manifest defect names up front
        up(platform="kind", defects="bola,nope", state_dir=tmp_path)
    assert not (tmp_path / "platform.json").exists() and not (tmp_path / "kind.json").exists()
