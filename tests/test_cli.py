"""The `harness` command as a user meets it: help, doctor, schema, report, usage errors."""

import json
import subprocess
import sys

from harness.cli import main
from harness.exitcodes import ExitCode
from harness.schema import current_schema
from tests.test_model import make_run


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_command():
    result = harness("--help")
    assert result.returncode == 0
    for command in ("run", "gate", "report", "doctor", "schema", "suites"):
        assert command in result.stdout


def test_schema_prints_the_json_schema():
    result = harness("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == current_schema()


def test_schema_check_reports_up_to_date():
    assert main(["schema", "--check"]) == 0


def test_doctor_lists_components_and_what_missing_ones_disable():
    result = harness("doctor")
    assert result.returncode == 0
    for name in ("python", "locust", "schemathesis", "redis-server", "chromium", "free ports"):
        assert name in result.stdout


def test_doctor_judges_cgroups_as_the_platform_does(monkeypatch):
    from harness import doctor
    from harness.faults import cgroups

    found = {f.name: f for f in doctor.diagnose()}["cgroups"]
    assert found.present == (cgroups.availability() is None)  # v1-only machines count (this one is)
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", cgroups.CGROUP_ROOT / "no-such-mount")
    missing = {f.name: f for f in doctor.diagnose()}["cgroups"]
    assert not missing.present and "not mounted" in missing.detail


def test_report_rerenders_html_from_json(tmp_path, capsys):
    (tmp_path / "readiness.json").write_text(make_run().model_dump_json())
    assert main(["report", str(tmp_path)]) == 0
    assert "security.headers.hsts" in (tmp_path / "readiness.html").read_text()
    assert (tmp_path / "junit.xml").is_file()


def test_unknown_flag_is_a_usage_error_without_traceback():
    result = harness("run", "--frobnicate")
    assert result.returncode == ExitCode.USAGE_ERROR
    assert "No such option: --frobnicate" in result.stderr and "Traceback" not in result.stderr


def test_unknown_suite_is_a_usage_error(capsys):
    assert main(["run", "--suite", "no-such-suite"]) == ExitCode.USAGE_ERROR
    assert "unknown suite(s) no-such-suite" in capsys.readouterr().err


def test_missing_openapi_file_is_a_usage_error_before_anything_starts(tmp_path):
    result = harness("run", "--suite", "contract", "--target-url", "http://127.0.0.1:9",
                     "--openapi-url", str(tmp_path / "nope.json"), "--report-dir", str(tmp_path))
    assert result.returncode == ExitCode.USAGE_ERROR
    assert "nope.json" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*/readiness.json"))
