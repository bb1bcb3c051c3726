"""The authorization matrix from the spec and the identities: BOLA, BFLA, mass assignment, data exposure.

Objects are created through the API's own ``POST /things`` operations by one user (the owner); the
attackers - a user and an admin of another tenant, and another user of the owner's tenant when the
identities provide one - then try every ``/things/{id}`` operation on them: reads on one object, each
write (PUT/PATCH/DELETE) on a fresh throwaway object per attacker. Admin operations (``/admin`` in the
path, an ``admin`` tag) are called as every non-admin identity.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.auth import LoginFailed
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import STATE_CHANGING, Operation

BOLA = rule("security.authz.bola", "Users cannot touch other users' or tenants' objects", Severity.CRITICAL,
            "API1:2023", "CWE-639", "Check the caller owns (or shares a tenant with) the object on every read, update "
            "and delete; answer 404 for objects of other tenants.")
BFLA = rule("security.authz.bfla", "Admin operations are refused to non-admins", Severity.CRITICAL, "API5:2023",
            "CWE-285", "Enforce the role on every admin operation (deny by default); check method swaps too.")
MASS = rule("security.authz.mass_assignment", "Clients cannot set privileged fields (role, tenant, owner)",
            Severity.HIGH, "API3:2023", "CWE-915", "Bind request bodies to an explicit schema that forbids extra "
            "fields (additionalProperties: false) and never copy role/tenant/owner from the client.")
MATRIX = rule("security.authz.matrix", "Authorization matrix (every bearer operation x every identity) recorded",
              Severity.INFO, "API1:2023", "CWE-285", "Read authz-matrix.json in the run folder: each cell is the "
              "status an identity got; compare it with the access policy you intend.")
EXPOSURE = rule("security.authz.data_exposure", "Responses carry only documented fields and no secrets",
                Severity.HIGH, "API3:2023", ("CWE-213", "CWE-359"), "Serialize responses through the documented "
                "schema; never return password hashes, internal notes or other users' e-mail addresses.")

PRIVILEGED_FIELDS = {"role": "admin", "is_admin": True, "tenant_id": "harness-other-tenant",
                     "tenant": "harness-other-tenant", "owner_id": "harness-other-owner", "user_id": "harness-other-user"}
SECRET_VALUE = re.compile(r"^\$(2[aby]|argon2(id|i|d)?|pbkdf2[-_]sha\d+|scrypt|6)\$|^pbkdf2_sha\d+\$|^sha\d+\$")
SECRET_KEYS = re.compile(r"(password|passwd|secret|hash|salt|api_key|private|internal)", re.I)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
MAX_THROWAWAY_OBJECTS = 40  # objects one probe run creates for writes to act on (per BOLA / matrix pass)
MAX_MATRIX_CELLS = 400  # operations x identities in the matrix

RULES = (BOLA, BFLA, MASS, MATRIX, EXPOSURE)

def _admin_operations(ctx: ProbeContext) -> list[Operation]:
    return [op for op in ctx.bearer_operations()
            if "admin" in op.path.lower().split("/") or "admin" in [t.lower() for t in op.tags]]


def run(ctx: ProbeContext) -> list[Outcome]:
    outcomes: list[Outcome] = []
    seen: list[tuple[Identity, Operation, httpx.Response]] = []  # successful JSON responses, for data exposure
    try:
        outcomes += bola(ctx, seen)
        outcomes += bfla(ctx)
        outcomes += mass_assignment(ctx, seen)
        outcomes.append(data_exposure(ctx, seen))
        outcomes.append(matrix(ctx))
    except LoginFailed as exc:
        outcomes.append(BOLA.not_applicable(str(exc)))
    return outcomes


def bola(ctx: ProbeContext, seen: list) -> list[Outcome]:
    cast = ctx.identities.bola_cast()
    if cast is None:
        return [BOLA.not_applicable("needs two non-admin identities of different tenants, or two of the same "
                                    "tenant (see --identities)")]
    owner, attackers = cast
    collections = ctx.collections()
    if not collections:
        return [BOLA.not_applicable("no POST /things with /things/{id} operations in the spec")]
    outcomes = []
    throwaways = Throwaways(ctx, owner)
    for collection in collections:
        object_id = throwaways.create(collection)
        if object_id is None:
            outcomes.append(BOLA.skipped(f"could not create an object through {collection.key} as {owner.name}",
                                         location=collection.key))
            continue
        reads_first = sorted(ctx.item_operations(collection), key=lambda op: op.is_state_changing)
        for op in reads_first:
            outcomes.append(_bola_on(ctx, op, owner, attackers, object_id, throwaways, seen))
        outcomes.append(_listing_isolation(ctx, collection, owner, attackers, object_id))
    return outcomes


def _bola_on(ctx: ProbeContext, op: Operation, owner: Identity, attackers: list[Identity], shared_id: str,
             throwaways: Throwaways, seen: list) -> Outcome:
    """Every attacker on one of the owner's objects; a write gets a fresh object per attacker, read back after."""
    param = op.path_params[0].name
    getter = ctx.spec.find("GET", op.path)
    leaks, tried = [], []
    cells: dict[str, int | str] = {}
    for attacker in attackers:
        object_id = throwaways.fresh(op) if op.is_state_changing else shared_id
        if object_id is None:
            cells[attacker.name] = "no object"
            continue
        response = ctx.call(op, attacker, path_values={param: object_id})
        cells[attacker.name] = response.status_code
        tried.append(sample(response, f"{attacker.name} ({relation(owner, attacker)}) on {owner.name}'s object"))
        if response.is_success:
            leaks.append((attacker, response))
            if op.is_state_changing and getter is not None:  # did the write really happen? the owner looks
                after = ctx.call(getter, owner, path_values={getter.path_params[0].name: object_id})
                tried.append(sample(after, f"{owner.name} reads the object after {attacker.name}'s {op.method}"))
    if op.method == "GET":
        owner_view = ctx.call(op, owner, path_values={param: shared_id})
        if owner_view.is_success:
            seen.append((owner, op, owner_view))
    evidence = Evidence(measured={"owner": owner.name, "object_id": shared_id,
                                  "attackers": {a.name: relation(owner, a) for a in attackers},
                                  "status_by_attacker": cells, "accepted_for": [a.name for a, _ in leaks],
                                  "fresh_object_per_attacker": op.is_state_changing}, samples=tried[:4])
    if leaks:
        attacker, response = leaks[0]
        evidence.curl = curl(response)
        return BOLA.failed(f"{attacker.name} ({relation(owner, attacker)}) got {response.status_code} on "
                           f"{op.method} of {owner.name}'s object", location=op.key, parameter=param,
                           evidence=evidence)
    return BOLA.passed(f"refused for {', '.join(a.name for a in attackers)}", location=op.key, parameter=param,
                       evidence=evidence)


