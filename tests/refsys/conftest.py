"""Gateway test fixtures: in-process apps (httpx ASGI transport) and real subprocesses.

In-process: ``make_gateway(defects=..., **settings)`` builds a gateway on a fresh SQLite file
with a fake inference client, runs its lifespan and returns a ``Gateway`` helper.
Subprocess: ``start_gateway_process(env)`` runs ``python -m fixtures.refsys.gateway`` on a
free port and stops it on teardown (even when the test fails).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fixtures.refsys.gateway import GatewaySettings, create_app
from fixtures.refsys.gateway.inference_client import InferenceAnswer, InferenceUnavailable

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
IDENTITIES = {
    "acme_user": "alice@acme.test",
    "acme_admin": "adam@acme.test",
    "globex_user": "bob@globex.test",
    "globex_admin": "grace@globex.test",
}
TEST_SECRET = "test-secret-for-refsys-gateway-0123456789"


@dataclass
class FakeInference:
    """Implements the gateway's view of ``InferenceClient``; ``unavailable`` makes it raise."""

    unavailable: bool = False
    degraded: bool = False
    ready: dict[str, bool] = field(default_factory=lambda: {"inference-gpu": True, "inference-cpu": True})
    calls: list[str] = field(default_factory=list)

    async def analyze(self, text: str) -> InferenceAnswer:
        self.calls.append(text)
        if self.unavailable:
            raise InferenceUnavailable("all tiers down (fake)")
        if self.degraded:
            return InferenceAnswer(label="neutral", score=0.5, tier="degraded", degraded=True, model_version="degraded")
        label = "positive" if "good" in text.lower() else "negative"
        return InferenceAnswer(label=label, score=0.9, tier="gpu", degraded=False, model_version="fake-1")

    def breaker_states(self) -> dict[str, str]:
        return {"gpu": "closed", "cpu": "closed"}

    async def readiness(self) -> dict[str, bool]:
        return dict(self.ready)

    async def aclose(self) -> None:
        return None


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings
    inference: FakeInference

    async def login(self, who: str = "acme_user") -> dict[str, Any]:
        response = await self.client.post("/auth/login", json={"username": IDENTITIES[who], "password": PASSWORD})
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def auth(self, who: str = "acme_user") -> dict[str, str]:
        tokens = await self.login(who)
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def create(self, headers: dict[str, str], text: str = "a good day") -> dict[str, Any]:
        response = await self.client.post("/analyses", json={"text": text}, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())


def settings_for(db_path: Path, defects: str = "", **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {"db_url": f"sqlite:///{db_path}", "jwt_secret": TEST_SECRET,
                              "public_url": "https://api.refsys.test"}
    values.update(overrides)
    values["defects"] = frozenset(name.strip() for name in defects.split(",") if name.strip())
    return GatewaySettings(**values)


@pytest.fixture
async def make_gateway(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    async with AsyncExitStack() as stack:
        counter = iter(range(1000))

        async def make(defects: str = "", inference: FakeInference | None = None, db_path: Path | None = None,
                       **overrides: Any) -> Gateway:
            path = db_path or tmp_path / f"gateway-{next(counter)}.db"
            settings = settings_for(path, defects, **overrides)
            fake = inference or FakeInference()
            app = create_app(settings, inference=fake)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://gateway.test")
            await stack.enter_async_context(client)
            return Gateway(app=app, client=client, settings=settings, inference=fake)

        yield make


@pytest.fixture
async def gateway(make_gateway: Callable[..., Awaitable[Gateway]]) -> Gateway:
    return await make_gateway()


# -- real processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode} before becoming healthy; see its stdout")
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout_s} s")


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class ProcessHandle:
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path


@pytest.fixture
def start_process(tmp_path: Path) -> Iterator[Callable[..., ProcessHandle]]:
    """Start ``python -m <module>`` on a free port with extra env; all are stopped on teardown."""
    handles: list[ProcessHandle] = []

    def start(module: str, env: dict[str, str], name: str = "proc") -> ProcessHandle:
        port = free_port()
        full_env = {**os.environ, **env, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
        log_path = tmp_path / f"{name}-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO, env=full_env,
                                    stdout=log, stderr=subprocess.STDOUT)
        handle = ProcessHandle(url=f"http://127.0.0.1:{port}", proc=proc, env=env, log_path=log_path)
        handles.append(handle)
        wait_healthy(handle.url, proc)
        return handle

    try:
        yield start
    finally:
        for handle in handles:
            stop(handle.proc)


@pytest.fixture
def inference_cpu(start_process: Callable[..., ProcessHandle]) -> ProcessHandle:
    """A real CPU inference tier (``python -m fixtures.refsys.inference``), fast latencies."""
    return start_process("fixtures.refsys.inference",
                         {"INFERENCE_TIER": "cpu", "INFERENCE_LATENCY_SCALE": "0.1"}, name="inference-cpu")


@pytest.fixture
def gateway_env(tmp_path: Path, inference_cpu: ProcessHandle) -> dict[str, str]:
    """Env for gateway subprocesses sharing one SQLite file; GPU tier points at a closed port."""
    return {
        "REFSYS_DB_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "REFSYS_JWT_SECRET": TEST_SECRET,
        "REFSYS_INFERENCE_GPU_URL": f"http://127.0.0.1:{free_port()}",
        "REFSYS_INFERENCE_CPU_URL": inference_cpu.url,
        "REFSYS_PUBLIC_URL": "http://127.0.0.1",
    }


def login_sync(url: str, who: str = "acme_user") -> dict[str, str]:
    response = httpx.post(f"{url}/auth/login", json={"username": IDENTITIES[who], "password": PASSWORD},
                          timeout=10, trust_env=False)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
