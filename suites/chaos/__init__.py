"""The chaos suite: Chaos Toolkit experiments under background load, with guaranteed rollback."""

from pathlib import Path

from harness.suites import SuiteSpec

SUITE = SuiteSpec(
    name="chaos",
    path=Path(__file__).parent,
    description="Chaos Toolkit experiments (scenarios/chaos) on the local platform: steady state = SLO over "
    "background load before/during/after each fault, time-to-detect/-recover, breaker cycle, read-back of "
    "acknowledged writes; rollback always runs and every fault is in the undo log",
    default_profile="smoke",
    order=40,
    # background load is steady-state traffic, not a rate-limit test (the security suite verifies that)
    platform_env={"REFSYS_RATE_LIMIT": "1000000", "REFSYS_TENANT_DAILY_QUOTA": "1000000"},
)