def relation(owner: Identity, other: Identity) -> str:
    return f"{'same' if other.tenant == owner.tenant else 'other'} tenant {other.tenant}, {other.role}"


class Throwaways:
    """Objects the probe creates as ``owner`` for writes to act on, at most ``MAX_THROWAWAY_OBJECTS`` per run."""

    def __init__(self, ctx: ProbeContext, owner: Identity) -> None:
        self.ctx = ctx
        self.owner = owner
        self.created = 0

    def fresh(self, op: Operation) -> str | None:
        """A new object for a write operation on ``/things/{id}`` (None when none can be created)."""
        collection = self.ctx.collection_for(op)
        return self.create(collection) if collection is not None else None

    def create(self, collection: Operation) -> str | None:
        if self.created >= MAX_THROWAWAY_OBJECTS:
            return None
        self.created += 1
        return self.ctx.object_id(self.owner, collection)


def matrix(ctx: ProbeContext) -> Outcome:
    """Every bearer operation x every identity -> status, saved as ``authz-matrix.json``.

    Reads use an object of the BOLA owner; a write on ``/things/{id}`` gets a fresh object of the owner
    per identity (so one identity's delete cannot change the next one's cell). Logout is left out: it
    would revoke the tokens the other probes use.
    """
    cast = ctx.identities.bola_cast()
    owner = cast[0] if cast else next(iter(ctx.identities.users() or ctx.identities.all), None)
    if owner is None:
        return MATRIX.not_applicable("the target provides no identities")
    throwaways = Throwaways(ctx, owner)
    shared: dict[str, str | None] = {  # collection path -> the owner's object reads use (BOLA's, if it ran)
        key.split(" ", 1)[1]: next(object_id for name, object_id in created if name == owner.name)
        for key, created in ctx.created.items() if any(name == owner.name for name, _ in created)}
    table: dict[str, dict[str, int | str]] = {}
    operations = [op for op in ctx.bearer_operations() if "logout" not in op.path.lower()]
    left_out = [op.key for op in operations[MAX_MATRIX_CELLS // max(1, len(ctx.identities.all)):]]
    for op in operations[:len(operations) - len(left_out)]:
        collection = ctx.collection_for(op) if op.path_params else None
        row: dict[str, int | str] = {}
        if collection is not None and not op.is_state_changing and collection.path not in shared:
            shared[collection.path] = throwaways.create(collection)
        for identity in ctx.identities.all:
            object_id = None
            if collection is not None:
                object_id = throwaways.fresh(op) if op.is_state_changing else shared[collection.path]
            if op.path_params and object_id is None:
                row[identity.name] = "no object"
                continue
            values = {op.path_params[0].name: object_id} if op.path_params and object_id is not None else None
            row[identity.name] = ctx.call(op, identity, path_values=values).status_code
        table[op.key] = row
    artifacts = []
    if ctx.spec_path is not None:
        path = ctx.spec_path.parent / "authz-matrix.json"
        path.write_text(json.dumps({"object_owner": owner.name, "matrix": table}, indent=2))
        artifacts.append(str(path))
    writes = sum(1 for key in table if key.split(" ", 1)[0] in STATE_CHANGING)
    return MATRIX.passed(f"{len(table)} operations ({writes} writes) x {len(ctx.identities.all)} identities",
                         evidence=Evidence(measured={"object_owner": owner.name, "matrix": table,
                                                     "left_out_over_cell_cap": left_out}, artifacts=artifacts))


def _listing_isolation(ctx: ProbeContext, collection: Operation, owner: Identity, attackers: list[Identity],
                       object_id: str) -> Outcome:
    listing = ctx.spec.find("GET", collection.path)
    if listing is None:
        return BOLA.not_applicable("no list operation", location=f"GET {collection.path}")
    responses = [(attacker, ctx.call(listing, attacker)) for attacker in attackers]
    leaked = [(a, r) for a, r in responses if r.is_success and object_id in r.text]
    evidence = Evidence(measured={"object_id": object_id, "listed_for": [a.name for a, _ in leaked]},
                        samples=[sample(r, f"{a.name} lists") for a, r in (leaked or responses)[:2]])
    if leaked:
        attacker, response = leaked[0]
        evidence.curl = curl(response)
        return BOLA.failed(f"{attacker.name} ({relation(owner, attacker)}) sees {owner.name}'s object in the list",
                           location=listing.key, evidence=evidence)
    return BOLA.passed(f"{owner.name}'s object not listed for {', '.join(a.name for a in attackers)}",
                       location=listing.key, evidence=evidence)


def bfla(ctx: ProbeContext) -> list[Outcome]:
    admin_ops = _admin_operations(ctx)
    users = ctx.identities.users()
    if not admin_ops or not users:
        return [BFLA.not_applicable("no admin operations in the spec, or no non-admin identity")]
    outcomes = []
    for op in admin_ops:
        object_id = None
        if op.path_params:  # give it a real object of the same tenant so a 404 cannot hide a missing role check
            collection = ctx.collection_for(op)
            object_id = ctx.object_id(users[-1], collection) if collection else None
        path_values = {op.path_params[0].name: object_id or "1"} if op.path_params else None
        accepted, samples = [], []
        for user in users:
            response = ctx.call(op, user, path_values=path_values)
            samples.append(sample(response, f"{user.name} ({user.role})"))
            if response.is_success:
                accepted.append((user, response))
        swaps = _method_swaps(ctx, op, users[0], path_values)
        accepted += swaps
        evidence = Evidence(measured={"users": [u.name for u in users], "accepted_for": [u.name for u, _ in accepted]},
                            samples=samples[:3] + [sample(r, "method swap") for _, r in swaps][:1])
        if accepted:
            evidence.curl = curl(accepted[0][1])
            user, response = accepted[0]
            outcomes.append(BFLA.failed(f"{user.name} (role {user.role}) got {response.status_code} on "
                                        f"{response.request.method} {op.path}", location=op.key, evidence=evidence))
        else:
            outcomes.append(BFLA.passed(f"refused for {len(users)} non-admin identities", location=op.key,
                                        evidence=evidence))
    return outcomes


def _method_swaps(ctx: ProbeContext, op: Operation, user: Identity, path_values: dict | None) -> list:
    documented = {o.method for o in ctx.spec.operations if o.path == op.path}
    accepted = []
    for method in ("GET", "DELETE", "PUT", "PATCH", "POST"):
        if method in documented:
            continue
        response = ctx.client.request(method, ctx.url(op, path_values), headers=ctx.identities.bearer(user))
        if response.is_success:
            accepted.append((user, response))
    return accepted


def mass_assignment(ctx: ProbeContext, seen: list) -> list[Outcome]:
    writable = [op for op in ctx.bearer_operations() if op.method in {"POST", "PUT", "PATCH"}
                and op.body_schema is not None and not op.path_params and "admin" not in op.path.lower()]
    user = next(iter(ctx.identities.users()), None)
    if not writable or user is None:
        return [MASS.not_applicable("no bearer operation with a JSON body, or no non-admin identity")]
    outcomes = []
    for op in writable:
        declared = set((op.body_schema or {}).get("properties", {}))
        extra = {k: v for k, v in PRIVILEGED_FIELDS.items() if k not in declared}
        body = {**(ctx.spec.example_body(op) or {}), **extra}
        response = ctx.call(op, user, json=body)
        read_back = _read_back(ctx, op, user, response)
        changed = _privileged_values(response) | _privileged_values(read_back)
        evidence = Evidence(measured={"sent_fields": sorted(extra), "status": response.status_code,
                                      "privileged_values_seen": sorted(changed)},
                            samples=[sample(response, "privileged fields sent")]
                            + ([sample(read_back, "read back")] if read_back is not None else []))
        if response.is_success and "json" in response.headers.get("content-type", ""):
            seen.append((user, op, response))
        if changed:
            evidence.curl = curl(response)
            outcomes.append(MASS.failed(f"privileged field(s) took effect: {', '.join(sorted(changed))}",
                                        location=op.key, evidence=evidence))
        elif response.is_success and (op.body_schema or {}).get("additionalProperties") is False:
            evidence.curl = curl(response)
            outcomes.append(MASS.failed(f"undeclared fields {sorted(extra)} were accepted ({response.status_code}) "
                                        "although the schema forbids extra properties", location=op.key,
                                        evidence=evidence, severity=Severity.MEDIUM))
        else:
            outcomes.append(MASS.passed(f"{response.status_code}; no privileged field took effect", location=op.key,
                                        evidence=evidence))
    return outcomes


def _read_back(ctx: ProbeContext, op: Operation, user: Identity, response: httpx.Response) -> httpx.Response | None:
    if not response.is_success:
        return None
    getter = ctx.spec.find("GET", op.path)
    if op.method == "POST" and "json" in response.headers.get("content-type", ""):
        object_id = response.json().get("id") if isinstance(response.json(), dict) else None
        item = next(iter(ctx.item_operations(op)), None)
        getter = next((o for o in ctx.item_operations(op) if o.method == "GET"), None) if item else None
        if getter is None or object_id is None:
            return None
        return ctx.call(getter, user, path_values={getter.path_params[0].name: str(object_id)})
    return ctx.call(getter, user) if getter else None


def _privileged_values(response: httpx.Response | None) -> set[str]:
    if response is None or not response.is_success or "json" not in response.headers.get("content-type", ""):
        return set()
    body = response.json()
    if not isinstance(body, dict):
        return set()
    return {f"{k}={body[k]!r}" for k, v in PRIVILEGED_FIELDS.items() if k in body and body[k] == v}


def data_exposure(ctx: ProbeContext, seen: list[tuple[Identity, Operation, httpx.Response]]) -> Outcome:
    for op in ctx.bearer_operations():  # plus every parameterless GET, as each identity
        if op.method == "GET" and not op.path_params and "admin" not in op.path.lower():
            for identity in ctx.identities.users()[:2]:
                response = ctx.call(op, identity)
                if response.is_success:
                    seen.append((identity, op, response))
    problems: list[str] = []
    bad: list[httpx.Response] = []
    for identity, op, response in seen:
        if "json" not in response.headers.get("content-type", ""):
            continue
        found = _exposure_problems(ctx, op, response.status_code, response.json(), identity)
        if found:
            problems += [f"{op.key}: {p}" for p in found]
            bad.append(response)
    evidence = Evidence(measured={"responses_checked": len(seen), "problems": problems[:20]},
                        samples=[sample(r) for r in bad[:3]])
    if problems:
        evidence.curl = curl(bad[0])
        first = bad[0].request
        return EXPOSURE.failed(problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
                               location=f"{first.method} {_template(ctx, first)}", evidence=evidence)
    return EXPOSURE.passed(f"{len(seen)} responses carry only documented, non-secret fields", evidence=evidence)


def _template(ctx: ProbeContext, request: httpx.Request) -> str:
    for op in ctx.spec.operations:
        if op.method == request.method and re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)),
                                                        request.url.path):
            return op.path
    return request.url.path


