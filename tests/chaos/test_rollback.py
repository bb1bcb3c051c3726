"""The rollback check judges the experiment's own rollbacks; the harness's safety heal still removes what they left.

Every experiment ends with the ``heal_platform`` rollback and the runner heals once more after it,
so "nothing open after the last heal" would always hold. What counts is what the *first* heal
found: a fault the experiment's specific rollbacks did not undo.
"""

from __future__ import annotations

from harness.chaos import actions
from harness.chaos.extension import HarnessExtension
from harness.chaos.report import ExperimentReport
from harness.chaos.session import ChaosSession, use_session
from harness.model import Check, Status
from harness.platforms.base import Target
from harness.platforms.local.proxy import LinkFaults

LINK = "gateway-1->inference-cpu"


class FakeLink:
    def __init__(self, platform: FakePlatform, name: str) -> None:
        self.platform, self.name = platform, name

    def set(self, faults: LinkFaults) -> None:
        self.platform.faults[self.name] = faults

    def clear(self) -> None:
        self.platform.faults.pop(self.name, None)


class FakePlatform:
    """Holds link faults like the local platform; ``clear_all_faults`` is what a heal does."""

    name = "fake"

    def __init__(self) -> None:
        self.faults: dict[str, LinkFaults] = {}
        self.heals = 0

    def components(self) -> list[str]:
        return ["gateway-1", "inference-cpu"]

    def links(self) -> list[str]:
        return [LINK]

    def link(self, name: str) -> FakeLink:
        return FakeLink(self, name)

    def clear_all_faults(self) -> None:
        self.heals += 1
        self.faults.clear()


def run(*rollbacks: str) -> tuple[ChaosSession, FakePlatform]:
    """Method: slow the link. Then the given rollbacks, the last being heal_platform; then the runner's heal."""
    platform = FakePlatform()
    session = ChaosSession(platform=platform, target=Target(base_url="http://127.0.0.1:9"), experiment="slow_link")
    with use_session(session):
        actions.link_fault("gateway-1->*", latency_ms=5)
        assert platform.faults, "the fault is on"
        for rollback in rollbacks:
            getattr(actions, rollback)(*(["gateway-1->*"] if rollback == "clear_link_faults" else []))
    session.heal()  # the runner's safety heal, after the experiment
    return session, platform


def rollback_check(session: ChaosSession) -> Check:
    report = ExperimentReport(name="slow_link", title="slow link",
                              extension=HarnessExtension(fault="latency", target=LINK),
                              injections=session.injections, leftover_faults=session.left_by_rollbacks or [])
    return report._rollback("chaos.slow_link")


def test_a_fault_the_rollbacks_forgot_fails_the_check_and_is_still_removed() -> None:
    session, platform = run("heal_platform")
    assert session.left_by_rollbacks == [f"link:latency_ms on {LINK}"]
    check = rollback_check(session)
    assert check.status is Status.FAIL and f"link:latency_ms on {LINK}" in check.message
    assert platform.faults == {} and platform.heals == 2, "healed by heal_platform, and once more by the runner"
    assert session.open_injections() == []


def test_rollbacks_that_undo_their_fault_pass() -> None:
    session, platform = run("clear_link_faults", "heal_platform")
    assert session.left_by_rollbacks == []
    check = rollback_check(session)
    assert check.status is Status.PASS and "1 injection(s), all rolled back" in check.message
    assert platform.faults == {}


def test_without_heal_platform_the_runners_heal_is_the_first_and_still_judges() -> None:
    session, platform = run()
    assert session.left_by_rollbacks == [f"link:latency_ms on {LINK}"]
    assert rollback_check(session).status is Status.FAIL
    assert platform.faults == {} and platform.heals == 1
