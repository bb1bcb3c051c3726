"""The authorization matrix from the spec and the identities: BOLA and the matrix (``privilege.py`` has BFLA
and mass assignment, ``exposure.py`` data exposure).

Objects come from their producers (``learn.py``): created through the API's own ``POST /things`` by one
user (the owner) - the id read from the answer under any name or from ``Location`` - or, for user-named
resources (``/users/{username}``, ``/users/{username}/email``), the owner's own name. The attackers - a
user of another scope (tenant, or simply another identity when there are no tenants), an admin of another
tenant, and another user of the owner's tenant when the identities provide one - then try every item
operation: reads on one object, each write (PUT/PATCH/DELETE) on a fresh throwaway object per attacker.
A write on a user-named resource sends the owner's *current* value back (its e-mail, its password), so a
broken check is proven without taking the identity away; DELETE of a user-named resource is never sent.
"""

from __future__ import annotations

import json

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.auth import LoginFailed
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.learn import (
    CREDENTIAL_SEGMENT,
    Producer,
    changes_credentials,
    id_of,
    is_logout,
    objects_in,
    user_path_values,
)
from harness.security.openapi import STATE_CHANGING, Operation
from harness.security.probes import exposure, privilege

BOLA = rule("security.authz.bola", "Users cannot touch other users' or tenants' objects", Severity.CRITICAL,
            "API1:2023", "CWE-639", "Check the caller owns (or shares a tenant with) the object on every read, update "
            "and delete; answer 404 for objects of other tenants.")
MATRIX = rule("security.authz.matrix", "Authorization matrix (every bearer operation x every identity) recorded",
              Severity.INFO, "API1:2023", "CWE-285", "Read authz-matrix.json in the run folder: each cell is the "
              "status an identity got; compare it with the access policy you intend.")
MAX_THROWAWAY_OBJECTS = 40  # objects one probe run creates for writes to act on (per BOLA / matrix pass)
MAX_MATRIX_CELLS = 400  # operations x identities in the matrix

RULES = (BOLA, privilege.BFLA, privilege.MASS, MATRIX, exposure.EXPOSURE)


def run(ctx: ProbeContext) -> list[Outcome]:
    outcomes: list[Outcome] = []
    seen: list[tuple[Identity | None, Operation, httpx.Response]] = []  # successful JSON responses, for data exposure
    try:
        outcomes += bola(ctx, seen)
        outcomes += privilege.bfla(ctx)
        outcomes += privilege.mass_assignment(ctx, seen)
        outcomes += exposure.data_exposure(ctx, seen)
        outcomes.append(matrix(ctx))
    except LoginFailed as exc:
        outcomes.append(BOLA.not_applicable(str(exc)))
    return outcomes


def attack_cast(ctx: ProbeContext) -> tuple[Identity, list[Identity]] | None:
    cast = ctx.identities.bola_cast()
    if cast is None or not ctx.target.extra.get("objects_shared_within_tenant"):
        return cast
    owner, attackers = cast
    others = [a for a in attackers if a.scope != owner.scope]
    return (owner, others) if others else None


def item_families(ctx: ProbeContext) -> list[tuple[Producer, list[Operation]]]:
    """Authenticated item operations grouped by what produces their objects, reads first in each group."""
    families: dict[int, tuple[Producer, list[Operation]]] = {}
    for op in ctx.spec.operations:
        producer = ctx.producer(op)
        if producer is None or not ctx.authenticated(op) or "admin" in op.path.lower().split("/"):
            continue
        families.setdefault(id(producer), (producer, []))[1].append(op)
    return [(p, sorted(ops, key=lambda op: (op.is_state_changing, op.path))) for p, ops in families.values()]


