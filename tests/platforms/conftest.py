"""Fixtures for the local platform's tests: tiny stand-in services and a platform built from them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.platforms.local.platform import LocalPlatform
from harness.platforms.local.supervisor import free_port

TINY_APP = Path(__file__).with_name("tiny_app.py")
TINY = [sys.executable, str(TINY_APP)]


def wait_http(url: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s} s")


@pytest.fixture
def tiny_server() -> Iterator[int]:
    """A tiny HTTP service in a child process; yields its port."""
    port = free_port()
    proc = subprocess.Popen([*TINY], env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield port
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def _module_tiny_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(state_dir=tmp_path_factory.mktemp("state"), commands={"inference": TINY, "gateway": TINY})
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def tiny_platform(_module_tiny_platform: LocalPlatform) -> Iterator[LocalPlatform]:
    """The full local topology (edges, LB, 2 replicas, 2 inference tiers) with tiny stand-in services.

    Shared by a test module (starting it costs seconds); every test gets it back healthy:
    faults cleared, killed components restarted, both replicas in the LB rotation.
    """
    yield _module_tiny_platform
    _module_tiny_platform.clear_all_faults()
    deadline = time.monotonic() + 5
    while not all(b["healthy"] for b in _module_tiny_platform.lb_backends().values()):
        assert time.monotonic() < deadline, "replicas did not come back into the LB rotation"
        time.sleep(0.1)


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (TIME_WAIT leftovers of closed connections do not count)."""
    import psutil

    return not any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in psutil.net_connections(kind="tcp"))
