"""Images into the cluster's nodes with ``kind load docker-image``, only where a node lacks them."""

from __future__ import annotations

import subprocess

from harness.errors import PlatformError
from harness.platforms.kind.cluster import Cluster
from harness.platforms.kind.toolchain import Progress


def worker_nodes(cluster: Cluster) -> list[str]:
    result = subprocess.run([str(cluster.kind), "get", "nodes", "--name", cluster.name], capture_output=True, text=True)
    return sorted(n for n in result.stdout.split() if not n.endswith("-control-plane"))


def images_on_node(node: str) -> set[str]:
    """Image references the node's containerd (namespace k8s.io) holds."""
    result = subprocess.run(["docker", "exec", node, "ctr", "--namespace=k8s.io", "images", "list", "-q"],
                            capture_output=True, text=True)
    return {line.strip().removeprefix("docker.io/library/").removeprefix("docker.io/") for line in result.stdout.splitlines()}


def load_images(cluster: Cluster, refs: list[str], progress: Progress) -> None:
    nodes = worker_nodes(cluster)
    if not nodes:
        raise PlatformError(f"kind cluster {cluster.name!r} has no worker nodes")
    present = {node: images_on_node(node) for node in nodes}
    missing = [ref for ref in refs if any(ref not in present[node] for node in nodes)]
    if not missing:
        return
    progress(f"loading {len(missing)} image(s) into {len(nodes)} worker nodes: {', '.join(missing)}")
    result = subprocess.run([str(cluster.kind), "load", "docker-image", "--name", cluster.name,
                             "--nodes", ",".join(nodes), *missing], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise PlatformError(f"kind load docker-image failed: {result.stderr.strip()[-500:]}")
