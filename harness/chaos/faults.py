"""Chaos fault kinds: what an experiment's actions do to a system, and which platforms can do it.

A ``FaultKind`` names the Chaos Toolkit activities (``module:func``) that inject one kind of fault
and those that roll it back. A platform says which kinds it can apply (``Platform.fault_kinds``);
the runner and the standalone control turn an experiment that injects a kind the platform cannot
apply into a ``not_applicable`` check that says so, instead of failing mid-experiment.

``load_fault_kinds()`` builds the registry explicitly, one ``register_…`` call per contributor: the
local platform's kinds (the actions of ``harness.chaos.actions``, named here); a platform with faults of its own (pods and
nodes on kind, containers and PIDs of an external system) adds a ``register_…_fault_kinds`` beside
its actions and one line here. Importing a module registers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.registry import Registry


@dataclass(frozen=True)
class FaultKind:
    name: str  # e.g. "kill"
    description: str
    inject: tuple[str, ...]  # activities that apply it, "module:func"
    rollback: tuple[str, ...] = ()  # activities that undo it


class FaultKinds(Registry[FaultKind]):
    def __init__(self, kinds: Iterable[FaultKind] = ()) -> None:
        super().__init__("fault kind", [(kind.name, kind) for kind in kinds])

    def add(self, kind: FaultKind) -> FaultKind:
        return self.register(kind.name, kind)

    def activities(self) -> set[str]:
        return {activity for kind in self.values() for activity in (*kind.inject, *kind.rollback)}

    def injected_by(self, experiment: dict[str, Any]) -> list[str]:
        """The kinds the experiment's method and rollbacks inject, in registry order."""
        used = set(python_activities(experiment))
        return [kind.name for kind in self.values() if used & set(kind.inject)]

    def unknown(self, experiment: dict[str, Any]) -> list[str]:
        """Activities of a module this registry covers that no kind names (a fault nothing could account for)."""
        modules = {activity.split(":", 1)[0] for activity in self.activities()}
        return [a for a in python_activities(experiment) if a.split(":", 1)[0] in modules and a not in self.activities()]


def python_activities(experiment: dict[str, Any]) -> list[str]:
    """``module:func`` of every Python action/probe in the experiment's method and rollbacks."""
    out = []
    for activity in [*(experiment.get("method") or []), *(experiment.get("rollbacks") or [])]:
        provider = activity.get("provider") if isinstance(activity, dict) else None
        if isinstance(provider, dict) and provider.get("type") == "python":
            out.append(f"{provider.get('module', '')}:{provider.get('func', '')}")
    return out


LOCAL_ACTIONS = "harness.chaos.actions"


def _here(*funcs: str) -> tuple[str, ...]:
    return tuple(f"{LOCAL_ACTIONS}:{func}" for func in funcs)


# What each action of harness.chaos.actions does (the local platform, and a platform attached to it)
LOCAL_FAULT_KINDS = (
    FaultKind("kill", "SIGKILL a component's process group", _here("kill_component"),
              _here("restore_component", "heal_platform")),
    FaultKind("pause", "SIGSTOP a component (it hangs, holding its connections)", _here("pause_component"),
              _here("resume_component", "restore_component", "heal_platform")),
    FaultKind("restart", "stop a component gracefully and start it again", _here("restart_component")),
    FaultKind("link", "latency, bandwidth, resets, blackholes or refusals on a link", _here("link_fault"),
              _here("clear_link_faults", "heal_platform")),
    FaultKind("dependency_outage", "cut every gateway off a dependency", _here("dependency_outage"),
              _here("restore_dependency", "heal_platform")),
    FaultKind("cpu_pressure", "cap a component's CPU through a cgroup", _here("cpu_pressure"),
              _here("release_pressure", "heal_platform")),
    FaultKind("memory_pressure", "cap a component's memory through a cgroup", _here("memory_pressure"),
              _here("release_pressure", "heal_platform")),
    FaultKind("gpu_loss", "the GPU tier loses GPUs", _here("gpu_loss"), _here("restore_gpus", "heal_platform")),
)


def register_local_fault_kinds(kinds: FaultKinds) -> FaultKinds:
    for kind in LOCAL_FAULT_KINDS:
        kinds.add(kind)
    return kinds


def load_fault_kinds() -> FaultKinds:
    """Every fault kind of every platform in this version."""
    return register_local_fault_kinds(FaultKinds())
