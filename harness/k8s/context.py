"""What a Kubernetes check needs: an API client for the target's cluster and the workload namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import config as k8s_config
from kubernetes.client import ApiClient

from harness.model import Check, Evidence, Severity, Status
from harness.platforms.base import Target

SUITE = "kubernetes"


@dataclass
class Verdict:
    status: str  # pass | fail | inconclusive (evidence cannot decide) | error (the check itself broke) | not_applicable
    message: str
    measured: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None

    def to_check(self, check_id: str, title: str, severity: Severity | str, *, claims: list[str] | None = None) -> Check:
        """The verdict as the suite records it (``record_check(check)``)."""
        return Check(id=check_id, suite=SUITE, category="kubernetes", title=title, severity=Severity(severity),
                     status=Status(self.status), message=self.message, claims=claims or [],
                     evidence=Evidence(measured=self.measured, notes=self.notes))


@dataclass
class ClusterContext:
    api: ApiClient
    namespace: str
    image: str  # an image every node has, for probe pods (the refsys inference image)


def not_applicable_reason(target: Target) -> str | None:
    """Why the Kubernetes checks cannot run against this target (None: they can)."""
    kubeconfig = target.extra.get("kubeconfig")
    if not kubeconfig:
        platform = target.extra.get("platform", "external")
        return (f"the target runs on platform {platform!r}, which has no Kubernetes API; "
                "run with --platform kind (or give a target with a kubeconfig)")
    if not Path(kubeconfig).exists():
        return f"the target's kubeconfig {kubeconfig} does not exist"
    return None


def cluster_context(target: Target) -> ClusterContext:
    api = k8s_config.new_client_from_config(config_file=str(target.extra["kubeconfig"]))
    return ClusterContext(api=api, namespace=str(target.extra.get("namespace", "default")),
                          image=str(target.extra.get("probe_image", "")))
