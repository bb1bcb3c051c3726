"""Error leakage (stack traces, debug pages, internal paths) and inventory (live routes vs the spec)."""

from __future__ import annotations

import re

import httpx

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

LEAK = rule("security.errors.stack_trace", "Errors do not leak stack traces, debug pages or internal paths",
            Severity.MEDIUM, "API8:2023", ("CWE-209", "CWE-497"),
            "Return a generic problem document (RFC 9457) for every error; log the details server-side only.")
UNDOCUMENTED = rule("security.inventory.undocumented_routes", "No live routes outside the published spec",
                    Severity.MEDIUM, "API9:2023", "CWE-1059",
                    "Remove debug/legacy routes or document them; the spec is the inventory.")
DOCS = rule("security.inventory.docs_exposure", "Interactive API docs are exposed only when the policy allows",
            Severity.LOW, "API9:2023", "CWE-200", "Disable /docs and /redoc in production or put them behind auth "
            "(set 'security: {docs_allowed: true}' in the gate policy if they are public on purpose).")

TRACE_SIGNS = re.compile(r"(Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|"
                         r"\bat [\w.$]+\([\w]+\.java:\d+\)|Werkzeug Debugger|Whitelabel Error Page|"
                         r"django\.core|DEBUG = True|/site-packages/|/usr/lib/python3|"
                         r"node_modules/|\w+Error: .+\n\s+at )")
DEBUG_ROUTES = ["/debug", "/_debug", "/console", "/actuator", "/actuator/env", "/.env", "/server-status",
                "/phpinfo.php", "/api/v0", "/v0", "/internal", "/graphql", "/admin/debug", "/trace", "/env",
                "/__debug__", "/swagger.json"]
DOCS_ROUTES = ["/docs", "/redoc", "/swagger-ui", "/swagger-ui.html"]

RULES = (LEAK, UNDOCUMENTED, DOCS)

def error_triggers(ctx: ProbeContext) -> list[httpx.Response]:
    """Requests that make most servers answer an error: bad JSON, wrong types, huge numbers, odd bytes."""
    identity = next(iter(ctx.identities.users() or ctx.identities.all), None)
    auth = ctx.identities.bearer(identity) if identity else {}
    responses = [ctx.client.get("/harness-probe/%00%ff/..%2f", headers=auth)]
    for op in ctx.spec.operations:
        if "login" in op.path.lower() or "logout" in op.path.lower():
            continue
        if op.method in {"POST", "PUT", "PATCH"} and op.body_schema is not None:
            responses.append(ctx.client.request(op.method, ctx.url(op), content=b'{"broken": ',
                                                headers={**auth, "Content-Type": "application/json"}))
        for param in op.parameters:
            if param.location == "query" and param.type == "integer":
                responses.append(ctx.call(op, identity, params={param.name: 10**30}))
                responses.append(ctx.call(op, identity, params={param.name: -1}))
            if param.location == "path":
                responses.append(ctx.call(op, identity, path_values={param.name: "\x00" + "9" * 40}))
    return responses


def run(ctx: ProbeContext) -> list[Outcome]:
    return [stack_traces(ctx), *inventory(ctx)]


def stack_traces(ctx: ProbeContext) -> Outcome:
    responses = error_triggers(ctx)
    leaking = [r for r in responses if TRACE_SIGNS.search(r.text)]
    statuses = sorted({r.status_code for r in responses})
    evidence = Evidence(measured={"error_requests": len(responses), "statuses": statuses, "leaking": len(leaking)})
    if leaking:
        evidence.samples = [sample(r) for r in leaking[:3]]
        evidence.curl = curl(leaking[0])
        match = TRACE_SIGNS.search(leaking[0].text)
        first = leaking[0].request
        return LEAK.failed(f"{first.method} {first.url.path} answered {leaking[0].status_code} with "
                           f"{match.group(0)[:80] if match else ''!r}", location=f"{first.method} {first.url.path}", evidence=evidence)
    return LEAK.passed(f"{len(responses)} error responses (statuses {statuses}) leak nothing", evidence=evidence)


def docs_allowed(ctx: ProbeContext) -> tuple[bool, str]:
    """Whether public interactive docs are intended, and who said so: the policy, else the target's hint."""
    if ctx.policy.docs_allowed is not None:
        return ctx.policy.docs_allowed, "policy security.docs_allowed"
    if "docs_allowed" in ctx.target.extra:
        return bool(ctx.target.extra["docs_allowed"]), "Target.extra['docs_allowed']"
    return False, "default (not allowed)"


def inventory(ctx: ProbeContext) -> list[Outcome]:
    """Well-known debug routes (a fixed list) that answer but are not in the spec, and the docs policy.

    Only the routes in ``DEBUG_ROUTES`` are tried: the spec cannot name what it leaves out, and crawling
    or brute-forcing paths is out of scope for a bounded probe.
    """
    documented = {op.path for op in ctx.spec.operations}
    spec_path = ctx.target.openapi_url.split(ctx.target.base_url, 1)[-1] if ctx.target.openapi_url else "/openapi.json"
    live = []
    for path in DEBUG_ROUTES:
        if path in documented or path == spec_path:
            continue
        response = ctx.client.get(path)
        if response.is_success:
            live.append(response)
    evidence = Evidence(measured={"probed": len(DEBUG_ROUTES), "live_undocumented": [r.request.url.path for r in live]},
                        samples=[sample(r) for r in live[:3]])
    outcomes = []
    if live:
        evidence.curl = curl(live[0])
        outcomes.append(UNDOCUMENTED.failed(f"live but not in the spec: {', '.join(r.request.url.path for r in live)}",
                                            location=f"GET {live[0].request.url.path}", evidence=evidence))
    else:
        outcomes.append(UNDOCUMENTED.passed(f"none of {len(DEBUG_ROUTES)} well-known debug routes answer",
                                            evidence=evidence))
    docs = [r for r in (ctx.client.get(p) for p in DOCS_ROUTES) if r.is_success]
    allowed, decided_by = docs_allowed(ctx)
    docs_evidence = Evidence(measured={"exposed": [r.request.url.path for r in docs], "docs_allowed": allowed,
                                       "docs_policy_from": decided_by},
                             samples=[sample(r) for r in docs[:1]])
    if docs and not allowed:
        outcomes.append(DOCS.failed(f"interactive docs are public at {docs[0].request.url.path}",
                                    location=f"GET {docs[0].request.url.path}", evidence=docs_evidence))
    else:
        message = f"docs public, allowed by {decided_by}" if docs else "interactive docs not exposed"
        outcomes.append(DOCS.passed(message, evidence=docs_evidence))
    return outcomes


GROUP = ProbeGroup("errors", run, RULES)
