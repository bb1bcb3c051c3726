"""A tiny HTTP service standing in for a refsys component in the platform's own tests.

Run as ``python tiny_app.py`` with ``PORT`` (and optionally ``INSTANCE``) in the environment;
it serves the component contract's ``/healthz`` and ``/readyz`` plus a few probes.
"""

from __future__ import annotations

import asyncio
import os
import time

import uvicorn
from fastapi import FastAPI, Response

app = FastAPI()
INSTANCE = os.environ.get("INSTANCE", "tiny")
STARTED = time.time()
_hoard: list[bytes] = []


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready", "instance": INSTANCE}


@app.get("/whoami")
def whoami() -> dict[str, object]:
    return {"instance": INSTANCE, "pid": os.getpid(), "started": STARTED}


@app.get("/bytes")
def some_bytes(n: int = 1024) -> Response:
    return Response(b"x" * n, media_type="application/octet-stream")


@app.get("/slow")
async def slow(ms: float = 100) -> dict[str, float]:
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.get("/alloc")
def alloc(mb: int = 10) -> dict[str, int]:
    _hoard.append(b"\x01" * (mb * 1024 * 1024))
    return {"held_mb": sum(len(b) for b in _hoard) // (1024 * 1024)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
