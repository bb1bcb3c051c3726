"""Real ``python -m fixtures.refsys.gateway`` processes: replicas sharing one SQLite file,
restarts, the data-loss defect, start-up validation and JSON logs. Uses the real inference
client against a real CPU inference tier (the GPU URL points at a closed port)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.refsys.conftest import REPO, ProcessHandle, login_sync, stop

pytestmark = pytest.mark.integration

GATEWAY = "fixtures.refsys.gateway"


def create(url: str, headers: dict[str, str], text: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/analyses", json={"text": text}, headers=headers, timeout=15, trust_env=False)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get_status(url: str, path: str, headers: dict[str, str]) -> int:
    return httpx.get(f"{url}{path}", headers=headers, timeout=10, trust_env=False).status_code


def test_two_replicas_share_rate_limit_and_data(start_process: Callable[..., ProcessHandle],
                                                gateway_env: dict[str, str]) -> None:
    env = {**gateway_env, "REFSYS_RATE_LIMIT": "6"}
    one = start_process(GATEWAY, {**env, "REFSYS_INSTANCE": "gateway-1"}, name="gateway-1")
    two = start_process(GATEWAY, {**env, "REFSYS_INSTANCE": "gateway-2"}, name="gateway-2")
    alice = login_sync(one.url)  # a token from one replica works on the other (shared secret + DB)
    created = create(one.url, alice, "a good day")
    assert created["result"]["tier"] == "cpu"  # real inference client fell back from the dead GPU tier
    seen = [get_status(url, f"/analyses/{created['id']}", alice) for url in (two.url, one.url) * 3]
    assert seen == [200, 200, 200, 200, 200, 429]  # 1 create + 5 reads fill the shared window of 6


def test_acknowledged_writes_survive_a_restart(start_process: Callable[..., ProcessHandle],
                                               gateway_env: dict[str, str]) -> None:
    first = start_process(GATEWAY, gateway_env, name="gateway")
    alice = login_sync(first.url)
    created = create(first.url, alice, "keep me")
    stop(first.proc, kill=True)  # SIGKILL: no graceful shutdown
    second = start_process(GATEWAY, gateway_env, name="gateway-restarted")
    fetched = httpx.get(f"{second.url}/analyses/{created['id']}", headers=alice, timeout=10, trust_env=False)
    assert fetched.status_code == 200 and fetched.json()["text"] == "keep me"


def test_defect_data_loss_on_restart(start_process: Callable[..., ProcessHandle],
                                     gateway_env: dict[str, str]) -> None:
    env = {**gateway_env, "REFSYS_DEFECTS": "data_loss_on_restart"}
    first = start_process(GATEWAY, {**env, "REFSYS_INSTANCE": "gateway-1"}, name="gateway-1")
    other = start_process(GATEWAY, {**env, "REFSYS_INSTANCE": "gateway-2"}, name="gateway-2")
    alice = login_sync(first.url)
    created = create(first.url, alice, "lose me")
    path = f"/analyses/{created['id']}"
    assert [get_status(url, path, alice) for url in (first.url, other.url)] == [200, 200]  # looks fine
    stop(first.proc, kill=True)
    start_process(GATEWAY, {**env, "REFSYS_INSTANCE": "gateway-1"}, name="gateway-1-restarted")
    assert get_status(other.url, path, alice) == 404  # one replica's restart lost it for every replica


def test_unknown_defect_exits_2_naming_valid_ones() -> None:
    result = subprocess.run([sys.executable, "-m", GATEWAY], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PORT": "1", "REFSYS_DEFECTS": "bogus"})
    assert result.returncode == 2
    assert "bogus" in result.stderr and "no_rate_limit" in result.stderr


def test_access_logs_are_json_lines(start_process: Callable[..., ProcessHandle],
                                    gateway_env: dict[str, str]) -> None:
    gw = start_process(GATEWAY, gateway_env, name="gateway")
    httpx.get(f"{gw.url}/healthz", headers={"X-Request-ID": "log-probe-1"}, timeout=5, trust_env=False)
    stop(gw.proc)
    records = [json.loads(line) for line in gw.log_path.read_text().splitlines() if line.startswith("{")]
    probe = [r for r in records if r.get("request_id") == "log-probe-1"]
    assert probe and probe[0]["status"] == 200 and probe[0]["route"] == "/healthz"
    assert all(isinstance(r, dict) for r in records)
