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
)
