"""Chaos fault kinds: a registry of what each action injects, held against what each platform can apply."""

from __future__ import annotations

import inspect
from pathlib import Path

from harness.chaos import actions
from harness.chaos.attach import AttachedLocalPlatform
from harness.chaos.extension import read_experiment
from harness.chaos.faults import LOCAL_FAULT_KINDS, FaultKind, FaultKinds, load_fault_kinds
from harness.chaos.runner import ChaosRunner
from harness.model import Status
from harness.platforms.base import Target
from harness.platforms.external import ExternalPlatform
from harness.platforms.local.platform import LocalPlatform

REPO = Path(__file__).resolve().parents[2]
KILL = REPO / "scenarios" / "chaos" / "gateway_replica_kill.yaml"


def test_every_action_is_accounted_for_by_a_fault_kind() -> None:
    public = {name for name, obj in vars(actions).items()
              if inspect.isfunction(obj) and obj.__module__ == actions.__name__ and not name.startswith("_")
              }
    named = {activity.split(":", 1)[1] for activity in load_fault_kinds().activities()}
    assert public == named, f"not in a fault kind: {public - named}; gone: {named - public}"


def test_platforms_declare_the_kinds_they_can_apply() -> None:
    local = {kind.name for kind in LOCAL_FAULT_KINDS}
    assert LocalPlatform.fault_kinds == local
    assert AttachedLocalPlatform.fault_kinds < local and "kill" not in AttachedLocalPlatform.fault_kinds
    assert ExternalPlatform.fault_kinds <= set(load_fault_kinds().names())  # on a target file's chaos.components
    assert ExternalPlatform(Target(base_url="http://127.0.0.1:9")).fault_kinds == frozenset()  # none named


def test_an_experiment_the_platform_cannot_apply_is_not_applicable_and_says_why(tmp_path: Path) -> None:
    platform = ExternalPlatform(Target(base_url="http://127.0.0.1:9"))
    report = ChaosRunner(platform, platform.start(), out_dir=tmp_path).run(KILL)
    [check] = report.checks()
    assert check.status == Status.NOT_APPLICABLE
    assert "a platform that can apply kill faults (kill_component; platform 'external' cannot)" in check.message
    assert not (tmp_path / "gateway_replica_kill").exists(), "no trial was started"


def test_another_platform_adds_its_own_kinds_without_touching_the_local_ones() -> None:
    kinds = load_fault_kinds()
    kinds.add(FaultKind("pod_kill", "delete a pod", ("chaosk8s.pod.actions:terminate_pods",)))
    experiment = {"method": [{"type": "action", "name": "kill-pod",
                              "provider": {"type": "python", "module": "chaosk8s.pod.actions",
                                           "func": "terminate_pods"}}]}
    assert kinds.injected_by(experiment) == ["pod_kill"] and kinds.unknown(experiment) == []
    assert load_fault_kinds().injected_by(experiment) == [], "nothing registered itself by being imported"
    assert kinds.injected_by(read_experiment(KILL)) == ["kill"]


def test_an_action_no_kind_names_is_unknown() -> None:
    experiment = {"method": [{"type": "action", "name": "x",
                              "provider": {"type": "python", "module": "harness.chaos.actions", "func": "_links"}}]}
    assert FaultKinds(LOCAL_FAULT_KINDS).unknown(experiment) == ["harness.chaos.actions:_links"]
