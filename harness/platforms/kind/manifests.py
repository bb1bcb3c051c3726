"""The reference system's manifests (``fixtures/refsys/k8s``): rendered for one deploy, then applied.

Rendering sets the image tags, the gateway's environment (application defect switches, the public
URL, a suite's ``platform_env``) and the manifest-level defects (``fixtures.refsys.defects.
MANIFEST_DEFECTS``). Secrets — the JWT signing key and the database password — are generated at
deploy time and never written to disk. Everything is applied with server-side apply through the
kubernetes client (field manager ``readiness-harness``), in file order.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client import ApiClient
from kubernetes.dynamic import DynamicClient

from harness.platforms.kind.cache import REPO_ROOT
from harness.platforms.kind.images import RefsysImages

MANIFEST_DIR = REPO_ROOT / "fixtures" / "refsys" / "k8s"
ADDONS_DIR = Path(__file__).parent / "addons"
NAMESPACE = "refsys"
FIELD_MANAGER = "readiness-harness"
APP_CONTAINERS = ("gateway", "inference")  # where a suite's platform_env goes


def api_client(kubeconfig: Path) -> ApiClient:
    return k8s_config.new_client_from_config(config_file=str(kubeconfig))


def load_documents(folder: Path = MANIFEST_DIR) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def load_addon(name: str, **values: str) -> list[dict[str, Any]]:
    """An addon manifest with ``${NAME}`` placeholders filled in."""
    text = string.Template((ADDONS_DIR / f"{name}.yaml").read_text()).substitute(values)
    return [d for d in yaml.safe_load_all(text) if d]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Init and app containers of a workload's pod template."""
    if doc["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for item in env:
        if item["name"] == name:
            item.pop("valueFrom", None)
            item["value"] = value
            return
    env.append({"name": name, "value": value})


def render(docs: list[dict[str, Any]], images: RefsysImages, *, app_defects: Iterable[str] = (),
           manifest_defects: Iterable[str] = (), public_url: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The documents of one deploy (deep-copied), defects and settings applied."""
    docs = yaml.safe_load(yaml.safe_dump(docs))  # deep copy
    manifest = set(manifest_defects)
    by_name = {"harness-refsys/gateway": images.gateway, "harness-refsys/inference": images.inference,
               "harness-refsys/postgres": images.postgres, "harness-refsys/redis": images.redis}
    out = []
    for doc in docs:
        if "no_pdb" in manifest and doc["kind"] == "PodDisruptionBudget":
            continue
        if "no_network_policy" in manifest and doc["kind"] == "NetworkPolicy":
            continue
        for container in _containers(doc):
            container["image"] = by_name.get(container["image"], container["image"])
            container["imagePullPolicy"] = "IfNotPresent"
            if "no_resource_limits" in manifest:
                container.get("resources", {}).pop("limits", None)
            if container["name"] in APP_CONTAINERS:
                for key, value in (env or {}).items():
                    _set_env(container, key, value)
            if container["name"] == "gateway":
                _set_env(container, "REFSYS_DEFECTS", ",".join(sorted(app_defects)))
                _set_env(container, "REFSYS_PUBLIC_URL", public_url)
                if "privileged_pod" in manifest:
                    container["securityContext"] = {"privileged": True, "allowPrivilegeEscalation": True}
        if doc["kind"] == "Namespace" and "privileged_pod" in manifest:
            doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "inference-gpu" and "gpu_affinity_missing" in manifest:
            pod = doc["spec"]["template"]["spec"]
            pod["affinity"].pop("nodeAffinity", None)
            pod.pop("tolerations", None)
            for container in pod["containers"]:
                for section in ("requests", "limits"):
                    container["resources"].get(section, {}).pop("nvidia.com/gpu", None)
                _set_env(container, "EMULATED_GPUS", "2")  # the process still believes it has GPUs
        out.append(doc)
    return out


def generated_secrets(existing: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """The signing key and database password, random per deploy (``existing`` keeps values of a live deploy)."""
    existing = existing or {}

    def secret(name: str, key: str, value: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "refsys"}},
                "stringData": {key: existing.get(name, {}).get(key) or value}}

    return [secret("refsys-signing-key", "jwt-secret", secrets.token_urlsafe(48)),
            secret("refsys-postgres", "password", secrets.token_urlsafe(24))]


def apply(api: ApiClient, docs: Iterable[dict[str, Any]]) -> list[str]:
    """Server-side apply each document; returns ``Kind/namespace/name`` of what was applied."""
    dynamic = DynamicClient(api)
    applied = []
    for doc in docs:
        resource = dynamic.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        namespace = doc["metadata"].get("namespace") if resource.namespaced else None
        dynamic.server_side_apply(resource, body=doc, namespace=namespace, field_manager=FIELD_MANAGER,
                                  force_conflicts=True)
        applied.append(f"{doc['kind']}/{namespace + '/' if namespace else ''}{doc['metadata']['name']}")
    return applied


def workloads(docs: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of the Deployments/StatefulSets/DaemonSets among ``docs``."""
    return [(d["kind"], d["metadata"].get("namespace", "default"), d["metadata"]["name"]) for d in docs
            if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def core(api: ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api)
