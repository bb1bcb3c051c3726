"""Profiles: budgets load from YAML, noise rules are scoped and reasoned, bad files are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.contract import load_contract_profile
from harness.contract.profile import NoiseRule
from harness.contract.runner import operation_config, schemathesis_config
from harness.errors import UsageError


def test_shipped_profiles_fit_their_budgets() -> None:
    smoke, full = load_contract_profile("smoke"), load_contract_profile("full")
    assert smoke.max_time_s <= 30 - 5  # headroom for spec loading and login inside the 30 s smoke budget
    assert full.max_time_s >= 120
    assert set(smoke.phases) == {"examples", "coverage", "fuzzing", "stateful"}
    assert all(rule.reason for rule in smoke.known_noise)


def test_a_check_is_never_switched_off_for_every_operation() -> None:
    with pytest.raises(ValidationError, match="never switched off wholesale"):
        NoiseRule(operation="*", check="not_a_server_error", reason="too noisy for us, sorry")


def test_noise_rules_need_a_known_check_and_a_real_reason() -> None:
    with pytest.raises(ValidationError, match="unknown check"):
        NoiseRule(operation="GET /x", check="not_a_check", reason="because it is noisy here")
    with pytest.raises(ValidationError):
        NoiseRule(operation="GET /x", check="ignored_auth", reason="meh")


def test_noise_rule_scopes_to_its_operation_and_match() -> None:
    rule = NoiseRule(operation="POST /a", check="status_code_conformance", match="Received: 400",
                     reason="framework answers 400 to non-JSON bodies")
    assert rule.matches("POST /a", "status_code_conformance", "Undocumented\nReceived: 400")
    assert not rule.matches("POST /b", "status_code_conformance", "Undocumented\nReceived: 400")
    assert not rule.matches("POST /a", "status_code_conformance", "Undocumented\nReceived: 500")


def test_disabling_and_expected_status_rules_become_schemathesis_operation_config() -> None:
    profile = load_contract_profile("smoke").model_copy(update={"known_noise": [
        NoiseRule(operation="GET /metrics", check="content_type_conformance", reason="Prometheus text format varies"),
        NoiseRule(operation="POST /login", check="positive_data_acceptance", expected_statuses=[200, 401],
                  reason="schema-valid credentials are usually wrong credentials"),
    ]})
    assert operation_config(profile) == [
        {"include-method": "GET", "include-path": "/metrics", "checks": {"content_type_conformance": {"enabled": False}}},
        {"include-method": "POST", "include-path": "/login",
         "checks": {"positive_data_acceptance": {"expected-statuses": [200, 401]}}},
    ]
    config = schemathesis_config(profile, base_url="http://127.0.0.1:1", seed=3, database=Path("/tmp/db"), auth=None)
    assert config["seed"] == 3 and config["generation"]["database"] == "/tmp/db"
    import schemathesis

    schemathesis.Config.from_dict(config)  # schemathesis accepts the table as-is


def test_unknown_or_malformed_profiles_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="available"):
        load_contract_profile("no-such-profile")
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_time_s: -1\n")
    with pytest.raises(UsageError, match="max_time_s"):
        load_contract_profile(bad)
