"""The document is judged before fuzzing: each spec problem is a failing check, an unusable spec stops the run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import schemathesis

from harness.contract import ContractProfile, all_checks, run_contract
from harness.contract.document import load_spec
from harness.model import Status
from harness.platforms.base import Target

PROFILE = ContractProfile(name="unit", max_time_s=2, phases=["examples"])


def operation(operation_id: str, responses: dict) -> dict:
    return {"operationId": operation_id, "responses": responses}


FLAWED = {
    "openapi": "3.0.3",
    "info": {"title": "flawed", "version": "1"},
    "paths": {
        "/a": {"get": operation("listThings", {"200": {"description": "ok"}})},
        "/b": {"get": operation("listThings", {"200": {"description": "ok"}}),  # the same operationId again
               "delete": operation("dropB", {"404": {"description": "only failure is documented"}})},
        "/c": {"get": {**operation("getC", {"200": {"description": "ok"}}),
                       "parameters": [{"name": "q", "in": "nowhere", "schema": {"type": "string"}}]}},  # invalid `in`
    },
}


def verdicts(document: dict, tmp_path: Path) -> dict[str, tuple[bool | None, str]]:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    report = load_spec(path, schemathesis.Config.from_dict({"base-url": "http://127.0.0.1:1"}))
    return {v.check: (v.ok, v.message) for v in report.verdicts}


def test_each_problem_of_a_flawed_document_is_its_own_failing_verdict(tmp_path: Path) -> None:
    found = verdicts(FLAWED, tmp_path)
    assert found["loadable"][0] is True
    assert found["unique_operation_ids"] == (False, "duplicated operationIds: listThings")
    assert found["success_documented"] == (False, "no 2xx response documented for DELETE /b")
    assert found["valid"][0] is False and found["valid"][1].startswith("at /paths/~1c/get/parameters/0: ")


def test_a_sound_document_passes_every_verdict(tmp_path: Path) -> None:
    sound = {**FLAWED, "paths": {"/a": {"get": operation("listThings", {"200": {"description": "ok"}})}}}
    found = verdicts(sound, tmp_path)
    assert {check: ok for check, (ok, _) in found.items()} == {
        "loadable": True, "valid": True, "success_documented": True, "unique_operation_ids": True,
        "links": None}  # no links: not applicable, stated as such


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("where", ["url", "file"])
def test_an_unreachable_document_fails_loadable_and_the_engine_check_errors(tmp_path: Path, where: str) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    openapi = f"{base}/openapi.json" if where == "url" else str(tmp_path / "missing.json")
    run = run_contract(Target(base_url=base, openapi_url=openapi), PROFILE, out_dir=tmp_path / "contract", seed=1)
    checks = {c.id: c for c in all_checks(run)}
    assert checks["contract.spec.loadable"].status == Status.FAIL
    assert checks["contract.engine.run"].status == Status.ERROR
    assert "could not run" in checks["contract.engine.run"].message
    assert set(checks) == {"contract.spec.loadable", "contract.engine.run"}  # nothing fuzzed, nothing claimed
