"""Fixtures for the contract suite's own tests: the inventory app and the reference system."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.platforms.base import Identity, Target
from suites.contract import SUITE

REPO = Path(__file__).resolve().parents[2]
INVENTORY_IDENTITIES = {
    "ada": Identity(name="ada", username="ada@inventory.test", password="pw-ada-123", tenant="a", role="user"),
    "bob": Identity(name="bob", username="bob@inventory.test", password="pw-bob-123", tenant="b", role="user"),
}
# The refsys as the contract suite starts it: rate limit, quotas and the login-failure lockout lifted
# (fuzzing POST /auth/login with wrong passwords would otherwise lock the identities the fuzzer logs in as).
REFSYS_CONTRACT_ENV = dict(SUITE.platform_env)


@pytest.fixture
def inventory_app(tmp_path: Path) -> Iterator[Callable[..., Target]]:
    """Start ``tests/contract/inventory_app.py`` (env overrides as kwargs); returns its Target."""
    processes: list[subprocess.Popen[str]] = []

    def start(**env: str) -> Target:
        proc = subprocess.Popen([sys.executable, "-m", "tests.contract.inventory_app"], cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env})
        processes.append(proc)
        assert proc.stdout is not None
        base = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        httpx.get(f"{base}/healthz", timeout=10).raise_for_status()  # answered once uvicorn serves
        return Target(base_url=base, openapi_url=f"{base}/openapi.json", identities=dict(INVENTORY_IDENTITIES))

    try:
        yield start
    finally:
        for proc in processes:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def inventory_identities_file(tmp_path: Path) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(yaml.safe_dump({name: i.model_dump(exclude={"name"}) for name, i in INVENTORY_IDENTITIES.items()}))
    return path


@pytest.fixture
def refsys(tmp_path: Path) -> Iterator[Callable[..., Target]]:
    """Start the reference system on the local platform with the given defects; stopped on teardown."""
    from harness.platforms.local.platform import LocalPlatform

    platforms: list[LocalPlatform] = []

    def start(*defects: str) -> Target:
        platform = LocalPlatform(defects=list(defects), env=REFSYS_CONTRACT_ENV,
                                 state_dir=tmp_path / f"refsys-{len(platforms)}")
        platforms.append(platform)
        return platform.start()

    try:
        yield start
    finally:
        for platform in platforms:
            platform.stop()
