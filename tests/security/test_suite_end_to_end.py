"""The security suite as users run it: pytest on suites/security against the local reference system."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_bola_defect_fails_the_run_with_a_finding_and_saved_spec(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/security/test_authz.py", "-q", "-p", "no:cacheprovider",
         "--defects", "bola", "--report-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    run_dir = (tmp_path / "latest").resolve()
    report = json.loads((run_dir / "readiness.json").read_text())
    security = next(s for s in report["suites"] if s["name"] == "security")
    failing = {c["id"] for c in security["checks"] if c["status"] == "fail"}
    assert failing == {"security.authz.bola"}
    finding = next(f for f in security["findings"] if f["check_id"] == "security.authz.bola")
    assert finding["owasp"] == ["API1:2023"] and finding["cwe"] == ["CWE-639"]
    assert finding["evidence"]["curl"].startswith("curl -i -X")
    assert "<redacted>" in finding["evidence"]["curl"]  # the bearer token never reaches the report
    assert json.loads((run_dir / "openapi.json").read_text())["paths"]  # saved pretty-printed for SARIF lines
    assert report["verdict"] == "not_ready"
