"""Rendering the refsys manifests for one deploy: images, settings, and each manifest defect."""

import pytest

from fixtures.refsys.defects import MANIFEST_DEFECTS, split_defects
from harness.platforms.kind import manifests
from harness.platforms.kind.images import RefsysImages

IMAGES = RefsysImages(gateway="g:1", inference="i:1", postgres="p:1", redis="r:1", gpu_plugin="f:1", base="d")


def render(*defects, env=None):
    app, manifest = split_defects(list(defects))
    return manifests.render(manifests.load_documents(), IMAGES, app_defects=app, manifest_defects=manifest,
                            public_url="http://127.0.0.1:1234", env=env)


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def env_of(doc):
    return {e["name"]: e.get("value") for e in container(doc)["env"]}


def test_clean_render_sets_images_and_keeps_the_guards():
    docs = render()
    deployments = by_kind(docs, "Deployment")
    assert container(deployments["gateway"])["image"] == "g:1"
    assert container(by_kind(docs, "StatefulSet")["postgres"])["image"] == "p:1"
    assert set(by_kind(docs, "PodDisruptionBudget")) == {"gateway", "inference-gpu"}
    assert "default-deny" in by_kind(docs, "NetworkPolicy")
    gpu = container(deployments["inference-gpu"])
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert by_kind(docs, "Namespace")["refsys"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in docs:
        for c in manifests._containers(doc):
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), doc["metadata"]["name"]
            assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_app_defects_and_suite_env_reach_the_gateway():
    gateway = by_kind(render("bola", "slow_endpoint", env={"REFSYS_RATE_LIMIT": "7"}), "Deployment")["gateway"]
    env = env_of(gateway)
    assert env["REFSYS_DEFECTS"] == "bola,slow_endpoint"
    assert env["REFSYS_RATE_LIMIT"] == "7"
    assert env["REFSYS_PUBLIC_URL"] == "http://127.0.0.1:1234"


def test_no_pdb_and_no_network_policy_leave_the_objects_out():
    docs = render("no_pdb", "no_network_policy")
    assert not by_kind(docs, "PodDisruptionBudget")
    assert not by_kind(docs, "NetworkPolicy")


def test_no_resource_limits_removes_every_limit():
    for doc in render("no_resource_limits"):
        for c in manifests._containers(doc):
            assert "limits" not in c["resources"]


def test_gpu_affinity_missing_drops_affinity_toleration_and_request():
    pod = by_kind(render("gpu_affinity_missing"), "Deployment")["inference-gpu"]["spec"]["template"]["spec"]
    assert "nodeAffinity" not in pod["affinity"] and "tolerations" not in pod
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]


def test_privileged_pod_relaxes_the_namespace_and_the_gateway():
    docs = render("privileged_pod")
    assert by_kind(docs, "Namespace")["refsys"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert container(by_kind(docs, "Deployment")["gateway"])["securityContext"]["privileged"] is True


def test_render_does_not_change_the_loaded_documents():
    docs = manifests.load_documents()
    manifests.render(docs, IMAGES, manifest_defects=list(MANIFEST_DEFECTS), public_url="x")
    assert any(d["kind"] == "PodDisruptionBudget" for d in docs)


def test_unknown_defect_names_both_kinds():
    with pytest.raises(ValueError, match="no_pdb"):
        split_defects(["nope"])


def test_secrets_are_random_per_deploy_and_kept_for_a_live_one():
    first, second = manifests.generated_secrets(), manifests.generated_secrets()
    assert first[0]["stringData"] != second[0]["stringData"]
    kept = manifests.generated_secrets({"refsys-postgres": {"password": "same"}})
    assert kept[1]["stringData"]["password"] == "same"
