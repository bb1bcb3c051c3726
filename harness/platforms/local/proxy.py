"""The harness's own TCP fault proxy: one ``Link`` per connection between two components.

Hand-written on purpose: ``tc netem`` (the usual tool) is not available in this kernel/container
and no maintained Python library injects faults into live TCP links at runtime. Toxiproxy does
the same job but is a Go binary we cannot ship; this follows its vocabulary.

Fault semantics (``LinkFaults``), all changeable at runtime, applied to live connections:

* ``latency_ms`` ± ``jitter_ms`` (uniform, clamped at 0):
  ``latency_mode="per_chunk"`` (default) delays every chunk flowing client -> server (the
  request direction), so each request/response round trip gains ~latency once; chunk order is
  kept and delays do not add up inside one message (a chunk leaves at max(its due time, the
  previous chunk's)). ``latency_mode="per_connection"`` delays only the upstream connect.
* ``bandwidth_bps``: bytes per second per direction, shared by all connections of the link
  (token bucket).
* ``reset``: live connections are reset (RST, via SO_LINGER 0) and new ones are reset on accept.
* ``blackhole``: new connections are accepted but never answered; live connections stop moving
  bytes (held, not dropped - like TCP retransmitting into a dead route). Clearing it lets them flow.
* ``refuse``: the listening socket is closed and the port is held by a bound, non-listening
  socket, so connects fail with ECONNREFUSED; live connections continue.
* ``slow_close_ms``: a half-close (EOF) from either side reaches the other side this much later.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CHUNK_SIZE = 64 * 1024


class LinkFaults(BaseModel):
    """The faults currently applied to one link; ``LinkFaults()`` means a clean link."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0, le=600_000)
    jitter_ms: float = Field(0.0, ge=0, le=600_000)
    latency_mode: Literal["per_chunk", "per_connection"] = "per_chunk"
    bandwidth_bps: int | None = Field(None, gt=0, description="bytes per second, each direction")
    reset: bool = False
    blackhole: bool = False
    refuse: bool = False
    slow_close_ms: float = Field(0.0, ge=0, le=600_000)

    @property
    def is_clean(self) -> bool:
        return self == LinkFaults()


class LinkStats(BaseModel):
    connections_total: int = 0
    connections_active: int = 0
    bytes_up: int = 0  # client -> server
    bytes_down: int = 0  # server -> client
    resets: int = 0
    upstream_failures: int = 0


def reset_transport(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER on, timeout 0), so the peer sees ECONNRESET."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TokenBucket:
    """Bytes-per-second limiter shared by every connection of a link, per direction."""

    def __init__(self) -> None:
        self._tokens = 0.0
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, nbytes: int, rate: int) -> None:
        async with self._lock:  # FIFO: connections share the rate fairly in arrival order
            burst = max(rate / 10, 1.0)  # at most 100 ms worth of bytes in one go
            while True:
                now = time.monotonic()
                self._tokens = min(burst, self._tokens + (now - self._last) * rate)
                self._last = now
                if self._tokens >= min(nbytes, burst):
                    self._tokens -= nbytes  # may go negative: the debt delays the next chunk
                    return
                await asyncio.sleep((min(nbytes, burst) - self._tokens) / rate)


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        reset_transport(self.client)
        if self.upstream is not None:
            reset_transport(self.upstream)

    def close(self) -> None:
        self.client.close()
        if self.upstream is not None:
            self.upstream.close()


