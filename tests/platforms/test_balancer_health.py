"""The balancer's health checks: a refused replica is dead at once, a slow one only when it stays slow.

Real sockets on loopback, no reference system: an upstream that answers ``/healthz`` with a settable
delay, reached through a real ``Link`` as the balancer does.
"""

from __future__ import annotations

import asyncio
import socket

from harness.platforms.local.balancer import Backend, RoundRobinBalancer
from harness.platforms.local.proxy import Link


async def health_server(delay: dict[str, float]) -> asyncio.base_events.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(delay["s"])
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def backend_to(port: int) -> Backend:
    link = Link("lb->replica", "127.0.0.1", port)
    await link.start()
    return Backend(name="lb->replica", link=link)


async def test_one_slow_check_keeps_the_replica_and_its_sessions_two_mark_it_down() -> None:
    delay = {"s": 0.0}
    server = await health_server(delay)
    backend = await backend_to(server.sockets[0].getsockname()[1])
    balancer = RoundRobinBalancer([backend], timeout_s=0.2)
    try:
        await balancer.check_all()
        assert backend.healthy
        delay["s"] = 0.5  # slower than the check's budget
        await balancer.check_all()
        assert backend.healthy and backend.checks_timed_out == 1  # one slow answer: not dead
        await balancer.check_all()
        assert not backend.healthy  # slow twice in a row: down
        delay["s"] = 0.0
        await balancer.check_all()
        assert backend.healthy and backend.checks_timed_out == 0
    finally:
        server.close()
        await backend.link.close()


async def test_a_refused_check_marks_the_replica_down_at_once() -> None:
    backend = await backend_to(free_port())  # nothing listens there
    balancer = RoundRobinBalancer([backend], timeout_s=0.2)
    try:
        await balancer.check_all()
        assert not backend.healthy
    finally:
        await backend.link.close()
