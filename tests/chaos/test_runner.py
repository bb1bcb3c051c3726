"""The runner saves chaoslib's journal (as far as it got) and heals the platform even when the run raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.chaos import runner as runner_module
from harness.chaos.runner import ChaosRunner
from harness.chaos.trial import Trial
from harness.platforms.base import Target

from .test_rollback import FakePlatform

EXPERIMENT = """
version: 1.0.0
title: a method that never gets to finish
description: the runner's own run_experiment call raises half-way
extensions: [{name: harness, fault: latency, target: gateway-1->inference-cpu}]
method:
  - {type: action, name: slow-link, provider: {type: python, module: harness.chaos.actions, func: link_fault,
     arguments: {link: "gateway-1->*", latency_ms: 5}}}
rollbacks:
  - {type: action, name: heal-platform, provider: {type: python, module: harness.chaos.actions, func: heal_platform}}
"""


class PlatformWithPorts(FakePlatform):
    fault_kinds = frozenset({"link"})  # the experiment's link_fault: a kind this platform can apply

    def port(self, component: str) -> int:
        return 9


def test_the_journal_is_saved_and_the_platform_healed_when_the_run_raises(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "interrupted.yaml"
    path.write_text(EXPERIMENT)
    partial = {"status": None, "run": [{"activity": {"name": "slow-link"}, "status": "succeeded"}]}

    def raises_half_way(experiment: dict, settings: dict, event_handlers: list[Any]) -> dict:
        for handler in event_handlers:
            handler.started(experiment, partial)
        raise RuntimeError("the harness process is going down")

    monkeypatch.setattr(Trial, "start", lambda self: self)  # no background load against the fake platform
    monkeypatch.setattr(runner_module, "run_experiment", raises_half_way)
    platform = PlatformWithPorts()
    chaos = ChaosRunner(platform, Target(base_url="http://127.0.0.1:9"), out_dir=tmp_path / "chaos",
                        writer_identities=[])
    with pytest.raises(RuntimeError, match="going down"):
        chaos.run(path)
    journal = tmp_path / "chaos" / "interrupted" / "interrupted.journal.json"
    assert json.loads(journal.read_text()) == partial
    assert platform.heals == 1, "the harness's safety heal ran"
