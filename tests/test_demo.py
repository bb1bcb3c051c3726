"""The README's main job, end to end: reference system + every suite on the smoke profile + report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness.exitcodes import ExitCode
from harness.model import RunResult, Verdict
from harness.schema import exported_schema
from tests.claims.refsys_claims import REFSYS_CLAIMS
from tests.claims.test_refsys_claims import assert_clean_refsys_claims

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_suite_on_smoke_finds_the_clean_reference_system_ready(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", "smoke", "--report-dir", str(tmp_path / "reports"),
         "--claims", str(REFSYS_CLAIMS)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HARNESS_STATE_DIR": str(tmp_path / "state")},
    )
    latest = tmp_path / "reports" / "latest"
    assert result.returncode == ExitCode.READY, result.stdout[-6000:] + result.stderr[-3000:]
    document = json.loads((latest / "readiness.json").read_text())
    jsonschema.validate(document, exported_schema())
    run = RunResult.model_validate(document)
    assert run.verdict == Verdict.READY and run.trigger == "cli"
    assert [suite.name for suite in run.suites] == ["load", "contract", "security", "chaos"]
    for suite in run.suites:
        assert suite.checks, f"{suite.name} recorded no checks"
    assert run.timeline, "chaos injections are on the report's timeline"
    assert {"load", "contract", "security", "chaos"} <= {p.name for p in (latest / "logs").iterdir()}
    html = (latest / "readiness.html").read_text()
    assert "READY" in html and html.count("<svg") >= 4  # load and chaos: latency + throughput each
    assert (latest / "findings.sarif").is_file() and (latest / "junit.xml").is_file()
    assert_clean_refsys_claims(run, result.stdout)  # what the reference system claims, verified
    assert html.index('id="claims"') < html.index('class="cards"')
