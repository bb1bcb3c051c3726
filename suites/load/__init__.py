"""The load suite: runs a load profile against the target and turns each threshold into a Check."""

from pathlib import Path

from harness.suites import SuiteSpec

SUITE = SuiteSpec(
    name="load",
    path=Path(__file__).parent,
    description="open-model load (Locust in subprocesses, HDR latency from intended start): "
    "latency, error and throughput thresholds per operation, generator health, soak trends",
    default_profile="smoke",
)
