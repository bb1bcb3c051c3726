"""The contract suite against a second, unrelated OpenAPI app: nothing in it is refsys-specific.

``inventory_app`` has one known bug (``POST /items`` divides by ``quantity``; 0 is schema-valid).
The suite runs as a user runs it: ``pytest suites/contract --target-url ...`` in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from harness.contract import ContractProfile, findings, run_contract
from harness.contract.replay import identity_named_in, login_token, replay_curl
from tests.contract.conftest import REPO

pytestmark = pytest.mark.integration
KNOWN_BUG = "contract.post_items.not_a_server_error"
# a short profile for the tests that only need the bug found, not every phase
SHORT_PROFILE = "max_time_s: 6\nbudget_s: 15\nmax_examples: 15\nphases: [fuzzing, stateful]\ninclude_noise: [common]\n"


def run_suite(report_dir: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``pytest suites/contract ARGS`` → the finished process and the run folder it wrote."""
    before = set(report_dir.glob("*/readiness.json"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/contract", "-q", "-p", "no:cacheprovider",
         "--report-dir", str(report_dir), *args],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    written = [p.parent for p in set(report_dir.glob("*/readiness.json")) - before if p.parent.name != "latest"]
    assert len(written) == 1, done.stdout[-3000:] + done.stderr[-2000:]
    return done, written[0]


def contract_suite(run_dir: Path) -> dict:
    report = json.loads((run_dir / "readiness.json").read_text())
    return next(s for s in report["suites"] if s["name"] == "contract")


@pytest.fixture
def short_profile(tmp_path: Path) -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_PROFILE)
    return path


@pytest.mark.slow
def test_suite_via_target_url_finds_the_known_bug_with_a_replayable_curl(
    inventory_app, inventory_identities_file: Path, tmp_path: Path
) -> None:
    target = inventory_app()
    done, run_dir = run_suite(tmp_path / "reports", "--target-url", target.base_url,
                              "--identities", str(inventory_identities_file), "--seed", "7")
    assert done.returncode == 1, done.stdout[-3000:]  # not ready: the bug blocks
    assert "seed 7 (replay with --seed 7)" in done.stdout
    contract = contract_suite(run_dir)
    failing = {c["id"] for c in contract["checks"] if c["status"] == "fail"}
    assert KNOWN_BUG in failing
    assert next(c for c in contract["checks"] if c["id"] == "contract.spec.valid")["status"] == "pass"
    assert (run_dir / "contract" / "hypothesis-db").is_dir()

    # the bug is one finding, however many times and with whatever input types the fuzzer hit it
    (bug,) = [f for f in contract["findings"] if f["check_id"] == KNOWN_BUG]
    assert bug["evidence"]["measured"]["occurrences"] >= 1
    sample = bug["evidence"]["samples"][0]
    assert sample["status_code"] == 500 and sample["response_excerpt"].strip()

    # CI sees it: junit.xml has the operation × check as a failing test case
    cases = {case.get("name"): case for case in ET.parse(run_dir / "junit.xml").getroot().iter("testcase")}
    assert cases[KNOWN_BUG].find("failure") is not None
    assert cases["contract.get_items_item_id.not_a_server_error"].find("failure") is None

    identity = identity_named_in(bug["evidence"]["curl"], target)
    assert identity is not None
    steps = replay_curl(bug["evidence"]["curl"], token=login_token(target, identity))
    assert steps[-1].status == 500, bug["evidence"]["curl"]


@pytest.mark.slow
def test_the_same_seed_replays_the_previous_runs_database_and_finds_the_same_defects(
    inventory_app, inventory_identities_file: Path, short_profile: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    fingerprints, measured = [], []
    for _ in range(2):  # a fresh app each time, so both runs meet the same state
        target = inventory_app()
        done, run_dir = run_suite(reports, "--target-url", target.base_url, "--identities",
                                  str(inventory_identities_file), "--seed", "7", "--profile", str(short_profile))
        contract = contract_suite(run_dir)
        fingerprints.append({f["fingerprint"] for f in contract["findings"]})
        measured.append(next(c for c in contract["checks"] if c["id"] == "contract.engine.run")["evidence"]["measured"])
    first_run_db = measured[0]["replayed_database"]
    assert first_run_db is None and measured[1]["replayed_database"], measured  # the second run reused the first's
    assert "replaying the database of" in done.stdout
    assert measured[1]["workers"] == 1
    assert fingerprints[0] == fingerprints[1] and fingerprints[0], fingerprints


def test_the_openapi_document_can_come_from_a_file(
    inventory_app, inventory_identities_file: Path, short_profile: Path, tmp_path: Path
) -> None:
    target = inventory_app()
    spec_file = tmp_path / "inventory-openapi.json"
    spec_file.write_text(httpx.get(f"{target.base_url}/openapi.json", timeout=10).text)
    done, run_dir = run_suite(tmp_path / "reports", "--target-url", target.base_url, "--identities",
                              str(inventory_identities_file), "--profile", str(short_profile),
                              "--openapi-url", f"file://{spec_file}")
    contract = contract_suite(run_dir)
    loadable = next(c for c in contract["checks"] if c["id"] == "contract.spec.loadable")
    assert loadable["status"] == "pass" and loadable["evidence"]["measured"]["location"] == str(spec_file)
    assert KNOWN_BUG in {c["id"] for c in contract["checks"] if c["status"] == "fail"}, done.stdout[-3000:]


def test_a_missing_openapi_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/contract", "-q", "-p", "no:cacheprovider", "--report-dir",
         str(tmp_path), "--target-url", "http://127.0.0.1:9", "--openapi-url", str(tmp_path / "nope.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 4
    assert f"no OpenAPI file at {tmp_path / 'nope.json'}" in done.stderr and "Traceback" not in done.stderr


def test_expired_tokens_are_refreshed_by_logging_in_again(inventory_app, tmp_path: Path) -> None:
    logins = tmp_path / "logins.txt"
    target = inventory_app(TOKEN_TTL_S="1.5", LOGINS_FILE=str(logins))
    profile = ContractProfile(name="refresh", max_time_s=6, max_examples=10, phases=["fuzzing"],
                              checks=["not_a_server_error", "ignored_auth"])
    run = run_contract(target, profile, out_dir=tmp_path / "contract", seed=11)
    print(run.summary())
    per_user = logins.read_text().splitlines() if logins.exists() else []
    assert per_user.count("ada@inventory.test") >= 2, per_user  # logged in again after the token expired
    # past expiry the requests still reached the handler (the 500 needs a valid token to happen)
    assert any(f.check_id == KNOWN_BUG for f in findings(run)), run.summary()
