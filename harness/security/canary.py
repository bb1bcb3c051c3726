"""A canary HTTP listener on 127.0.0.1: SSRF probes point URL fields at it and watch for callbacks.

Hand-written with the standard library's ``http.server`` (a real socket server in a thread); no
maintained library offers a loopback-only out-of-band listener this small.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    at: float


class CanaryServer:
    """``with CanaryServer() as canary: canary.url("/ssrf-abc"); canary.wait_for("/ssrf-abc", 2.0)``."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                with canary._lock:
                    canary.hits.append(Hit(self.command, self.path, dict(self.headers.items()), time.time()))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"harness-canary")

            do_GET = do_POST = do_PUT = do_HEAD = _record

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="harness-canary", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def wait_for(self, path_prefix: str, timeout_s: float) -> list[Hit]:
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                found = [h for h in self.hits if h.path.startswith(path_prefix)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def __enter__(self) -> CanaryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