def _exposure_problems(ctx: ProbeContext, op: Operation, status: int, body: Any, caller: Identity) -> list[str]:
    problems: list[str] = []
    schema = op.response_schema(status)

    def walk(node: Any, node_schema: Any, where: str) -> None:
        node_schema = ctx.spec.scalar_schema(node_schema) if node_schema is not None else None
        if isinstance(node, dict):
            declared = ctx.spec.schema_properties(node_schema) if node_schema is not None else None
            props = (node_schema or {}).get("properties", {})
            for key, value in node.items():
                here = f"{where}.{key}" if where else key
                if declared is not None and key not in declared and not (node_schema or {}).get("additionalProperties"):
                    problems.append(f"undocumented field {here!r}")
                if SECRET_KEYS.search(key) and value not in (None, "", [], {}):
                    problems.append(f"secret-looking field {here!r}")
                if isinstance(value, str) and SECRET_VALUE.search(value):
                    problems.append(f"password-hash-looking value in {here!r}")
                walk(value, props.get(key), here)
        elif isinstance(node, list):
            items = (node_schema or {}).get("items")
            for index, value in enumerate(node[:50]):
                walk(value, items, f"{where}[{index}]")
        elif isinstance(node, str) and "admin" not in op.path.lower():
            for email in EMAIL.findall(node):
                if email.lower() != caller.username.lower():
                    problems.append(f"other user's e-mail {email!r} in {where!r}")

    walk(body, schema, "")
    return sorted(set(problems))


GROUP = ProbeGroup("authz", run, RULES)
