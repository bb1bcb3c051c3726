import pytest

from harness.config import PlatformName
from harness.k8s.context import ClusterContext, Verdict, cluster_context, not_applicable_reason
from harness.pytest_plugin import harness_platform, harness_target  # noqa: F401 - re-declared here: a fresh system for this suite

LOCAL_REASON = ("the local platform runs the system as processes, with no Kubernetes API; "
                "run with --platform kind (or give a target with a kubeconfig)")


@pytest.fixture(scope="package")
def k8s_reason(harness_config, request: pytest.FixtureRequest) -> str | None:
    """Why the checks cannot run here (None: they can). On the local platform no system is started for it."""
    if harness_config.platform == PlatformName.LOCAL:
        return LOCAL_REASON
    return not_applicable_reason(request.getfixturevalue("harness_target"))


@pytest.fixture(scope="package")
def k8s_context(k8s_reason, request: pytest.FixtureRequest) -> ClusterContext | None:
    """The cluster of the target, or None (then every check is not_applicable with the reason)."""
    if k8s_reason is not None:
        return None
    return cluster_context(request.getfixturevalue("harness_target"))


@pytest.fixture
def record_verdict(k8s_reason, k8s_context, record_check):
    """Run a check function on the cluster and record its verdict (not_applicable off Kubernetes)."""

    def record(check_id: str, title: str, severity: str, check, *, claims: list[str] | None = None):
        verdict = Verdict("not_applicable", k8s_reason) if k8s_reason is not None else check(k8s_context)
        return record_check(verdict.to_check(check_id, title, severity, claims=claims))

    return record
