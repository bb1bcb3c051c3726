"""The fault proxy, measured: each fault shows up on the wire as documented, and clear() undoes it."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from harness.platforms.local.proxy import LinkFaults
from harness.platforms.local.threaded_link import ThreadedLink


@pytest.fixture
def link(tiny_server: int) -> Iterator[ThreadedLink]:
    with ThreadedLink(("127.0.0.1", tiny_server), seed=7) as proxied:
        yield proxied


def timed_gets(client: httpx.Client, url: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        client.get(url).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def test_clean_link_forwards_requests(link: ThreadedLink) -> None:
    response = httpx.get(f"{link.url}/bytes?n=300000", timeout=5)
    assert response.status_code == 200 and len(response.content) == 300_000
    assert link.stats().bytes_down > 300_000


def test_added_latency_is_observed_once_per_round_trip(link: ThreadedLink) -> None:
    with httpx.Client(timeout=5) as client:
        baseline = statistics.median(timed_gets(client, f"{link.url}/healthz", 7))
        link.set_faults(latency_ms=120)
        delayed = statistics.median(timed_gets(client, f"{link.url}/healthz", 7))
        link.clear()
        restored = statistics.median(timed_gets(client, f"{link.url}/healthz", 7))
    added = delayed - baseline
    assert 110 <= added <= 150, f"expected ~120 ms added, measured {added:.1f} ms (baseline {baseline:.1f})"
    assert restored < baseline + 20, "clear() must remove the latency"


def test_jitter_spreads_latency_within_its_bounds(link: ThreadedLink) -> None:
    link.set_faults(latency_ms=60, jitter_ms=40)
    with httpx.Client(timeout=5) as client:
        samples = timed_gets(client, f"{link.url}/healthz", 15)
    assert min(samples) >= 20 - 1, samples
    assert max(samples) <= 100 + 40, samples  # upper jitter bound + generous service/scheduling time
    assert statistics.pstdev(samples) > 8, f"jitter should spread samples: {samples}"


def test_per_connection_latency_delays_only_the_connect(link: ThreadedLink) -> None:
    link.set_faults(latency_ms=150, latency_mode="per_connection")
    with httpx.Client(timeout=5) as client:
        first, second, third = timed_gets(client, f"{link.url}/healthz", 3)  # keep-alive: one connection
    assert first >= 150
    assert second < 100 and third < 100, (first, second, third)


def test_bandwidth_limit_is_observed(link: ThreadedLink) -> None:
    limit = 400_000  # bytes/s
    link.set_faults(bandwidth_bps=limit)
    size = 600_000
    start = time.perf_counter()
    response = httpx.get(f"{link.url}/bytes?n={size}", timeout=10)
    elapsed = time.perf_counter() - start
    assert len(response.content) == size
    observed = size / elapsed
    assert 0.7 * limit <= observed <= 1.15 * limit, f"observed {observed:.0f} B/s for a {limit} B/s limit"


def test_reset_gives_connection_errors_then_clear_restores(link: ThreadedLink) -> None:
    with httpx.Client(timeout=2) as client:
        client.get(f"{link.url}/healthz").raise_for_status()  # a live keep-alive connection
        link.set_faults(reset=True)
        with pytest.raises((httpx.ReadError, httpx.ConnectError, httpx.RemoteProtocolError)):
            client.get(f"{link.url}/healthz")
    with pytest.raises(ConnectionResetError):  # at connect, send or receive: wherever the RST lands first
        with socket.create_connection(("127.0.0.1", link.port), timeout=2) as sock:
            sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            sock.recv(1024) or sock.recv(1024)
    assert link.stats().resets >= 2
    link.clear()
    assert httpx.get(f"{link.url}/healthz", timeout=2).status_code == 200


def test_blackhole_accepts_but_never_answers(link: ThreadedLink) -> None:
    link.set_faults(blackhole=True)
    start = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{link.url}/healthz", timeout=httpx.Timeout(0.5, connect=2.0))
    assert time.perf_counter() - start >= 0.5
    link.clear()
    assert httpx.get(f"{link.url}/healthz", timeout=2).status_code == 200


def test_refuse_makes_connects_fail_and_keeps_the_port(link: ThreadedLink) -> None:
    link.set_faults(refuse=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", link.port), timeout=2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{link.url}/healthz", timeout=2)
    link.clear()
    assert httpx.get(f"{link.url}/healthz", timeout=2).status_code == 200


def test_slow_close_delays_the_eof(link: ThreadedLink) -> None:
    def time_to_eof() -> float:
        with socket.create_connection(("127.0.0.1", link.port), timeout=5) as sock:
            start = time.perf_counter()
            sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")  # HTTP/1.0: the server closes after answering
            while sock.recv(65536):
                pass
            return (time.perf_counter() - start) * 1000

    baseline = time_to_eof()
    link.set_faults(slow_close_ms=300)
    slowed = time_to_eof()
    assert slowed - baseline >= 280, (baseline, slowed)


def test_faults_model_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LinkFaults(latency_ms=-1)
    with pytest.raises(ValueError):
        LinkFaults(bandwidth_bps=0)
    with pytest.raises(ValueError):
        LinkFaults(latncy_ms=5)  # typo: extra fields are refused
    assert LinkFaults().is_clean and not LinkFaults(reset=True).is_clean
