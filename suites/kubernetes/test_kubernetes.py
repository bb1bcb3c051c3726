"""Kubernetes claims of the seeds: GPU placement, disruption budgets, pod security, limits, network policy."""

from functools import partial

from harness.k8s.disruption import pdb_effective
from harness.k8s.netpolicy import network_policy_enforced
from harness.k8s.placement import gpu_placement, resource_limits
from harness.k8s.podsecurity import restricted_pod_security


def test_gpu_workloads_only_on_gpu_nodes(record_verdict):
    record_verdict("kubernetes.gpu.placement", "GPU workloads run only on GPU nodes", "high", gpu_placement)


def test_resource_limits(record_verdict):
    record_verdict("kubernetes.resources.limits", "every container sets CPU and memory requests and limits", "medium",
                   resource_limits)


def test_pod_security_restricted(record_verdict):
    record_verdict("kubernetes.pod_security.restricted", "Pod Security 'restricted' is enforced and met", "high",
                   restricted_pod_security)


def test_network_policy_enforced(record_verdict):
    record_verdict("kubernetes.network_policy.enforced", "NetworkPolicy blocks edges the system does not use", "high",
                   network_policy_enforced)


def test_pdb_gateway(record_verdict):
    record_verdict("kubernetes.pdb.gateway", "a disruption budget keeps a gateway pod through evictions", "high",
                   partial(pdb_effective, app="gateway"))


def test_pdb_gpu_tier(record_verdict):
    record_verdict("kubernetes.pdb.inference_gpu", "a disruption budget keeps a GPU inference pod through evictions",
                   "high", partial(pdb_effective, app="inference-gpu"))
