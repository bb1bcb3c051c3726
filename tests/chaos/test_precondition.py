"""A trial waits for a healthy system before its load starts, and says what stayed unhealthy."""

from __future__ import annotations

import time

import pytest

from harness.chaos.precondition import not_ready, wait_until_healthy
from harness.errors import DisallowedHostError, PlatformError
from tests.stand_in import Handler, Reply, Request, stand_in


def replica(ready_at: float) -> Handler:
    """``/readyz`` answers 503 (database failing) until ``ready_at`` (wall clock), then 200."""

    def readyz(request: Request) -> Reply:
        if time.time() < ready_at:
            return Reply(503, {"status": "not_ready", "failing": ["database"]})
        return Reply(200, {"status": "ready", "failing": []})

    return readyz


def test_waits_until_a_reconnecting_replica_is_ready() -> None:
    with stand_in(replica(ready_at=time.time() + 1.0)) as url:
        assert not_ready({"gateway-0": url}) == ["gateway-0 /readyz: not_ready 503 failing ['database']"]
        waited = wait_until_healthy({"gateway-0": url}, timeout_s=10)
        assert 0.5 <= waited <= 5 and not_ready({"gateway-0": url}) == []


def test_a_replica_that_stays_unready_is_named() -> None:
    with stand_in(replica(ready_at=time.time() + 60)) as url:
        with pytest.raises(PlatformError, match=r"not healthy .*gateway-0 /readyz: not_ready 503 failing \['database'\]"):
            wait_until_healthy({"gateway-0": url}, timeout_s=0.5)


def test_the_balancer_view_counts_and_unreachable_replicas_are_named() -> None:
    with stand_in(replica(ready_at=0)) as url:
        backends = {"lb->gateway-0": {"healthy": True}, "lb->gateway-1": {"healthy": False}}
        assert not_ready({"gateway-0": url}, lambda: backends) == ["balancer marks lb->gateway-1 unhealthy"]
    assert not_ready({"gateway-0": url}) == ["gateway-0 /readyz: ConnectError"]


def test_refuses_a_replica_outside_the_allowlist() -> None:
    with pytest.raises(DisallowedHostError):
        wait_until_healthy({"gateway-0": "http://203.0.113.5:8000"}, timeout_s=0.1)
