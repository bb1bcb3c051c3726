"""The load suite: runs a load profile against the target and turns each threshold into a Check."""

from pathlib import Path
from typing import Any

from harness.suites import SuiteSpec


def check_inputs(config: Any) -> None:
    """The load profile with its ``--load-set`` overrides applied, validated."""
    from harness.load import load_profile

    load_profile(config.profile, dict(item.split("=", 1) for item in config.load_overrides))

SUITE = SuiteSpec(
    name="load",
    path=Path(__file__).parent,
    description="open-model load (Locust in subprocesses, HDR latency from intended start): "
    "latency, error and throughput thresholds per operation, generator health, soak trends",
    default_profile="smoke",
    order=10,
    # capacity/fuzzing traffic: measure the system, not the per-user limiter (the security suite verifies that)
    platform_env={"REFSYS_RATE_LIMIT": "1000000", "REFSYS_TENANT_DAILY_QUOTA": "1000000"},
    check_inputs=check_inputs,
)
