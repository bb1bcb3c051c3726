"""Injection on every parameter the spec exposes: SQLi (error, boolean, time), NoSQL operators, reflected
XSS, path traversal, SSTI and CRLF. Bounded: a handful of requests per parameter (a few more on GET
string parameters for the time-based differentials), requests rotate over the identities (so a per-user
rate limit is not hit by the probes themselves).
"""

from __future__ import annotations

import re
import secrets
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import cycle
from typing import Any

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, ProbeGroup, Rule, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Operation, Parameter

API8, API10 = "API8:2023", "API10:2023"
SQLI = rule("security.injection.sqli", "Parameters are not injectable into SQL", Severity.CRITICAL, API8, "CWE-89",
            "Use bound parameters (placeholders) for every value that reaches SQL; never format strings into queries.")
NOSQL = rule("security.injection.nosql", "Query operators are not accepted in place of values", Severity.HIGH, API8,
             "CWE-943", "Validate that scalar fields are scalars; reject objects such as {\"$ne\": null}.")
XSS = rule("security.injection.xss", "Input is not reflected unescaped into HTML", Severity.HIGH, API8, "CWE-79",
           "Escape output for its context, answer APIs with JSON (not HTML) and send nosniff + a strict CSP.")
TRAVERSAL = rule("security.injection.path_traversal", "No path traversal through parameters", Severity.HIGH, API8,
                 "CWE-22", "Resolve file names against a fixed directory and refuse '..' and absolute paths.")
SSTI = rule("security.injection.ssti", "Input is not evaluated as a template", Severity.HIGH, API8, "CWE-1336",
            "Never build templates from user input; pass it as template data.")
CRLF = rule("security.injection.crlf", "No CRLF / header injection", Severity.MEDIUM, API8, "CWE-113",
            "Reject CR/LF in values that end up in headers (redirects, cookies).")

SQL_ERRORS = re.compile(r"(sqlite3?\.|OperationalError|syntax error at or near|unterminated quoted string|"
                        r"unrecognized token|You have an error in your SQL syntax|ORA-\d{5}|psycopg|"
                        r"SQLSTATE|near \".*\": syntax error|quoted string not properly terminated)", re.I)
XSS_MARK = '<hx5 data-probe="x5">'
SSTI_FORMS = ("{{%s}}", "${%s}", "<%%= %s %%>")  # Jinja/Twig, FreeMarker/EL/Mako, ERB/EJS
TRAVERSAL_VALUE = "../../../../../../../../etc/passwd"
TRAVERSAL_SIGNS = re.compile(r"root:.*:0:0:")
CRLF_VALUE = "probe\r\nX-Harness-Injected: 1"


@dataclass
class Slot:
    """One injectable place: an operation's parameter, with a baseline value."""

    op: Operation
    param: Parameter
    baseline: Any

    @property
    def key(self) -> str:
        return f"{self.param.location}:{self.param.name}"


class Sender:
    """Sends an operation with one parameter replaced, rotating identities."""

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self._identities: Iterator[Identity] = cycle(ctx.identities.all or [None])  # type: ignore[list-item]
        self.object_ids: dict[str, str] = {}

    def send(self, slot: Slot, value: Any) -> httpx.Response:
        op, ctx = slot.op, self.ctx
        identity = next(self._identities) if ctx.spec.uses_bearer(op) else None
        path_values = {p.name: self._path_default(op, p) for p in op.path_params}
        params = {p.name: ctx.spec.example(p.schema) for p in op.parameters if p.location == "query" and p.required}
        body = ctx.spec.example_body(op)
        if slot.param.location == "path":
            path_values[slot.param.name] = value
        elif slot.param.location == "query":
            params[slot.param.name] = value
        elif slot.param.location == "body" and body is not None:
            body = {**body, slot.param.name: value}
        kwargs: dict[str, Any] = {"params": params, "path_values": path_values}
        if op.method in {"POST", "PUT", "PATCH"}:
            kwargs["json"] = body
        else:
            kwargs["json"] = None
        return ctx.call(op, identity, **kwargs)

    def _path_default(self, op: Operation, param: Parameter) -> str:
        return self.object_ids.get(op.path, str(self.ctx.spec.example(param.schema)))

RULES = (SQLI, NOSQL, XSS, TRAVERSAL, SSTI, CRLF)

def slots(ctx: ProbeContext) -> list[Slot]:
    """Every string/integer parameter of every operation, except logins (throttled) and URL fields (SSRF probe)."""
    out = []
    for op in ctx.spec.operations:
        if "login" in op.path.lower() or "logout" in op.path.lower() or op.method == "DELETE":
            continue
        for param in op.parameters:
            if param.location not in {"path", "query", "body"} or param.is_url or param.type not in {"string", "integer"}:
                continue
            out.append(Slot(op, param, ctx.spec.example(param.schema)))
    return out


def seed_objects(ctx: ProbeContext) -> None:
    """One object per identity and collection: boolean- and time-based SQLi only show when rows exist."""
    for collection in ctx.collections():
        for identity in ctx.identities.all:
            ctx.object_id(identity, collection)


