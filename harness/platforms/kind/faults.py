"""Faults on the kind platform: GPU loss through the fake device plugin, pod kill, rollout restart.

GPU loss is what a real one looks like to Kubernetes: the device plugin reports the node's devices
unhealthy, the kubelet drops them from allocatable, and the containers they were allocated to see
them fail (health files). It is recorded in the ledger before it is applied and healed by the next
start or ``harness down`` if the run dies. chaostoolkit-kubernetes experiments (pod/node chaos,
drains against PDBs) build on the same kubeconfig; see issue 16.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.client import ApiClient

from harness.errors import PlatformError
from harness.platforms.kind.ledger import Ledger, register_undoer
from harness.platforms.kind.manifests import NAMESPACE, api_client

PLUGIN_NAMESPACE = "harness-system"
PLUGIN_PORT = 9400


def plugin_pods(api: ApiClient) -> dict[str, str]:
    """node name -> fake GPU plugin pod name (running ones)."""
    pods = k8s.CoreV1Api(api).list_namespaced_pod(PLUGIN_NAMESPACE, label_selector="app=fake-gpu-plugin").items
    return {p.spec.node_name: p.metadata.name for p in pods if p.status.phase == "Running"}


def _plugin_call(api: ApiClient, pod: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the plugin's control port through the API server's pod proxy (no port on the host)."""
    request = api.param_serialize(method=method, resource_path=f"/api/v1/namespaces/{PLUGIN_NAMESPACE}/pods/"
                                  f"{pod}:{PLUGIN_PORT}/proxy/{path}",
                                  header_params={"Content-Type": "application/json", "Accept": "application/json"},
                                  body=body, auth_settings=["BearerToken"])
    response = api.call_api(*request, _request_timeout=15)
    data = response.read()
    if response.status >= 400:
        raise PlatformError(f"GPU plugin {pod} answered {response.status} to {method} /{path}: {data[:200]!r}")
    return dict(json.loads(data))


def device_health(api: ApiClient, node: str) -> dict[str, Any]:
    pod = plugin_pods(api).get(node)
    if pod is None:
        raise PlatformError(f"no fake GPU plugin runs on node {node!r}")
    return _plugin_call(api, pod, "GET", "devices")


def set_gpu_health(api: ApiClient, kubeconfig: Path, ledger: Ledger, node: str, *, healthy: bool) -> dict[str, Any]:
    """Mark every GPU of ``node`` unhealthy (GPU loss) or healthy again; the loss is ledgered first."""
    pod = plugin_pods(api).get(node)
    if pod is None:
        raise PlatformError(f"no fake GPU plugin runs on node {node!r}; GPU nodes: {', '.join(plugin_pods(api))}")
    if not healthy:
        entry = ledger.record("gpu_health", f"GPUs of {node} reported unhealthy", node=node, kubeconfig=str(kubeconfig))
        return {"ledger_id": entry, **_plugin_call(api, pod, "POST", "health", {"healthy": False})}
    result = _plugin_call(api, pod, "POST", "health", {"healthy": True})
    for pending in ledger.entries("gpu_health"):
        if pending["data"].get("node") == node:
            ledger.done(pending["id"])
    return result


def _heal_gpus(data: dict[str, Any]) -> bool:
    kubeconfig = Path(data["kubeconfig"])
    if not kubeconfig.exists():
        return False
    try:
        api = api_client(kubeconfig)
        pod = plugin_pods(api).get(data["node"])
    except Exception:  # noqa: BLE001 - the cluster is gone, and the fault with it
        return False
    if pod is None:
        return False
    _plugin_call(api, pod, "POST", "health", {"healthy": True})
    return True


def kill_pod(api: ApiClient, component: str) -> str:
    """Delete one running pod of a refsys workload (its controller starts a new one)."""
    core = k8s.CoreV1Api(api)
    pods = [p for p in core.list_namespaced_pod(NAMESPACE, label_selector=f"app={component}").items
            if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
    if not pods:
        raise PlatformError(f"no running pod of {component!r} in namespace {NAMESPACE}")
    core.delete_namespaced_pod(pods[0].metadata.name, NAMESPACE, grace_period_seconds=0)
    return str(pods[0].metadata.name)


def rollout_restart(api: ApiClient, component: str) -> None:
    """What `kubectl rollout restart` does: a new template annotation."""
    stamp = dt.datetime.now(dt.UTC).isoformat()
    patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
    apps = k8s.AppsV1Api(api)
    if component == "postgres":
        apps.patch_namespaced_stateful_set(component, NAMESPACE, patch)
    else:
        apps.patch_namespaced_deployment(component, NAMESPACE, patch)


register_undoer("gpu_health", _heal_gpus)
