"""Profiles are data: shipped YAML validates, overrides apply, mistakes name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.load.profile import PROFILE_DIR, load_profile

SHIPPED = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def test_every_planned_profile_is_shipped() -> None:
    assert {"smoke", "stress", "spike", "soak", "breakpoint"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profiles_validate(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.duration_s > 0
    assert profile.thresholds.limits() or any(op.thresholds for op in profile.operations)


def test_smoke_is_sized_for_a_small_machine() -> None:
    smoke = load_profile("smoke")
    assert 10 <= smoke.duration_s <= 30
    assert all(stage.rate is not None and stage.rate <= 30 for stage in smoke.stages)


def test_dotted_overrides_are_applied_and_typed() -> None:
    profile = load_profile("smoke", {"stages.0.rate": "50", "thresholds.p95_ms": 123, "max_users": "10"})
    assert profile.stages[0].rate == 50.0
    assert profile.thresholds.p95_ms == 123
    assert profile.max_users == 10


def test_invalid_value_names_file_and_field() -> None:
    with pytest.raises(UsageError, match=r"scenarios/load/smoke\.yaml: stages\.0\.rate: Input should be greater than 0"):
        load_profile("smoke", {"stages.0.rate": 0})


def test_override_of_missing_index_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"override stages\.5\.rate: stages\.5 is not an index"):
        load_profile("smoke", {"stages.5.rate": 1})


def test_malformed_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [{duration_s: 5, rate: 10}]\noperations: [{name: x, path: no-slash}]\n")
    with pytest.raises(UsageError, match=r"bad\.yaml: operations\.0\.path: String should match pattern"):
        load_profile(bad)


def test_open_model_stage_needs_a_rate(tmp_path: Path) -> None:
    bad = tmp_path / "closed_mixup.yaml"
    bad.write_text("stages: [{duration_s: 5, users: 3}]\noperations: [{name: x, path: /}]\n")
    with pytest.raises(UsageError, match=r"stages\.0: a open-model stage needs 'rate'"):
        load_profile(bad)


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("stages: [{duration_s: 5, rate: 1, rpm: 3}]\noperations: [{name: x, path: /}]\n")
    with pytest.raises(UsageError, match=r"stages\.0\.rpm: unknown key 'rpm'"):
        load_profile(bad)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown load profile 'nope'; known: .*smoke"):
        load_profile("nope")


def test_not_yaml_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("stages: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_profile(bad)
