"""Pod Security "restricted": enforced by the namespace (the API server refuses a privileged pod in a
server-side dry run) and met by every running pod."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from harness.k8s.context import ClusterContext, Verdict

ENFORCE = "pod-security.kubernetes.io/enforce"


def _violations(pod: Any) -> list[str]:
    """The restricted profile's main rules, per container (a subset of what the admission plugin checks)."""
    spec = pod.spec
    psc = spec.security_context
    out = []
    if spec.host_network or spec.host_pid or spec.host_ipc:
        out.append("host namespaces")
    if any(v.host_path for v in spec.volumes or []):
        out.append("hostPath volume")
    for c in [*(spec.init_containers or []), *spec.containers]:
        sc = c.security_context
        name = c.name
        if sc and sc.privileged:
            out.append(f"{name}: privileged")
        if not (sc and sc.allow_privilege_escalation is False):
            out.append(f"{name}: allowPrivilegeEscalation not false")
        caps = sc.capabilities if sc else None
        if not (caps and "ALL" in (caps.drop or [])):
            out.append(f"{name}: capabilities not dropped (drop: [ALL])")
        non_root = (sc.run_as_non_root if sc and sc.run_as_non_root is not None
                    else psc.run_as_non_root if psc else None)
        if not non_root:
            out.append(f"{name}: runAsNonRoot not true")
        seccomp = (sc.seccomp_profile if sc and sc.seccomp_profile else psc.seccomp_profile if psc else None)
        if not (seccomp and seccomp.type in ("RuntimeDefault", "Localhost")):
            out.append(f"{name}: no RuntimeDefault seccomp profile")
    return out


def restricted_pod_security(ctx: ClusterContext) -> Verdict:
    core = k8s.CoreV1Api(ctx.api)
    namespace = core.read_namespace(ctx.namespace)
    labels = namespace.metadata.labels or {}
    enforce = labels.get(ENFORCE)
    probe = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="harness-psa-probe", namespace=ctx.namespace),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(
            name="probe", image=ctx.image or "busybox", security_context=k8s.V1SecurityContext(privileged=True))]))
    admission: dict[str, Any]
    try:
        core.create_namespaced_pod(ctx.namespace, probe, dry_run="All")
        admission = {"status": 201, "detail": "a privileged pod was accepted (dry run)"}
    except ApiException as exc:
        admission = {"status": int(exc.status or 0), "detail": str(exc.body or exc.reason)[:300]}
    rejected = admission["status"] == 403 and "PodSecurity" in admission["detail"]
    pods = core.list_namespaced_pod(ctx.namespace).items
    violations = {p.metadata.name: v for p in pods if (v := _violations(p))}
    measured: dict[str, Any] = {"namespace_labels": {k: v for k, v in labels.items() if k.startswith("pod-security")},
                                "privileged_pod_dry_run": admission, "pods_checked": len(pods),
                                "violations": violations}
    problems = []
    if enforce != "restricted":
        problems.append(f"namespace {ctx.namespace} enforces {enforce or 'nothing'!r}, not 'restricted'")
    if not rejected:
        problems.append(f"the API server accepted a privileged pod in {ctx.namespace} (dry run, {admission['status']})")
    if violations:
        problems.append("pods break the restricted profile: " + "; ".join(
            f"{name}: {', '.join(v[:3])}" for name, v in list(violations.items())[:4]))
    if problems:
        return Verdict("fail", "; ".join(problems), measured)
    return Verdict("pass", f"namespace {ctx.namespace} enforces restricted (a privileged pod is refused: 403 "
                           f"PodSecurity) and all {len(pods)} pods meet it", measured)
