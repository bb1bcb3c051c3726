"""Replaying a reproduction returns every step's status and body, and the body is judged against the spec."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis

from harness.contract.chain import chained_reproduction
from harness.contract.replay import ReplayedStep, replay_curl, schema_violation
from tests.stand_in import Reply, Request, stand_in

THING = {"type": "object", "required": ["id", "created_at"],
         "properties": {"id": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}
SPEC = {
    "openapi": "3.0.3", "info": {"title": "things", "version": "1"},
    "paths": {"/things/{thing_id}": {"get": {
        "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the thing", "content": {"application/json": {"schema": THING}}}}}}},
}


def things(request: Request) -> Reply:
    """POST /things creates th_0123456789; GET /things/th_0123456789 reads it (created_at drifts to a number)."""
    if request.method == "POST":
        return Reply(201, {"id": "th_0123456789", "created_at": "2024-06-01T00:00:00Z"})
    if request.path == "/things/th_0123456789" and request.headers.get("authorization") == "Bearer t0k3n":
        return Reply(200, {"id": "th_0123456789", "created_at": 1717200000})
    return Reply(404, {"detail": "no such thing"})


@pytest.fixture
def things_url() -> Iterator[str]:
    with stand_in(things) as url:
        yield url


def test_a_chained_reproduction_replays_every_step_with_its_body(things_url: str) -> None:
    create = f"curl -X POST {things_url}/things"
    read = f"curl -X GET -H \"Authorization: Bearer $HARNESS_TOKEN\" {things_url}/things/th_0123456789"
    curls = chained_reproduction([(create, '{"id": "th_0123456789"}'), (read, None)])
    steps = replay_curl("\n".join(curls), token="t0k3n")
    assert [step.status for step in steps] == [201, 200]
    assert json.loads(steps[0].body)["id"] == "th_0123456789"
    assert json.loads(steps[1].body)["created_at"] == 1717200000  # read with the id captured from step 1
    assert steps[1].content_type == "application/json"
    assert [s.status for s in replay_curl(read, token="wrong")] == [404]


def test_a_replayed_body_is_validated_against_the_operations_response_schema() -> None:
    schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict({"base-url": "http://127.0.0.1:1"}))
    drifted = ReplayedStep(200, "application/json", '{"id": "th_0123456789", "created_at": 1717200000}')
    conforming = ReplayedStep(200, "application/json", '{"id": "th_0123456789", "created_at": "2024-06-01T00:00:00Z"}')
    assert "1717200000 is not of type \"string\"" in (schema_violation(schema, "GET /things/{thing_id}", drifted) or "")
    assert schema_violation(schema, "GET /things/{thing_id}", conforming) is None
    with pytest.raises(LookupError):
        schema_violation(schema, "GET /nowhere", conforming)


def test_no_response_is_status_zero() -> None:
    assert [s.status for s in replay_curl("curl -X GET http://127.0.0.1:9/unreachable")] == [0]
