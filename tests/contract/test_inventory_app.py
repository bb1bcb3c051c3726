"""The contract suite against a second, unrelated OpenAPI app: nothing in it is refsys-specific.

``inventory_app`` has one known bug (``POST /items`` divides by ``quantity``; 0 is schema-valid).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.contract import ContractProfile, findings, run_contract
from harness.contract.replay import identity_named_in, login_token, replay_curl
from tests.contract.conftest import REPO

pytestmark = pytest.mark.integration
KNOWN_BUG = "contract.post_items.not_a_server_error"


def test_suite_via_target_url_finds_the_known_bug_with_a_replayable_curl(
    inventory_app, inventory_identities_file: Path, tmp_path: Path
) -> None:
    target = inventory_app()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/contract", "-q", "-p", "no:cacheprovider",
         "--target-url", target.base_url, "--identities", str(inventory_identities_file),
         "--report-dir", str(tmp_path / "reports"), "--seed", "7"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stdout[-3000:]  # not ready: the bug blocks
    assert "seed 7 (replay with --seed 7)" in done.stdout
    (run_dir,) = [p.parent for p in (tmp_path / "reports").glob("*/readiness.json") if p.parent.name != "latest"]
    report = json.loads((run_dir / "readiness.json").read_text())
    contract = next(s for s in report["suites"] if s["name"] == "contract")
    failing = {c["id"] for c in contract["checks"] if c["status"] == "fail"}
    assert KNOWN_BUG in failing
    assert next(c for c in contract["checks"] if c["id"] == "contract.spec.valid")["status"] == "pass"
    assert (run_dir / "contract" / "hypothesis-db").is_dir()

    bug = next(f for f in contract["findings"] if f["check_id"] == KNOWN_BUG)
    assert len({f["fingerprint"] for f in contract["findings"]}) == len(contract["findings"])  # deduplicated
    identity = identity_named_in(bug["evidence"]["curl"], target)
    assert identity is not None
    statuses = replay_curl(bug["evidence"]["curl"], token=login_token(target, identity))
    assert statuses[-1] == 500, bug["evidence"]["curl"]


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
