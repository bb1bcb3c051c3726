"""The chaos suite: Chaos Toolkit experiments under background load, with guaranteed rollback."""

from pathlib import Path
from typing import Any

from harness.suites import SuiteSpec


def check_inputs(config: Any) -> None:
    """Every experiment the profile selects: Chaos Toolkit's own validation and the harness extension."""
    from harness.chaos.extension import experiments_for_profile
    from harness.chaos.runner import load_checked

    for path in experiments_for_profile(config.profile):
        load_checked(path)

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
    check_inputs=check_inputs,
)
