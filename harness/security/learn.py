"""Learn what a thin spec does not say, from the system's own answers (bounded, once per probe run).

Framework-generated specs often declare no security scheme, no request body (handlers reading raw
JSON) and no ``required`` fields; a creating operation may answer with an empty body and a
``Location`` header, or put the id under ``sku``/``ticket_ref``. The probes need those facts, so
they are learned here, RESTler-style, and every fact says whether it was *declared* (the spec) or
*learned* (and how), for the report:

- authentication: an operation the spec leaves open that answers 401/403 without credentials and
  something else with them needs authentication; 2xx without credentials is public;
- request bodies: declared properties (all of them when none is required), ``example``s, else the
  shape of the objects the collection's listing or item answers hold (server-managed fields left out),
  or - for a ``PUT /users/{name}/email`` sub-resource - the field the parent object has;
- producers: ``POST <collection>`` creates the objects ``<collection>/{param}`` addresses; the id is
  read from the answer under the parameter's name, ``id`` or any ``*_id``/``*_ref``/``*_no``/uuid-ish
  key, or from the ``Location`` header; listings (``GET <collection>``) yield ids of existing objects;
- user-named resources: ``/users/{username}`` style parameters are filled with an identity's own name.

Hand-written: RESTler and Schemathesis infer producer/consumer links from *declared* schemas only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from harness.login import LoginFailed
from harness.security.openapi import Operation

if TYPE_CHECKING:
    from harness.platforms.base import Identity
    from harness.security.context import ProbeContext

THROTTLED = {429, 503}
DENIED = {401, 403}
ID_KEY = re.compile(r"(^id$|_id$|Id$|_ref$|_no$|_key$|^uuid$|^slug$|^ref$|^code$|^sku$|_number$)")
SERVER_MANAGED = re.compile(r"(^id$|_id$|Id$|_ref$|_no$|^uuid$|^(created|updated|modified|deleted)(_at|_on)?$|"
                            r"^owner$|^tenant$|^seller$|^buyer$|^author$|^user$|^count$|^status_code$)", re.I)
USER_PARAM = re.compile(r"^(user(name)?|login|account|handle|name|email|user_?id)$", re.I)
USER_COLLECTION = re.compile(r"/(users?|accounts?|members?|profiles?|people)/\{", re.I)
CREDENTIAL_SEGMENT = re.compile(r"(password|passwd|secret|credential|passphrase|pin)s?$", re.I)
MAX_LEARN_REQUESTS = 200


@dataclass(frozen=True)
class Fact:
    subject: str  # "GET /api/v1/tickets" or a path
    fact: str  # "needs authentication"
    source: str  # "declared" | "learned"
    how: str = ""  # "401 without credentials, 200 with"


@dataclass
class Producer:
    """How to get objects a ``/things/{param}`` operation addresses."""

    collection: str  # "/api/v1/tickets"
    param: str  # "ticket_ref"
    create: Operation | None = None  # POST <collection>
    listing: Operation | None = None  # GET <collection>
    user_named: bool = False  # the parameter is an identity's own name (no creation)
    id_source: str = ""  # "body:sku" / "location" once learned


@dataclass
class Knowledge:
    facts: list[Fact] = field(default_factory=list)
    needs_auth: dict[str, bool] = field(default_factory=dict)  # op key -> learned verdict
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # op key -> body to send
    producers: dict[str, Producer] = field(default_factory=dict)  # item op key -> producer
    seen_objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # collection -> sample objects
    requests: int = 0

    def add(self, subject: str, fact: str, source: str, how: str = "") -> None:
        item = Fact(subject, fact, source, how)
        if item not in self.facts:
            self.facts.append(item)

    def summary(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"declared": [], "learned": []}
        for f in self.facts:
            out.setdefault(f.source, []).append(f"{f.subject}: {f.fact}" + (f" ({f.how})" if f.how else ""))
        return out


def is_login(ctx: ProbeContext, op: Operation) -> bool:
    return op.path == ctx.target.login.path or bool(re.search(r"(log-?in|sign-?in|auth/token|session)$", op.path))


def is_logout(op: Operation) -> bool:
    return bool(re.search(r"(log-?out|sign-?out)", op.path, re.I))


def changes_credentials(op: Operation) -> bool:
    """PUT/POST/PATCH of a password-like sub-resource, or DELETE of a user/account (or /me)."""
    last = op.path.rstrip("/").rsplit("/", 1)[-1]
    if op.method in {"PUT", "POST", "PATCH"} and CREDENTIAL_SEGMENT.search(last):
        return True
    return op.method == "DELETE" and bool(re.search(r"/(users?|accounts?|me)(/\{[^}]+\})?$", op.path))


def learn(ctx: ProbeContext) -> Knowledge:
    knowledge = ctx.knowledge = Knowledge()
    _declared(ctx, knowledge)
    _producers(ctx, knowledge)
    if ctx.target.extra.get("learn", True) and ctx.identities.all:
        try:
            _learn_auth(ctx, knowledge)
        except LoginFailed as exc:
            knowledge.add("login", f"could not log in, nothing learned about authentication: {exc}", "learned")
    return knowledge


def _declared(ctx: ProbeContext, knowledge: Knowledge) -> None:
    for op in ctx.spec.operations:
        if op.security_schemes:
            knowledge.add(op.key, f"needs authentication ({', '.join(op.security_schemes)})", "declared")
        if op.body_schema and ctx.spec.schema_properties(op.body_schema):
            knowledge.add(op.key, "request body " + ", ".join(sorted(ctx.spec.schema_properties(op.body_schema) or [])),
                          "declared")


def _budget_left(knowledge: Knowledge) -> bool:
    return knowledge.requests < MAX_LEARN_REQUESTS


def _learn_auth(ctx: ProbeContext, knowledge: Knowledge) -> None:
    """Operations the spec leaves open: anonymous 401/403 and authenticated otherwise -> needs auth."""
    public_hint = set(ctx.target.extra.get("public_operations", []))
    user = next(iter(ctx.identities.users() or ctx.identities.all))
    for op in ctx.spec.operations:
        if op.security_schemes or is_login(ctx, op) or is_logout(op) or not _budget_left(knowledge):
            continue
        if op.key in public_hint:
            knowledge.needs_auth[op.key] = False
            knowledge.add(op.key, "public", "declared", "hints.public_operations")
            continue
        body: dict[str, Any] | None = None if op.method in {"GET", "HEAD", "DELETE"} else {}
        values = user_path_values(ctx, op, user)
        anonymous = _send(ctx, knowledge, op, None, body, values)
        if anonymous.status_code in THROTTLED:
            knowledge.add(op.key, "authentication unknown", "learned", f"throttled ({anonymous.status_code})")
            continue
        if anonymous.status_code in DENIED:
            if op.method in {"GET", "HEAD"}:
                authed = _send(ctx, knowledge, op, user, None, values)
                if authed.status_code in DENIED or authed.status_code in THROTTLED:
                    continue  # refused for the user too (an admin operation?) or throttled: no conclusion
                how = f"{anonymous.status_code} without credentials, {authed.status_code} with"
                if authed.is_success:
                    _remember_objects(knowledge, op, authed)
            else:  # never sent authenticated while learning: it would change state
                how = f"{anonymous.status_code} without credentials"
            knowledge.needs_auth[op.key] = True
            knowledge.add(op.key, "needs authentication", "learned", how)
        elif anonymous.is_success:
            knowledge.needs_auth[op.key] = False
            knowledge.add(op.key, "public", "learned", f"{anonymous.status_code} without credentials")
            _remember_objects(knowledge, op, anonymous)


def _send(ctx: ProbeContext, knowledge: Knowledge, op: Operation, identity: Identity | None,
          body: Any, path_values: dict[str, str] | None = None) -> httpx.Response:
    knowledge.requests += 1
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    headers = ctx.identities.bearer(identity) if identity else {}
    return ctx.client.request(op.method, ctx.url(op, path_values), headers=headers, **kwargs)


def user_path_values(ctx: ProbeContext, op: Operation, identity: Identity) -> dict[str, str]:
    """The identity's own name for every user-named parameter of ``op`` (its e-mail for e-mail parameters)."""
    producer = ctx.knowledge.producers.get(op.key)
    if producer is None or not producer.user_named:
        return {}
    value = identity.email if "mail" in producer.param.lower() and identity.email else identity.username
    return {producer.param: value or identity.name}


