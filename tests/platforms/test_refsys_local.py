"""The real reference system on the local platform: logins through the LB, both backends, nothing left behind.

Start-up time (< 20 s) is a budget measured by bench/bench_budgets.py, not asserted here."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from harness.platforms.local.backing import POSTGRES_BIN
from harness.platforms.local.platform import LocalPlatform

from .conftest import port_is_free

pytestmark = pytest.mark.integration


def login(base_url: str, username: str, password: str) -> str:
    response = httpx.post(f"{base_url}/auth/login", json={"username": username, "password": password}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def exercise(platform: LocalPlatform) -> None:
    target = platform.start()
    try:
        assert target.extra["startup_s"] > 0  # measured and reported (`harness up` prints it)
        for name in ("acme_user", "globex_user"):
            ident = target.identities[name]
            token = login(target.base_url, ident.username, ident.password)
            created = httpx.post(f"{target.base_url}/analyses", json={"text": f"hello from {name}"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert created.status_code == 201, created.text
            # the other replica sees the same data: durable state is shared
            for _ in range(2):
                got = httpx.get(f"{target.base_url}/analyses/{created.json()['id']}",
                                headers={"Authorization": f"Bearer {token}"}, timeout=5)
                assert got.status_code == 200
        assert httpx.get(target.openapi_url, timeout=5).json()["openapi"].startswith("3.")  # type: ignore[arg-type]
    finally:
        pids = [s.pid for s in platform.supervisor.states.values()]
        ports = [s.port for s in platform.supervisor.states.values()]
        platform.stop()
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert all(port_is_free(p) for p in ports)


def test_refsys_sqlite_starts_and_logins_work_through_the_lb(tmp_path: Path) -> None:
    exercise(LocalPlatform(state_dir=tmp_path))


@pytest.mark.skipif(not (POSTGRES_BIN / "postgres").exists() or not shutil.which("redis-server"),
                    reason="needs PostgreSQL 15 (apt-get install postgresql) and redis-server")
def test_refsys_postgres_and_redis(tmp_path: Path) -> None:
    platform = LocalPlatform(state_dir=tmp_path, backend="postgres", redis=True)
    exercise(platform)
    assert not any(Path(d).exists() for d in platform._data_dirs)


@pytest.fixture(scope="module")
def single_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(state_dir=tmp_path_factory.mktemp("state"), replicas=1)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()


def test_gateway_restart_loses_no_acknowledged_write(single_replica: LocalPlatform) -> None:
    target = single_replica._target
    assert target is not None
    ident = target.identities["acme_user"]
    headers = {"Authorization": f"Bearer {login(target.base_url, ident.username, ident.password)}"}
    created = httpx.post(f"{target.base_url}/analyses", json={"text": "durable"}, headers=headers, timeout=5)
    assert created.status_code == 201
    single_replica.kill("gateway-1")  # a crash right after the acknowledgement
    single_replica.restart("gateway-1")
    time.sleep(0.7)  # the LB's next health check marks the replica up again
    got = httpx.get(f"{target.base_url}/analyses/{created.json()['id']}", headers=headers, timeout=5)
    assert got.status_code == 200 and got.json()["text"] == "durable"


def test_gpu_loss_through_the_platform(single_replica: LocalPlatform) -> None:
    gpu_url = single_replica._target.extra["components"]["inference-gpu"]  # type: ignore[union-attr]
    single_replica.set_gpu_count(0)
    assert httpx.get(f"{gpu_url}/readyz", timeout=2).status_code == 503
    single_replica.clear_all_faults()
    assert httpx.get(f"{gpu_url}/readyz", timeout=2).status_code == 200
