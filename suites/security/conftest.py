"""Fixtures of the security suite: one probe context per session, and a recorder for probe outcomes.

Probes that exhaust a budget on the target (the rate-limit claim, login brute force) run last, so the
throttling they cause cannot change what the other probes see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.model import Check
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.record import record_outcomes
from harness.security.rules import Action, load_rules
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite

RUN_LAST = ("test_ratelimit.py",)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.path.name in RUN_LAST and "security" in item.path.parts]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def security_rules(harness_config) -> dict[str, Action]:  # type: ignore[no-untyped-def]
    """Per-probe fail/warn/ignore from the policy file's ``security.rules`` (empty without a policy)."""
    return load_rules(harness_config.policy)


@pytest.fixture(scope="package")  # harness_target is one platform per suite package
def probe_ctx(harness_target, harness_run, harness_config) -> Iterator[ProbeContext]:  # type: ignore[no-untyped-def]
    """The target's spec (saved as ``openapi.json`` in the run folder), identities, claims and budget."""
    ctx = ProbeContext.open(harness_target, allow_hosts=harness_config.allow_hosts, run_dir=harness_run.run_dir,
                            profile=harness_config.profile)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def record_probes(record_check, harness_run, security_rules) -> Callable[[list[Outcome]], list[Check]]:  # type: ignore[no-untyped-def]
    """``record_probes(outcomes)``: one check per outcome, a finding per failure (after policy rules)."""

    def record(outcomes: list[Outcome]) -> list[Check]:
        assert outcomes, "a probe returned no outcome at all"
        return record_outcomes(outcomes, record_check, harness_run.suite("security"), security_rules)

    return record
