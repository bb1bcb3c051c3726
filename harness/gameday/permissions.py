"""What a game day's faults need from the Kubernetes API: the rules of the Role its CronJob runs with.

One table, per ``harness.chaos.actions`` function, of the API calls the kind platform makes to apply or
undo it (``harness/platforms/kind/faults.py``: pods deleted for a kill, a rollout restart patching the
workload, GPU health set through the fake device plugin's pod proxy). A step whose action has no
Kubernetes implementation yet cannot be scheduled against a Kubernetes target (exit 4, naming it).
A local target needs no permission at all: the job starts the reference system inside its own pod.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.gameday.plan import Plan
from harness.gameday.spec import KubernetesOptions

PLUGIN_NAMESPACE = "harness-system"  # the fake GPU device plugin (kind platform)
TARGET = "{target}"  # the refsys namespace of the target


@dataclass(frozen=True)
class Rule:
    namespace: str  # TARGET or a fixed namespace
    api_group: str
    resource: str
    verbs: tuple[str, ...]


READ_WORKLOADS = (Rule(TARGET, "", "pods", ("get", "list")), Rule(TARGET, "", "services", ("get", "list")),
                  Rule(TARGET, "apps", "deployments", ("get", "list")))  # find the replicas the observers poll
POD_KILL = (Rule(TARGET, "", "pods", ("list", "delete")),)
ROLLOUT = (Rule(TARGET, "apps", "deployments", ("get", "patch")), Rule(TARGET, "apps", "statefulsets", ("get", "patch")))
GPU_HEALTH = (Rule(PLUGIN_NAMESPACE, "", "pods", ("list",)), Rule(PLUGIN_NAMESPACE, "", "pods/proxy", ("get", "create")))

KUBERNETES_RULES: dict[str, tuple[Rule, ...]] = {
    "kill_component": POD_KILL,
    "restore_component": (),  # the Deployment's controller starts the replacement; readiness is polled over HTTP
    "restart_component": ROLLOUT,
    "gpu_loss": GPU_HEALTH,
    "restore_gpus": GPU_HEALTH,
    "heal_platform": (),  # undoes what the day applied: the rules of its other actions cover it
}


def actions_of(experiment: dict[str, Any]) -> list[str]:
    """The ``harness.chaos.actions`` functions an experiment's method and rollbacks call, in order."""
    activities = [*(experiment.get("method") or []), *(experiment.get("rollbacks") or [])]
    return list(dict.fromkeys(a["provider"].get("func", "") for a in activities
                              if isinstance(a, dict) and (a.get("provider") or {}).get("module") == "harness.chaos.actions"))


def kubernetes_rules(plan: Plan) -> dict[str, list[Rule]]:
    """namespace -> the merged rules the day's steps need on a Kubernetes target ({} for other targets)."""
    options = plan.day.target.parsed_options()
    if not isinstance(options, KubernetesOptions):
        return {}
    needed: list[Rule] = list(READ_WORKLOADS)
    for planned in plan.steps:
        for action in actions_of(planned.experiment):
            if action not in KUBERNETES_RULES:
                implemented = ", ".join(a for a, rules in KUBERNETES_RULES.items() if rules)
                raise UsageError(f"{plan.source}: steps.{planned.index} ({planned.id}): {action} has no Kubernetes "
                                 f"implementation in this version (a Kubernetes target can: {implemented}); schedule "
                                 "it for a local target or leave the step out")
            needed.extend(KUBERNETES_RULES[action])
    merged: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for rule in needed:
        namespace = options.namespace if rule.namespace == TARGET else rule.namespace
        merged[(namespace, rule.api_group, rule.resource)].update(rule.verbs)
    out: dict[str, list[Rule]] = defaultdict(list)
    for (namespace, group, resource), verbs in sorted(merged.items()):
        out[namespace].append(Rule(namespace, group, resource, tuple(sorted(verbs))))
    return dict(out)
