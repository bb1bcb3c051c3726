"""Fixtures of the security suite: one probe context per session, and a recorder for probe outcomes.

Probes that exhaust a budget on the target (the rate-limit claim, login brute force) run last, so the
throttling they cause cannot change what the other probes see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.errors import UsageError
from harness.model import Check
from harness.policy import SecurityPolicy, load_policy
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.record import judge_outcomes
from harness.security.rules import Action, rules_of

RUN_LAST = ("test_ratelimit.py",)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.path.name in RUN_LAST and "security" in item.path.parts]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def security_policy(harness_config) -> SecurityPolicy:  # type: ignore[no-untyped-def]
    """The policy file's ``security`` section: per-probe rules, docs policy (defaults without a policy)."""
    return load_policy(harness_config.policy).security


@pytest.fixture(scope="session")
def security_rules(security_policy: SecurityPolicy) -> dict[str, Action]:
    """Per-probe fail/warn/ignore from the policy file's ``security.rules`` (empty without a policy)."""
    return rules_of(security_policy)


@pytest.fixture(scope="package")  # harness_target is one platform per suite package
def probe_ctx(harness_target, harness_run, harness_config,  # type: ignore[no-untyped-def]  # noqa: F811 - the fixture re-declared above
              security_policy, harness_claims) -> Iterator[ProbeContext]:
    """The target's spec (saved as ``openapi.json`` in the run folder), identities, claims and budget.

    Checks whose numbers a claim states run with the claim's numbers too (``harness_claims``).

    A disallowed spec host or an unreadable spec is a usage error: the run stops with exit 4.
    """
    try:
        ctx = ProbeContext.open(harness_target, allow_hosts=harness_config.allow_hosts, run_dir=harness_run.run_dir,
                                profile=harness_config.profile, policy=security_policy, claims=harness_claims)
    except UsageError as exc:
        pytest.exit(str(exc), returncode=int(exc.exit_code))
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def record_probes(record_check, record_finding, security_rules) -> Callable[[list[Outcome]], list[Check]]:  # type: ignore[no-untyped-def]
    """``record_probes(outcomes)``: one check per outcome, a finding per failure (after policy rules)."""

    def record(outcomes: list[Outcome]) -> list[Check]:
        assert outcomes, "a probe returned no outcome at all"
        checks, findings = judge_outcomes(outcomes, security_rules)
        recorded = [record_check(check) for check in checks]
        for finding in findings:
            record_finding(finding)
        return recorded

    return record
