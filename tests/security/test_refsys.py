"""The security suite against the real reference system: clean -> no high finding; each defect -> detected.

The platform runs with a short token TTL and a small rate-limit window (and says so in
``Target.extra``) so the expiry and fixed-window checks fit in seconds instead of minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.model import Severity
from harness.platforms.base import Target
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.probes import GROUPS
from harness.security.probes.jwt import bruteforce

pytestmark = pytest.mark.integration  # each test 5-12 s (a platform start each); the matrix ~2 min in all

TEST_WINDOW = {"REFSYS_ACCESS_TTL_S": "2", "REFSYS_RATE_LIMIT": "20", "REFSYS_RATE_WINDOW_S": "3"}
TEST_CLAIMS = {"rate_limit": {"limit": 20, "window_s": 3}}

# defect switch -> (probe group, the check that must catch it)
DEFECT_MATRIX = {
    "no_security_headers": ("headers", "security.headers.csp"),
    "weak_csp": ("headers", "security.headers.csp"),
    "cors_reflect_origin": ("cors", "security.cors.origin_reflection"),
    "no_rate_limit": ("ratelimit", "security.ratelimit.enforced"),
    "rate_limit_global": ("ratelimit", "security.ratelimit.per_user"),
    "rate_limit_fixed_window": ("ratelimit", "security.ratelimit.window"),
    "jwt_alg_none": ("jwt", "security.auth.alg_none"),
    "jwt_no_exp_check": ("jwt", "security.auth.expired"),
    "refresh_reuse": ("jwt", "security.auth.refresh_reuse"),
    "bola": ("authz", "security.authz.bola"),
    "bfla": ("authz", "security.authz.bfla"),
    "mass_assignment": ("authz", "security.authz.mass_assignment"),
    "data_exposure": ("authz", "security.authz.data_exposure"),
    "sqli": ("injection", "security.injection.sqli"),
    "xss_reflect": ("injection", "security.injection.xss"),
    "stack_trace_leak": ("errors", "security.errors.stack_trace"),
    "ssrf": ("ssrf", "security.ssrf.loopback_callback"),
    "csrf_unsigned": ("csrf", "security.csrf.forged_pair"),
}


@contextmanager
def refsys(tmp_path: Path, defects: list[str]) -> Iterator[ProbeContext]:
    from harness.platforms.local.platform import LocalPlatform

    platform = LocalPlatform(defects=defects, state_dir=tmp_path / "state", log_dir=tmp_path / "logs", env=TEST_WINDOW)
    with platform as target:
        target: Target
        target.extra.update({"claims": TEST_CLAIMS, "access_ttl_s": 2})
        ctx = ProbeContext.open(target, run_dir=tmp_path / "run")
        try:
            yield ctx
        finally:
            ctx.close()


def high_failures(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.id: o for o in outcomes if o.failed and o.severity >= Severity.HIGH}


@pytest.mark.slow  # every probe group incl. token expiry and rate-limit windows: ~25 s
def test_clean_reference_system_has_no_high_or_critical_finding(tmp_path):
    with refsys(tmp_path, []) as ctx:
        outcomes = [o for run in GROUPS.values() for o in run(ctx)] + [bruteforce(ctx)]
    assert high_failures(outcomes) == {}
    assert [o.id for o in outcomes if o.failed] == []  # README lists what would be medium/low: nothing today
    ran = {o.id for o in outcomes if o.status.value == "pass"}
    assert {"security.auth.expired", "security.ratelimit.window", "security.csrf.forged_pair"} <= ran


@pytest.mark.parametrize("defect", sorted(DEFECT_MATRIX))
def test_defect_is_detected_by_its_probe_with_evidence(tmp_path, defect):
    group, expected = DEFECT_MATRIX[defect]
    with refsys(tmp_path, [defect]) as ctx:
        outcomes = GROUPS[group](ctx)
    found = {o.id: o for o in outcomes if o.failed}
    assert expected in found, f"{defect}: {expected} did not fire; failures: {sorted(found)}"
    evidence = found[expected].evidence
    assert evidence.measured and (evidence.samples or evidence.curl), f"{defect}: finding without evidence"
    collateral = set(high_failures(outcomes)) - {expected}
    if defect == "cors_reflect_origin":
        collateral -= {"security.cors.null_origin"}  # the same switch reflects null too
    assert not collateral, f"{defect}: unrelated high findings {sorted(collateral)}"