def run(ctx: ProbeContext) -> list[Outcome]:
    seed_objects(ctx)
    sender = Sender(ctx)
    outcomes: list[Outcome] = []
    findings: dict[str, list[Outcome]] = {}
    tested = {r.id: 0 for r in (SQLI, NOSQL, XSS, TRAVERSAL, SSTI, CRLF)}
    for slot in slots(ctx):
        for probe in (_sqli, _xss, _traversal, _ssti, _crlf, _nosql):
            result = probe(ctx, sender, slot)
            if result is None:
                continue
            tested[result.id] += 1
            if result.failed:
                findings.setdefault(result.id, []).append(result)
    for rule_ in (SQLI, NOSQL, XSS, TRAVERSAL, SSTI, CRLF):
        if findings.get(rule_.id):
            outcomes += findings[rule_.id]
        elif tested[rule_.id]:
            outcomes.append(rule_.passed(f"{tested[rule_.id]} parameter(s) tested, none injectable",
                                         evidence=Evidence(measured={"parameters_tested": tested[rule_.id]})))
        else:
            outcomes.append(rule_.not_applicable("no parameter of a suitable type in the spec"))
    return outcomes


def _fail(rule_: Rule, slot: Slot, message: str, responses: list[tuple[str, httpx.Response]],
          measured: dict[str, Any] | None = None) -> Outcome:
    facts = {"operation": slot.op.key, "parameter": slot.key,
             "statuses": {label: r.status_code for label, r in responses},
             "payload_sent": str(responses[0][1].request.url) if slot.param.location != "body" else "see sample"}
    evidence = Evidence(measured={**facts, **(measured or {})},
                        samples=[sample(r, label) for label, r in responses[:3]], curl=curl(responses[0][1]))
    return rule_.failed(f"{slot.key} of {slot.op.key}: {message}", location=slot.op.key, parameter=slot.key,
                        evidence=evidence)


def _pass(rule_: Rule, slot: Slot) -> Outcome:
    return rule_.passed(location=slot.op.key, parameter=slot.key)


