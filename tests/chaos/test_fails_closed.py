"""The cache-outage checks against a small API whose rate-limit store goes away: fail closed passes, fail open fails.

The reference system fails closed (503, documented in fixtures/refsys/README.md) and has no
defect switch that fails open, so this stand-in shows the check catching it: the same tracked
writes, window and checks the runner uses, against a limiter that lets calls through unlimited.
"""

from __future__ import annotations

import time

from harness.chaos.analysis import writes_during
from harness.chaos.extension import HarnessExtension
from harness.chaos.report import ExperimentReport
from harness.chaos.writes import WriteTracker
from harness.model import Status
from harness.platforms.base import Identity, Target
from tests.stand_in import Reply, Request, stand_in

IDENTITY = Identity(name="acme_user", username="alice@acme.test", password="pw", tenant="acme", role="user")


class LimitedApi:
    """``POST /auth/login`` and ``POST /analyses``; while ``store_down``, the limiter either refuses or waves through."""

    def __init__(self, *, fail_open: bool) -> None:
        self.fail_open = fail_open
        self.store_down = False
        self.created = 0

    def __call__(self, request: Request) -> Reply:
        if request.path == "/auth/login":
            return Reply(200, {"access_token": "token"})
        if self.store_down and not self.fail_open:
            return Reply(503, {"detail": "the rate-limit store is unavailable; failing closed"})
        self.created += 1
        return Reply(201, {"id": f"a{self.created}"})


def outage_checks(*, fail_open: bool, writes_per_s: float = 20.0) -> dict[str, dict]:
    """Writes before, during and after a 1 s store outage; the cache-outage checks over the outage window."""
    api = LimitedApi(fail_open=fail_open)
    with stand_in(api) as url:
        target = Target(base_url=url, identities={IDENTITY.name: IDENTITY})
        tracker = WriteTracker(target, identities=[IDENTITY.name], rate_per_s=writes_per_s).start()
        time.sleep(0.5)
        api.store_down = True
        down_at = time.time()  # after the switch: every write sent from here on meets the outage
        time.sleep(1.0)
        up_at = time.time()  # before the switch: every write answered by here met the outage
        api.store_down = False
        time.sleep(0.3)
        tracker.stop()
    extension = HarnessExtension(fault="cache_outage", target="redis",
                                 expect={"writes_fail_cleanly": True, "rate_limit_fails_closed": True})
    report = ExperimentReport(name="cache_outage", title="store outage", extension=extension,
                              writes_during_fault=writes_during(tracker, down_at, up_at))
    return {check.id.rsplit(".", 1)[-1]: check for check in report._expectations("chaos.cache_outage", [])}


def test_a_limiter_that_fails_closed_passes() -> None:
    checks = outage_checks(fail_open=False)
    assert checks["rate_limit_fails_closed"].status is Status.PASS, checks["rate_limit_fails_closed"].message
    assert checks["clean_write_failures"].status is Status.PASS
    measured = checks["rate_limit_fails_closed"].evidence.measured["writes_during_fault"]
    assert measured["attempted"] >= 5 and measured["succeeded"] == 0 and set(measured["status_counts"]) == {"503"}


def test_a_limiter_that_fails_open_is_caught() -> None:
    checks = outage_checks(fail_open=True)
    closed = checks["rate_limit_fails_closed"]
    assert closed.status is Status.FAIL and "the limiter fails open" in closed.message, closed.message
    assert checks["clean_write_failures"].status is Status.FAIL, "nothing failed: no sign writes fail cleanly"


def test_no_call_during_the_outage_proves_nothing() -> None:
    extension = HarnessExtension(fault="cache_outage", target="redis",
                                 expect={"writes_fail_cleanly": True, "rate_limit_fails_closed": True})
    report = ExperimentReport(name="cache_outage", title="store outage", extension=extension,
                              writes_during_fault={"attempted": 0, "succeeded": 0, "failed": 0, "statuses": []})
    checks = report._expectations("chaos.cache_outage", [])
    assert [c.status for c in checks] == [Status.FAIL, Status.FAIL]
    assert "no write was attempted" in checks[0].message and "fail-closed not shown" in checks[1].message
