"""``harness gameday schedule``: each manifest validated by what its scheduler trusts.

CronJob (and its ServiceAccount, Role, RoleBinding, ConfigMap) through the kubernetes client's models; the
GitHub workflow against the workflow JSON Schema check-jsonschema vendors (SchemaStore) plus its structure;
the systemd units through ``systemd-analyze verify`` and ``OnCalendar`` against croniter's next firings.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from croniter import croniter
from kubernetes import client as k8s

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.gameday.emit import render_schedule
from harness.gameday.emit_systemd import on_calendar, units
from harness.gameday.plan import make_plan
from tests.conftest import REPO

WEEKLY = REPO / "scenarios" / "gamedays" / "refsys-weekly.yaml"
KIND_DAY = """
title: Weekly on kind
hypothesis: A killed gateway pod and lost GPUs cost no answers.
owner: platform-team
target: {platform: kind, options: {namespace: refsys}, allow_hosts: [gateway.refsys.svc.cluster.local]}
steps: [{experiment: gateway_replica_kill}, {experiment: gpu_loss}]
guardrails: {max_duration_s: 600, stop_when: [{name: errors, metric: error_rate, above: 0.5}]}
schedule: {cron: "30 2 * * 1-5"}
"""


class _Response:
    """What ``ApiClient.deserialize`` reads before client 34: a response object with a body."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.data = json.dumps(document)


def deserialize(api: k8s.ApiClient, document: dict[str, Any], model: str) -> Any:
    if "response_text" in inspect.signature(api.deserialize).parameters:  # newer clients take the body itself
        return api.deserialize(json.dumps(document), model, "application/json")
    return api.deserialize(_Response(document), model)


def through_client_models(text: str) -> list[Any]:
    """Every YAML document back into the kubernetes client model of its kind (required fields enforced)."""
    api = k8s.ApiClient()
    models = {"ServiceAccount": "V1ServiceAccount", "Role": "V1Role", "RoleBinding": "V1RoleBinding",
              "ConfigMap": "V1ConfigMap", "CronJob": "V1CronJob"}
    out = []
    for document in yaml.safe_load_all(text):
        model = deserialize(api, document, models[document["kind"]])
        assert api.sanitize_for_serialization(model) == document, f"{document['kind']} has fields its model lacks"
        out.append(model)
    return out


def test_the_cronjob_is_ready_for_a_local_target_and_needs_no_api_access() -> None:
    objects = through_client_models(render_schedule(WEEKLY, "cronjob", image="registry.local/harness:1"))
    kinds = [type(o).__name__ for o in objects]
    assert kinds == ["V1ServiceAccount", "V1ConfigMap", "V1CronJob"], "a local target gets no Role at all"
    account, config, cronjob = objects
    assert account.automount_service_account_token is False
    assert yaml.safe_load(config.data["refsys-weekly.yaml"]) == yaml.safe_load(WEEKLY.read_text())
    spec = cronjob.spec
    assert (spec.schedule, spec.concurrency_policy, spec.time_zone) == ("0 9 * * 2", "Forbid", "Etc/UTC")
    job = spec.job_template.spec
    assert job.backoff_limit == 0 and job.active_deadline_seconds == 900 + 600
    pod = job.template.spec
    [container] = pod.containers
    assert pod.service_account_name == account.metadata.name and pod.restart_policy == "Never"
    assert container.image == "registry.local/harness:1"
    assert container.args == ["gameday", "run", "/etc/harness/gameday/refsys-weekly.yaml", "--report-dir", "/reports"]
    assert {m.mount_path for m in container.volume_mounts} == {"/etc/harness/gameday", "/reports"}


def test_a_kubernetes_target_gets_exactly_the_rules_its_faults_need(tmp_path: Path) -> None:
    day = tmp_path / "kind-weekly.yaml"
    day.write_text(KIND_DAY)
    objects = through_client_models(render_schedule(day, "cronjob", namespace="chaos"))
    roles = {o.metadata.namespace: o for o in objects if isinstance(o, k8s.V1Role)}
    rules = {ns: sorted((r.api_groups[0], r.resources[0], tuple(r.verbs)) for r in role.rules) for ns, role in roles.items()}
    assert rules == {
        "refsys": [("", "pods", ("delete", "get", "list")), ("", "services", ("get", "list")),
                   ("apps", "deployments", ("get", "list"))],
        "harness-system": [("", "pods", ("list",)), ("", "pods/proxy", ("create", "get"))],
    }
    bindings = [o for o in objects if isinstance(o, k8s.V1RoleBinding)]
    assert {(b.metadata.namespace, b.subjects[0].namespace, b.subjects[0].name) for b in bindings} == {
        ("refsys", "chaos", "gameday-kind-weekly"), ("harness-system", "chaos", "gameday-kind-weekly")}
    assert objects[0].automount_service_account_token is True


