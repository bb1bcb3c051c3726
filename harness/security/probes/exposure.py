"""Excessive data exposure (API3:2023): answers carry only documented, non-secret fields about their caller.

Judged on every JSON answer the other probes got as an identity, on every parameterless authenticated GET
(as two users), and on every *public* GET (anonymously: a public debug or listing route is where secrets
leak most). Problems: fields outside a declared response schema, secret-looking keys (password, secret,
hash, salt, api_key, private, internal), password-hash-looking values, and e-mail addresses that belong to
*another* identity - the caller's own addresses (declared in the target file, its username, or what its own
``/me``-style answer shows) are never counted, and addresses of nobody the harness knows are only listed.
One outcome per operation with a problem.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.learn import is_login, is_logout
from harness.security.openapi import Operation

EXPOSURE = rule("security.authz.data_exposure", "Responses carry only documented fields and no secrets",
                Severity.HIGH, "API3:2023", ("CWE-213", "CWE-359"), "Serialize responses through the documented "
                "schema; never return password hashes, secrets, internal notes or other users' e-mail addresses.")
SECRET_VALUE = re.compile(r"^\$(2[aby]|argon2(id|i|d)?|pbkdf2[-_]sha\d+|scrypt|6)\$|^pbkdf2_sha\d+\$|^sha\d+\$|"
                          r"^(pbkdf2:sha\d+|scrypt):[\d:]*\$")
SECRET_KEYS = re.compile(r"(password|passwd|secret|hash|salt|api_key|private|internal)", re.I)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ANONYMOUS = "(anonymous)"


def data_exposure(ctx: ProbeContext, seen: list[tuple[Identity | None, Operation, httpx.Response]]) -> list[Outcome]:
    for op in ctx.bearer_operations():  # every parameterless GET, as each of two users
        if op.method == "GET" and not op.path_params and "admin" not in op.path.lower():
            for user in ctx.identities.users()[:2]:
                response = ctx.call(op, user)
                if response.is_success:
                    seen.append((user, op, response))
    for op in public_gets(ctx):  # and every public one, anonymously
        response = ctx.call(op, None)
        if response.is_success:
            seen.append((None, op, response))
    own = own_emails(ctx)
    known = {email for emails in own.values() for email in emails}
    problems: dict[str, list[str]] = {}
    bad: dict[str, httpx.Response] = {}
    strangers: set[str] = set()
    for identity, op, response in seen:
        if "json" not in response.headers.get("content-type", ""):
            continue
        try:
            body = response.json()
        except ValueError:
            continue
        mine = own.get(identity.name, set()) if identity else set()
        found, unknown = _problems(ctx, op, response.status_code, body, known - mine)
        strangers |= unknown - mine
        if found:
            problems.setdefault(op.key, [])
            problems[op.key] = sorted(set(problems[op.key]) | {f"{p} (as {identity.name if identity else ANONYMOUS})"
                                                               for p in found})
            bad.setdefault(op.key, response)
    if not problems:
        return [EXPOSURE.passed(f"{len(seen)} responses carry only documented, non-secret fields",
                                evidence=Evidence(measured={"responses_checked": len(seen),
                                                            "emails_of_nobody_known": sorted(strangers)[:10]}))]
    outcomes = []
    for key, found in problems.items():
        response = bad[key]
        evidence = Evidence(measured={"problems": found[:20], "responses_checked": len(seen)},
                            samples=[sample(response)], curl=curl(response))
        outcomes.append(EXPOSURE.failed(found[0] + (f" (+{len(found) - 1} more)" if len(found) > 1 else ""),
                                        location=key, evidence=evidence))
    return outcomes


def public_gets(ctx: ProbeContext) -> list[Operation]:
    """GETs without parameters to fill that the spec or the answers say are public."""
    return [op for op in ctx.spec.operations if op.method == "GET" and not op.path_params and not ctx.authenticated(op)
            and not op.security_schemes and not is_login(ctx, op) and not is_logout(op)
            and not any(p.required for p in op.parameters)]


def own_emails(ctx: ProbeContext) -> dict[str, set[str]]:
    """Each identity's own addresses: declared, its username, and those its own /me-style answer shows."""
    from harness.security.probes.jwt import probe_operation

    op = probe_operation(ctx)
    out: dict[str, set[str]] = {}
    for identity in ctx.identities.all:
        emails = identity.own_emails()
        if op is not None and "me" in op.path.lower().split("/")[-1:]:
            try:
                response = ctx.call(op, identity)
            except Exception:  # noqa: BLE001 - an identity that cannot log in has no learned address
                response = None
            if response is not None and response.is_success:
                emails |= {e.lower() for e in EMAIL.findall(response.text)}
        out[identity.name] = emails
    return out


def _problems(ctx: ProbeContext, op: Operation, status: int, body: Any, others: set[str]) -> tuple[list[str], set[str]]:
    problems: list[str] = []
    unknown: set[str] = set()
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
                if SECRET_KEYS.search(key) and value not in (None, "", [], {}, False, 0):
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
                if email.lower() in others:
                    problems.append(f"another identity's e-mail {email!r} in {where!r}")
                else:
                    unknown.add(email.lower())

    walk(body, schema, "")
    return sorted(set(problems)), unknown
