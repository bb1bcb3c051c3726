"""The authorization matrix and the docs policy against a small owner-checked "records" API, and the notes app.

Records belong to their creator: other users - of the same tenant too - get 404. Two switches break it:
``tenant_only`` checks the tenant but not the owner (a same-tenant user reads and edits alice's records),
``writes`` checks reads but not PUT/DELETE (write-only BOLA, invisible to a GET-only matrix).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from harness.platforms.base import Identity, Target
from harness.policy import SecurityPolicy
from harness.security.catalog import Outcome
from harness.security.context import ProbeContext
from harness.security.probes import authz, errors
from tests.security.notes_app import make_app, serve, target_for

PASSWORD = "records-pw"
USERS = {  # username -> (tenant, role)
    "alice@acme.test": ("acme", "user"),
    "carol@acme.test": ("acme", "user"),
    "bob@globex.test": ("globex", "user"),
    "root@acme.test": ("acme", "admin"),
}
FLAWS = {"tenant_only", "writes"}


class Login(BaseModel):
    username: str
    password: str


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=200)


class Record(BaseModel):
    id: str
    text: str


def make_records_app(flaws: frozenset[str] = frozenset()) -> FastAPI:
    assert flaws <= FLAWS, f"unknown flaws {flaws - FLAWS}"
    app = FastAPI(title="records")  # /docs stays on: the docs-exposure test needs it
    records: dict[str, dict[str, str]] = {}
    ids = itertools.count(1)
    bearer = HTTPBearer()

    def caller(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> str:
        username = credentials.credentials.removeprefix("token-")
        if username not in USERS:
            raise HTTPException(401, "bad token")
        return username

    def allowed(record: dict[str, str], username: str, *, write: bool) -> bool:
        if write and "writes" in flaws:
            return True
        tenant, role = USERS[username]
        same_tenant = USERS[record["owner"]][0] == tenant
        return same_tenant and (role == "admin" or "tenant_only" in flaws or record["owner"] == username)

    def owned(record_id: str, username: str, *, write: bool = False) -> dict[str, str]:
        record = records.get(record_id)
        if record is None or not allowed(record, username, write=write):
            raise HTTPException(404, "no such record")
        return record

    @app.post("/auth/login")
    def login(body: Login) -> dict[str, str]:
        if body.username not in USERS or body.password != PASSWORD:
            raise HTTPException(401, "bad credentials")
        return {"access_token": f"token-{body.username}"}

    @app.post("/records", status_code=201, response_model=Record)
    def create(body: RecordIn, username: str = Depends(caller)) -> Record:
        record_id = f"r{next(ids)}"
        records[record_id] = {"id": record_id, "text": body.text, "owner": username}
        return Record(id=record_id, text=body.text)

    @app.get("/records", response_model=list[Record])
    def listing(username: str = Depends(caller)) -> list[Record]:
        return [Record(**r) for r in records.values() if allowed(r, username, write=False)]

    @app.get("/records/{record_id}", response_model=Record)
    def read(record_id: str, username: str = Depends(caller)) -> Record:
        return Record(**owned(record_id, username))

    @app.put("/records/{record_id}", response_model=Record)
    def update(record_id: str, body: RecordIn, username: str = Depends(caller)) -> Record:
        record = owned(record_id, username, write=True)
        record["text"] = body.text
        return Record(**record)

    @app.delete("/records/{record_id}", status_code=204)
    def delete(record_id: str, username: str = Depends(caller)) -> Response:
        owned(record_id, username, write=True)
        del records[record_id]
        return Response(status_code=204)

    return app


def records_target(base_url: str) -> Target:
    identities = {name.split("@")[0]: Identity(name=name.split("@")[0], username=name, password=PASSWORD,
                                               tenant=tenant, role=role) for name, (tenant, role) in USERS.items()}
    return Target(base_url=base_url, openapi_url=f"{base_url}/openapi.json", identities=identities)


@pytest.fixture
def records(tmp_path) -> Iterator[Callable[..., ProbeContext]]:
    """``records(*flaws)`` -> a ProbeContext on a records API with those flaws (stopped after the test)."""
    opened = []

    def open_app(*flaws: str, policy: SecurityPolicy | None = None) -> ProbeContext:
        server = serve(make_records_app(frozenset(flaws)))
        opened.append(server)
        ctx = ProbeContext.open(records_target(server.__enter__()), run_dir=tmp_path / "-".join(flaws or ("good",)),
                                policy=policy)
        opened.append(ctx)
        return ctx

    yield open_app
    for thing in reversed(opened):
        thing.close() if isinstance(thing, ProbeContext) else thing.__exit__(None, None, None)


def by_location(outcomes: list[Outcome], rule_id: str = "security.authz.bola") -> dict[str, Outcome]:
    return {o.location: o for o in outcomes if o.id == rule_id}


def test_owner_checked_api_refuses_every_attacker_on_reads_and_writes(records):
    ctx = records()
    bola = by_location(authz.bola(ctx, []))
    assert {key: o.status.value for key, o in bola.items()} == {
        "GET /records/{record_id}": "pass", "PUT /records/{record_id}": "pass",
        "DELETE /records/{record_id}": "pass", "GET /records": "pass"}
    delete = bola["DELETE /records/{record_id}"].evidence.measured
    assert delete["owner"] == "alice"
    assert delete["attackers"] == {"bob": "other tenant globex, user", "carol": "same tenant acme, user"}
    assert delete["status_by_attacker"] == {"bob": 404, "carol": 404} and delete["fresh_object_per_attacker"]


def test_matrix_covers_writes_with_a_fresh_object_per_identity(records):
    ctx = records()
    measured = authz.matrix(ctx).evidence.measured
    table = measured["matrix"]
    assert set(table) == {"POST /records", "GET /records", "GET /records/{record_id}", "PUT /records/{record_id}",
                          "DELETE /records/{record_id}"}
    # alice's objects: she and her tenant's admin may write them, nobody else - one fresh object per cell
    expected = {"alice": 204, "carol": 404, "bob": 404, "root": 204}
    assert table["DELETE /records/{record_id}"] == expected
    assert table["PUT /records/{record_id}"] == {**expected, "alice": 200, "root": 200}
    assert measured["object_owner"] == "alice" and measured["left_out_over_cell_cap"] == []
    assert (ctx.spec_path.parent / "authz-matrix.json").is_file()


def test_same_tenant_user_on_the_owners_record_is_bola(records):
    bola = by_location(authz.bola(records("tenant_only"), []))
    read = bola["GET /records/{record_id}"]
    assert read.failed and read.evidence.measured["accepted_for"] == ["carol"]
    assert "carol (same tenant acme, user)" in read.message
    assert bola["GET /records"].failed  # carol's list shows alice's record
    assert read.evidence.curl.startswith("curl -i -X GET") and "Bearer <redacted>" in read.evidence.curl


def test_write_only_bola_is_found_on_update_and_delete(records):
    bola = by_location(authz.bola(records("writes"), []))
    assert not bola["GET /records/{record_id}"].failed and not bola["GET /records"].failed
    assert bola["PUT /records/{record_id}"].failed and bola["DELETE /records/{record_id}"].failed
    delete = bola["DELETE /records/{record_id}"]
    assert delete.evidence.measured["status_by_attacker"] == {"bob": 204, "carol": 204}
    after = [s for s in delete.evidence.samples if "reads the object after" in s.request]
    assert after and after[0].status_code == 404  # the owner's read-back: the delete really happened


def test_bola_deletes_on_the_notes_app_are_judged_per_attacker(tmp_path):
    for flaws, expected in ((set(), {"globex_user": 404}), ({"bola"}, {"globex_user": 204})):
        with serve(make_app(flaws)) as base_url:
            ctx = ProbeContext.open(target_for(base_url), run_dir=tmp_path / ("bola" if flaws else "good"))
            try:
                delete = by_location(authz.bola(ctx, []))["DELETE /notes/{note_id}"]
                table = authz.matrix(ctx).evidence.measured["matrix"]
            finally:
                ctx.close()
        assert delete.evidence.measured["status_by_attacker"] == expected
        assert delete.failed == bool(flaws)
        # the matrix's delete row: the owner and the same-tenant admin may, the other tenant only with the flaw
        assert table["DELETE /notes/{note_id}"] == {"acme_user": 204, "acme_admin": 204, **expected}


def docs_outcome(ctx: ProbeContext) -> Outcome:
    return next(o for o in errors.inventory(ctx) if o.id == "security.inventory.docs_exposure")


def test_public_docs_fail_unless_the_policy_allows_them(records):
    refused = docs_outcome(records())
    assert refused.failed and refused.location == "GET /docs"
    allowed = docs_outcome(records(policy=SecurityPolicy(docs_allowed=True)))
    assert not allowed.failed and "allowed by policy security.docs_allowed" in allowed.message


def test_the_policy_overrides_the_targets_docs_hint(records):
    ctx = records()
    ctx.target.extra["docs_allowed"] = True  # fallback for callers without a policy
    assert not docs_outcome(ctx).failed
    ctx.policy = SecurityPolicy(docs_allowed=False)
    assert docs_outcome(ctx).failed
