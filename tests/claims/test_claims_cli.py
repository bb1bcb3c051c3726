"""The claims file as an input: validated before anything starts, from the flag or [tool.harness]."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from harness.cli import main
from harness.config import load_config
from harness.model import Check, Severity, Status
from harness.report.junit import JUnitWriter
from tests.claims.refsys_claims import REFSYS_CLAIMS, run_of


def test_a_malformed_claims_file_is_exit_4_with_one_line_before_any_system_starts(tmp_path, capsys):
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n  - id: x\n    text: Rate limiting\n    verify: [security.ratelimit.enforced]\n"
                   "    params: {rate_limit: {limit: -5, window_s: 60}}\n")
    assert main(["run", "--claims", str(bad), "--report-dir", str(tmp_path / "r")]) == 4
    error = capsys.readouterr().err
    assert "claims.yaml: claims.0.params.rate_limit.limit" in error and len(error.strip().splitlines()) <= 2
    assert not (tmp_path / "r").exists()  # nothing ran, no report folder
    assert main(["run", "--claims", str(tmp_path / "missing.yaml")]) == 4
    assert "harness claims extract" in capsys.readouterr().err  # says how to get one


def test_a_claim_needs_checks_or_a_reason(tmp_path, capsys):
    vague = tmp_path / "vague.yaml"
    vague.write_text("claims:\n  - {id: fast, text: It is fast}\n")
    assert main(["run", "--claims", str(vague)]) == 4
    assert "give 'verify' (check ids or globs) or 'untestable' (why not)" in capsys.readouterr().err


def test_claims_from_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[tool.harness]\nclaims = "{REFSYS_CLAIMS}"\n')
    assert load_config({}, environ={}, pyproject=pyproject).claims == Path(REFSYS_CLAIMS)


def test_the_claims_schema_is_printed(capsys):
    assert main(["schema", "claims"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == "urn:readiness-harness:claims" and "Claim" in schema["$defs"]


def test_junit_leaves_claim_only_checks_out(tmp_path):
    run = run_of([Check(id="security.ratelimit.enforced", suite="security", title="t", status=Status.PASS),
                  Check(id="security.ratelimit.enforced", suite="security", title="t", status=Status.FAIL,
                        severity=Severity.HIGH, claims=["c"], claim_only=True)])
    suite = ET.parse(JUnitWriter().write(run, tmp_path)).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"