def _sqli(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    base = sender.send(slot, slot.baseline)
    quote = sender.send(slot, f"{slot.baseline}'")
    if SQL_ERRORS.search(quote.text):
        return _fail(SQLI, slot, "a single quote produces a database error", [("quote", quote), ("baseline", base)])
    if slot.param.type != "string":
        return _pass(SQLI, slot)
    balanced = sender.send(slot, f"{slot.baseline}''")
    if quote.status_code >= 500 and balanced.status_code < 500:
        return _fail(SQLI, slot, "a single quote breaks the query (5xx) and a doubled quote repairs it",
                     [("quote", quote), ("doubled quote", balanced)])
    # boolean-based: a true condition must not return more than a false one
    nomatch = f"hx{secrets.token_hex(4)}"  # fresh per call: no stored text (e.g. from body probes) contains it
    true = sender.send(slot, f"{nomatch}' OR '1'='1' -- ")
    false = sender.send(slot, f"{nomatch}' AND '1'='2' -- ")
    if true.is_success and false.is_success and _size(true) > _size(false) and _size(false) <= _size(base):
        return _fail(SQLI, slot, "OR '1'='1' returns more than AND '1'='2' (boolean-based)",
                     [("true condition", true), ("false condition", false)],
                     {"true_size": _size(true), "false_size": _size(false)})
    return _time_based(ctx, sender, slot) or _pass(SQLI, slot)


HEAVY_ROWS = 1_000_000  # ~0.3-2 s of counting in SQLite: far above jitter, far below a 5 s statement guard
HEAVY_MIN_EXTRA_S = 0.25  # every heavy answer must be slower than every light one by this much
HEAVY_ROUNDS, HEAVY_CONFIRM_ROUNDS = 2, 1


def heavy_condition(rows: int) -> str:
    """``x' OR (count to rows) > 0 --``: a bounded CPU cost inside the condition, for engines without sleep.

    A recursive CTE works on SQLite, PostgreSQL and MySQL 8; like ``pg_sleep`` it runs once as an
    uncorrelated subquery when the WHERE clause is evaluated, which needs at least one row.
    """
    return (f"x' OR (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<{rows}) "
            "SELECT count(*) FROM c) > 0 -- ")


def _time_based(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    """Differentials against the baseline, only flagged when the costly payload is reliably slower.

    First ``pg_sleep`` in a scalar subquery (PostgreSQL runs it once, as an InitPlan) - slower by ~the
    sleep. Then, for SQLite and others without a sleep function, a heavy count (``heavy_condition``)
    against the same payload counting to 1, interleaved and repeated: every heavy answer must be
    slower than every light one by ``HEAVY_MIN_EXTRA_S`` (a confirmation round when it looks so), so
    load on the machine does not pass for an injection. Rows exist thanks to ``seed_objects``.
    """
    if slot.op.method != "GET":
        return None
    delay = ctx.budget.time_based_delay_s
    baseline_s = [sender.send(slot, slot.baseline).extensions["elapsed_s"] for _ in range(2)]
    slow = sender.send(slot, f"x' OR (SELECT pg_sleep({delay})) IS NULL -- ")
    extra = slow.extensions["elapsed_s"] - statistics.median(baseline_s)
    if extra >= 0.8 * delay:
        return _fail(SQLI, slot, f"pg_sleep({delay}) delays the answer by {extra:.2f} s (time-based)",
                     [("sleep payload", slow)], {"baseline_s": baseline_s, "extra_delay_s": round(extra, 3)})
    return _heavy_query(sender, slot)


def _heavy_query(sender: Sender, slot: Slot) -> Outcome | None:
    light_s: list[float] = []
    heavy: list[httpx.Response] = []
    for rounds in (HEAVY_ROUNDS, HEAVY_CONFIRM_ROUNDS):
        for _ in range(rounds):
            light_s.append(sender.send(slot, heavy_condition(1)).extensions["elapsed_s"])
            heavy.append(sender.send(slot, heavy_condition(HEAVY_ROWS)))
        extra = min(r.extensions["elapsed_s"] for r in heavy) - max(light_s)
        if extra < HEAVY_MIN_EXTRA_S:
            return None
    heavy_s = [round(r.extensions["elapsed_s"], 3) for r in heavy]
    return _fail(SQLI, slot, f"a recursive count to {HEAVY_ROWS:,} inside the condition slows every answer by "
                 f">= {extra:.2f} s against the same payload counting to 1 (time-based, {len(heavy)} rounds)",
                 [("heavy count", heavy[0])], {"light_s": [round(t, 3) for t in light_s], "heavy_s": heavy_s,
                                               "min_extra_delay_s": round(extra, 3)})


def _size(response: httpx.Response) -> int:
    """Items in a list-shaped JSON answer, else the body length."""
    items = _items(response)
    return len(response.content) if items is None else items


def _items(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("items", "results", "data"):
            if isinstance(body.get(key), list):
                return len(body[key])
    return len(body) if isinstance(body, list) else None


def _xss(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    if slot.param.type != "string":
        return None
    response = sender.send(slot, XSS_MARK)
    html = "html" in response.headers.get("content-type", "").lower()
    if XSS_MARK in response.text and html:
        return _fail(XSS, slot, "the payload is reflected unescaped in an HTML response", [("payload", response)])
    return _pass(XSS, slot)


def _traversal(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    if slot.param.type != "string" or slot.param.location == "body":
        return None
    response = sender.send(slot, TRAVERSAL_VALUE)
    if TRAVERSAL_SIGNS.search(response.text):
        return _fail(TRAVERSAL, slot, "/etc/passwd content returned", [("traversal", response)])
    return _pass(TRAVERSAL, slot)


def _ssti(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    """One polyglot of three template syntaxes around a random product: evaluated when the product shows
    up and fewer copies of the expression come back than were sent (an echo returns all three)."""
    if slot.param.type != "string":
        return None
    a, b = secrets.randbelow(900) + 100, secrets.randbelow(900) + 100
    expression = f"{a}*{b}"
    payload = "".join(form % expression for form in SSTI_FORMS)
    response = sender.send(slot, payload)
    if str(a * b) in response.text and response.text.count(expression) < len(SSTI_FORMS):
        return _fail(SSTI, slot, f"{expression} was evaluated to {a * b}", [("template expression", response)],
                     {"expression": expression, "result": a * b})
    return _pass(SSTI, slot)


def _crlf(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    if slot.param.type != "string" or slot.param.location == "body":
        return None
    response = sender.send(slot, CRLF_VALUE)
    if "x-harness-injected" in response.headers:
        return _fail(CRLF, slot, "a CR/LF in the value created a response header", [("crlf", response)])
    return _pass(CRLF, slot)


def _nosql(ctx: ProbeContext, sender: Sender, slot: Slot) -> Outcome | None:
    """``{"$ne": null}`` in place of a string: accepted is a finding; high when it also matched more than a
    value that matches nothing (the operator was evaluated), medium when it was only accepted."""
    if slot.param.location != "body" or slot.param.type != "string":
        return None
    response = sender.send(slot, {"$ne": None})
    if not response.is_success:
        return _pass(NOSQL, slot)
    nomatch = sender.send(slot, f"hx{secrets.token_hex(4)}")
    matched, matched_nothing = _items(response), _items(nomatch)
    evaluated = matched is not None and matched_nothing is not None and matched > matched_nothing
    outcome = _fail(NOSQL, slot, f"an operator object was accepted for a string field ({response.status_code})"
                    + (f" and matched {matched} item(s) where a non-matching value matched {matched_nothing}"
                       if evaluated else ""),
                    [("operator", response), ("non-matching value", nomatch)],
                    {"status": response.status_code, "operator_items": matched, "nomatch_items": matched_nothing})
    outcome.severity = NOSQL.severity if evaluated else Severity.MEDIUM
    return outcome


GROUP = ProbeGroup("injection", run, RULES)
