"""Per-user sliding-window rate limit: headers, keying, bypass attempts, and the rate-limit defects."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from tests.refsys.conftest import Gateway, free_port


async def statuses(gw: Gateway, headers: dict[str, str], count: int, path: str = "/me") -> list[int]:
    return [(await gw.client.get(path, headers=headers)).status_code for _ in range(count)]


async def test_default_limit_is_100_per_60s_with_ietf_headers(gateway: Gateway) -> None:
    alice = await gateway.auth()
    first = await gateway.client.get("/me", headers=alice)
    assert first.headers["RateLimit-Policy"] == "100;w=60"
    assert first.headers["RateLimit"].startswith("limit=100, remaining=99, reset=")
    results = await statuses(gateway, alice, 100)
    assert results.count(200) == 99 and results[-1] == 429
    rejected = await gateway.client.get("/me", headers=alice)
    assert rejected.status_code == 429
    assert rejected.headers["content-type"] == "application/problem+json"
    assert 0 < int(rejected.headers["Retry-After"]) <= 60
    assert "remaining=0" in rejected.headers["RateLimit"]


async def test_limit_is_per_user_and_ignores_forwarded_for(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=5)
    alice, bob = await gw.auth("acme_user"), await gw.auth("globex_user")
    assert await statuses(gw, alice, 6) == [200] * 5 + [429]
    assert await statuses(gw, {**alice, "X-Forwarded-For": "203.0.113.9"}, 1) == [429]
    assert await statuses(gw, bob, 1) == [200]


async def test_path_case_slashes_and_head_share_the_user_bucket(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=6)
    alice = await gw.auth()
    variants = ["/analyses", "/ANALYSES", "/analyses/", "/Analyses//"]
    seen = [(await gw.client.get(path, headers=alice)).status_code for path in variants]
    seen.append((await gw.client.head("/analyses", headers=alice)).status_code)
    seen.append((await gw.client.get("/nowhere", headers=alice)).status_code)
    assert 429 not in seen
    assert (await gw.client.get("/analyses", headers=alice)).status_code == 429


async def test_ops_endpoints_are_not_limited(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=2)
    alice = await gw.auth()
    assert await statuses(gw, alice, 5, "/healthz") == [200] * 5


async def test_defect_no_rate_limit(make_gateway: Any) -> None:
    gw = await make_gateway(defects="no_rate_limit", rate_limit=5)
    results = await statuses(gw, await gw.auth(), 8)
    assert results == [200] * 8


async def test_defect_rate_limit_global_shares_one_bucket(make_gateway: Any) -> None:
    gw = await make_gateway(defects="rate_limit_global", rate_limit=5)
    assert await statuses(gw, await gw.auth("acme_user"), 5) == [200] * 5
    assert await statuses(gw, await gw.auth("globex_user"), 1) == [429]  # bob pays for alice


async def burst_across_window_boundary(gw: Gateway, window_s: int) -> list[int]:
    """``limit`` requests just before a wall-clock window boundary and ``limit`` just after."""
    headers = await gw.auth()
    now = time.time()
    boundary = (now // window_s + 1) * window_s
    if boundary - now < 0.5:
        boundary += window_s
    await asyncio.sleep(boundary - 0.3 - now)
    before = await statuses(gw, headers, gw.settings.rate_limit)
    await asyncio.sleep(max(0.0, boundary + 0.05 - time.time()))
    return before + await statuses(gw, headers, gw.settings.rate_limit)


async def test_sliding_window_allows_no_burst_at_the_boundary(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=5, rate_window_s=2)
    results = await burst_across_window_boundary(gw, 2)
    assert results.count(200) == 5


async def test_defect_fixed_window_allows_double_burst(make_gateway: Any) -> None:
    gw = await make_gateway(defects="rate_limit_fixed_window", rate_limit=5, rate_window_s=2)
    results = await burst_across_window_boundary(gw, 2)
    assert results.count(200) == 10


@pytest.fixture
def redis_url(tmp_path: Any) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_redis_windows_are_shared_between_replicas(make_gateway: Any, redis_url: str, tmp_path: Any) -> None:
    db = tmp_path / "shared.db"
    one = await make_gateway(rate_limit=4, redis_url=redis_url, db_path=db)
    two = await make_gateway(rate_limit=4, redis_url=redis_url, db_path=db)
    alice = await one.auth()
    assert await statuses(one, alice, 2) == [200, 200]
    assert await statuses(two, alice, 3) == [200, 200, 429]
    ready = (await one.client.get("/readyz")).json()
    assert ready["checks"]["redis"] is True


async def test_rate_limit_fails_closed_when_its_store_is_unreachable(make_gateway: Any, redis_url: str,
                                                                    tmp_path: Any) -> None:
    """Documented degradation: no Redis means 503 + Retry-After for limited calls, never unlimited access."""
    gateway = await make_gateway(rate_limit=4, redis_url=redis_url, db_path=tmp_path / "shared.db")
    alice = await gateway.auth()
    assert (await gateway.client.get("/analyses", headers=alice)).status_code == 200
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    [server] = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server" and any(
        c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in p.net_connections())]
    server.kill()
    server.wait(timeout=10)
    for _ in range(6):  # more than the limit of 4: still never a 200
        response = await gateway.client.get("/analyses", headers=alice)
        assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert "failing closed" in response.json()["detail"]
    assert (await gateway.client.get("/healthz")).status_code == 200  # liveness is not rate limited