def bola(ctx: ProbeContext, seen: list) -> list[Outcome]:
    cast = attack_cast(ctx)
    if cast is None:
        return [BOLA.not_applicable("needs two non-admin identities of different tenants (or, without tenants, two "
                                    "identities), or two of the same tenant (see the target file's identities)")]
    owner, attackers = cast
    families = item_families(ctx)
    if not families:
        return [BOLA.not_applicable("no operation on /things/{id} (or /users/{name}) whose objects the harness "
                                    "can create, list or name")]
    outcomes: list[Outcome | None] = []
    throwaways = Throwaways(ctx, owner)
    for producer, ops in families:
        if producer.user_named:
            outcomes += [_bola_user_named(ctx, op, producer, owner, attackers, seen) for op in ops]
            continue
        object_id = throwaways.create(producer.create) if producer.create is not None else None
        if object_id is None:
            object_id = _listed_id(ctx, producer, owner)
        if object_id is None:
            where = producer.create.key if producer.create is not None else f"GET {producer.collection}"
            outcomes.append(BOLA.skipped(f"could not create or list an object of {producer.collection} as "
                                         f"{owner.name}", location=where))
            continue
        for op in ops:
            outcomes.append(_bola_on(ctx, op, owner, attackers, object_id, throwaways, seen))
        if producer.create is not None and ctx.authenticated(producer.create):
            outcomes.append(_listing_isolation(ctx, producer.create, owner, attackers, object_id))
        outcomes += [_bola_listed(ctx, op, producer, attackers[0]) for op in ops if op.method in {"PUT", "PATCH"}]
    return [o for o in outcomes if o is not None]


OWNER_KEYS = ("owner", "seller", "author", "user", "username", "created_by", "owner_id", "user_id", "email")


def _bola_listed(ctx: ProbeContext, op: Operation, producer: Producer, attacker: Identity) -> Outcome | None:
    """PUT/PATCH of an object the attacker's own listing shows as someone else's (an owner field naming another
    user), sending the object's own values back: a 2xx is a write on another user's object."""
    if producer.listing is None:
        return None
    listed = ctx.call(producer.listing, attacker if ctx.authenticated(producer.listing) else None)
    objects = objects_in(listed) if listed.is_success else []
    created = _created_ids(ctx, attacker)
    mine = {v.lower() for v in (attacker.username, attacker.email, attacker.name) if v}
    mine |= {str(obj[k]).lower() for obj in objects if (id_of(obj, producer.param) or ("", ""))[1] in created
             for k in OWNER_KEYS if isinstance(obj.get(k), (str, int))}  # what the attacker's own objects say
    for obj in objects:
        found = id_of(obj, producer.param)
        owner = next((str(obj[k]) for k in OWNER_KEYS if isinstance(obj.get(k), (str, int)) and obj.get(k)), None)
        if found is None or owner is None or owner.lower() in mine or found[1] in created:
            continue
        if attacker.tenant is not None and obj.get("tenant") in (None, attacker.tenant):
            continue  # tenants: another user of the same tenant may share it by design (not BOLA)
        body = {k: v for k, v in obj.items() if k not in OWNER_KEYS and k != found[0]
                and not isinstance(v, (dict, list))}
        response = ctx.call(op, attacker, path_values={producer.param: found[1]}, json=body)
        evidence = Evidence(measured={"listed_by": producer.listing.key, "object_id": found[1], "owner_field": owner,
                                      "attacker": attacker.name, "status": response.status_code,
                                      "wrote_back_its_own_values": True},
                            samples=[sample(response, f"{attacker.name} on {owner}'s object found by listing")])
        if response.is_success:
            evidence.curl = curl(response)
            return BOLA.failed(f"{attacker.name} got {response.status_code} on {op.method} of {owner}'s object "
                               f"found by listing", location=op.key, parameter=producer.param, evidence=evidence)
        return BOLA.passed(f"{attacker.name} refused ({response.status_code}) on {owner}'s object found by listing",
                           location=op.key, parameter=producer.param, evidence=evidence)
    return None


def _created_ids(ctx: ProbeContext, identity: Identity) -> set[str]:
    return {object_id for created in ctx.created.values() for name, object_id in created if name == identity.name}


