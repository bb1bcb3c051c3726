"""A tiny HTTP service for exercising the harness end to end before any real target exists.

Behaviour switches (command-line flags) give the example suite something real to find:
``--no-nosniff`` drops a security header, ``--slow-ms N`` delays every answer.
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(nosniff: bool, slow_ms: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            time.sleep(slow_ms / 1000)
            status = 200 if self.path in ("/healthz", "/items") else 404
            body = json.dumps({"status": "ok"} if status == 200 else {"error": "not found"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if nosniff:
                self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-nosniff", action="store_true")
    parser.add_argument("--slow-ms", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(not args.no_nosniff, args.slow_ms))
    print(server.server_address[1], flush=True)  # the parent reads the chosen port
    server.serve_forever()


if __name__ == "__main__":
    main()
