"""Round-robin TCP load balancer over gateway replicas, with active health checks.

It reaches every replica *through* that replica's ``lb->gateway-N`` ``Link`` (in-process, so
faults on that link apply to balanced traffic and to health checks alike). Behaviour:

* round robin over healthy backends; when none is healthy, every backend is tried;
* a refused/reset/timed-out upstream connect is retried on the next backend (nothing was sent
  yet, so this is safe for any request);
* ``GET <health_path>`` every ``interval_s`` with a ``timeout_s`` budget through the link; a
  failing backend is skipped until it answers 200 again, and client sessions pinned to it are
  shut down when it is marked down (HAProxy's ``on-marked-down shutdown-sessions``), so
  keep-alive clients reconnect to a healthy replica instead of hanging on a paused one;
* a refused or reset check, or a non-200 answer, marks a backend down at once (a dead replica);
  a check that only timed out must time out ``slow_checks_to_fall`` times in a row (HAProxy's
  ``fall``): on a CPU-starved host one slow answer is not a dead replica, and shutting down its
  sessions would cut requests mid-body (measured: both replicas marked down together at load
  average 10, a POST cut mid-body counted as an error of the system under test).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import httpx

from harness.platforms.local.proxy import CHUNK_SIZE, Link

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Backend:
    name: str
    link: Link
    healthy: bool = True
    sessions: set[asyncio.StreamWriter] = field(default_factory=set)
    checks_failed: int = 0
    checks_timed_out: int = 0  # in a row


class RoundRobinBalancer:
    def __init__(self, backends: list[Backend], *, health_path: str = "/healthz", interval_s: float = 0.5,
                 timeout_s: float = 0.4, connect_timeout_s: float = 1.0, slow_checks_to_fall: int = 2) -> None:
        if not backends:
            raise ValueError("a load balancer needs at least one backend")
        self.backends = backends
        self.health_path = health_path
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.slow_checks_to_fall = slow_checks_to_fall
        self.listen_port = 0
        self._next = 0
        self._server: asyncio.base_events.Server | None = None
        self._health_task: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._on_client, host, port, limit=CHUNK_SIZE,
                                                  reuse_address=True, backlog=512)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        await self.check_all()  # know the state before the first client arrives
        self._health_task = asyncio.create_task(self._health_loop())
        return self.listen_port

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
        if self._server is not None:
            self._server.close()
        for backend in self.backends:
            for writer in list(backend.sessions):
                writer.close()

    def _candidates(self) -> list[Backend]:
        """Healthy backends in round-robin order starting at the next one; all of them if none is healthy."""
        count = len(self.backends)
        start = self._next
        self._next = (self._next + 1) % count
        ordered = [self.backends[(start + i) % count] for i in range(count)]
        healthy = [b for b in ordered if b.healthy]
        return healthy or ordered

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for backend in self._candidates():
            try:
                up_reader, up_writer = await asyncio.wait_for(backend.link.open_upstream(), self.connect_timeout_s)
            except (TimeoutError, OSError):
                self._mark(backend, healthy=False)
                continue
            backend.sessions.add(writer)
            try:
                await backend.link.splice(reader, writer, up_reader, up_writer)
            finally:
                backend.sessions.discard(writer)
            return
        writer.close()  # no backend accepted the connection

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check_all()

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(b) for b in self.backends))

    async def _check(self, backend: Backend) -> None:
        url = f"http://127.0.0.1:{backend.link.listen_port}{self.health_path}"
        try:
            # a fresh connection each time: the check must prove the replica still accepts
            async with httpx.AsyncClient(timeout=self.timeout_s, limits=httpx.Limits(max_keepalive_connections=0),
                                         trust_env=False) as client:
                response = await client.get(url)
            ok, backend.checks_timed_out = response.status_code == 200, 0
        except httpx.TimeoutException:
            backend.checks_timed_out += 1
            if backend.checks_timed_out < self.slow_checks_to_fall:
                return  # slow, not (yet) dead: keep its state and its sessions
            ok = False
        except (httpx.HTTPError, OSError):
            ok, backend.checks_timed_out = False, 0  # refused or reset: dead now
        self._mark(backend, healthy=ok)

    def _mark(self, backend: Backend, *, healthy: bool) -> None:
        if backend.healthy and not healthy:
            log.warning("backend %s marked down; shutting down %d session(s)", backend.name, len(backend.sessions))
            for writer in list(backend.sessions):
                writer.close()
        elif healthy and not backend.healthy:
            log.warning("backend %s marked up", backend.name)
        backend.checks_failed = 0 if healthy else backend.checks_failed + 1
        backend.healthy = healthy

    def describe(self) -> dict[str, object]:
        return {
            "listen_port": self.listen_port,
            "backends": {b.name: {"healthy": b.healthy, "sessions": len(b.sessions), "link": b.link.name}
                         for b in self.backends},
        }
