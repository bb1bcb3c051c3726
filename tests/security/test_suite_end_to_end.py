"""The security suite as users run it: pytest on suites/security against the local reference system."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness.openapi_file import operation_lines
from tests.security.test_sarif import SARIF_CORE_SCHEMA

REPO = Path(__file__).resolve().parents[2]


def run_suite(report_dir: Path, *args: str, timeout: float = 150) -> tuple[subprocess.CompletedProcess, dict]:
    """``pytest <args> --report-dir report_dir`` in a subprocess; the result and the run's readiness.json.

    The platform keeps its state under ``report_dir`` (not the repo's ``.harness``), so a system someone
    started with ``harness up`` and this run cannot stop each other.
    """
    env = {**os.environ, "HARNESS_STATE_DIR": str(report_dir / "state")}
    result = subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
                             "--report-dir", str(report_dir)], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout)
    report_file = report_dir / "latest" / "readiness.json"
    assert report_file.is_file(), result.stdout[-2000:] + result.stderr[-2000:]
    return result, json.loads(report_file.read_text())


def security_suite(report: dict) -> dict:
    return next(s for s in report["suites"] if s["name"] == "security")


@pytest.fixture(scope="module")
def bola_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """One run of the suite's authorization tests against the refsys with ``bola`` (shared by the tests below)."""
    report_dir = tmp_path_factory.mktemp("bola")
    result, report = run_suite(report_dir, "suites/security/test_authz.py", "--defects", "bola")
    return result, report, (report_dir / "latest").resolve()


@pytest.mark.integration
def test_bola_defect_fails_the_run_with_a_finding_and_saved_spec(bola_run):
    result, report, run_dir = bola_run
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    security = security_suite(report)
    failing = {c["id"] for c in security["checks"] if c["status"] == "fail"}
    assert failing == {"security.authz.bola"}
    finding = next(f for f in security["findings"] if f["check_id"] == "security.authz.bola")
    assert finding["owasp"] == ["API1:2023"] and finding["cwe"] == ["CWE-639"]
    assert finding["evidence"]["curl"].startswith("curl -i -X")
    assert "<redacted>" in finding["evidence"]["curl"]  # the bearer token never reaches the report
    assert json.loads((run_dir / "openapi.json").read_text())["paths"]  # saved pretty-printed for SARIF lines
    assert report["verdict"] == "not_ready"


@pytest.mark.integration
def test_findings_sarif_of_a_real_run_is_valid_and_points_at_the_operation(bola_run):
    _, _, run_dir = bola_run
    sarif = json.loads((run_dir / "findings.sarif").read_text())
    jsonschema.validate(sarif, SARIF_CORE_SCHEMA)
    results = sarif["runs"][0]["results"]
    bola = [r for r in results if r["ruleId"] == "security.authz.bola"]
    assert bola and {r["ruleId"] for r in results} == {"security.authz.bola"}
    spec_lines = (run_dir / "openapi.json").read_text().splitlines()
    for result in bola:
        operation = result["locations"][0]["logicalLocations"][0]["name"]  # e.g. "GET /analyses/{analysis_id}"
        method, path = operation.split(" ", 1)
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert line == operation_lines("\n".join(spec_lines))[operation]
        assert spec_lines[line - 1].strip().startswith(f'"{method.lower()}"'), spec_lines[line - 1]
        path_line = next(text for text in reversed(spec_lines[:line - 1]) if text.startswith('    "'))
        assert path_line.strip().startswith(json.dumps(path)), path_line  # the method sits under its own path
    rule = sarif["runs"][0]["tool"]["driver"]["rules"][bola[0]["ruleIndex"]]
    assert rule["id"] == "security.authz.bola" and rule["properties"]["security-severity"] == "9.5"
