"""Completion callbacks and the SSRF guard (a canary listener on 127.0.0.1 observes real fetches)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from fixtures.refsys.gateway.callbacks import UnsafeCallbackError, check_callback_url
from tests.refsys.conftest import Gateway


@dataclass
class Canary:
    url: str
    hits: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    """A tiny HTTP listener that records each request and answers 204."""
    hits: list[dict[str, Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        length = int({k.lower(): v for k, v in headers.items()}.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
        hits.append({"request_line": request_line, "body": body})
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Canary(url=f"http://127.0.0.1:{port}/hook", hits=hits)
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.1.2.3/",
    "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "ftp://93.184.216.34/", "http://user:pw@93.184.216.34/",
])
def test_guard_refuses_internal_targets(url: str) -> None:
    with pytest.raises(UnsafeCallbackError):
        check_callback_url(url)


def test_guard_accepts_a_public_address() -> None:
    check_callback_url("https://93.184.216.34/hook")  # an IP literal: no DNS query, no traffic


async def test_internal_callback_is_refused_and_never_fetched(gateway: Gateway, canary: Canary) -> None:
    response = await gateway.client.post("/analyses", json={"text": "x", "callback_url": canary.url},
                                         headers=await gateway.auth())
    assert response.status_code == 422 and "internal" in response.json()["detail"]
    await asyncio.sleep(0.2)
    assert canary.hits == []


async def test_defect_ssrf_fetches_the_internal_callback(make_gateway: Any, canary: Canary) -> None:
    gw = await make_gateway(defects="ssrf")
    response = await gw.client.post("/analyses", json={"text": "x", "callback_url": canary.url},
                                    headers=await gw.auth())
    assert response.status_code == 201
    for _ in range(50):  # the callback runs after the response; wait up to 5 s
        if canary.hits:
            break
        await asyncio.sleep(0.1)
    assert canary.hits and canary.hits[0]["request_line"].startswith("POST /hook")
    assert json.loads(canary.hits[0]["body"])["id"] == response.json()["id"]
