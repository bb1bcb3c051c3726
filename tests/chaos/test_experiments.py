"""Every shipped experiment is valid Chaos Toolkit (what `chaos validate` checks) with a valid harness extension."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

from harness.chaos import discover
from harness.chaos.extension import experiment_paths, experiments_for_profile, harness_extension
from harness.errors import UsageError

PATHS = experiment_paths()
REQUIRED = {"gateway_replica_kill", "gateway_hang", "gpu_loss", "inference_latency", "database_outage",
            "cache_outage", "gateway_cpu_pressure", "partition_gateway_inference"}


def test_the_required_experiments_are_shipped() -> None:
    assert {p.stem for p in PATHS} >= REQUIRED


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_experiment_is_valid_for_chaoslib(path: Path) -> None:
    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)  # imports each provider and binds its arguments
    extension = harness_extension(experiment, str(path))
    assert experiment["rollbacks"][-1]["provider"]["func"] == "heal_platform", "last rollback heals everything"
    assert extension.max_duration_s > extension.steady_state_s


def test_smoke_profile_runs_a_representative_subset() -> None:
    smoke = {p.stem for p in experiments_for_profile("smoke")}
    assert smoke == {"gateway_replica_kill", "gpu_loss"}
    assert {p.stem for p in experiments_for_profile("full")} == {p.stem for p in PATHS}


def test_a_missing_harness_extension_is_a_usage_error(tmp_path: Path) -> None:
    data = yaml.safe_load(PATHS[0].read_text())
    data.pop("extensions")
    with pytest.raises(UsageError, match="no 'harness' extension"):
        harness_extension(data, "x.yaml")
    data["extensions"] = [{"name": "harness", "fault": "kill", "target": "x", "slo": {"max_error_rate": 3}}]
    with pytest.raises(UsageError, match=r"extensions\.harness\.slo\.max_error_rate"):
        harness_extension(data, "x.yaml")


def test_discover_lists_actions_and_probes_with_arguments() -> None:
    discovery = discover(discover_system=False)
    names = {a["name"]: a for a in discovery["activities"]}
    assert {"kill_component", "pause_component", "link_fault", "gpu_loss", "dependency_outage",
            "cpu_pressure", "heal_platform"} <= names.keys()
    assert {"slo_holds", "breaker_states", "acknowledged_writes_readable"} <= names.keys()
    assert [a["name"] for a in names["link_fault"]["arguments"]][:3] == ["link", "latency_ms", "jitter_ms"]
    assert names["slo_holds"]["type"] == "probe" and names["kill_component"]["type"] == "action"
