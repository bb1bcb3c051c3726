"""A tiny HTTP service for exercising the harness end to end before any real target exists.

Behaviour switches (command-line flags) give the example suite something real to find:
``--no-nosniff`` drops a security header, ``--slow-ms N`` delays every answer.
"""

from __future__ import annotations

import argparse

from tests.stand_in import Handler, Reply, Request, serve


def example_service(nosniff: bool, slow_ms: int) -> Handler:
    def handle(request: Request) -> Reply:
        found = request.path in ("/healthz", "/items")
        return Reply(200 if found else 404, {"status": "ok"} if found else {"error": "not found"},
                     {"X-Content-Type-Options": "nosniff"} if nosniff else {}, delay_s=slow_ms / 1000)

    return handle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-nosniff", action="store_true")
    parser.add_argument("--slow-ms", type=int, default=0)
    args = parser.parse_args()
    server = serve(example_service(not args.no_nosniff, args.slow_ms), args.port)
    print(server.server_address[1], flush=True)  # the parent reads the chosen port
    server.serve_forever()


if __name__ == "__main__":
    main()