def _listed_id(ctx: ProbeContext, producer: Producer, owner: Identity) -> str | None:
    """An object the owner's own listing shows (no way to create one): what the attackers then try."""
    if producer.listing is None:
        return None
    listed = ctx.call(producer.listing, owner if ctx.authenticated(producer.listing) else None)
    found = next((id_of(o, producer.param) for o in objects_in(listed) if listed.is_success), None)
    return found[1] if found else None


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
    if other.tenant is None or owner.tenant is None:
        return f"another identity, {other.role}"
    return f"{'same' if other.tenant == owner.tenant else 'other'} tenant {other.tenant}, {other.role}"


def _bola_user_named(ctx: ProbeContext, op: Operation, producer: Producer, owner: Identity,
                     attackers: list[Identity], seen: list) -> Outcome:
    """Attackers on ``/users/{owner}`` and its sub-resources; a write sends the owner's current value back."""
    values = user_path_values(ctx, op, owner)
    if op.method == "DELETE":
        return BOLA.skipped(f"{op.key} as another identity would delete {owner.name} if it were broken: not sent",
                            location=op.key, parameter=producer.param)
    body = _current_value_body(ctx, op, owner) if op.is_state_changing else None
    if op.is_state_changing and body is None:
        return BOLA.skipped(f"could not read {owner.name}'s current value to write it back", location=op.key,
                            parameter=producer.param)
    if op.method == "GET":
        own = ctx.call(op, owner, path_values=values)
        if own.is_success:
            seen.append((owner, op, own))
    leaks, tried, cells = [], [], {}
    for attacker in attackers:
        response = ctx.call(op, attacker, path_values=values, **({"json": body} if body is not None else {}))
        cells[attacker.name] = response.status_code
        tried.append(sample(response, f"{attacker.name} ({relation(owner, attacker)}) on {owner.name}'s {op.path}"))
        if response.is_success:
            leaks.append((attacker, response))
    evidence = Evidence(measured={"owner": owner.name, "named": values, "status_by_attacker": cells,
                                  "accepted_for": [a.name for a, _ in leaks],
                                  "wrote_back_the_owners_own_value": body is not None}, samples=tried[:4])
    if leaks:
        attacker, response = leaks[0]
        evidence.curl = curl(response)
        return BOLA.failed(f"{attacker.name} ({relation(owner, attacker)}) got {response.status_code} on {op.method} "
                           f"of {owner.name}'s own resource", location=op.key, parameter=producer.param,
                           evidence=evidence)
    return BOLA.passed(f"refused for {', '.join(a.name for a in attackers)}", location=op.key,
                       parameter=producer.param, evidence=evidence)


def _current_value_body(ctx: ProbeContext, op: Operation, owner: Identity) -> dict | None:
    """``{field: the owner's current value}`` for ``PUT .../{name}/field`` (the password: the known one)."""
    parent, _, field = op.path.rpartition("/")
    if "{" in field:  # PUT /users/{name} itself: the owner's object as it is
        field = ""
    if field and CREDENTIAL_SEGMENT.search(field):
        key = next(iter(ctx.body_for(op) or {}), None) or field
        return {key: owner.password} if owner.password else None
    getter = ctx.spec.find("GET", parent if field else op.path)
    if getter is None:
        return ctx.body_for(op)
    current = ctx.call(getter, owner, path_values=user_path_values(ctx, getter, owner))
    objects = objects_in(current) if current.is_success else []
    if not objects:
        return None
    if not field:
        return {k: v for k, v in objects[0].items() if not isinstance(v, (dict, list))}
    return {field: objects[0][field]} if field in objects[0] else None


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
    would revoke the tokens the other probes use, and so would operations that change an identity's credentials
    or delete it (``learn.changes_credentials``).
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
    operations = [op for op in ctx.bearer_operations() if not is_logout(op) and not changes_credentials(op)]
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
    if listing is not None and not ctx.authenticated(listing):
        return BOLA.not_applicable("the list operation is public by design", location=listing.key)
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


GROUP = ProbeGroup("authz", run, RULES)
