"""The reference system on a real kind cluster: layout, GPU allocation and loss, Kubernetes checks, defects.

All tests share one cluster (session fixture) and are marked ``kind``; each redeploy recreates the
refsys namespace, so tests that switch defects restore the clean system at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from kubernetes import client as k8s
from kubernetes.stream import stream

from harness.k8s.context import cluster_context
from harness.k8s.disruption import pdb_effective
from harness.k8s.netpolicy import network_policy_enforced
from harness.k8s.placement import gpu_placement, resource_limits
from harness.k8s.podsecurity import restricted_pod_security
from harness.platforms.kind.rollout import node_summary
from tests.claims.refsys_claims import assert_refuted, claim_results, refsys_claims

# the first test builds the whole offline tool chain on a fresh machine (~25 min): above the suite-wide 900 s
pytestmark = [pytest.mark.kind, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]
REPO = Path(__file__).resolve().parents[3]


def _exec_python(api, pod: str, code: str) -> str:
    return stream(k8s.CoreV1Api(api).connect_get_namespaced_pod_exec, pod, "refsys",
                  command=["python", "-c", code], stderr=True, stdin=False, stdout=True, tty=False)


def _gpu_pods(api) -> list:
    pods = k8s.CoreV1Api(api).list_namespaced_pod("refsys", label_selector="app=inference-gpu").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


READYZ = "import urllib.request, urllib.error\ntry:\n print(urllib.request.urlopen('http://127.0.0.1:9000/readyz').read().decode())\nexcept urllib.error.HTTPError as e:\n print(e.read().decode())"


def test_four_nodes_two_with_allocatable_gpus(kind_platform):
    nodes = node_summary(kind_platform._api)
    assert len(nodes) == 4 and all(n["ready"] for n in nodes), nodes
    gpu_nodes = [n for n in nodes if n["gpus"] > 0]
    assert [n["gpus"] for n in gpu_nodes] == [4, 4], nodes
    assert all(n["gpu_node"] and "nvidia.com/gpu=present:NoSchedule" in n["taints"] for n in gpu_nodes)
    env = kind_platform.environment()
    assert env["platform"] == "kind" and env["kubernetes_version"].startswith("v1.")
    assert "GPU x4" in env["node_layout"]


def test_gpu_pods_run_on_gpu_nodes_with_the_devices_the_plugin_allocated(kind_platform):
    api = kind_platform._api
    gpu_node_names = {n["name"] for n in node_summary(api) if n["gpus"]}
    pods = _gpu_pods(api)
    assert len(pods) == 2 and {p.spec.node_name for p in pods} <= gpu_node_names
    for pod in pods:
        visible = _exec_python(api, pod.metadata.name, "import os; print(os.environ['NVIDIA_VISIBLE_DEVICES'])").strip()
        assert len(visible.split(",")) == 2 and all(v.startswith(f"GPU-{pod.spec.node_name}-") for v in visible.split(","))
        ready = json.loads(_exec_python(api, pod.metadata.name, READYZ))
        assert ready["devices"] == ["gpu:0", "gpu:1"]  # the process sees exactly its two allocated GPUs


def test_the_gateway_answers_through_the_nodeport_on_loopback(kind_platform):
    target = kind_platform.target
    assert target.base_url.startswith("http://127.0.0.1:")
    ident = target.identity("acme", "user")
    with httpx.Client(base_url=target.base_url, timeout=10, trust_env=False) as http:
        token = http.post("/auth/login", json={"username": ident.username, "password": ident.password}).json()
        created = http.post("/analyses", json={"text": "kind works"},
                            headers={"Authorization": f"Bearer {token['access_token']}"})
    assert created.status_code == 201, created.text
    assert created.json()["result"]["degraded"] is False


def test_gpu_loss_is_reported_by_the_plugin_and_seen_by_the_kubelet_and_the_process(kind_platform):
    api = kind_platform._api
    pod = _gpu_pods(api)[0]
    node = pod.spec.node_name
    kind_platform.set_gpu_health(node, healthy=False)
    try:
        assert kind_platform.ledger.entries("gpu_health"), "GPU loss must be ledgered before it is applied"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            allocatable = {n["name"]: n["gpus"] for n in node_summary(api)}[node]
            ready = json.loads(_exec_python(api, pod.metadata.name, READYZ))
            if allocatable == 0 and ready.get("status") == "unready":
                break
            time.sleep(2)
        assert allocatable == 0, "the kubelet still advertises the lost GPUs"
        assert ready == {"status": "unready", "failing": "gpu", "detail": "0 GPUs visible"}
    finally:
        kind_platform.set_gpu_health(node, healthy=True)
    assert not kind_platform.ledger.entries("gpu_health")
    deadline = time.monotonic() + 60
    while {n["name"]: n["gpus"] for n in node_summary(api)}[node] != 4 and time.monotonic() < deadline:
        time.sleep(2)
    assert {n["name"]: n["gpus"] for n in node_summary(api)}[node] == 4


def test_kubernetes_checks_pass_on_the_clean_system(kind_platform):
    ctx = cluster_context(kind_platform.target)
    verdicts = {"gpu": gpu_placement(ctx), "limits": resource_limits(ctx), "psa": restricted_pod_security(ctx),
                "netpol": network_policy_enforced(ctx), "pdb_gateway": pdb_effective(ctx, "gateway"),
                "pdb_gpu": pdb_effective(ctx, "inference-gpu")}
    assert {name: v.status for name, v in verdicts.items()} == dict.fromkeys(verdicts, "pass"), \
        {name: v.message for name, v in verdicts.items()}
    assert verdicts["pdb_gateway"].measured["second_eviction"]["status"] == 429


def test_each_manifest_defect_fails_its_check(kind_platform):
    kind_platform.redeploy(["no_pdb", "gpu_affinity_missing", "privileged_pod", "no_network_policy",
                            "no_resource_limits"])
    try:
        ctx = cluster_context(kind_platform.target)
        gpu, limits, psa = gpu_placement(ctx), resource_limits(ctx), restricted_pod_security(ctx)
        netpol, pdb = network_policy_enforced(ctx), pdb_effective(ctx, "gateway")
        assert gpu.status == "fail" and "neither request" in gpu.message, gpu.message
        assert limits.status == "fail" and "without CPU/memory limits" in limits.message
        assert psa.status == "fail" and "accepted a privileged pod" in psa.message
        assert netpol.status == "fail" and "postgres:5432" in netpol.message, netpol.message
        assert pdb.status == "fail" and "no PodDisruptionBudget" in pdb.message
        checks = [gpu.to_check("kubernetes.gpu.placement", "t", "high"),
                  limits.to_check("kubernetes.resources.limits", "t", "medium"),
                  psa.to_check("kubernetes.pod_security.restricted", "t", "high"),
                  netpol.to_check("kubernetes.network_policy.enforced", "t", "high"),
                  pdb.to_check("kubernetes.pdb.gateway", "t", "high")]
        results = claim_results(checks, refsys_claims(), platform="kind")
        for defect in ("no_pdb", "gpu_affinity_missing", "privileged_pod", "no_network_policy", "no_resource_limits"):
            assert_refuted(results, defect)  # the claim of scenarios/claims/refsys.yaml it breaks
    finally:
        kind_platform.redeploy([])


def test_security_suite_finds_bola_on_kind_as_it_does_locally(kind_platform, kind_state, tmp_path):
    """`harness run --platform kind --defects bola` reuses the session's cluster and fails security.authz.bola."""
    env = {**os.environ, "HARNESS_STATE_DIR": str(kind_state), "HARNESS_KIND_CLUSTER": kind_platform.cluster_name}
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--platform", "kind", "--suite", "security",
                             "--defects", "bola", "--report-dir", str(tmp_path)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    report = json.loads(next(tmp_path.glob("*/readiness.json")).read_text())
    checks = {c["id"]: c for s in report["suites"] for c in s["checks"]}
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert checks["security.authz.bola"]["status"] == "fail"
    facts = report["environment"]["extra"]  # the platform's facts in the report's environment block
    assert facts["platform"] == "kind" and facts["kubernetes_version"].startswith("v1.")
    assert "GPU x4" in facts["node_layout"]
    kind_platform.redeploy([])  # the run removed the namespace at its end; the session's system comes back
