"""Waiting for the cluster and the workloads, with one progress line per change and a diagnosis on timeout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client as k8s
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from harness.errors import PlatformError
from harness.platforms.kind.toolchain import Progress

GPU_RESOURCE = "nvidia.com/gpu"


def _poll(check: Callable[[], tuple[bool, str]], progress: Progress, timeout_s: float, what: str,
          diagnose: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        try:
            done, summary = check()
        except ApiException as exc:
            done, summary = False, f"API: {exc.status} {exc.reason}"
        if summary != last:
            progress(summary)
            last = summary
        if done:
            return
        if time.monotonic() > deadline:
            more = diagnose()
            raise PlatformError(f"{what} not ready after {timeout_s:.0f} s: {summary}{'; ' + more if more else ''}")
        time.sleep(1.0)


def wait_api(api: ApiClient, progress: Progress, timeout_s: float = 180) -> None:
    """The API server answers (a reused cluster's node containers may have just restarted with the daemon)."""
    from urllib3.exceptions import HTTPError

    def check() -> tuple[bool, str]:
        try:
            k8s.VersionApi(api).get_code(_request_timeout=5)
        except (HTTPError, OSError) as exc:
            return False, f"API server not answering yet ({type(exc).__name__})"
        return True, "API server answers"

    _poll(check, progress, timeout_s, "the kind API server")


def node_summary(api: ApiClient) -> list[dict[str, Any]]:
    """Name, Ready, GPU label, taints and allocatable nvidia.com/gpu of every node."""
    out = []
    for node in k8s.CoreV1Api(api).list_node().items:
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        out.append({"name": node.metadata.name, "ready": ready,
                    "gpu_node": (node.metadata.labels or {}).get("nvidia.com/gpu.present") == "true",
                    "gpus": int((node.status.allocatable or {}).get(GPU_RESOURCE, "0")),
                    "taints": [f"{t.key}={t.value or ''}:{t.effect}" for t in node.spec.taints or []],
                    "kubelet": node.status.node_info.kubelet_version})
    return out


def wait_nodes(api: ApiClient, expected: int, progress: Progress, timeout_s: float = 300) -> None:
    def check() -> tuple[bool, str]:
        nodes = node_summary(api)
        ready = sum(n["ready"] for n in nodes)
        return ready == expected == len(nodes), f"nodes Ready {ready}/{expected}"

    _poll(check, progress, timeout_s, "nodes")


def wait_gpus(api: ApiClient, per_node: int, progress: Progress, timeout_s: float = 300) -> None:
    """Every GPU-labelled node shows ``per_node`` allocatable GPUs (the plugin registered with its kubelet)."""
    def check() -> tuple[bool, str]:
        gpu_nodes = [n for n in node_summary(api) if n["gpu_node"]]
        ok = [n for n in gpu_nodes if n["gpus"] == per_node]
        return bool(gpu_nodes) and len(ok) == len(gpu_nodes), \
            f"GPU nodes with {per_node} allocatable {GPU_RESOURCE}: {len(ok)}/{len(gpu_nodes)}"

    def diagnose() -> str:
        pods = k8s.CoreV1Api(api).list_namespaced_pod("harness-system", label_selector="app=fake-gpu-plugin").items
        where = ", ".join(f"{p.spec.node_name}: {p.status.phase}" for p in pods) or "no plugin pods"
        return "; ".join(x for x in (f"plugin pods {where}", pod_problems(api, "harness-system")) if x)

    _poll(check, progress, timeout_s, "GPU device plugin", diagnose=diagnose)


def _workload_state(apps: k8s.AppsV1Api, kind: str, namespace: str, name: str) -> tuple[bool, str]:
    if kind == "Deployment":
        d = apps.read_namespaced_deployment_status(name, namespace)
        want = d.spec.replicas or 0
        s = d.status
        done = ((s.observed_generation or 0) >= d.metadata.generation and (s.updated_replicas or 0) == want
                and (s.ready_replicas or 0) == want and (s.replicas or 0) == want)
        return done, f"{name} {s.ready_replicas or 0}/{want}"
    if kind == "StatefulSet":
        st = apps.read_namespaced_stateful_set_status(name, namespace)
        want = st.spec.replicas or 0
        s = st.status
        done = (s.ready_replicas or 0) == want and (s.updated_replicas or 0) == want
        return done, f"{name} {s.ready_replicas or 0}/{want}"
    ds = apps.read_namespaced_daemon_set_status(name, namespace)
    s = ds.status
    done = s.desired_number_scheduled > 0 and s.number_ready == s.desired_number_scheduled \
        and (s.updated_number_scheduled or 0) == s.desired_number_scheduled
    return done, f"{name} {s.number_ready}/{s.desired_number_scheduled}"


def pod_problems(api: ApiClient, namespace: str) -> str:
    """Why pods of a namespace are not ready: scheduling messages and container waiting reasons."""
    problems = []
    for pod in k8s.CoreV1Api(api).list_namespaced_pod(namespace).items:
        for cond in pod.status.conditions or []:
            if cond.type == "PodScheduled" and cond.status != "True" and cond.message:
                problems.append(f"{pod.metadata.name}: {cond.message}")
        for cs in pod.status.container_statuses or []:
            waiting = cs.state.waiting if cs.state else None
            if waiting and waiting.reason not in (None, "ContainerCreating"):
                problems.append(f"{pod.metadata.name}: {waiting.reason} {(waiting.message or '')[:160]}")
            elif not cs.ready and cs.restart_count:
                problems.append(f"{pod.metadata.name}: not ready, {cs.restart_count} restarts")
    return "; ".join(problems[:6])


def wait_workloads(api: ApiClient, items: Iterable[tuple[str, str, str]], progress: Progress,
                   timeout_s: float = 300) -> None:
    """Every Deployment/StatefulSet/DaemonSet fully rolled out and ready."""
    apps = k8s.AppsV1Api(api)
    items = list(items)
    namespaces = sorted({ns for _, ns, _ in items})

    def check() -> tuple[bool, str]:
        states = [_workload_state(apps, *item) for item in items]
        return all(done for done, _ in states), "ready: " + ", ".join(text for _, text in states)

    _poll(check, progress, timeout_s, "workloads",
          diagnose=lambda: "; ".join(p for p in (pod_problems(api, ns) for ns in namespaces) if p))
