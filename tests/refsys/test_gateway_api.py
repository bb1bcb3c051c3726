"""Core API: analyses CRUD, paging, search (and its SQL injection defect), inference outcomes,
quota, OpenAPI, contract drift, edge input, slow endpoint."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import jsonschema

from tests.refsys.conftest import FakeInference, Gateway


async def test_create_get_delete_round_trip(gateway: Gateway) -> None:
    alice = await gateway.auth()
    created = await gateway.create(alice, "what a good day")
    assert created["status"] == "completed"
    assert created["result"] == {"label": "positive", "score": 0.9, "tier": "gpu", "degraded": False}
    fetched = await gateway.client.get(f"/analyses/{created['id']}", headers=alice)
    assert fetched.json() == created
    assert (await gateway.client.delete(f"/analyses/{created['id']}", headers=alice)).status_code == 204
    assert (await gateway.client.get(f"/analyses/{created['id']}", headers=alice)).status_code == 404


async def test_paging_is_bounded(gateway: Gateway) -> None:
    alice = await gateway.auth()
    for n in range(3):
        await gateway.create(alice, f"text {n}")
    first = (await gateway.client.get("/analyses?page=1&page_size=2", headers=alice)).json()
    second = (await gateway.client.get("/analyses?page=2&page_size=2", headers=alice)).json()
    assert (len(first["items"]), len(second["items"]), first["total"]) == (2, 1, 3)
    assert first["items"][0]["text"] == "text 2"  # newest first
    for bad in ("page_size=101", "page_size=0", "page=0", "page=abc"):
        response = await gateway.client.get(f"/analyses?{bad}", headers=alice)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


async def test_text_length_is_validated(gateway: Gateway) -> None:
    alice = await gateway.auth()
    for text in ("", "x" * 10_001, "   ", "nul\x00byte"):
        response = await gateway.client.post("/analyses", json={"text": text}, headers=alice)
        assert response.status_code == 422, text
    assert (await gateway.client.post("/analyses", json={"text": "x" * 10_000}, headers=alice)).status_code == 201


async def test_search_is_parameterised(gateway: Gateway) -> None:
    alice, bob = await gateway.auth("acme_user"), await gateway.auth("globex_user")
    await gateway.create(alice, "the cat sat")
    await gateway.create(alice, "100% sure_thing")
    await gateway.create(bob, "globex secret")

    async def search(q: str) -> list[str]:
        response = await gateway.client.get("/analyses", params={"q": q}, headers=alice)
        assert response.status_code == 200, response.text
        return [item["text"] for item in response.json()["items"]]

    assert await search("CAT") == ["the cat sat"]
    assert await search("100%") == ["100% sure_thing"]  # LIKE wildcards are literal
    assert await search("x' OR 1=1 --") == []
    assert await search("'") == []


async def test_defect_sqli_gives_errors_boolean_and_time_differences(make_gateway: Any) -> None:
    gw = await make_gateway(defects="sqli")
    alice, bob = await gw.auth("acme_user"), await gw.auth("globex_user")
    await gw.create(alice, "the cat sat")
    await gw.create(bob, "globex secret")

    async def search(q: str) -> Any:
        return await gw.client.get("/analyses", params={"q": q}, headers=alice)

    assert (await search("'")).status_code == 500  # SQL syntax error
    leaked = [item["text"] for item in (await search("zzz' OR 1=1 --")).json()["items"]]
    assert "globex secret" in leaked  # another tenant's data
    heavy = "zzz' OR (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<1000000) " \
            "SELECT count(*) FROM c) > 0 --"
    started = time.perf_counter()
    slow = await search(heavy)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    await search("zzz")
    baseline = time.perf_counter() - started
    assert slow.status_code == 200 and elapsed > baseline + 0.1


async def test_inference_unavailable_is_503_problem_and_degraded_is_201(make_gateway: Any) -> None:
    down = await make_gateway(inference=FakeInference(unavailable=True))
    response = await down.client.post("/analyses", json={"text": "x"}, headers=await down.auth())
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    degraded = await make_gateway(inference=FakeInference(degraded=True))
    created = await degraded.create(await degraded.auth())
    assert created["result"]["degraded"] is True and created["result"]["tier"] == "degraded"


async def test_tenant_daily_quota(make_gateway: Any) -> None:
    gw = await make_gateway(tenant_daily_quota=2)
    alice, adam = await gw.auth("acme_user"), await gw.auth("acme_admin")
    await gw.create(alice)
    await gw.create(adam)
    over = await gw.client.post("/analyses", json={"text": "x"}, headers=alice)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert "acme" in over.json()["detail"]
    await gw.create(await gw.auth("globex_user"))  # another tenant has its own quota


async def test_openapi_is_3_1_with_links_and_problem_errors(gateway: Gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    create = spec["paths"]["/analyses"]["post"]
    links = create["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"getAnalysis", "deleteAnalysis"}
    assert create["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def schema_errors(spec: dict[str, Any], component: str, body: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{component}",
                                                 "components": spec["components"]})
    return [error.message for error in validator.iter_errors(body)]


async def test_responses_match_the_published_schema(gateway: Gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    alice = await gateway.auth()
    created = await gateway.create(alice)
    fetched = (await gateway.client.get(f"/analyses/{created['id']}", headers=alice)).json()
    page = (await gateway.client.get("/analyses", headers=alice)).json()
    assert schema_errors(spec, "Analysis", fetched) == []
    assert schema_errors(spec, "AnalysisPage", page) == []


async def test_defect_contract_drift_breaks_the_published_schema(make_gateway: Any) -> None:
    gw = await make_gateway(defects="contract_drift")
    spec = (await gw.client.get("/openapi.json")).json()
    alice = await gw.auth()
    created = await gw.create(alice)
    fetched = (await gw.client.get(f"/analyses/{created['id']}", headers=alice)).json()
    assert isinstance(fetched["created_at"], float)
    assert schema_errors(spec, "Analysis", fetched)
    assert isinstance(created["created_at"], float)  # the create response drifts too: one request reproduces it
    assert schema_errors(spec, "Analysis", created)


async def test_unusual_but_printable_unicode_is_accepted(make_gateway: Any) -> None:
    """Found by the contract suite: format/private-use characters in the first word used to cause a 500."""
    gw = await make_gateway()
    alice = await gw.auth()
    for text in ("\u00adsoft hyphen first", "\ue000 private use", "\u0378 unassigned", "emoji \U0001f600"):
        response = await gw.client.post("/analyses", json={"text": text}, headers=alice)
        assert response.status_code == 201, (text, response.text)


async def test_defect_500_on_edge_input(make_gateway: Any) -> None:
    gw = await make_gateway(defects="500_on_edge_input")
    alice = await gw.auth()
    for text in ("   ", "\t\n", "nul\x00byte"):
        response = await gw.client.post("/analyses", json={"text": text}, headers=alice)
        assert response.status_code == 500, text
        assert response.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in response.text and response.json()["request_id"]


async def test_defect_slow_endpoint_adds_800ms_to_the_list(make_gateway: Any) -> None:
    timings = {}
    for defects in ("", "slow_endpoint"):
        gw = await make_gateway(defects=defects)
        alice = await gw.auth()
        started = time.perf_counter()
        assert (await gw.client.get("/analyses", headers=alice)).status_code == 200
        timings[defects] = time.perf_counter() - started
    assert timings["slow_endpoint"] >= 0.8 > timings[""]


async def test_unreachable_database_is_a_clean_503_and_a_bad_statement_stays_a_500(gateway: Gateway) -> None:
    import psycopg

    alice = await gateway.auth()
    store = gateway.app.state.ctx.db.sync

    def refused(*_: Any, **__: Any) -> None:
        raise psycopg.OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    store.insert_analysis = refused  # what a write meets while PostgreSQL is down
    response = await gateway.client.post("/analyses", json={"text": "keep me"}, headers=alice)
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
    assert "unreachable" in response.json()["detail"] and "Traceback" not in response.text
    spec = (await gateway.client.get("/openapi.json")).json()
    assert "503" in spec["paths"]["/analyses/{analysis_id}"]["get"]["responses"]  # documented everywhere

    def broken(*_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError('near "ORDER": syntax error')

    store.get_analysis = broken
    assert (await gateway.client.get("/analyses/whatever", headers=alice)).status_code == 500
