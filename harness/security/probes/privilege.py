"""Function-level authorization (BFLA) and mass assignment (API3, API5:2023).

Mass assignment is tried where a client sends an object: every authenticated write without path parameters,
every PUT/PATCH of the caller's *own* fresh object (``/things/{id}``), and public registrations (a POST
without authentication whose body takes a password) - there the new account logs in and reads itself back.
A privileged field (role, tenant, owner, …) that shows up with the sent value in the answer or the read-back
is the finding.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from harness.login import LoginFailed, credential_from
from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.learn import changes_credentials, id_from_location, id_of, is_login, objects_in
from harness.security.openapi import Operation

BFLA = rule("security.authz.bfla", "Admin operations are refused to non-admins", Severity.CRITICAL, "API5:2023",
            "CWE-285", "Enforce the role on every admin operation (deny by default); check method swaps too.")
MASS = rule("security.authz.mass_assignment", "Clients cannot set privileged fields (role, tenant, owner)",
            Severity.HIGH, "API3:2023", "CWE-915", "Bind request bodies to an explicit schema that forbids extra "
            "fields (additionalProperties: false) and never copy role/tenant/owner from the client.")
PRIVILEGED_FIELDS = {"role": "admin", "is_admin": True, "tenant_id": "harness-other-tenant",
                     "tenant": "harness-other-tenant", "owner_id": "harness-other-owner", "user_id": "harness-other-user",
                     "owner": "harness-other-owner"}
PASSWORD_FIELD = re.compile(r"(password|passwd|secret|passphrase)", re.I)
USERNAME_FIELD = re.compile(r"^(user(name)?|login|handle|name|account)$", re.I)
EMAIL_FIELD = re.compile(r"e-?mail", re.I)
MAX_ITEM_WRITES = 6


def admin_operations(ctx: ProbeContext) -> list[Operation]:
    hinted = set(ctx.target.extra.get("admin_operations", []))
    return [op for op in ctx.bearer_operations() if op.key in hinted
            or "admin" in op.path.lower().split("/") or "admin" in [t.lower() for t in op.tags]]


def bfla(ctx: ProbeContext) -> list[Outcome]:
    admin_ops = admin_operations(ctx)
    users = ctx.identities.users()
    if not admin_ops or not users:
        return [BFLA.not_applicable("no admin operations in the spec, or no non-admin identity")]
    outcomes = []
    for op in admin_ops:
        object_id = None
        if op.path_params:  # give it a real object of the same tenant so a 404 cannot hide a missing role check
            collection = ctx.collection_for(op)
            object_id = ctx.object_id(users[-1], collection, op.path_params[-1].name) if collection else None
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


def registrations(ctx: ProbeContext) -> list[Operation]:
    """Public POSTs taking a password (sign-up), not the login itself."""
    out = []
    for op in ctx.spec.operations:
        body = ctx.body_for(op) if op.method == "POST" else None
        if body and not ctx.authenticated(op) and not is_login(ctx, op) and any(PASSWORD_FIELD.search(k) for k in body):
            out.append(op)
    return out


def mass_assignment(ctx: ProbeContext, seen: list) -> list[Outcome]:
    user = next(iter(ctx.identities.users()), None)
    writable = [op for op in ctx.bearer_operations() if op.method in {"POST", "PUT", "PATCH"}
                and ctx.body_for(op) is not None and not op.path_params and "admin" not in op.path.lower()
                and not changes_credentials(op)]
    own_items = [op for op in ctx.bearer_operations() if op.method in {"PUT", "PATCH"} and op.path_params
                 and ctx.collection_for(op) is not None and "admin" not in op.path.lower()][:MAX_ITEM_WRITES]
    signups = registrations(ctx)
    if user is None or not (writable or own_items or signups):
        return [MASS.not_applicable("no operation that takes an object from a client (authenticated writes, "
                                    "own objects, sign-up), or no non-admin identity")]
    outcomes = []
    for op in writable:
        outcomes.append(_judge(ctx, op, user, seen, path_values=None))
    for op in own_items:
        collection = ctx.collection_for(op)
        object_id = ctx.object_id(user, collection, op.path_params[-1].name) if collection else None
        if object_id is None:
            outcomes.append(MASS.skipped(f"could not create an object of its own for {user.name}", location=op.key))
            continue
        outcomes.append(_judge(ctx, op, user, seen, path_values={op.path_params[-1].name: object_id}))
    for op in signups:
        outcomes.append(_registration(ctx, op))
    return outcomes


def _with_privileged(ctx: ProbeContext, op: Operation) -> tuple[dict[str, Any], list[str]]:
    body = ctx.body_for(op) or {}
    declared = set(ctx.spec.schema_properties(op.body_schema) or []) | set(body)
    extra = {k: v for k, v in PRIVILEGED_FIELDS.items() if k not in declared}
    return {**body, **extra}, sorted(extra)


def _judge(ctx: ProbeContext, op: Operation, user: Identity, seen: list, path_values: dict | None) -> Outcome:
    body, extra = _with_privileged(ctx, op)
    response = ctx.call(op, user, json=body, path_values=path_values)
    read_back = _read_back(ctx, op, user, response, path_values)
    changed = privileged_values(response) | privileged_values(read_back)
    evidence = Evidence(measured={"sent_fields": extra, "status": response.status_code,
                                  "privileged_values_seen": sorted(changed)},
                        samples=[sample(response, "privileged fields sent")]
                        + ([sample(read_back, "read back")] if read_back is not None else []))
    if response.is_success and "json" in response.headers.get("content-type", ""):
        seen.append((user, op, response))
    if changed:
        evidence.curl = curl(response)
        return MASS.failed(f"privileged field(s) took effect: {', '.join(sorted(changed))}", location=op.key,
                           evidence=evidence)
    if response.is_success and (op.body_schema or {}).get("additionalProperties") is False:
        evidence.curl = curl(response)
        return MASS.failed(f"undeclared fields {extra} were accepted ({response.status_code}) although the schema "
                           "forbids extra properties", location=op.key, evidence=evidence, severity=Severity.MEDIUM)
    return MASS.passed(f"{response.status_code}; no privileged field took effect", location=op.key, evidence=evidence)


def _read_back(ctx: ProbeContext, op: Operation, user: Identity, response: httpx.Response,
               path_values: dict | None) -> httpx.Response | None:
    if not response.is_success:
        return None
    if path_values:  # PUT/PATCH of an object: read the object
        getter = ctx.spec.find("GET", op.path)
        return ctx.call(getter, user, path_values=path_values) if getter else None
    if op.method == "POST":
        item = next((o for o in ctx.spec.operations if o.method == "GET" and ctx.collection_for(o) is op), None)
        if item is None:
            return None
        found = id_of(objects_in(response)[0], item.path_params[-1].name) if objects_in(response) else None
        object_id = found[1] if found else id_from_location(response)
        return ctx.call(item, user, path_values={item.path_params[-1].name: object_id}) if object_id else None
    getter = ctx.spec.find("GET", op.path)
    return ctx.call(getter, user) if getter else None


def privileged_values(response: httpx.Response | None) -> set[str]:
    if response is None or not response.is_success or "json" not in response.headers.get("content-type", ""):
        return set()
    found = set()
    for body in objects_in(response):
        found |= {f"{k}={body[k]!r}" for k, v in PRIVILEGED_FIELDS.items() if k in body and body[k] == v}
    return found


def _registration(ctx: ProbeContext, op: Operation) -> Outcome:
    """Sign up a fresh account with privileged fields, log it in, read it back."""
    tag = secrets.token_hex(4)
    name, password, email = f"harnessprobe{tag}", f"Hx-probe-{tag}-9!", f"harness-probe-{tag}@example.invalid"
    body: dict[str, Any] = {}
    for key, value in (ctx.body_for(op) or {}).items():
        body[key] = password if PASSWORD_FIELD.search(key) else email if EMAIL_FIELD.search(key) else \
            name if USERNAME_FIELD.match(key) else value
    body, extra = {**body, **{k: v for k, v in PRIVILEGED_FIELDS.items() if k not in body}}, \
        [k for k in PRIVILEGED_FIELDS if k not in body]
    response = ctx.call(op, None, json=body)
    samples = [sample(response, "sign-up with privileged fields")]
    changed = privileged_values(response)
    login_as = email if EMAIL_FIELD.search(ctx.target.login.username_field or "") else name
    if response.is_success and not changed:
        me = _self_view(ctx, login_as, password)
        if me is not None:
            samples.append(sample(me, "the new account reads itself"))
            changed |= privileged_values(me)
    evidence = Evidence(measured={"sent_fields": sorted(extra), "status": response.status_code, "account": name,
                                  "privileged_values_seen": sorted(changed)}, samples=samples)
    if changed:
        evidence.curl = curl(response)
        return MASS.failed(f"sign-up took privileged field(s): {', '.join(sorted(changed))}", location=op.key,
                           evidence=evidence)
    if not response.is_success:
        return MASS.skipped(f"the sign-up answered {response.status_code}; the privileged fields were not tried on "
                            "an account", location=op.key, evidence=evidence)
    return MASS.passed(f"{response.status_code}; the new account has no privileged value", location=op.key,
                       evidence=evidence)


def _self_view(ctx: ProbeContext, username: str, password: str) -> httpx.Response | None:
    """Log the new account in and read ``/me`` (the authenticated GET without inputs)."""
    from harness.security.probes.jwt import probe_operation

    spec = ctx.target.login
    answer = ctx.client.request(spec.method, spec.path, **spec.request_kwargs(username, password))
    try:
        credential = credential_from(answer, spec, username)
    except LoginFailed:
        return None
    op = probe_operation(ctx)
    return ctx.client.request("GET", ctx.url(op), headers=credential.request_headers()) if op else None
