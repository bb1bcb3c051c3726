"""A tiny FastAPI target with *known* latencies, for the engine's own tests and benchmarks.

- ``GET /fast`` answers at once; ``GET /delay`` sleeps ``delay_ms`` (query, default env
  ``SELFTEST_DELAY_MS``) and, given ``seq``, records when it answered; ``GET /slow`` sleeps
  ``SELFTEST_SLOW_MS``.
- ``POST /auth/login`` → ``{access_token}``; ``POST /items`` and ``GET /items/{id}`` need it.
- ``POST /_stall {at_epoch, seconds}`` blocks the whole event loop at that wall-clock time
  (``time.sleep`` on the loop: every in-flight and arriving request waits), and
  ``GET /_stats`` reports when the stall really started and ended: the ground truth.

``serve_selftest_app()`` runs it under uvicorn in a subprocess on a free port.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

app = FastAPI(title="load selftest target")
_ids = count(1)
_items: dict[int, dict[str, object]] = {}
_stalls: list[dict[str, float]] = []
_completions: dict[int, float] = {}
_TOKEN = "selftest-token"


class Login(BaseModel):
    username: str
    password: str


class Stall(BaseModel):
    at_epoch: float
    seconds: float


def _authorized(authorization: str | None) -> None:
    if authorization != f"Bearer {_TOKEN}":
        raise HTTPException(status_code=401, detail="log in first: POST /auth/login")


@app.get("/fast")
async def fast() -> dict[str, bool]:
    return {"ok": True}


@app.get("/delay")
async def delay(delay_ms: float | None = None, seq: int | None = None) -> dict[str, float]:
    wait = delay_ms if delay_ms is not None else float(os.environ.get("SELFTEST_DELAY_MS", "0"))
    await asyncio.sleep(wait / 1000)
    if seq is not None:
        _completions[seq] = time.time()  # server-side truth: when the answer left the handler
    return {"slept_ms": wait}


@app.get("/slow")
async def slow() -> dict[str, float]:
    wait = float(os.environ.get("SELFTEST_SLOW_MS", "300"))
    await asyncio.sleep(wait / 1000)
    return {"slept_ms": wait}


@app.post("/auth/login")
async def login(body: Login) -> dict[str, str]:
    if body.password != "secret":
        raise HTTPException(status_code=401, detail="bad credentials")
    return {"access_token": _TOKEN, "token_type": "bearer"}


@app.post("/items", status_code=201)
async def create_item(body: dict[str, object], authorization: str | None = Header(None)) -> dict[str, object]:
    _authorized(authorization)
    item_id = next(_ids)
    _items[item_id] = {"id": item_id, **body}
    return _items[item_id]


@app.get("/items/{item_id}")
async def read_item(item_id: int, authorization: str | None = Header(None)) -> dict[str, object]:
    _authorized(authorization)
    if item_id not in _items:
        raise HTTPException(status_code=404, detail="no such item")
    return _items[item_id]


def _block_loop(seconds: float) -> None:
    started = time.time()
    time.sleep(seconds)  # deliberately blocks the event loop: a whole-process stall
    _stalls.append({"started": started, "ended": time.time()})


@app.post("/_stall")
async def schedule_stall(body: Stall) -> dict[str, float]:
    asyncio.get_running_loop().call_later(max(body.at_epoch - time.time(), 0), _block_loop, body.seconds)
    return {"scheduled_in_s": body.at_epoch - time.time()}


@app.get("/_stats")
async def stats() -> dict[str, object]:
    return {"stalls": _stalls, "items": len(_items), "completions": _completions}


@contextmanager
def serve_selftest_app(env: dict[str, str] | None = None, startup_timeout_s: float = 20.0) -> Iterator[str]:
    """Run the app under uvicorn on a free 127.0.0.1 port; yields its base URL; always stops it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound here and handed over: no race for the port
    sock.listen(1024)
    port = sock.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "harness.load.selftest_app:app", "--fd", str(sock.fileno()),
               "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(command, pass_fds=[sock.fileno()], env={**os.environ, **(env or {})})
    sock.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, proc, startup_timeout_s)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    import httpx

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"selftest app exited with {proc.returncode} before answering")
        try:
            if httpx.get(base_url + "/fast", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"selftest app at {base_url} did not answer within {timeout_s}s")
