"""The game-day file: what a malformed one is told (exit 4, naming the field, before anything starts),
what a dry run prints (what is hurt, in which order, for how long) without touching anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.gameday.plan import make_plan
from tests.conftest import REPO

WEEKLY = REPO / "scenarios" / "gamedays" / "refsys-weekly.yaml"
MINIMAL = {
    "title": "t", "hypothesis": "h", "owner": "o",
    "steps": [{"experiment": "gpu_loss"}],
    "guardrails": {"stop_when": [{"name": "errors", "metric": "error_rate", "above": 0.5}]},
}


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "day.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def with_(**changes: object) -> dict:
    return {**MINIMAL, **changes}


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.parametrize(("data", "names"), [
    ({k: v for k, v in MINIMAL.items() if k != "guardrails"}, "guardrails: Field required"),
    (with_(guardrails={"stop_when": [{"name": "e", "metric": "errors", "above": 1}]}), "guardrails.stop_when.0.metric"),
    (with_(guardrails={"stop_when": [{"name": "e", "metric": "error_rate", "above": 3}]}),
     "guardrails.stop_when.0: error_rate: above is a ratio"),
    (with_(guardrails={"stop_when": []}), "guardrails.stop_when: List should have at least 1 item"),
    (with_(steps=[{"experiment": "gpu_loss", "suspend_guardrails": ["nope"]}]), "steps.0.suspend_guardrails: no stop condition 'nope'"),
    (with_(steps=[{"experiment": "gpu_loss"}, {"experiment": "gpu_loss"}]), "steps.1: step id 'gpu_loss' is used twice"),
    (with_(steps=[{"experiment": "gpu_loss"}, {"experiment": "no_such_fault"}]), "steps.1.experiment: no experiment 'no_such_fault'"),
    (with_(steps=[{"experiment": "gpu_loss", "harness": {"steady_state_s": -1}}]), "steps.0.harness.steady_state_s"),
    (with_(steps=[{"experiment": "gpu_loss", "harness": {"expect": {"breaker": "gpu"}}}]), "steps.0.harness.expect.breaker"),
    (with_(steps=[{"experiment": "gpu_loss", "pauses": {"nope": {"after": 3}}}]),
     "steps.0.pauses.nope: gpu_loss's method has no activity 'nope'"),
    (with_(steps=[{"experiment": "database_outage"}]), "steps.0: database_outage needs PostgreSQL"),
    (with_(notifications={"webhooks": ["http://hooks.example.com/x"]}), "add it to notifications.allow_hosts"),
    (with_(notifications={"webhooks": ["ftp://127.0.0.1/x"]}), "notifications.webhooks: 'ftp://127.0.0.1/x' is not"),
    (with_(schedule={"cron": "0 9 * *"}), "schedule.cron: '0 9 * *' is not a five-field cron"),
    (with_(target={"platform": "local", "options": {"backend": "mysql"}}), "target: options.backend: Input should be 'sqlite' or 'postgres'"),
    (with_(target={"platform": "kind", "options": {"namespace": "refsys"}}), "add gateway.refsys.svc.cluster.local"),
    (with_(background_load={"profile": "nope"}), "background_load.profile: unknown load profile 'nope'"),
    (with_(guardrails={"stop_when": [{"name": "e", "metric": "error_rate", "above": 0.5, "operation": "x"}]}),
     "guardrails.stop_when.0.operation: profile 'smoke' has no operation 'x'"),
    (with_(titel="typo"), "titel: unknown key 'titel'"),
    ("title: [unclosed\n", "not valid YAML at line 2"),
])
def test_a_malformed_game_day_exits_4_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       data: object, names: str) -> None:
    path = write(tmp_path, data)
    assert main(["gameday", "run", str(path), "--report-dir", str(tmp_path / "reports")]) == ExitCode.USAGE_ERROR
    error = " ".join(capsys.readouterr().err.split())
    assert error.startswith(f"error: {path}:") and names in error, error
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists(), "nothing may start"


def test_an_external_target_off_loopback_needs_allow_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, with_(target={"platform": "external", "options": {"target_url": "http://10.1.2.3:8080"}}))
    assert main(["gameday", "run", str(path), "--report-dir", str(tmp_path / "reports")]) == ExitCode.USAGE_ERROR
    assert "refusing to send traffic to '10.1.2.3'" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_a_target_whose_platform_can_apply_no_step_s_fault_is_refused_before_a_cluster_is_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kind = {"platform": "kind", "allow_hosts": ["gateway.refsys.svc.cluster.local"]}
    path = write(tmp_path, with_(target=kind))
    assert main(["gameday", "run", str(path), "--report-dir", str(tmp_path / "reports")]) == ExitCode.USAGE_ERROR
    error = capsys.readouterr().err
    assert "target.platform: kind cannot apply the faults of any step (gpu_loss needs gpu_loss" in error, error
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists()


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gameday", "run", str(WEEKLY), "--dry-run", "--report-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == ExitCode.READY, out
    steps = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert [s.split(":")[0] for s in steps] == ["1. gateway_replica_kill", "2. gpu_loss", "3. database_outage",
                                                "4. partition_gateway_inference"]
    assert "kill on gateway-1" in steps[0] and "database_outage on gateway-*->postgres" in steps[2]
    assert "kill_component(component=gateway-1), then 6 s" in out and "fault held ~16 s" in out
    assert "smoke held at 20 arrivals/s for the whole day" in out
    assert "writes_fail: error rate of create_analysis > 50% for 4 s" in out and "during database_outage: writes_fail not watched" in out
    assert "duration: about" in out and "dry run: nothing was started" in out
    assert not (tmp_path / "reports").exists() and not (tmp_path / "state").exists()


def test_settings_are_the_option_table_s_flags_and_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DEFECTS", "no_circuit_breaker")
    assert main(["gameday", "run", str(WEEKLY), "--dry-run", "--report-dir", str(tmp_path / "reports")]) == ExitCode.READY
    assert "defects switched on: no_circuit_breaker" in capsys.readouterr().out
    assert main(["gameday", "run", str(WEEKLY), "--dry-run", "--defects", "no_breakr"]) == ExitCode.USAGE_ERROR
    assert "unknown defect(s) no_breakr" in capsys.readouterr().err, "a defect name is checked before anything starts"
    assert main(["gameday", "run", str(WEEKLY), "--seed", "many"]) == ExitCode.USAGE_ERROR
    assert "command line: seed" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_step_overrides_change_only_that_step(tmp_path: Path) -> None:
    day = with_(steps=[{"experiment": "gpu_loss", "harness": {"steady_state_s": 2, "abort": {"grace_s": 3}},
                        "pauses": {"lose-all-gpus": {"after": 5}}},
                       {"experiment": "gpu_loss", "id": "gpu_loss_again"}])
    plan = make_plan(write(tmp_path, day))
    first, second = plan.steps
    assert (first.extension.steady_state_s, first.extension.abort.grace_s, first.method_pauses_s()) == (2, 3, 5)
    assert first.extension.abort.max_error_rate == 0.5, "a deep merge keeps the experiment's other abort limits"
    assert (second.id, second.extension.steady_state_s, second.method_pauses_s()) == ("gpu_loss_again", 4, 16)
    restore = next(a for a in first.experiment["rollbacks"] if a["name"] == "restore-gpus")
    assert "pauses" not in restore, "a YAML anchor shared with the rollbacks is not changed with the method"


def test_the_held_background_load_keeps_the_mix_and_drops_the_thresholds(tmp_path: Path) -> None:
    plan = make_plan(write(tmp_path, with_(background_load={"profile": "smoke", "rate": 12})))
    assert [s.rate for s in plan.load.stages] == [12] and plan.load.stages[0].duration_s > plan.day.guardrails.max_duration_s
    assert {op.name for op in plan.load.operations} == {"create_analysis", "list_analyses", "get_analysis", "healthz"}
    assert all(op.thresholds is None for op in plan.load.operations) and plan.load.thresholds.limits() == {}


def test_the_exported_schema_is_current_and_validates_the_example() -> None:
    import json

    import jsonschema

    from harness.schema import current_schema, exported_schema

    assert exported_schema("gameday") == current_schema("gameday"), "run harness schema gameday -o harness/schema/gameday.schema.json"
    jsonschema.validate(yaml.safe_load(WEEKLY.read_text()), json.loads(json.dumps(exported_schema("gameday"))))
    assert os.path.getsize(REPO / "harness" / "schema" / "gameday.schema.json") > 1000
