"""The kubernetes suite: what the cluster's API says (and does) about the system's Kubernetes claims."""

from pathlib import Path

from harness.suites import SuiteSpec

SUITE = SuiteSpec(
    name="kubernetes",
    path=Path(__file__).parent,
    description="Kubernetes claims with evidence from the API: GPU workloads only on GPU nodes, disruption budgets "
    "present and effective (a real eviction), Pod Security 'restricted' enforced and met, CPU/memory limits, "
    "NetworkPolicy enforced (a probe pod tries forbidden edges); not_applicable off Kubernetes",
    default_profile="smoke",
    order=15,
)
