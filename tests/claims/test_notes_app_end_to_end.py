"""End to end on a system the harness does not ship: the notes app of tests/security, with a status report
written for it (tests/claims/notes_status.md).

``harness claims extract`` drafts the claims file, ``harness run --claims`` runs the security suite against
the app (started here with two flaws and a limit of 10 requests per 2 s where the report claims 5), and the
report's Claims section refutes exactly the claims the app breaks, with what was measured, and verifies the
ones it keeps. The run's verdict comes from the suite's own checks: claim-only checks never block it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.model import ClaimVerdict, RunResult
from tests.security.notes_app import make_app, serve, target_for

pytestmark = pytest.mark.integration  # the app in a thread and one security suite run: ~30-60 s

REPO = Path(__file__).resolve().parents[2]
STATUS = Path(__file__).with_name("notes_status.md")
FLAWS = {"sqli", "cors_lookalike"}
RATE_LIMIT = (10, 2.0)  # the report claims 5 per 2 s


def harness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=400)


@pytest.fixture(scope="module")
def notes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], RunResult, Path]:
    work = tmp_path_factory.mktemp("notes")
    env = {**os.environ, "HARNESS_STATE_DIR": str(work / "state")}
    extracted = harness("claims", "extract", str(STATUS), "-o", str(work / "claims.yaml"), cwd=REPO, env=env)
    assert extracted.returncode == 0, extracted.stderr
    with serve(make_app(FLAWS, sessions=True, rate_limit=RATE_LIMIT)) as base_url:
        target = target_for(base_url)
        identities = {name: i.model_dump(exclude={"name"}) for name, i in target.identities.items()}
        (work / "identities.yaml").write_text(yaml.safe_dump(identities))
        run = harness("run", "--suite", "security", "--target-url", base_url, "--identities",
                      str(work / "identities.yaml"), "--claims", str(work / "claims.yaml"), "--report-dir",
                      str(work / "reports"), cwd=REPO, env=env)
    report = RunResult.model_validate_json((work / "reports" / "latest" / "readiness.json").read_text())
    return run, report, work


def verdicts(report: RunResult) -> dict[int, ClaimVerdict]:
    return {int(c.source.rsplit(":", 1)[1]): c.verdict for c in report.claims}


def by_line(report: RunResult, line: int):  # type: ignore[no-untyped-def]
    return next(c for c in report.claims if c.source.endswith(f":{line}"))


def test_the_claims_the_app_breaks_are_refuted_with_measured_values(notes_run):
    _run, report, _ = notes_run
    found = verdicts(report)
    refuted = sorted(line for line, v in found.items() if v is ClaimVerdict.REFUTED)
    assert refuted == [10, 11, 12, 20], [(c.source, c.verdict.value, c.reason) for c in report.claims]
    rate = by_line(report, 10)  # "Rate limiting (5 req/2s/user)": the app admits 10
    assert rate.claimed["rate_limit"]["limit"] == 5
    assert rate.measured["security.ratelimit.enforced"]["accepted_before_429"] == 10  # every request sent, vs 5
    assert "never a 429 (claim: 5 per 2 s)" in rate.reason
    referrer = by_line(report, 20)  # claims strict-origin-when-cross-origin, sends no-referrer
    assert referrer.measured["security.headers.claimed"]["actual"] == {"referrer-policy": "no-referrer"}
    cors = by_line(report, 12)
    assert "look-alike origin" in cors.reason and cors.checks == ["security.cors.allowlist"]
    assert "security.injection.sqli" in by_line(report, 11).checks


def test_the_claims_it_keeps_are_verified_and_the_rest_say_why_not(notes_run):
    _run, report, _ = notes_run
    found = verdicts(report)
    assert sorted(line for line, v in found.items() if v is ClaimVerdict.VERIFIED) == [13, 18, 19, 24, 26]
    assert by_line(report, 26).measured["security.auth.bruteforce"]["throttled_at"] == 6  # locked after 5 failures
    expiry = by_line(report, 25)  # token_lifetime 300 s <= 5 min, but waiting 305 s for expiry exceeds smoke
    assert expiry.verdict is ClaimVerdict.INCONCLUSIVE and "security.auth.expired skipped" in expiry.reason
    assert by_line(report, 25).measured["security.auth.token_lifetime"]["lifetime_s"] == 300
    latency = by_line(report, 29)
    assert latency.verdict is ClaimVerdict.INCONCLUSIVE and "the load suite did not run" in latency.reason
    for line, words in ((14, "encryption at rest"), (32, "auditor"), (33, "this run used the external platform")):
        assert by_line(report, line).verdict is ClaimVerdict.UNTESTED and words in by_line(report, line).reason


def test_the_verdict_is_the_suites_own_and_claims_show_in_every_output(notes_run):
    run, report, work = notes_run
    assert run.returncode == 1 and report.verdict.value == "not_ready"  # the flaws, found by the suite itself
    blocking = {c.id for c in report.all_checks() if c.blocks}
    assert "security.injection.sqli" in blocking
    claim_only = [c for c in report.all_checks() if c.claim_only]
    assert {c.id for c in claim_only} >= {"security.headers.claimed", "security.ratelimit.enforced"}
    assert not any(c.blocks for c in claim_only)
    assert report.gate is not None and not any("refuted claim" in line for line in report.gate.blocking)
    assert any("refuted claim" in line for line in report.gate.warnings)  # shown; a policy may block on them
    findings = {f.check_id for f in report.all_findings()}
    assert "security.headers.claimed" not in findings  # claim checks decide claims, they are no findings
    assert "claims: 5 verified · 4 refuted · 2 inconclusive" in run.stdout  # the terminal's one line
    html = (work / "reports" / "latest" / "readiness.html").read_text()
    assert html.index('id="claims"') < html.index('class="cards"')  # first after the verdict banner
    assert html.count('class="claim refuted"') == 4 and 'href="#check-security-' in html
    document = json.loads((work / "reports" / "latest" / "readiness.json").read_text())
    assert {c["verdict"] for c in document["claims"]} == {"verified", "refuted", "inconclusive", "untested"}
