"""NetworkPolicy enforced: a probe pod (not the gateway) tries edges the policies forbid.

The probe runs in the workload namespace with a label no policy allows, resolves a service name
(DNS is an allowed edge: the control that the pod has a network at all) and opens TCP connections
to the database, Redis and the GPU inference tier, which only the gateway may reach. A forbidden
edge that connects fails the check; a probe that cannot even resolve names is inconclusive. This
needs a CNI that enforces policy (kindnet on kind's own images, kube-router on offline ones).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from harness.k8s.context import ClusterContext, Verdict

FORBIDDEN_EDGES = (("postgres", 5432), ("redis", 6379), ("inference-gpu", 9000))
CONNECT_TIMEOUT_S = 3.0

PROBE_SCRIPT = """
import json, socket, sys, time
namespace, edges, timeout = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
out = {"dns": {}, "edges": {}}
try:
    out["dns"] = {"ok": True, "name": edges[0][0], "address": socket.gethostbyname(f"{edges[0][0]}.{namespace}.svc.cluster.local")}
except OSError as exc:
    out["dns"] = {"ok": False, "name": edges[0][0], "error": str(exc)}
for host, port in edges:
    started = time.monotonic()
    try:
        socket.create_connection((f"{host}.{namespace}.svc.cluster.local", port), timeout=timeout).close()
        result = {"connected": True}
    except OSError as exc:
        result = {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
    result["seconds"] = round(time.monotonic() - started, 2)
    out["edges"][f"{host}:{port}"] = result
print(json.dumps(out))
"""


def _probe_pod(ctx: ClusterContext, name: str) -> k8s.V1Pod:
    security = k8s.V1SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=True,
                                     capabilities=k8s.V1Capabilities(drop=["ALL"]))
    edges = json.dumps([list(e) for e in FORBIDDEN_EDGES])
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, namespace=ctx.namespace,
                                  labels={"app": "harness-netpol-probe", "app.kubernetes.io/managed-by": "readiness-harness"}),
        spec=k8s.V1PodSpec(
            restart_policy="Never", active_deadline_seconds=90, automount_service_account_token=False,
            security_context=k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=10001,
                                                      seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")),
            containers=[k8s.V1Container(
                name="probe", image=ctx.image, image_pull_policy="IfNotPresent",
                command=["python", "-c", PROBE_SCRIPT, ctx.namespace, edges, str(CONNECT_TIMEOUT_S)],
                security_context=security,
                resources=k8s.V1ResourceRequirements(requests={"cpu": "10m", "memory": "32Mi"},
                                                     limits={"cpu": "200m", "memory": "96Mi"}))]))


def run_probe(ctx: ClusterContext, timeout_s: float = 120) -> tuple[dict[str, Any] | None, str]:
    """Run the probe pod to completion; returns (its JSON report or None, node/phase/log summary)."""
    core = k8s.CoreV1Api(ctx.api)
    name = f"harness-netpol-probe-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(ctx.namespace, _probe_pod(ctx, name))
    try:
        deadline = time.monotonic() + timeout_s
        pod = core.read_namespaced_pod(name, ctx.namespace)
        while pod.status.phase not in ("Succeeded", "Failed") and time.monotonic() < deadline:
            time.sleep(1)
            pod = core.read_namespaced_pod(name, ctx.namespace)
        logs = ""
        try:
            logs = core.read_namespaced_pod_log(name, ctx.namespace)
        except ApiException:
            pass
        summary = f"pod {name} on {pod.spec.node_name}: {pod.status.phase}"
        for line in reversed(logs.splitlines()):
            if line.startswith("{"):
                return json.loads(line), summary
        return None, f"{summary}; output: {logs[-300:]!r}"
    finally:
        try:
            core.delete_namespaced_pod(name, ctx.namespace, grace_period_seconds=0)
        except ApiException:
            pass


def network_policy_enforced(ctx: ClusterContext) -> Verdict:
    policies = k8s.NetworkingV1Api(ctx.api).list_namespaced_network_policy(ctx.namespace).items
    names = [p.metadata.name for p in policies]
    report, summary = run_probe(ctx)
    measured: dict[str, Any] = {"network_policies": names, "probe": summary, "result": report}
    if report is None:
        return Verdict("error", f"the probe pod produced no report ({summary})", measured)
    if not report["dns"].get("ok"):
        return Verdict("inconclusive", "the probe pod could not resolve a service name (the allowed DNS edge), so a refused "
                                "connection would prove nothing: inconclusive", measured)
    connected = [edge for edge, r in report["edges"].items() if r["connected"]]
    if connected:
        return Verdict("fail", f"a pod that is not the gateway reached {', '.join(connected)}"
                               + ("" if names else f" (namespace {ctx.namespace} has no NetworkPolicy)"), measured)
    return Verdict("pass", f"forbidden edges {', '.join(report['edges'])} were blocked for a non-gateway pod while DNS "
                           f"worked ({len(names)} policies: {', '.join(names)})", measured)