def test_a_fault_without_a_kubernetes_implementation_cannot_be_scheduled_there(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    day = tmp_path / "kind-partition.yaml"
    day.write_text(KIND_DAY.replace("{experiment: gpu_loss}", "{experiment: partition_gateway_inference}"))
    assert main(["gameday", "schedule", str(day), "--emit", "cronjob"]) == ExitCode.USAGE_ERROR
    assert "steps.1 (partition_gateway_inference): link_fault has no Kubernetes implementation" in capsys.readouterr().err


def workflow_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    return json.loads(vendor.read_text())


def test_the_github_workflow_validates_and_runs_the_day_on_its_schedule() -> None:
    workflow = yaml.safe_load(render_schedule(WEEKLY, "github-actions"))
    jsonschema.validate(workflow, workflow_schema())
    assert workflow["on"]["schedule"] == [{"cron": "0 9 * * 2"}] and "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"]["cancel-in-progress"] is False, "a new firing waits; it never cancels a day"
    job = workflow["jobs"]["gameday"]
    runs = [s.get("run", "") for s in job["steps"]]
    assert ".venv/bin/harness gameday run scenarios/gamedays/refsys-weekly.yaml --report-dir reports" in runs
    assert any("postgresql" in r for r in runs), "the weekly day needs PostgreSQL"
    upload = job["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert job["timeout-minutes"] >= 900 / 60
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**workflow, "jobs": {"gameday": {**job, "runs-on": None}}}, workflow_schema())


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt-get install systemd)")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    plan = make_plan(WEEKLY)
    service, timer = units(plan)
    (tmp_path / "gameday-refsys-weekly.service").write_text(service)
    (tmp_path / "gameday-refsys-weekly.timer").write_text(timer)
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", "gameday-refsys-weekly.timer",
                              "gameday-refsys-weekly.service"], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    assert "Type=oneshot" in service and "OnCalendar=Tue *-*-* 09:00:00 UTC" in timer
    broken = tmp_path / "broken.service"
    broken.write_text(service.replace("Type=oneshot", "Type=once"))
    complaint = subprocess.run(["systemd-analyze", "verify", "--man=no", str(broken)], capture_output=True, text=True)
    assert "Failed to parse service type" in complaint.stderr, "verify must catch a broken unit"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("cron", ["0 9 * * 2", "*/15 2-4 * * 1-5", "30 6 1,15 * *", "5 0 * 1-3,6 0,6", "0 12 * * 7"])
def test_on_calendar_fires_when_cron_does(cron: str) -> None:
    shown = subprocess.run(["systemd-analyze", "calendar", "--iterations=6", on_calendar(cron)], capture_output=True,
                           text=True, env={**os.environ, "TZ": "UTC"}, check=True).stdout
    systemd = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
               for m in re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", shown)]
    walker = croniter(cron, datetime.now(UTC))
    expected = [walker.get_next(datetime) for _ in range(6)]
    assert systemd == expected, shown


def test_systemd_refuses_a_cron_whose_days_would_mean_something_else(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    day = tmp_path / "both-days.yaml"
    day.write_text(WEEKLY.read_text().replace('cron: "0 9 * * 2"', 'cron: "0 9 1 * 2"'))
    assert main(["gameday", "schedule", str(day), "--emit", "systemd"]) == ExitCode.USAGE_ERROR
    assert "restricting both day-of-month and day-of-week" in capsys.readouterr().err


def test_a_day_without_a_schedule_or_an_unknown_scheduler_is_a_usage_error(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gameday", "schedule", str(WEEKLY), "--emit", "airflow"]) == ExitCode.USAGE_ERROR
    assert "allowed: cronjob, github-actions, systemd" in capsys.readouterr().err
    day = tmp_path / "unscheduled.yaml"
    day.write_text(re.sub(r"schedule:\n.*\n", "", WEEKLY.read_text()))
    assert main(["gameday", "schedule", str(day), "--emit", "cronjob"]) == ExitCode.USAGE_ERROR
    assert "schedule: missing" in capsys.readouterr().err
