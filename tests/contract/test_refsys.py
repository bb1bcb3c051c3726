"""The contract suite against the reference system: clean passes, each contract defect is found.

Each defect must be found within the smoke budget, and its curl reproduction, replayed against
the live target with a fresh token, must show the failure again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contract import all_checks, findings, load_contract_profile, run_contract
from harness.contract.replay import identity_named_in, login_token, replay_curl
from harness.model import Status

pytestmark = pytest.mark.integration
SEED = 20240601


def test_clean_reference_system_passes_the_smoke_budget(refsys, tmp_path: Path) -> None:
    target = refsys()
    run = run_contract(target, load_contract_profile("smoke"), out_dir=tmp_path / "contract", seed=SEED)
    failing = [f"{c.id}: {c.message}\n{c.evidence.curl}" for c in all_checks(run) if c.is_failure]
    assert not failing, run.summary() + "\n" + "\n".join(failing)
    assert run.phases.get("stateful") in ("success", "failure")  # the links were followed
    assert run.running_time_s <= 30


@pytest.mark.parametrize(("defect", "failing_check"), [
    ("contract_drift", "response_schema_conformance"),
    ("500_on_edge_input", "not_a_server_error"),
])
def test_contract_defect_is_found_and_its_curl_reproduces_it(refsys, tmp_path: Path, defect: str,
                                                             failing_check: str) -> None:
    target = refsys(defect)
    # tokens first: fuzzing POST /auth/login trips the refsys lockout after failed logins (a feature)
    tokens = {name: login_token(target, identity) for name, identity in target.identities.items()}
    run = run_contract(target, load_contract_profile("smoke"), out_dir=tmp_path / "contract", seed=SEED)
    found = [f for f in findings(run) if f.check_id.endswith(f".{failing_check}")]
    assert found, f"{defect} not found: {run.summary()}"
    finding = found[0]
    curl = finding.evidence.curl or ""
    identity = identity_named_in(curl, target)
    token = tokens[identity.name] if identity else None
    statuses = replay_curl(curl, token=token)
    expected = finding.evidence.samples[0].status_code
    assert statuses and statuses[-1] == expected, f"replay gave {statuses}, finding saw {expected}:\n{curl}"
    if failing_check == "not_a_server_error":
        assert statuses[-1] >= 500
    check = next(c for c in all_checks(run) if c.id == finding.check_id)
    assert check.status == Status.FAIL and check.evidence.curl
