import pytest

from harness.k8s.context import ClusterContext, Verdict, cluster_context, not_applicable_reason
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite


@pytest.fixture(scope="package")
def k8s_context(harness_target) -> ClusterContext | None:  # noqa: F811 - the fixture re-declared above
    """The cluster of the target, or None (then every check is not_applicable with the reason)."""
    if not_applicable_reason(harness_target) is not None:
        return None
    return cluster_context(harness_target)


@pytest.fixture
def record_verdict(harness_target, k8s_context, record_check):  # noqa: F811 - the fixture re-declared above
    """Run a check function on the cluster and record its verdict (not_applicable off Kubernetes)."""

    def record(check_id: str, title: str, severity: str, check, *, claims: list[str] | None = None):
        reason = not_applicable_reason(harness_target)
        verdict = Verdict("not_applicable", reason) if reason is not None else check(k8s_context)
        return record_check(verdict.to_check(check_id, title, severity, claims=claims))

    return record