def _remember_objects(knowledge: Knowledge, op: Operation, response: httpx.Response) -> None:
    """Objects in a listing or item answer: their shape teaches bodies, their ids give BOLA targets."""
    objects = objects_in(response)
    if objects and op.method == "GET":
        path = op.path.rsplit("/{", 1)[0] if op.path.endswith("}") else op.path
        knowledge.seen_objects.setdefault(path, []).extend(objects[:20])


def objects_in(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON objects an answer carries: a list, or a list under results/items/data/…, or one object."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, list):
        return [o for o in body if isinstance(o, dict)]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list) and value and all(isinstance(o, dict) for o in value):
                return value
        return [body]
    return []


def id_of(obj: Any, param: str) -> tuple[str, str] | None:
    """(key, value) of the id in a created or listed object: the parameter's own name first."""
    if not isinstance(obj, dict):
        return None
    for key in (param, "id", *[k for k in obj if ID_KEY.search(k)]):
        value = obj.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return key, str(value)
    return None


def id_from_location(response: httpx.Response) -> str | None:
    location = response.headers.get("location", "")
    last = location.rstrip("/").rsplit("/", 1)[-1] if location else ""
    return last or None


def _producers(ctx: ProbeContext, knowledge: Knowledge) -> None:
    """``/things/{param}`` -> how to get a ``param``: create through ``POST /things``, list, or a user's name."""
    for op in ctx.spec.operations:
        if not op.path.endswith("}") or not op.path_params:
            continue
        collection, _, last = op.path.rpartition("/")
        param = last.strip("{}")
        producer = Producer(collection=collection, param=param, create=ctx.spec.find("POST", collection),
                            listing=ctx.spec.find("GET", collection))
        if "{" in collection and not USER_COLLECTION.search(op.path):
            continue  # nested under another parameter: only the user-named kind is filled
        if USER_PARAM.match(param) and (USER_COLLECTION.search(op.path + "/") or param.lower().startswith("user")):
            producer.user_named = True
            producer.create = None
            knowledge.add(op.key, f"{{{param}}} is an identity's own name", "learned", "parameter and path naming")
        if producer.user_named or producer.create is not None or producer.listing is not None:
            knowledge.producers[op.key] = producer
    for op in ctx.spec.operations:  # sub-resources of user-named ones: /users/{username}/email
        parent = re.match(r"^(.*/\{[^}]+\})/[^{}/]+$", op.path)
        if parent and op.key not in knowledge.producers:
            owner_ops = [k for k, p in knowledge.producers.items() if p.user_named and k.split(" ", 1)[1] == parent.group(1)]
            if owner_ops:
                knowledge.producers[op.key] = knowledge.producers[owner_ops[0]]


def body_from_shapes(ctx: ProbeContext, op: Operation) -> dict[str, Any] | None:
    """A body for an operation the spec gives none: the fields the collection's objects have."""
    knowledge = ctx.knowledge
    base = op.path.rsplit("/{", 1)[0] if op.path.endswith("}") else op.path
    objects = knowledge.seen_objects.get(base) or []
    sub = re.match(r"^(.*/\{[^}]+\})/([^{}/]+)$", op.path)
    if sub:  # PUT /users/{username}/email: the parent object's "email" field
        parent_objects = knowledge.seen_objects.get(sub.group(1).rsplit("/{", 1)[0]) or []
        name = sub.group(2)
        value = next((o[name] for o in parent_objects if name in o), None)
        if value is not None:
            return {name: value}
        return {name: "harness-probe@example.invalid" if "mail" in name else "harness-probe"} \
            if op.method in {"PUT", "PATCH", "POST"} else None
    for obj in objects:
        body = {k: v for k, v in obj.items() if not SERVER_MANAGED.search(k) and not isinstance(v, (dict, list))}
        if body:
            return body
    return None
