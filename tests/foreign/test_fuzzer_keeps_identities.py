"""The contract fuzzer on the tickets app, from its target file: it logs in the app's own way (JSON body
``{email, secret}``, token at ``data.jwt``), never sends the operations that would take its identities away
(``DELETE /api/v1/users/me``, ``PUT /api/v1/users/me/secret``), and says which identity was lost when the
user switches that protection off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foreign import tickets_app
from tests.foreign.conftest import checks, run_harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# budget_s is the harness's safety net around the engine's own 8 s: on a loaded 2-core machine starting schemathesis alone
# took over 20 s, and a deadline hit before the first event leaves nothing to assert on
PROFILE = "max_time_s: 8\nbudget_s: 90\nmax_examples: 10\nphases: [examples, fuzzing]\ninclude_noise: [common]\n"
HAZARDS = {"DELETE /api/v1/users/me", "PUT /api/v1/users/me/secret"}


def contract_check(report: dict, check_id: str) -> dict:
    return next(c for c in checks(report) if c["id"] == check_id)


def run_contract(tmp_path: Path, **fuzz: object) -> tuple[dict, tickets_app._State]:
    (tmp_path / "short.yaml").write_text(PROFILE)
    app = tickets_app.make_app()
    with tickets_app.serve(app) as base_url:
        target = {**tickets_app.target_file(base_url), **({"fuzz": fuzz} if fuzz else {})}
        _, report, output = run_harness(target, tmp_path, "--suite", "contract", "--profile",
                                        str(tmp_path / "short.yaml"), "--seed", "3")
    assert report, output
    return report, app.state.tickets


def test_the_fuzzer_logs_in_the_targets_way_and_keeps_its_identities(tmp_path: Path) -> None:
    report, state = run_contract(tmp_path)
    engine = contract_check(report, "contract.engine.run")["evidence"]["measured"]
    assert engine["phases"].get("auth_bootstrap") == "success", engine  # the WFC login of the target file worked
    assert set(engine["excluded_operations"]) == HAZARDS
    kept = contract_check(report, "contract.identities.kept")
    assert kept["status"] == "pass", kept["message"]
    assert state.deleted == set() and set(state.passwords.values()) == {tickets_app.PASSWORD}


def test_without_the_protection_the_lost_identity_is_named(tmp_path: Path) -> None:
    # only the hazard and one read (fuzz.include, Schemathesis-style patterns), so the budget reaches the hazard
    report, state = run_contract(tmp_path, keep_identities=False,
                                 include=["DELETE /api/v1/users/*", "operationId:list_tickets_api_v1_tickets_get"])
    assert state.deleted, "the fuzzer never sent DELETE /api/v1/users/me: the check below would prove nothing"
    engine = contract_check(report, "contract.engine.run")["evidence"]["measured"]
    assert engine["operations"] == 2 and engine["excluded_operations"]["PUT /api/v1/users/me/secret"] == \
        "not in fuzz.include"
    kept = contract_check(report, "contract.identities.kept")
    assert kept["status"] == "error"
    lost = kept["evidence"]["measured"]["lost"]
    emails = {fields["username"]: name for name, fields in tickets_app.identities().items()}
    assert set(lost) == {emails[email] for email in state.deleted}, (lost, state.deleted)
    assert "fuzz.exclude" in kept["message"]
