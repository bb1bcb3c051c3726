"""The load balancer in front of the gateway replicas survives losing (killing or pausing) one of them."""

from __future__ import annotations

import time

import httpx

from harness.platforms.local.platform import LocalPlatform


def served_by(platform: LocalPlatform, count: int, timeout_s: float = 2.0) -> tuple[list[int], int]:
    """pids that answered ``count`` fresh-connection requests through the LB, and how many failed."""
    pids, failures = [], 0
    for _ in range(count):
        try:
            response = httpx.get(f"{platform._target.base_url}/whoami", timeout=timeout_s)  # type: ignore[union-attr]
            response.raise_for_status()
            pids.append(response.json()["pid"])
        except httpx.HTTPError:
            failures += 1
    return pids, failures


def test_round_robin_spreads_requests_over_replicas(tiny_platform: LocalPlatform) -> None:
    pids, failures = served_by(tiny_platform, 10)
    assert failures == 0
    assert set(pids) == {tiny_platform.pid("gateway-1"), tiny_platform.pid("gateway-2")}
    assert abs(pids.count(pids[0]) - 5) <= 1, f"round robin should alternate: {pids}"


def test_killed_replica_is_retried_on_the_other_without_errors(tiny_platform: LocalPlatform) -> None:
    survivor = tiny_platform.pid("gateway-2")
    tiny_platform.kill("gateway-1")
    pids, failures = served_by(tiny_platform, 12)  # right away: before any health check noticed
    assert failures == 0, "a refused connect must be retried on the other replica"
    assert set(pids) == {survivor}
    time.sleep(0.8)
    assert tiny_platform.lb_backends()["lb->gateway-1"]["healthy"] is False
    tiny_platform.restart("gateway-1")
    time.sleep(0.8)
    pids, failures = served_by(tiny_platform, 6)
    assert failures == 0 and len(set(pids)) == 2, "the restarted replica must rejoin the rotation"


def test_paused_replica_is_skipped_after_a_health_check(tiny_platform: LocalPlatform) -> None:
    survivor = tiny_platform.pid("gateway-2")
    tiny_platform.pause("gateway-1")
    try:
        deadline = time.monotonic() + 3
        while tiny_platform.lb_backends()["lb->gateway-1"]["healthy"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tiny_platform.lb_backends()["lb->gateway-1"]["healthy"] is False, "health check must notice a pause"
        pids, failures = served_by(tiny_platform, 10)
        assert failures == 0 and set(pids) == {survivor}
    finally:
        tiny_platform.resume("gateway-1")
    time.sleep(0.8)
    pids, failures = served_by(tiny_platform, 6)
    assert failures == 0 and len(set(pids)) == 2


def test_keepalive_client_pinned_to_a_paused_replica_is_released(tiny_platform: LocalPlatform) -> None:
    """Sessions on a replica marked down are shut down, so a keep-alive client reconnects elsewhere."""
    with httpx.Client(base_url=tiny_platform._target.base_url, timeout=3.0) as client:  # type: ignore[union-attr]
        pinned = client.get("/whoami").json()["pid"]
        victim = "gateway-1" if pinned == tiny_platform.pid("gateway-1") else "gateway-2"
        tiny_platform.pause(victim)
        try:
            time.sleep(2.2)  # > two timed-out health checks (interval + timeout, twice)
            answers = []
            for _ in range(4):
                try:
                    answers.append(client.get("/whoami").json()["pid"])
                except httpx.HTTPError:
                    answers.append(None)  # the one request that finds its connection shut down
            assert answers[-1] is not None and answers[-1] != pinned, answers
            assert answers.count(None) <= 1, answers
        finally:
            tiny_platform.resume(victim)


def test_lb_link_faults_apply_to_balanced_traffic(tiny_platform: LocalPlatform) -> None:
    for name in ("lb->gateway-1", "lb->gateway-2"):
        tiny_platform.link(name).latency(150)
    start = time.perf_counter()
    httpx.get(f"{tiny_platform._target.base_url}/healthz", timeout=3).raise_for_status()  # type: ignore[union-attr]
    assert time.perf_counter() - start >= 0.15
    tiny_platform.link("lb->gateway-1").refuse()
    pids, failures = served_by(tiny_platform, 4)
    assert failures == 0 and set(pids) == {tiny_platform.pid("gateway-2")}
    tiny_platform.clear_all_faults()
    assert all(tiny_platform.link(n).faults().is_clean for n in tiny_platform.links())
