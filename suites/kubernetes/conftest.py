import pytest

from harness.k8s.context import ClusterContext, cluster_context, not_applicable_reason
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite


@pytest.fixture(scope="package")
def k8s_context(harness_target) -> ClusterContext | None:
    """The cluster of the target, or None (then every check is not_applicable with the reason)."""
    if not_applicable_reason(harness_target) is not None:
        return None
    return cluster_context(harness_target)


@pytest.fixture
def record_verdict(harness_target, k8s_context, record_check):
    """Run a check function on the cluster and record its verdict (not_applicable off Kubernetes)."""
    from harness.model import Evidence

    def record(check_id: str, title: str, severity: str, check, *, claims: list[str] | None = None):
        reason = not_applicable_reason(harness_target)
        if reason is not None:
            return record_check(id=check_id, title=title, status="not_applicable", severity=severity,
                                category="kubernetes", message=reason, claims=claims)
        verdict = check(k8s_context)
        return record_check(id=check_id, title=title, status=verdict.status, severity=severity, category="kubernetes",
                            message=verdict.message, evidence=Evidence(measured=verdict.measured, notes=verdict.notes),
                            claims=claims)

    return record
