"""Edge behaviour: OWASP secure headers on every response, CORS allowlist, request ids, error bodies."""

from __future__ import annotations

from typing import Any

import httpx

from fixtures.refsys.gateway.edge import SECURE_HEADERS, STRICT_CSP
from tests.refsys.conftest import Gateway


async def sample_responses(gw: Gateway) -> dict[str, httpx.Response]:
    """One response of each kind: success, 401, 404, 422, 429, CORS preflight."""
    alice = await gw.auth()
    responses = {
        "200": await gw.client.get("/analyses", headers=alice),
        "401": await gw.client.get("/analyses"),
        "404": await gw.client.get("/nowhere"),
        "422": await gw.client.post("/analyses", json={}, headers=alice),
        "preflight": await gw.client.options("/analyses", headers={
            "Origin": "https://app.acme.test", "Access-Control-Request-Method": "POST"}),
    }
    for _ in range(gw.settings.rate_limit + 1):
        last = await gw.client.get("/me", headers=alice)
    responses["429"] = last
    return responses


async def test_every_response_carries_the_owasp_headers(make_gateway: Any) -> None:
    gw = await make_gateway(rate_limit=5)
    responses = await sample_responses(gw)
    assert responses["429"].status_code == 429
    for kind, response in responses.items():
        for name, value in SECURE_HEADERS.items():
            assert response.headers.get(name) == value, (kind, name)
        assert "server" not in response.headers and "x-powered-by" not in response.headers
    assert responses["200"].headers["content-security-policy"] == STRICT_CSP


async def test_defect_no_security_headers(make_gateway: Any) -> None:
    gw = await make_gateway(defects="no_security_headers")
    response = await gw.client.get("/healthz")
    assert not {name for name in SECURE_HEADERS} & {name.lower() for name in response.headers}


async def test_defect_weak_csp(make_gateway: Any) -> None:
    gw = await make_gateway(defects="weak_csp")
    csp = (await gw.client.get("/healthz")).headers["content-security-policy"]
    assert "'unsafe-inline'" in csp and "'unsafe-eval'" in csp and "frame-ancestors" not in csp


async def test_cors_allows_only_listed_origins(gateway: Gateway) -> None:
    async def allowed_origin(origin: str) -> str | None:
        response = await gateway.client.options("/analyses", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET"})
        return response.headers.get("access-control-allow-origin")

    assert await allowed_origin("https://app.acme.test") == "https://app.acme.test"
    assert await allowed_origin("https://api.refsys.test") == "https://api.refsys.test"  # REFSYS_PUBLIC_URL
    assert await allowed_origin("https://evil.example") is None
    assert await allowed_origin("null") is None
    simple = await gateway.client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_defect_cors_reflect_origin(make_gateway: Any) -> None:
    gw = await make_gateway(defects="cors_reflect_origin")
    for origin in ("https://evil.example", "null"):
        response = await gw.client.get("/healthz", headers={"Origin": origin})
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"


async def test_request_id_is_echoed_when_sane_and_generated_otherwise(gateway: Gateway) -> None:
    echoed = await gateway.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    for insane in ("<script>", "x" * 200):
        replaced = await gateway.client.get("/healthz", headers={"X-Request-ID": insane})
        assert replaced.headers["x-request-id"] != insane and len(replaced.headers["x-request-id"]) == 32
    problem = await gateway.client.get("/nowhere", headers={"X-Request-ID": "req-42"})
    assert problem.json()["request_id"] == "req-42"


async def test_errors_are_problem_json_without_reflection_or_traces(gateway: Gateway) -> None:
    probe = "<script>alert(1)</script>"
    not_found = await gateway.client.get("/nowhere", params={"q": probe}, headers={"Accept": "text/html"})
    assert not_found.headers["content-type"] == "application/problem+json"
    assert probe not in not_found.text
    malformed = await gateway.client.post("/analyses", content=b'{"text":', headers={
        **await gateway.auth(), "Content-Type": "application/json"})
    assert malformed.status_code == 422 and "Traceback" not in malformed.text


async def test_defect_xss_reflect(make_gateway: Any) -> None:
    gw = await make_gateway(defects="xss_reflect")
    probe = "<script>alert(1)</script>"
    response = await gw.client.get("/nowhere", params={"q": probe})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert probe in response.text


async def test_defect_stack_trace_leak(make_gateway: Any) -> None:
    gw = await make_gateway(defects="stack_trace_leak")
    malformed = await gw.client.post("/analyses", content=b'{"text":', headers={
        **await gw.auth(), "Content-Type": "application/json"})
    assert malformed.status_code == 500 and "Traceback (most recent call last)" in malformed.text
    # with another defect causing a real crash, the crash's frames leak too
    both = await make_gateway(defects="stack_trace_leak,500_on_edge_input")
    crash = await both.client.post("/analyses", json={"text": "   "}, headers=await both.auth())
    assert crash.status_code == 500 and "IndexError" in crash.text and "routes_analyses.py" in crash.text
