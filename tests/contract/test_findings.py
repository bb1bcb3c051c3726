"""Findings: fingerprints ignore values but not shapes, repeats merge, curl reproductions stay replayable."""

from __future__ import annotations

import schemathesis

from harness.contract.chain import chained_reproduction
from harness.contract.findings import (
    FailureRecord,
    case_keys,
    case_shape,
    merge_duplicates,
    replayable_curl,
    to_finding,
)
from harness.model import Severity

SPEC = {
    "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
    "paths": {"/items": {"post": {
        "parameters": [{"name": "X-Trace", "in": "header", "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "quantity": {"type": "integer"}}}}}},
        "responses": {"201": {"description": "created"}}}}},
}


def operation():
    schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict({"base-url": "http://127.0.0.1:1"}))
    return schema["/items"]["POST"]


def record(curl: str = "curl -X POST http://127.0.0.1:1/items", keys: str = "body={quantity}", **kw) -> FailureRecord:
    fields = dict(operation="POST /items", check="not_a_server_error", code="ST101", title="Server error",
                  message="", severity="critical", phase="fuzzing", curl_steps=[curl], identity="ada",
                  input_shape="body={quantity:integer}", input_keys=keys, status_code=500,
                  response_excerpt="Internal Server Error", elapsed_ms=3.0)
    fields.update(kw)
    return FailureRecord(**fields)


def test_shape_keeps_declared_structure_and_drops_values_and_junk() -> None:
    op = operation()
    zero = op.Case(body={"name": "a", "quantity": 0}, headers={"X-Trace": "1", "Authorization": "Bearer s"})
    other = op.Case(body={"name": "zzz", "quantity": 7, "\x1djunk": [1]}, headers={"x-trace": "2", "gN6!": "x"})
    assert case_shape(zero) == "headers=x-trace;body={name:string,quantity:integer}"
    assert case_shape(other) == "headers=x-trace,+undeclared;body={name:string,quantity:integer,+undeclared}"
    assert case_shape(op.Case(body={"name": "a", "quantity": False})) == "body={name:string,quantity:boolean}"
    # the fingerprint's part: the same declared names, whatever their values, types or generated extras
    assert case_keys(zero) == case_keys(other) == "headers=x-trace;body={name,quantity}"
    assert case_keys(op.Case(body={"quantity": 0})) == "body={quantity}"


def test_repeats_of_one_defect_merge_and_the_shortest_reproduction_wins() -> None:
    long_chain = record(curl="curl -X POST http://127.0.0.1:1/items -d 2", phase="stateful")
    long_chain.curl_steps.insert(0, "curl -X GET http://127.0.0.1:1/items")
    merged = merge_duplicates([long_chain, record(), record(status_code=400)])
    assert len(merged) == 2  # a 400 is another defect than a 500
    five_hundred = next(r for r in merged if r.status_code == 500)
    assert five_hundred.occurrences == 2 and len(five_hundred.curl_steps) == 1


def test_fingerprint_is_stable_and_ignores_everything_but_identity_of_the_defect() -> None:
    assert record().fingerprint() == record(curl="curl other values", phase="coverage", elapsed_ms=9.0,
                                            input_shape="body={quantity:boolean,+undeclared}").fingerprint()
    assert record().fingerprint() != record(check="status_code_conformance").fingerprint()
    assert record().fingerprint() != record(keys="body={name}").fingerprint()


def test_a_real_failure_is_never_absorbed_into_known_noise_with_the_same_fingerprint() -> None:
    noise = record(check="status_code_conformance", status_code=400, noise_reason="framework 400 on a non-JSON body")
    real = record(check="status_code_conformance", status_code=400, curl="curl -X POST http://127.0.0.1:1/items -d x")
    assert noise.fingerprint() == real.fingerprint()
    merged = merge_duplicates([noise, real, record(check="status_code_conformance", status_code=400)])
    defects = [r for r in merged if r.noise_reason is None]
    assert len(merged) == 2 and len(defects) == 1 and defects[0].occurrences == 2


def test_curl_gets_a_token_placeholder_and_cookie_flag_that_survive_redaction() -> None:
    curl = "curl -X GET -H 'Authorization: [Filtered]' -H 'Cookie: sid=[Filtered]' http://127.0.0.1:1/me"
    replayable = replayable_curl(curl, "ada")
    assert replayable.splitlines()[0] == "# log in as ada and export HARNESS_TOKEN=<access_token>"
    assert '-H "Authorization: Bearer $HARNESS_TOKEN"' in replayable and "-b 'sid=[Filtered]'" in replayable
    finding = to_finding(record(curl=replayable), "contract.post_items.not_a_server_error")
    assert finding.evidence.curl == replayable  # the model's secret redaction leaves it intact
    assert finding.severity == Severity.HIGH and finding.cwe == ["CWE-755"]


def test_security_checks_carry_owasp_and_cwe() -> None:
    finding = to_finding(record(check="ignored_auth", severity="critical"), "contract.post_items.ignored_auth")
    assert finding.owasp == ["API2:2023 Broken Authentication"] and finding.cwe == ["CWE-287"]


def test_a_linked_failure_replays_its_parent_and_captures_the_id_it_used() -> None:
    create = "# log in as ada and export HARNESS_TOKEN=<access_token>\ncurl -X POST -d '{\"name\": \"a\"}' http://h/items"
    read = "curl -X GET http://h/items/it_0123456789"
    curls = chained_reproduction([(create, '{"id": "it_0123456789", "name": "a"}'), (read, None)])
    assert curls[0].splitlines()[0].startswith("# log in as ada")
    assert "STEP1_BODY=$(curl -X POST" in curls[0]  # a plain curl: the replay's recording curl() sees it too
    assert """STEP1_0=$(printf '%s' "$STEP1_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')""" in curls[0]
    assert curls[1] == 'curl -X GET http://h/items/"${STEP1_0}"'


def test_a_delete_on_another_path_earlier_in_the_scenario_is_a_condition_noise_rules_can_name():
    """Schemathesis infers DELETE /admin/analyses/{id} from POST /analyses; a later 404 on GET /analyses/{id}
    after that 204 is correct behaviour, not "created resource not found" (the profile's rule says so)."""
    from types import SimpleNamespace as NS

    from harness.contract.conditions import deleted_through_another_path, scenario_conditions

    def case(case_id, method, path_parameters):
        return NS(id=case_id, operation=NS(method=method), path_parameters=path_parameters)

    post = case("a", "POST", {})
    admin_delete = case("b", "DELETE", {"analysis_id": "an_0123456789"})
    get = case("c", "GET", {"analysis_id": "an_0123456789"})
    statuses = {"a": 201, "b": 204, "c": 404}

    def recorder(cases):
        return NS(find_all_cases=lambda: cases,
                  find_response=lambda case_id: NS(status_code=statuses[case_id]))

    assert deleted_through_another_path(recorder([post, admin_delete, get]), "c", get)
    assert scenario_conditions(recorder([post, admin_delete, get]), "c", get) == ["resource_deleted_earlier"]
    assert not deleted_through_another_path(recorder([post, get, admin_delete]), "c", get)  # deleted after
    statuses["b"] = 403
    assert not deleted_through_another_path(recorder([post, admin_delete, get]), "c", get)  # delete refused
