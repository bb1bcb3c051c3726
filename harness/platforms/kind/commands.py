"""``harness up/status/down`` for ``--platform kind``.

``up`` creates (or reuses) the cluster, deploys the reference system, prints URLs, nodes and test
identities, and leaves everything running; what it made is in the state folder (``kind.json`` and
the ledger). ``down`` deletes the refsys namespace and — unless ``--keep-cluster`` was given to
``up`` or ``down`` — undoes every cluster-level change: the cluster, a docker daemon we started,
folders we created.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.platforms.kind.ledger import Ledger
from harness.platforms.kind.platform import KindPlatform, stderr_progress

STATE_FILE = "kind.json"


def up(*, state_dir: Path, defects: list[str], cluster_name: str, keep_cluster: bool, timeout_s: float,
       as_json: bool, console: Console) -> None:
    platform = KindPlatform(defects=defects, cluster_name=cluster_name, keep_cluster=True, state_dir=state_dir,
                            startup_timeout_s=timeout_s, progress=stderr_progress)
    target = platform.start()
    assert platform.cluster is not None
    record = {"cluster": platform.cluster.name, "kubeconfig": str(platform.cluster.kubeconfig),
              "keep_cluster": keep_cluster, "base_url": target.base_url, "defects": defects}
    (state_dir / STATE_FILE).write_text(json.dumps(record, indent=2))
    if as_json:
        print(json.dumps({"target": target.model_dump(), "environment": platform.environment(),
                          "pods": platform.status()}, indent=2))
        return
    env = platform.environment()
    nodes = Table(title=f"kind cluster {platform.cluster.name!r}: Kubernetes {env['kubernetes_version']}, "
                        f"up in {target.extra['startup_s']} s")
    for column in ("node", "ready", "GPUs (allocatable)", "taints"):
        nodes.add_column(column)
    from harness.platforms.kind.rollout import node_summary

    for node in node_summary(platform._api):
        nodes.add_row(node["name"], "yes" if node["ready"] else "no", str(node["gpus"]), ", ".join(node["taints"]))
    console.print(nodes)
    pods = Table(title="reference system (namespace refsys)")
    for column in ("pod", "node", "phase", "ready"):
        pods.add_column(column)
    for name, info in sorted(platform.status().items()):
        pods.add_row(name, info["node"] or "", info["phase"], "yes" if info["ready"] else "no")
    console.print(pods)
    from harness.platforms.commands import print_target

    print_target(console, target)
    console.print(f"[bold]kubeconfig[/] {platform.cluster.kubeconfig}")
    console.print("stop with: [bold]harness down[/]" + (" (the cluster stays: --keep-cluster)" if keep_cluster else ""))


def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def status(state_dir: Path) -> dict[str, Any] | None:
    """Nodes and refsys pods of the cluster ``harness up --platform kind`` made, or None."""
    record = read_state(state_dir)
    if record is None:
        return None
    from kubernetes import client as k8s

    from harness.platforms.kind.manifests import NAMESPACE, api_client
    from harness.platforms.kind.rollout import node_summary

    api = api_client(Path(record["kubeconfig"]))
    pods = k8s.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items
    return {**record, "nodes": node_summary(api),
            "pods": {p.metadata.name: {"node": p.spec.node_name, "phase": p.status.phase} for p in pods},
            "pending_changes": [e["description"] for e in Ledger(state_dir).entries()]}


def down(state_dir: Path, *, keep_cluster: bool | None = None) -> list[str]:
    """Remove what ``up`` (or a killed run) made; returns one line per thing undone."""
    record = read_state(state_dir)
    done: list[str] = []
    keep = keep_cluster if keep_cluster is not None else bool(record and record.get("keep_cluster"))
    if record is not None:
        from kubernetes import client as k8s

        from harness.platforms.kind.manifests import NAMESPACE, api_client

        try:
            k8s.CoreV1Api(api_client(Path(record["kubeconfig"]))).delete_namespace(NAMESPACE)
            done.append(f"namespace {NAMESPACE} deleted in kind cluster {record['cluster']!r}")
        except Exception as exc:  # noqa: BLE001 - the cluster may be gone already (then nothing is left to delete)
            if keep:
                done.append(f"namespace {NAMESPACE} not deleted: {str(exc).splitlines()[0]}")
        (state_dir / STATE_FILE).unlink(missing_ok=True)
    kinds = frozenset({"gpu_health", "namespace"}) if keep else None
    done += Ledger(state_dir).undo_kinds(kinds)
    if not keep and not Ledger(state_dir).entries("kind_cluster"):
        for leftover in [*state_dir.glob("kind-*.kubeconfig"), *state_dir.glob("kind-*.yaml")]:
            leftover.unlink()  # the cluster they describe is gone
    return done