class Link:
    """A listening port that forwards to ``upstream`` and applies ``LinkFaults`` to the traffic."""

    def __init__(self, name: str, upstream_host: str, upstream_port: int, *,
                 listen_host: str = "127.0.0.1", listen_port: int = 0, seed: int | None = None) -> None:
        self.name = name
        self.upstream = (upstream_host, upstream_port)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.faults = LinkFaults()
        self.stats = LinkStats()
        self._random = random.Random(seed)
        self._server: asyncio.base_events.Server | None = None
        self._held_socket: socket.socket | None = None  # keeps the port while refusing
        self._connections: set[_Connection] = set()
        self._flowing = asyncio.Event()  # cleared while blackholed
        self._flowing.set()
        self._buckets = {"up": TokenBucket(), "down": TokenBucket()}

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> int:
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.listen_host, self.listen_port))
        self.listen_port = sock.getsockname()[1]
        await self._listen(sock)
        return self.listen_port

    async def _listen(self, sock: socket.socket) -> None:
        sock.listen(512)
        sock.setblocking(False)
        self._server = await asyncio.start_server(self._on_client, sock=sock, limit=CHUNK_SIZE)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._held_socket is not None:
            self._held_socket.close()
            self._held_socket = None
        for conn in list(self._connections):
            conn.close()
        self._flowing.set()

    # -- faults ------------------------------------------------------------------------------
    async def set_faults(self, faults: LinkFaults) -> None:
        previous, self.faults = self.faults, faults
        if faults.blackhole:
            self._flowing.clear()
        else:
            self._flowing.set()
        if faults.reset:
            for conn in list(self._connections):
                self.stats.resets += 1
                conn.reset()
        if faults.refuse and not previous.refuse:
            await self._stop_accepting()
        elif previous.refuse and not faults.refuse:
            await self._resume_accepting()

    async def clear(self) -> None:
        await self.set_faults(LinkFaults())

    async def _stop_accepting(self) -> None:
        if self._server is None:
            return
        self._server.close()
        self._server = None
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind((self.listen_host, self.listen_port))  # bound, not listening: SYN -> RST
        self._held_socket = held

    async def _resume_accepting(self) -> None:
        held, self._held_socket = self._held_socket, None
        if held is not None:
            await self._listen(held)

    def _delay_s(self) -> float:
        faults = self.faults
        if not faults.latency_ms and not faults.jitter_ms:
            return 0.0
        jitter = self._random.uniform(-faults.jitter_ms, faults.jitter_ms) if faults.jitter_ms else 0.0
        return max(0.0, faults.latency_ms + jitter) / 1000

    # -- traffic -----------------------------------------------------------------------------
    async def open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to the upstream as this link would; used in-process by the load balancer.

        Raises ConnectionRefusedError/ConnectionResetError for refuse/reset faults and waits
        while the link is blackholed (callers put a timeout around it, like a SYN timeout).
        """
        if self.faults.refuse:
            raise ConnectionRefusedError(f"link {self.name} refuses connections (fault)")
        if self.faults.reset:
            self.stats.resets += 1
            raise ConnectionResetError(f"link {self.name} resets connections (fault)")
        await self._flowing.wait()
        if self.faults.latency_mode == "per_connection":
            await asyncio.sleep(self._delay_s())
        try:
            return await asyncio.open_connection(*self.upstream, limit=CHUNK_SIZE)
        except OSError:
            self.stats.upstream_failures += 1
            raise

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.reset or self.faults.refuse:
            self.stats.resets += 1
            reset_transport(writer)
            return
        try:
            up_reader, up_writer = await self.open_upstream()
        except OSError:
            reset_transport(writer)  # the closest a proxy can get to "connection refused"
            return
        await self.splice(reader, writer, up_reader, up_writer)

    async def splice(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        """Move bytes both ways through the link's faults until both sides are closed."""
        for side in (writer, up_writer):  # no Nagle: small HTTP writes must not wait for delayed ACKs
            sock = side.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(client=writer, upstream=up_writer)
        self._connections.add(conn)
        self.stats.connections_total += 1
        self.stats.connections_active += 1
        try:
            conn.tasks = [
                asyncio.create_task(self._pump(reader, up_writer, "up")),
                asyncio.create_task(self._pump(up_reader, writer, "down")),
            ]
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        finally:
            self._connections.discard(conn)
            self.stats.connections_active -= 1
            conn.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str) -> None:
        """Copy one direction; a reader feeds a due-time queue so latency keeps order and never piles up."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=64)

        async def read_side() -> None:
            last_due = 0.0
            try:
                while True:
                    await self._flowing.wait()
                    data = await src.read(CHUNK_SIZE)
                    if not data:
                        break
                    delay = self._delay_s() if direction == "up" and self.faults.latency_mode == "per_chunk" else 0.0
                    last_due = max(time.monotonic() + delay, last_due)
                    await queue.put((last_due, data))
            except (ConnectionError, OSError):
                pass
            finally:
                await queue.put((0.0, b""))  # EOF marker

        reader_task = asyncio.create_task(read_side())
        try:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                rate = self.faults.bandwidth_bps
                if rate:
                    await self._buckets[direction].take(len(data), rate)
                dst.write(data)
                await dst.drain()
                if direction == "up":
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
            if self.faults.slow_close_ms:
                await asyncio.sleep(self.faults.slow_close_ms / 1000)
            if dst.can_write_eof() and not dst.is_closing():
                dst.write_eof()
        except (ConnectionError, OSError):
            dst.close()
        finally:
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader_task

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen_port": self.listen_port,
            "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
            "faults": self.faults.model_dump(),
            "stats": self.stats.model_dump(),
        }
