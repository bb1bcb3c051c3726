"""A kind cluster for the reference system: 1 control plane + 3 workers, 2 of them GPU nodes.

GPU nodes carry the label ``nvidia.com/gpu.present=true`` and the taint
``nvidia.com/gpu=present:NoSchedule`` (what GPU clouds use); the fake device plugin advertises
``nvidia.com/gpu`` on them. The gateway's NodePort (30080) is mapped to 127.0.0.1:<free port> on
the host, the only way traffic reaches the system. The kubeconfig goes to the state folder:
the user's ``~/.kube/config`` is never touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import PlatformError
from harness.platforms.kind.ledger import Ledger, register_undoer
from harness.platforms.kind.nodeimage import NodeImage
from harness.platforms.kind.toolchain import Progress

GPU_LABEL = "nvidia.com/gpu.present"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GATEWAY_NODE_PORT = 30080
WORKERS = ("cpu", "gpu", "gpu")


@dataclass
class Cluster:
    name: str
    kind: Path  # the kind CLI
    kubeconfig: Path
    created_by_us: bool
    gateway_port: int

    @property
    def control_plane(self) -> str:
        return f"{self.name}-control-plane"


def kind_config(name: str, image: NodeImage, gateway_port: int) -> dict[str, Any]:
    """The kind Cluster config (v1alpha4) for this layout."""
    join_taint = yaml.safe_dump({"kind": "JoinConfiguration", "nodeRegistration": {"taints": [GPU_TAINT]}})
    nodes: list[dict[str, Any]] = [{
        "role": "control-plane", "image": image.ref,
        "extraPortMappings": [{"containerPort": GATEWAY_NODE_PORT, "hostPort": gateway_port,
                               "listenAddress": "127.0.0.1", "protocol": "TCP"}],
    }]
    for pool in WORKERS:
        node: dict[str, Any] = {"role": "worker", "image": image.ref, "labels": {"harness.dev/pool": pool}}
        if pool == "gpu":
            node["labels"][GPU_LABEL] = "true"
            node["kubeadmConfigPatches"] = [join_taint]
        nodes.append(node)
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "name": name,
                              "networking": {"apiServerAddress": "127.0.0.1"}, "nodes": nodes}
    if image.cni == "kube-router":
        config["networking"]["disableDefaultCNI"] = True
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kind(kind: Path, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(kind), *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise PlatformError(f"kind {' '.join(args[:3])} failed: {result.stderr.strip()[-600:]}")
    return result


def existing_clusters(kind: Path) -> list[str]:
    out = _kind(kind, "get", "clusters", check=False).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def published_gateway_port(name: str) -> int | None:
    """The host port kind mapped the gateway NodePort to (from the control-plane container)."""
    result = subprocess.run(["docker", "port", f"{name}-control-plane", f"{GATEWAY_NODE_PORT}/tcp"],
                            capture_output=True, text=True)
    for line in result.stdout.splitlines():
        host, _, port = line.rpartition(":")
        if host in ("127.0.0.1", "0.0.0.0") and port.isdigit():
            return int(port)
    return None


def ensure_cluster(name: str, kind: Path, image: NodeImage, state_dir: Path, ledger: Ledger,
                   progress: Progress, *, timeout_s: float = 600) -> Cluster:
    """Reuse the cluster called ``name`` or create it (recorded in the ledger before kind starts)."""
    kubeconfig = state_dir / f"kind-{name}.kubeconfig"
    state_dir.mkdir(parents=True, exist_ok=True)
    if name in existing_clusters(kind):
        port = published_gateway_port(name)
        if port is None:
            raise PlatformError(f"kind cluster {name!r} exists but was not made by the harness (no 127.0.0.1 mapping "
                                f"for NodePort {GATEWAY_NODE_PORT}); pick another --name or delete it with "
                                f"`kind delete cluster --name {name}`")
        kubeconfig.write_text(_kind(kind, "get", "kubeconfig", "--name", name).stdout)
        os.chmod(kubeconfig, 0o600)
        progress(f"reusing kind cluster {name!r}")
        return Cluster(name, kind, kubeconfig, created_by_us=False, gateway_port=port)
    port = free_port()
    config_path = state_dir / f"kind-{name}.yaml"
    config_path.write_text(yaml.safe_dump(kind_config(name, image, port), sort_keys=False))
    entry = ledger.record("kind_cluster", f"kind cluster {name!r}", name=name, kind_cli=str(kind))
    progress(f"creating kind cluster {name!r}: 1 control plane + 3 workers (2 GPU) from {image.describe()}")
    started = time.monotonic()
    result = subprocess.run([str(kind), "create", "cluster", "--name", name, "--config", str(config_path),
                             "--kubeconfig", str(kubeconfig), "--retain=false"],
                            capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        _delete_cluster({"name": name, "kind_cli": str(kind)})
        ledger.done(entry)
        raise PlatformError(f"kind create cluster failed: {result.stderr.strip()[-800:]}")
    progress(f"cluster {name!r} created in {time.monotonic() - started:.0f} s")
    return Cluster(name, kind, kubeconfig, created_by_us=True, gateway_port=port)


def delete_cluster(cluster: Cluster, ledger: Ledger) -> None:
    for entry in ledger.entries("kind_cluster"):
        if entry["data"].get("name") == cluster.name:
            _delete_cluster(entry["data"])
            ledger.done(entry["id"])


def _delete_cluster(data: dict[str, Any]) -> bool:
    kind = Path(data["kind_cli"])
    if not kind.exists() or data["name"] not in existing_clusters(kind):
        return False
    _kind(kind, "delete", "cluster", "--name", data["name"], timeout=300)
    return True


register_undoer("kind_cluster", _delete_cluster)
