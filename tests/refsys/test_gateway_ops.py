"""Health, readiness, metrics, and the memory-leak defect."""

from __future__ import annotations

import tracemalloc
from typing import Any

from fixtures.refsys.gateway import edge
from tests.refsys.conftest import FakeInference, Gateway


async def test_healthz_and_readyz(gateway: Gateway) -> None:
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "database": True, "inference-gpu": True, "inference-cpu": True}


async def test_readyz_names_what_failed(make_gateway: Any) -> None:
    one_tier = await make_gateway(inference=FakeInference(ready={"inference-gpu": False, "inference-cpu": True}))
    partial = await one_tier.client.get("/readyz")
    assert partial.status_code == 200 and partial.json()["failing"] == ["inference-gpu"]
    no_tier = await make_gateway(inference=FakeInference(ready={"inference-gpu": False, "inference-cpu": False}))
    down = await no_tier.client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == ["inference-cpu", "inference-gpu"]


async def test_readyz_fails_when_the_database_is_gone(make_gateway: Any, tmp_path: Any) -> None:
    gw = await make_gateway(db_path=tmp_path / "vanishing.db")
    (tmp_path / "gone").mkdir()
    gw.app.state.ctx.db.sync.close()
    gw.app.state.ctx.db.sync.db_url = f"sqlite:///{tmp_path / 'gone' / 'missing' / 'x.db'}"
    response = await gw.client.get("/readyz")
    assert response.status_code == 503 and "database" in response.json()["failing"]


async def test_metrics_count_requests_latency_and_rejections(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=2)
    alice = await gw.auth()
    for _ in range(3):
        await gw.client.get("/me", headers=alice)
    await gw.create(await gw.auth("acme_admin"))
    text = (await gw.client.get("/metrics")).text
    assert 'refsys_gateway_requests_total{method="GET",route="/me",status="200"} 2.0' in text
    assert 'refsys_gateway_requests_total{method="GET",route="/me",status="429"} 1.0' in text
    assert 'refsys_gateway_request_duration_seconds_count{route="/me"} 3.0' in text
    assert 'refsys_gateway_rate_limit_rejections_total{limiter="user"} 1.0' in text
    assert 'refsys_gateway_analyses_total{degraded="false",tier="gpu"} 1.0' in text


async def test_defect_memory_leak_grows_rss(make_gateway: Any) -> None:
    edge.REQUEST_JOURNAL.clear()
    clean = await make_gateway()
    for _ in range(200):
        await clean.client.get("/healthz")
    assert edge.REQUEST_JOURNAL == []

    leaky = await make_gateway(defects="memory_leak")
    # traced allocations, not RSS: in-process, freed memory from earlier tests is reused and hides RSS growth
    # (the load suite's soak test shows the RSS trend of a real gateway process)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            await leaky.client.get("/healthz")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    try:
        assert len(edge.REQUEST_JOURNAL) == 2000
        assert grown > 20 * 1024 * 1024  # ~16 KiB retained per request
    finally:
        edge.REQUEST_JOURNAL.clear()
