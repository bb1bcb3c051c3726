"""The CORS allowlist and RateLimit-header checks against the reference system's own configuration.

The refsys allows its public origin and ``https://app.acme.test`` (``fixtures/refsys/gateway/settings.py``);
the local platform hands that list to the probe the way any target does, in ``Target.extra["cors_allowed_origins"]``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from harness.security.context import Budget
from harness.security.probes import cors, ratelimit
from tests.security.test_refsys import refsys

pytestmark = pytest.mark.integration  # a platform start each: ~10-15 s

REFSYS_APP_ORIGIN = "https://app.acme.test"


def test_clean_refsys_allows_its_origins_only_and_its_headers_tell_the_truth(tmp_path):
    with refsys(tmp_path, []) as ctx:
        parts = urlsplit(ctx.target.base_url)
        assert ctx.target.extra["cors_allowed_origins"] == [f"{parts.scheme}://{parts.netloc}", REFSYS_APP_ORIGIN]
        allowlist = next(o for o in cors.run(ctx) if o.id == "security.cors.allowlist")
        ctx.budget = Budget(max_wait_s=1.0)  # the window shaping is covered by tests/security/test_refsys.py
        limits = {o.id: o for o in ratelimit.run(ctx)}
    assert allowlist.status.value == "pass", allowlist.message
    answers = allowlist.evidence.measured["allow_origin_answers"]
    assert answers[REFSYS_APP_ORIGIN] == [REFSYS_APP_ORIGIN, REFSYS_APP_ORIGIN]
    assert answers["https://app.acme.test.evil.harness-probe.invalid"] == [None, None]
    assert limits["security.ratelimit.enforced"].status.value == "pass"
    assert limits["security.ratelimit.headers"].status.value == "pass"
    assert tuple(limits["security.ratelimit.headers"].evidence.measured["status_and_remaining"][-1]) == (429, 0)


def test_no_rate_limit_keeps_honest_headers_and_fails_enforcement_only(tmp_path):
    """The defect admits everything while ``RateLimit`` says remaining=0: the headers state the claim
    truthfully (the budget is spent), so the finding is ``enforced``, not ``headers``."""
    with refsys(tmp_path, ["no_rate_limit"]) as ctx:
        limits = {o.id: o for o in ratelimit.run(ctx)}
    assert limits["security.ratelimit.enforced"].failed
    headers = limits["security.ratelimit.headers"]
    assert headers.status.value == "pass" and "not enforced" in headers.message
    assert tuple(headers.evidence.measured["status_and_remaining"][-1]) == (200, 0)
