"""Profiles: budgets load from YAML, noise rules are scoped and reasoned, bad files are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.contract import load_contract_profile
from harness.contract.findings import FailureRecord
from harness.contract.profile import NOISE_DIR, NoiseRule, load_noise_file, target_noise
from harness.contract.runner import noise_reason, operation_config, schemathesis_config
from harness.errors import UsageError


def test_shipped_profiles_fit_their_budgets() -> None:
    smoke, full = load_contract_profile("smoke"), load_contract_profile("full")
    assert smoke.run_budget_s <= 30  # the smoke budget, for the whole run
    assert smoke.max_time_s <= smoke.run_budget_s - 5  # headroom for spec loading and login
    assert full.max_time_s >= 120
    assert set(smoke.phases) == {"examples", "coverage", "fuzzing", "stateful"}


def test_profiles_share_the_common_rules_and_keep_no_target_specific_ones() -> None:
    smoke, full = load_contract_profile("smoke"), load_contract_profile("full")
    common = load_noise_file(NOISE_DIR / "common.yaml").known_noise
    assert smoke.known_noise == full.known_noise == common
    assert all(rule.operation == "*" for rule in common)  # nothing about one API's operations
    refsys_rules, files = target_noise("refsys gateway")
    assert [(r.operation, r.check) for r in refsys_rules] == [("POST /analyses", "positive_data_acceptance")]
    assert [f.name for f in files] == ["refsys.yaml"]
    assert target_noise("inventory") == ([], [])


def test_a_profile_rule_not_code_decides_that_a_404_after_an_earlier_delete_is_noise() -> None:
    smoke = load_contract_profile("smoke")
    missing = FailureRecord(
        operation="GET /analyses/{analysis_id}", check="ensure_resource_availability", code="ST201",
        title="Resource not available", message="Created resource not found", severity="medium", phase="stateful",
        curl_steps=["curl -X GET http://127.0.0.1:1/analyses/an_0123456789"], identity=None, input_shape="path=analysis_id",
        input_keys="path=analysis_id", status_code=404, response_excerpt="{}", elapsed_ms=1.0)
    assert noise_reason(smoke, missing) is None  # a 404 on its own is a defect
    missing.conditions = ["resource_deleted_earlier"]
    assert "DELETE" in (noise_reason(smoke, missing) or "")  # with the earlier DELETE: the stated reason


def test_a_check_is_never_switched_off_for_every_operation() -> None:
    with pytest.raises(ValidationError, match="never switched off wholesale"):
        NoiseRule(operation="*", check="not_a_server_error", reason="too noisy for us, sorry")


def test_noise_rules_need_a_known_check_and_a_real_reason() -> None:
    with pytest.raises(ValidationError, match="unknown check"):
        NoiseRule(operation="GET /x", check="not_a_check", reason="because it is noisy here")
    with pytest.raises(ValidationError, match="unknown condition"):
        NoiseRule(operation="*", check="ensure_resource_availability", when="never_heard_of", reason="a long reason")


def test_a_noise_rule_with_a_too_short_reason_is_a_usage_error(tmp_path: Path) -> None:
    profile = tmp_path / "lazy.yaml"
    profile.write_text("max_time_s: 5\nknown_noise:\n  - operation: GET /x\n    check: ignored_auth\n    reason: meh\n")
    with pytest.raises(UsageError, match=r"lazy.yaml: known_noise.0.reason: String should have at least 10"):
        load_contract_profile(profile)


def test_a_missing_shared_rule_file_is_a_usage_error(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("max_time_s: 5\ninclude_noise: [nope]\n")
    with pytest.raises(UsageError, match=r"include_noise: 'nope' not found.*available: common"):
        load_contract_profile(profile)


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
    bad.write_text("max_time_s: 20\nbudget_s: 10\n")
    with pytest.raises(UsageError, match=r"budget_s .* must leave room for max_time_s"):
        load_contract_profile(bad)
