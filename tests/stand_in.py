"""Stand-in HTTP services for tests: a function (or callable object) from request to reply, served on 127.0.0.1.

The one place the tests touch ``http.server``::

    def replica(request: Request) -> Reply:
        return Reply(200, {"status": "ready"}) if request.path == "/readyz" else Reply(404)

    with stand_in(replica) as url:
        ...

A callable object keeps state the test flips (``api.store_down = True``) between requests. Every
request the service saw is appended to ``requests`` when ``stand_in(handle, requests=[])`` is given.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list: JSON; str: text/plain; bytes: as given
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer this much later (a slow service)


Handler = Callable[[Request], Reply]


def _encode(reply: Reply) -> tuple[bytes, str]:
    if isinstance(reply.body, bytes):
        return reply.body, "application/octet-stream"
    if isinstance(reply.body, str):
        return reply.body.encode(), "text/plain; charset=utf-8"
    if reply.body is None:
        return b"", "text/plain"
    return json.dumps(reply.body).encode(), "application/json"


def serve(handle: Handler, port: int = 0, requests: list[Request] | None = None) -> ThreadingHTTPServer:
    """A server (not yet serving) that answers every method with ``handle``."""

    class StandIn(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
            if requests is not None:
                requests.append(request)
            reply = handle(request)
            if reply.delay_s:
                threading.Event().wait(reply.delay_s)
            data, content_type = _encode(reply)
            self.send_response(reply.status)
            headers = {"content-type": content_type, **{k.lower(): v for k, v in reply.headers.items()}}
            for name, value in {**headers, "content-length": str(len(data))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), StandIn)


@contextmanager
def stand_in(handle: Handler, *, requests: list[Request] | None = None) -> Iterator[str]:
    """Serve ``handle`` in a daemon thread; yields the base URL; shut down afterwards."""
    server = serve(handle, requests=requests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
