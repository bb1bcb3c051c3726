"""The contract suite against the reference system: clean passes, each contract defect is found.

Each defect must be found within the smoke budget, and its curl reproduction, replayed with a
fresh token, must show the failure again on the defective system and not on a clean one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contract import ContractRun, all_checks, findings, load_contract_profile, run_contract
from harness.contract.replay import ReplayedStep, identity_named_in, login_token, replay_curl, schema_violation
from harness.model import Finding, Status
from harness.platforms.base import Target
from tests.claims.refsys_claims import assert_refuted, claim_results, refsys_claims

CLAIMS = refsys_claims()
CONTRACT_CLAIMS = [c.id for c in CLAIMS.testable() if all(p.startswith("contract.") for p in c.verify)]

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SEED = 20240601
BUDGET_OVERRUN_S = 5  # requests in flight when the harness stops the engine at the budget


def test_clean_reference_system_passes_the_smoke_budget(refsys, tmp_path: Path) -> None:
    target = refsys()
    run = run_contract(target, load_contract_profile("smoke"), out_dir=tmp_path / "contract", seed=SEED)
    checks = all_checks(run)
    failing = [f"{c.id}: {c.message}\n{c.evidence.curl}" for c in checks if c.is_failure]
    assert not failing, run.summary() + "\n" + "\n".join(failing)
    results = claim_results(checks, CLAIMS)
    assert {cid: results[cid].verdict.value for cid in CONTRACT_CLAIMS} == dict.fromkeys(CONTRACT_CLAIMS, "verified")
    by_id = {c.id: c for c in checks}
    engine = by_id["contract.engine.run"].evidence.measured
    assert engine["running_time_s"] <= engine["budget_s"] + BUDGET_OVERRUN_S
    assert engine["target_noise_files"] and engine["target_noise_files"][0].endswith("targets/refsys.yaml")
    # negative mode ran: invalid inputs were sent and rejected
    rejected = [c for c in checks if c.id.endswith(".negative_data_rejection") and c.status == Status.PASS]
    assert rejected and all(c.evidence.measured["passed"] > 0 for c in rejected), [c.id for c in rejected]
    # the stateful phase followed the document's links
    assert by_id["contract.spec.links"].status == Status.PASS
    assert engine["stateful_steps"] > 0 and engine["linked_steps"] > 0, engine


def replay(curl: str, target: Target) -> list[ReplayedStep]:
    """Run the reproduction against ``target`` (its URL swapped in) with a fresh token of the identity it names."""
    identity = identity_named_in(curl, target)
    return replay_curl(curl, token=login_token(target, identity) if identity else None)


@pytest.mark.parametrize(("defect", "failing_check"), [
    ("contract_drift", "response_schema_conformance"),
    ("500_on_edge_input", "not_a_server_error"),
])
def test_contract_defect_is_found_and_its_curl_reproduces_it_only_on_the_defective_system(
    refsys, tmp_path: Path, defect: str, failing_check: str
) -> None:
    target = refsys(defect)
    # tokens before fuzzing: the replay then needs no login while the fuzzer may still be hammering /auth/login
    tokens = {name: login_token(target, identity) for name, identity in target.identities.items()}
    profile = load_contract_profile("smoke")
    run = run_contract(target, profile, out_dir=tmp_path / "contract", seed=SEED)
    engine = next(c for c in all_checks(run) if c.id == "contract.engine.run").evidence.measured
    assert engine["running_time_s"] <= profile.run_budget_s + BUDGET_OVERRUN_S, engine  # found within the budget
    found = [f for f in findings(run) if f.check_id.endswith(f".{failing_check}")]
    assert found, f"{defect} not found: {run.summary()}"
    finding = found[0]
    check = next(c for c in all_checks(run) if c.id == finding.check_id)
    assert check.status == Status.FAIL and check.evidence.curl
    assert_refuted(claim_results(all_checks(run), CLAIMS), defect)  # the claim of refsys.yaml it breaks
    curl = finding.evidence.curl or ""
    identity = identity_named_in(curl, target)
    steps = replay_curl(curl, token=tokens[identity.name] if identity else None)
    assert steps and steps[-1].status == finding.evidence.samples[0].status_code, f"replay gave {steps}:\n{curl}"
    assert shows_the_defect(run, finding, steps[-1]), f"replay did not show {failing_check}: {steps[-1]}\n{curl}"

    clean = refsys()  # the same reproduction against a clean system: the request is fine, the answer conforms
    clean_steps = replay(curl.replace(target.base_url, clean.base_url), clean)
    assert clean_steps and not shows_the_defect(run, finding, clean_steps[-1]), f"clean replay: {clean_steps}\n{curl}"


def shows_the_defect(run: ContractRun, finding: Finding, step: ReplayedStep) -> bool:
    """Does this replayed answer fail the finding's check again (judged from the answer alone)?"""
    if finding.check_id.endswith(".not_a_server_error"):
        return step.status >= 500
    if finding.check_id.endswith(".response_schema_conformance"):
        return schema_violation(run.spec.schema, finding.location, step) is not None
    raise AssertionError(f"no replay judgement for {finding.check_id}")
