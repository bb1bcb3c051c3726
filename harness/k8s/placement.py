"""GPU workloads only on GPU nodes, and resource limits on every container."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from harness.k8s.context import ClusterContext, Verdict

GPU = "nvidia.com/gpu"
GPU_NODE_LABEL = "nvidia.com/gpu.present"
GPU_WORKLOAD_LABEL = "refsys.dev/accelerator"


def _gpu_request(pod: Any) -> int:
    total = 0
    for container in pod.spec.containers:
        resources = container.resources
        limits = (resources.limits or {}) if resources else {}
        requests = (resources.requests or {}) if resources else {}
        total += int(limits.get(GPU) or requests.get(GPU) or 0)
    return total


def _requires_gpu_nodes(pod: Any) -> bool:
    affinity = pod.spec.affinity.node_affinity if pod.spec.affinity and pod.spec.affinity.node_affinity else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    terms = required.node_selector_terms if required else []
    selector = pod.spec.node_selector or {}
    by_affinity = bool(terms) and all(any(e.key == GPU_NODE_LABEL and e.operator in ("In", "Exists")
                                          for e in (t.match_expressions or [])) for t in terms)
    return by_affinity or selector.get(GPU_NODE_LABEL) == "true"


def gpu_placement(ctx: ClusterContext) -> Verdict:
    """Every GPU workload pod runs on a node that has GPUs, and its spec guarantees that."""
    core = k8s.CoreV1Api(ctx.api)
    nodes = {n.metadata.name: n for n in core.list_node().items}
    gpu_nodes = {name: int((n.status.allocatable or {}).get(GPU, "0")) for name, n in nodes.items()
                 if (n.metadata.labels or {}).get(GPU_NODE_LABEL) == "true" or int((n.status.allocatable or {}).get(GPU, "0"))}
    pods = [p for p in core.list_namespaced_pod(ctx.namespace).items
            if (p.metadata.labels or {}).get(GPU_WORKLOAD_LABEL) == "gpu" or _gpu_request(p)]
    if not pods:
        return Verdict("error", f"no GPU workload in namespace {ctx.namespace} (label {GPU_WORKLOAD_LABEL}=gpu or a "
                                f"{GPU} request): nothing to verify", {"gpu_nodes": gpu_nodes})
    rows = [{"pod": p.metadata.name, "node": p.spec.node_name, "phase": p.status.phase,
             "on_gpu_node": p.spec.node_name in gpu_nodes if p.spec.node_name else None,
             "gpu_request": _gpu_request(p), "requires_gpu_nodes": _requires_gpu_nodes(p),
             "visible_devices": _env(p, "NVIDIA_VISIBLE_DEVICES")} for p in pods]
    misplaced = [r["pod"] + " on " + r["node"] for r in rows if r["on_gpu_node"] is False]
    unguarded = [r["pod"] for r in rows if not r["gpu_request"] and not r["requires_gpu_nodes"]]
    measured = {"gpu_nodes": gpu_nodes, "pods": rows}
    if misplaced or unguarded:
        parts = []
        if misplaced:
            parts.append(f"GPU workload pods on nodes without GPUs: {', '.join(misplaced)}")
        if unguarded:
            parts.append(f"pods that neither request {GPU} nor require GPU nodes (placement is luck): "
                         f"{', '.join(unguarded)}")
        return Verdict("fail", "; ".join(parts), measured)
    placed = sorted({r["node"] for r in rows if r["node"]})
    return Verdict("pass", f"{len(rows)} GPU workload pods on GPU nodes ({', '.join(placed)}), each requesting {GPU} "
                           "so the kubelet allocates devices", measured)


def _env(pod: Any, name: str) -> str | None:
    for container in pod.spec.containers:
        for item in container.env or []:
            if item.name == name:
                return str(item.value)
    return None


def resource_limits(ctx: ClusterContext) -> Verdict:
    """Every container has CPU and memory requests and limits (a runaway pod cannot starve a node)."""
    core = k8s.CoreV1Api(ctx.api)
    pods = core.list_namespaced_pod(ctx.namespace).items
    missing: list[str] = []
    rows = []
    for pod in pods:
        for container in [*(pod.spec.init_containers or []), *pod.spec.containers]:
            res = container.resources
            limits = (res.limits or {}) if res else {}
            requests = (res.requests or {}) if res else {}
            lacks = [f"{kind}.{key}" for kind, values in (("limits", limits), ("requests", requests))
                     for key in ("cpu", "memory") if key not in values]
            rows.append({"pod": pod.metadata.name, "container": container.name,
                         "limits": dict(limits), "requests": dict(requests)})
            if lacks:
                missing.append(f"{pod.metadata.name}/{container.name} lacks {', '.join(lacks)}")
    if not pods:
        return Verdict("error", f"no pods in namespace {ctx.namespace}")
    if missing:
        return Verdict("fail", f"{len(missing)} container(s) without CPU/memory limits: " + "; ".join(missing[:8]),
                       {"containers": rows})
    return Verdict("pass", f"all {len(rows)} containers in {len(pods)} pods set CPU and memory requests and limits",
                   {"containers": rows})
