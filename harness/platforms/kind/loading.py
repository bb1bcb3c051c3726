"""Images into the cluster's nodes with ``kind load docker-image``, only where a node lacks them.

Images go only to the pool that can run them (``harness.dev/pool`` node label): GPU nodes are tainted,
so they get the inference image and the GPU plugin; the CPU worker gets everything else (and the
inference image, for inference-cpu and for a GPU tier that lost its affinity).
"""

from __future__ import annotations

import subprocess

from kubernetes import client as k8s
from kubernetes.client import ApiClient

from harness.errors import PlatformError
from harness.platforms.kind.cluster import Cluster
from harness.platforms.kind.toolchain import Progress


def nodes_by_pool(api: ApiClient) -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {}
    for node in k8s.CoreV1Api(api).list_node().items:
        pool = (node.metadata.labels or {}).get("harness.dev/pool")
        if pool:
            pools.setdefault(pool, []).append(node.metadata.name)
    return pools


def images_on_node(node: str) -> set[str]:
    """Image references the node's containerd (namespace k8s.io) holds."""
    result = subprocess.run(["docker", "exec", node, "ctr", "--namespace=k8s.io", "images", "list", "-q"],
                            capture_output=True, text=True)
    return {line.strip().removeprefix("docker.io/library/").removeprefix("docker.io/") for line in result.stdout.splitlines()}


def load_images(cluster: Cluster, api: ApiClient, refs_by_pool: dict[str, list[str]], progress: Progress) -> None:
    """Load each pool's images into that pool's nodes (skipping nodes that hold them already)."""
    pools = nodes_by_pool(api)
    for pool, refs in refs_by_pool.items():
        nodes = pools.get(pool, [])
        if not nodes:
            raise PlatformError(f"kind cluster {cluster.name!r} has no {pool} worker (label harness.dev/pool={pool})")
        present = {node: images_on_node(node) for node in nodes}
        missing = [ref for ref in refs if any(ref not in present[node] for node in nodes)]
        if not missing:
            continue
        progress(f"loading {', '.join(missing)} into {pool} node(s) {', '.join(nodes)}")
        result = subprocess.run([str(cluster.kind), "load", "docker-image", "--name", cluster.name,
                                 "--nodes", ",".join(nodes), *missing], capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise PlatformError(f"kind load docker-image failed: {result.stderr.strip()[-500:]}")
