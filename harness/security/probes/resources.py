"""Unrestricted resource consumption: oversized page size, oversized body, deeply nested JSON."""

from __future__ import annotations

import shlex

import httpx

from harness.model import Evidence, Severity
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

API4 = "API4:2023"
PAGE_SIZE = rule("security.resources.page_size", "Page sizes are capped", Severity.MEDIUM, API4, "CWE-770",
                 "Validate page_size/limit against a maximum (declare 'maximum' in the spec) and refuse or clamp.")
BODY_SIZE = rule("security.resources.body_size", "Oversized request bodies are refused cleanly", Severity.MEDIUM,
                 API4, "CWE-770", "Limit request body size at the edge (413) and declare maxLength in the schema.")
DEEP_JSON = rule("security.resources.deep_json", "Deeply nested JSON is refused cleanly", Severity.MEDIUM, API4,
                 "CWE-674", "Limit JSON nesting depth; refuse deep nesting with 400/422 (not 500, and not by storing it).")

HUGE_PAGE = 1_000_000
BODY_BYTES = 2 * 1024 * 1024
DEPTH = 5000
SLOW_S = 3.0

RULES = (PAGE_SIZE, BODY_SIZE, DEEP_JSON)

def run(ctx: ProbeContext) -> list[Outcome]:
    identity = next(iter(ctx.identities.users() or ctx.identities.all), None)
    outcomes = [_page_size(ctx, identity)]
    writers = [op for op in ctx.bearer_operations() if op.method in {"POST", "PUT", "PATCH"} and op.body_schema
               and not op.path_params]
    if not writers or identity is None:
        return outcomes + [r.not_applicable("no bearer operation with a JSON body") for r in (BODY_SIZE, DEEP_JSON)]
    op = writers[0]
    body = ctx.spec.example_body(op) or {}
    string_field = next((k for k, v in body.items() if isinstance(v, str)), None)
    big_field = string_field or "harness_padding"
    big = {**body, big_field: "A" * BODY_BYTES}
    response = ctx.call(op, identity, json=big)
    evidence = Evidence(measured={"bytes": BODY_BYTES, "status": response.status_code,
                                  "elapsed_s": round(response.extensions["elapsed_s"], 3)}, samples=[sample(response)])
    if response.status_code >= 500 or response.is_success:
        evidence.curl = piped_curl(response, f"import json, sys; sys.stdout.write(json.dumps({{**{body!r}, "
                                             f"{big_field!r}: 'A' * {BODY_BYTES}}}))")
        outcomes.append(BODY_SIZE.failed(f"a {BODY_BYTES // 1024} KiB body got {response.status_code}",
                                         location=op.key, evidence=evidence))
    else:
        outcomes.append(BODY_SIZE.passed(f"refused with {response.status_code}", location=op.key, evidence=evidence))
    prefix = '{"' + (string_field or "harness") + '": '
    content = prefix + "[" * DEPTH + '"x"' + "]" * DEPTH + "}"
    response = ctx.client.request(op.method, ctx.url(op), content=content.encode(),
                                  headers={**ctx.identities.bearer(identity), "Content-Type": "application/json"})
    evidence = Evidence(measured={"depth": DEPTH, "status": response.status_code,
                                  "elapsed_s": round(response.extensions["elapsed_s"], 3)}, samples=[sample(response)])
    if response.status_code >= 500 or response.is_success or response.extensions["elapsed_s"] > SLOW_S:
        evidence.curl = piped_curl(response, f"import sys; d = {DEPTH}; "
                                             f"sys.stdout.write({prefix!r} + '[' * d + '\"x\"' + ']' * d + '}}')")
        verdict = "was accepted" if response.is_success else f"got {response.status_code}"
        outcomes.append(DEEP_JSON.failed(f"depth {DEPTH} JSON {verdict} in {response.extensions['elapsed_s']:.2f} s",
                                         location=op.key, evidence=evidence))
    else:
        outcomes.append(DEEP_JSON.passed(f"refused with {response.status_code}", location=op.key, evidence=evidence))
    return outcomes


def piped_curl(response: httpx.Response, python_code: str) -> str:
    """``python3 -c CODE | curl ... --data-binary @-``: a reproduction for a body too large to inline."""
    request = response.request
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    bodyless = httpx.Request(request.method, request.url, headers=headers)
    return f"python3 -c {shlex.quote(python_code)} | {curl(bodyless)} --data-binary @-"


def _page_size(ctx: ProbeContext, identity) -> Outcome:
    for op in ctx.bearer_operations():
        param = next((p for p in op.parameters if p.location == "query" and p.type == "integer"
                      and p.name.lower() in {"page_size", "pagesize", "limit", "per_page", "size", "count"}), None)
        if op.method != "GET" or param is None or identity is None:
            continue
        response = ctx.call(op, identity, params={param.name: HUGE_PAGE})
        returned = None
        if response.is_success and "json" in response.headers.get("content-type", ""):
            body = response.json()
            returned = body.get(param.name) if isinstance(body, dict) else None
        evidence = Evidence(measured={"asked": HUGE_PAGE, "status": response.status_code, "echoed": returned,
                                      "declared_maximum": param.schema.get("maximum")}, samples=[sample(response)])
        if response.status_code >= 500 or (response.is_success and returned == HUGE_PAGE):
            evidence.curl = curl(response)
            return PAGE_SIZE.failed(f"{param.name}={HUGE_PAGE} got {response.status_code}"
                                    + (" and was honoured" if returned == HUGE_PAGE else ""),
                                    location=op.key, parameter=f"query:{param.name}", evidence=evidence)
        return PAGE_SIZE.passed(f"{param.name}={HUGE_PAGE} -> {response.status_code}"
                                + (f", clamped to {returned}" if returned else ""), location=op.key,
                                parameter=f"query:{param.name}", evidence=evidence)
    return PAGE_SIZE.not_applicable("no paginated GET (page_size/limit query parameter) in the spec")


GROUP = ProbeGroup("resources", run, RULES)
