"""A webhook receiver on loopback for the tests: records every JSON body it is sent, with when it came."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """``with WebhookReceiver() as hooks: ... hooks.url ... hooks.bodies``; ``status`` is what it answers."""

    def __init__(self, status: int = 204, delay_s: float = 0.0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.status = status
        self.delay_s = delay_s
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(receiver.delay_s)
                with receiver._arrived:
                    receiver.bodies.append(body)
                    receiver.received_at.append(time.time())
                    receiver._arrived.notify_all()
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        with self._arrived:
            return [b["event"] for b in self.bodies]

    def wait_for(self, event: str, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                found = next((b for b in self.bodies if b["event"] == event), None)
                if found is not None or time.monotonic() > deadline:
                    return found
                self._arrived.wait(timeout=0.2)
