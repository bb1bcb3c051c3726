"""The README's main job, end to end: reference system + every suite on the smoke profile + report.

Both runs are also held against the reports main wrote before run events existed
(``tests/report/baseline_main.json``, see ``tests/report/same_report.py``): the same checks with the
same statuses, findings, series and fault timeline, on the clean system and with two defects on.
The clean run also verifies what the reference system claims (``--claims``); the claim-only checks
that adds are not in that baseline (captured before claims) and are judged by ``assert_clean_refsys_claims``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness.exitcodes import ExitCode
from harness.model import RunResult, Status, Verdict
from harness.schema import exported_schema
from tests.claims.refsys_claims import REFSYS_CLAIMS
from tests.claims.test_refsys_claims import assert_clean_refsys_claims
from tests.report.same_report import compare

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASELINE = json.loads((Path(__file__).parent / "report" / "baseline_main.json").read_text())


def smoke_run(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", "smoke", "--seed", "7",
         "--report-dir", str(tmp_path / "reports"), *flags],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HARNESS_STATE_DIR": str(tmp_path / "state")},
    )
    return result, tmp_path / "reports" / "latest"


def test_every_suite_on_smoke_finds_the_clean_reference_system_ready(tmp_path: Path) -> None:
    result, latest = smoke_run(tmp_path, "--claims", str(REFSYS_CLAIMS))  # and verifies what the refsys claims
    document = json.loads((latest / "readiness.json").read_text())
    assert compare(BASELINE["clean"], document) == [], "the report differs from main's"
    assert result.returncode == ExitCode.READY, result.stdout[-6000:] + result.stderr[-3000:]
    jsonschema.validate(document, exported_schema())
    run = RunResult.model_validate(document)
    assert run.verdict == Verdict.READY and run.trigger == "cli"
    assert [suite.name for suite in run.suites] == ["load", "kubernetes", "contract", "security", "chaos"]
    kubernetes = next(suite for suite in run.suites if suite.name == "kubernetes")  # no cluster here: says so
    assert kubernetes.checks and all(c.status == Status.NOT_APPLICABLE and "--platform kind" in c.message
                                     for c in kubernetes.checks), kubernetes.checks
    for suite in run.suites:
        assert suite.checks, f"{suite.name} recorded no checks"
        assert suite.finished_at is not None and suite.started_at < suite.finished_at <= run.finished_at
    assert run.timeline, "chaos injections are on the report's timeline"
    assert all(fault.ended_at is not None and fault.rolled_back for fault in run.timeline), run.timeline
    assert {"load", "contract", "security", "chaos"} <= {p.name for p in (latest / "logs").iterdir()}
    html = (latest / "readiness.html").read_text()
    assert "READY" in html and html.count("<svg") >= 4  # load and chaos: latency + throughput each
    assert (latest / "findings.sarif").is_file() and (latest / "junit.xml").is_file()
    assert_clean_refsys_claims(run, result.stdout)  # what the reference system claims, verified
    assert html.index('id="claims"') < html.index('class="cards"')


def test_two_defects_give_the_same_report_as_on_main(tmp_path: Path) -> None:
    result, latest = smoke_run(tmp_path, "--defects", "bola,slow_endpoint")
    document = json.loads((latest / "readiness.json").read_text())
    assert compare(BASELINE["defects"], document) == [], "the report differs from main's"
    assert result.returncode == ExitCode.NOT_READY, result.stdout[-6000:] + result.stderr[-3000:]
    sarif = json.loads((latest / "findings.sarif").read_text())
    assert "security.authz.bola" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
