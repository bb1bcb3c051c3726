"""When the system itself noticed a fault: readiness and the balancer, polled against a small stand-in replica."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.chaos.extension import HarnessExtension
from harness.chaos.report import ExperimentReport, SystemNotice
from harness.chaos.signals import SystemSignals
from tests.stand_in import Reply, Request, stand_in


class Replica:
    """``/readyz`` of a gateway replica: names what ``failing`` holds; not ready when a non-inference part fails."""

    def __init__(self) -> None:
        self.failing: list[str] = []

    def __call__(self, request: Request) -> Reply:
        blocking = [f for f in self.failing if not f.startswith("inference-")]
        return Reply(503 if blocking else 200, {"status": "not_ready" if blocking else "ready",
                                                 "failing": self.failing})


@pytest.fixture
def stand_in_replica() -> Iterator[tuple[Replica, str]]:
    replica = Replica()
    with stand_in(replica) as url:
        yield replica, url


def wait_for(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the poller never saw the change"
        time.sleep(0.05)


def test_readiness_and_balancer_changes_are_noticed_with_their_time(stand_in_replica: tuple[Replica, str]) -> None:
    replica, url = stand_in_replica
    balancer = {"lb->gateway-1": {"healthy": True}}
    signals = SystemSignals({"gateway-1": url, "gateway-2": "http://127.0.0.1:9"}, lambda: balancer,
                            interval_s=0.05).start()
    try:
        wait_for(lambda: len(signals.events) >= 3)  # the first look at every source
        fault_at = time.time()
        assert signals.first_noticed(fault_at, fault_at + 60) == {}, "a clean system and a dead replica: no sign"
        replica.failing = ["inference-gpu"]  # the replica names a failing tier but stays ready
        wait_for(lambda: "readiness" in signals.first_noticed(fault_at, time.time()))
        balancer["lb->gateway-1"] = {"healthy": False}
        replica.failing = ["database"]
        wait_for(lambda: len(signals.first_noticed(fault_at, time.time())) == 2)
        wait_for(lambda: any(e.state.startswith("not_ready 503") for e in signals.events))
    finally:
        signals.stop()
    first = signals.first_noticed(fault_at, time.time())
    assert first["readiness"].subject == "gateway-1" and first["readiness"].state == "ready, failing ['inference-gpu']"
    assert first["balancer"].subject == "gateway-1" and first["balancer"].state == "unhealthy"
    assert first["readiness"].at < first["balancer"].at
    states = [e.state for e in signals.between(fault_at, time.time()) if e.source == "readiness"]
    assert "not_ready 503 failing ['database']" in states
    assert any(e.subject == "gateway-2" and e.state == "unreachable" and not e.noticed for e in signals.events)


def test_the_recovery_check_says_when_the_system_noticed() -> None:
    report = ExperimentReport(name="x", title="t", extension=HarnessExtension(fault="kill", target="gateway-1"),
                              time_to_recover_s=1.0, time_to_detect_system_s=0.3,
                              system_noticed={"balancer": SystemNotice(after_s=0.3, what="gateway-1: unhealthy")})
    message = report._recovery("chaos.x", []).message
    assert "users never saw an SLO breach" in message and "noticed after 0.3s (balancer: gateway-1: unhealthy)" in message
    assert report.measured()["time_to_detect_system_s"] == 0.3
    quiet = ExperimentReport(name="x", title="t", extension=HarnessExtension(fault="kill", target="gateway-1"),
                             time_to_recover_s=1.0)
    assert "showed no sign of the fault" in quiet._recovery("chaos.x", []).message
