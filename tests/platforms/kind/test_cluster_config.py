"""The kind config: one control plane, three workers, two of them GPU-labelled and tainted."""

import yaml

from harness.platforms.kind import ledger as ledger_module
from harness.platforms.kind.cluster import GATEWAY_NODE_PORT, kind_config
from harness.platforms.kind.ledger import Ledger
from harness.platforms.kind.nodeimage import NodeImage


def test_layout_and_gpu_nodes():
    config = kind_config("t", NodeImage("img:1", "offline", "kube-router"), 40123)
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker", "worker"]
    gpu = [n for n in config["nodes"] if n.get("labels", {}).get("nvidia.com/gpu.present") == "true"]
    assert len(gpu) == 2
    for node in gpu:
        patch = yaml.safe_load(node["kubeadmConfigPatches"][0])
        assert patch["nodeRegistration"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present",
                                                        "effect": "NoSchedule"}]
    mapping = config["nodes"][0]["extraPortMappings"][0]
    assert mapping == {"containerPort": GATEWAY_NODE_PORT, "hostPort": 40123, "listenAddress": "127.0.0.1",
                       "protocol": "TCP"}
    assert config["networking"]["disableDefaultCNI"] is True  # kube-router replaces kindnet offline


def test_pulled_images_keep_kindnet():
    config = kind_config("t", NodeImage("kindest/node:v1", "pulled", "kindnet"), 1)
    assert "disableDefaultCNI" not in config["networking"]


def test_ledger_undoes_faults_before_the_cluster_and_the_daemon_last(tmp_path, monkeypatch):
    order = []
    for kind in ("gpu_health", "kind_cluster", "dockerd"):
        monkeypatch.setitem(ledger_module._UNDOERS, kind, lambda data, kind=kind: order.append(kind) or True)
    ledger = Ledger(tmp_path)
    ledger.record("dockerd", "daemon", pid=1)
    ledger.record("kind_cluster", "cluster", name="t")
    ledger.record("gpu_health", "fault", node="n")
    with open(ledger.path, "a") as fh:
        fh.write('{"op": "apply", "id": "torn"')  # a crash mid-write
    assert len(ledger.undo_pending()) == 3
    assert order == ["gpu_health", "kind_cluster", "dockerd"]
    assert ledger.entries() == []
