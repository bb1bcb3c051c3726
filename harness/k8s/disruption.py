"""PodDisruptionBudgets: present for a workload, and effective — the eviction API refuses a
second eviction while the first pod is gone (a real eviction, then the workload is awaited)."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from harness.k8s.context import ClusterContext, Verdict


def _selects(pdb: Any, labels: dict[str, str]) -> bool:
    selector = pdb.spec.selector
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.match_labels or {}).items()):
        return False
    for expr in selector.match_expressions or []:
        value = labels.get(expr.key)
        if expr.operator == "In" and value not in (expr.values or []):
            return False
        if expr.operator == "NotIn" and value in (expr.values or []):
            return False
        if expr.operator == "Exists" and value is None:
            return False
        if expr.operator == "DoesNotExist" and value is not None:
            return False
    return True


def _evict(core: k8s.CoreV1Api, pod: str, namespace: str, *, dry_run: bool) -> tuple[int, str]:
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=pod, namespace=namespace),
                          delete_options=k8s.V1DeleteOptions(dry_run=["All"] if dry_run else None,
                                                             grace_period_seconds=5))
    try:
        core.create_namespaced_pod_eviction(pod, namespace, body)
        return 201, "evicted" + (" (dry run)" if dry_run else "")
    except ApiException as exc:
        return int(exc.status or 0), str(exc.body or exc.reason)[:240]


def _running_pods(core: k8s.CoreV1Api, namespace: str, app: str) -> list[Any]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


def _wait_deployment_ready(ctx: ClusterContext, name: str, timeout_s: float) -> bool:
    apps = k8s.AppsV1Api(ctx.api)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dep = apps.read_namespaced_deployment_status(name, ctx.namespace)
        want = dep.spec.replicas or 0
        if (dep.status.ready_replicas or 0) == want and (dep.status.replicas or 0) == want:
            return True
        time.sleep(1)
    return False


def pdb_effective(ctx: ClusterContext, app: str, *, recover_timeout_s: float = 180) -> Verdict:
    """A PDB selects ``app=<app>`` pods and stops a second simultaneous eviction."""
    core = k8s.CoreV1Api(ctx.api)
    policy = k8s.PolicyV1Api(ctx.api)
    pods = _running_pods(core, ctx.namespace, app)
    if len(pods) < 2:
        return Verdict("inconclusive", f"only {len(pods)} running {app} pod(s): a disruption budget cannot be exercised",
                       {"pods": [p.metadata.name for p in pods]})
    labels = pods[0].metadata.labels or {}
    pdbs = [p for p in policy.list_namespaced_pod_disruption_budget(ctx.namespace).items if _selects(p, labels)]
    if not pdbs:
        trials = {p.metadata.name: _evict(core, p.metadata.name, ctx.namespace, dry_run=True) for p in pods}
        allowed = [name for name, (code, _) in trials.items() if code == 201]
        return Verdict("fail", f"no PodDisruptionBudget selects app={app}: the API allows evicting every one of its "
                               f"{len(pods)} pods (dry-run evictions allowed: {len(allowed)}/{len(pods)}), so a node "
                               "drain can take the whole tier down",
                       {"pdbs": [], "dry_run_evictions": {k: {"status": c, "detail": d} for k, (c, d) in trials.items()}})
    pdb = pdbs[0]
    # the budget must allow one disruption before the test (all pods healthy)
    deadline = time.monotonic() + 60
    while (pdb.status.disruptions_allowed or 0) < 1 and time.monotonic() < deadline:
        time.sleep(1)
        pdb = policy.read_namespaced_pod_disruption_budget(pdb.metadata.name, ctx.namespace)
    spec = {"min_available": str(pdb.spec.min_available) if pdb.spec.min_available is not None else None,
            "max_unavailable": str(pdb.spec.max_unavailable) if pdb.spec.max_unavailable is not None else None}
    before = {"current_healthy": pdb.status.current_healthy, "desired_healthy": pdb.status.desired_healthy,
              "disruptions_allowed": pdb.status.disruptions_allowed, "expected_pods": pdb.status.expected_pods}
    if (pdb.status.disruptions_allowed or 0) < 1:
        return Verdict("inconclusive", f"PDB {pdb.metadata.name} allows no disruption even with every pod healthy "
                                "(nothing can be drained); cannot exercise it", {"pdb": pdb.metadata.name, **spec, **before})
    first = _evict(core, pods[0].metadata.name, ctx.namespace, dry_run=False)
    second = _evict(core, pods[1].metadata.name, ctx.namespace, dry_run=False)
    recovered = _wait_deployment_ready(ctx, app, recover_timeout_s)
    measured = {"pdb": pdb.metadata.name, **spec, "status_before": before,
                "first_eviction": {"pod": pods[0].metadata.name, "status": first[0], "detail": first[1]},
                "second_eviction": {"pod": pods[1].metadata.name, "status": second[0], "detail": second[1]},
                "recovered": recovered}
    if first[0] != 201:
        return Verdict("inconclusive", f"the first eviction was refused ({first[0]}): cannot tell whether the budget works",
                       measured)
    if second[0] == 429:
        return Verdict("pass", f"PDB {pdb.metadata.name} ({'minAvailable ' + spec['min_available'] if spec['min_available'] else 'maxUnavailable ' + str(spec['max_unavailable'])}) "
                               f"let one {app} pod be evicted and refused the second (429) while the first was gone"
                               + ("" if recovered else f"; {app} did not recover within {recover_timeout_s:.0f} s"),
                       measured)
    return Verdict("fail", f"PDB {pdb.metadata.name} exists but the second simultaneous eviction of a {app} pod "
                           f"was answered {second[0]}: the budget does not protect the tier", measured)
