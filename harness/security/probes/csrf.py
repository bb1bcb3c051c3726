"""CSRF on cookie-session operations: the token must be present, match, be signed and bound to the session.

Only operations the spec marks as cookie-authenticated are in scope; a bearer-only API is
``not_applicable`` (browsers do not attach Authorization headers cross-site).
"""

from __future__ import annotations

import secrets

import httpx

from harness.model import Evidence, Severity
from harness.security.auth import CookieSession, LoginFailed, session_login, session_login_operation
from harness.security.catalog import Outcome, Rule, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.spec import Operation

OWASP = "API8:2023"
MISSING = rule("security.csrf.missing_token", "State change without a CSRF token is refused", Severity.HIGH, OWASP,
               "CWE-352", "Require the CSRF header on every state-changing cookie-authenticated request.")
MISMATCH = rule("security.csrf.mismatch", "CSRF header that differs from the cookie is refused", Severity.HIGH,
                OWASP, "CWE-352", "Compare the CSRF header with the CSRF cookie in constant time; refuse a mismatch.")
FORGED = rule("security.csrf.forged_pair", "An attacker-chosen matching cookie/header pair is refused",
              Severity.HIGH, OWASP, "CWE-352", "Sign the double-submit token (HMAC bound to the session) so a "
              "pair an attacker plants (cookie tossing) does not verify.")
CROSS_SESSION = rule("security.csrf.cross_session", "A CSRF token from another session is refused", Severity.MEDIUM,
                     OWASP, "CWE-352", "Bind the CSRF token to the session it was issued for.")
STATE_GET = rule("security.csrf.state_changing_get", "No state-changing GET on cookie-authenticated routes",
                 Severity.MEDIUM, OWASP, "CWE-352", "Use POST/PUT/PATCH/DELETE for state changes; GET must be safe.")

STATE_CHANGING_WORDS = ("delete", "remove", "create", "update", "logout", "transfer", "reset", "set")


def run(ctx: ProbeContext) -> list[Outcome]:
    cookie_ops = [op for op in ctx.spec.operations if ctx.spec.uses_cookie(op)]
    if not cookie_ops:
        reason = "no cookie-authenticated operation in the spec (bearer-only API: CSRF does not apply)"
        return [r.not_applicable(reason) for r in (MISSING, MISMATCH, FORGED, CROSS_SESSION, STATE_GET)]
    outcomes = [_state_changing_get(cookie_ops)]
    targets = [op for op in cookie_ops if op.is_state_changing and "logout" not in op.path.lower()]
    login_op = session_login_operation(ctx.spec, ctx.target.login_path)
    identities = ctx.identities.users() or ctx.identities.all
    if not targets or login_op is None or len(identities) < 1:
        reason = "no state-changing cookie operation, or no cookie login operation in the spec"
        return outcomes + [r.not_applicable(reason) for r in (MISSING, MISMATCH, FORGED, CROSS_SESSION)]
    try:
        mine = session_login(ctx.client, login_op, identities[0])
        other = session_login(ctx.client, login_op, identities[-1]) if len(identities) > 1 else \
            session_login(ctx.client, login_op, identities[0])
    except LoginFailed as exc:
        return outcomes + [r.not_applicable(str(exc)) for r in (MISSING, MISMATCH, FORGED, CROSS_SESSION)]
    if not mine.csrf_cookie or not mine.csrf_header:
        return outcomes + [r.failed("cookie session has no CSRF cookie/header pair at all", location=login_op.key)
                           for r in (MISSING,)] + [r.not_applicable("no CSRF token scheme to test")
                                                   for r in (MISMATCH, FORGED, CROSS_SESSION)]
    op = targets[0]
    session_cookies = {k: v for k, v in mine.cookies.items() if k != mine.csrf_cookie}
    forged = secrets.token_urlsafe(16)
    attempts: list[tuple[Rule, str, dict[str, str], dict[str, str]]] = [
        (MISSING, "no CSRF header", mine.cookies, {}),
        (MISMATCH, "header differs from cookie", mine.cookies, {mine.csrf_header: forged}),
        (FORGED, "attacker-chosen pair", {**session_cookies, mine.csrf_cookie: forged}, {mine.csrf_header: forged}),
        (CROSS_SESSION, "token of another session", {**session_cookies, mine.csrf_cookie: other.csrf_token or ""},
         {mine.csrf_header: other.csrf_token or ""}),
    ]
    control = _send(ctx, op, mine.cookies, {mine.csrf_header: mine.csrf_token or ""})
    for rule_, label, cookies, headers in attempts:
        response = _send(ctx, op, cookies, headers)
        evidence = Evidence(measured={"status": response.status_code, "control_status": control.status_code},
                            samples=[sample(response, label), sample(control, "control: valid token")])
        if response.is_success:
            evidence.curl = curl(response)
            outcomes.append(rule_.failed(f"{label}: {op.key} answered {response.status_code}", location=op.key,
                                         evidence=evidence))
        elif not control.is_success:
            outcomes.append(rule_.skipped(f"even the valid token was refused ({control.status_code}); cannot judge",
                                          location=op.key, evidence=evidence))
        else:
            outcomes.append(rule_.passed(f"{label}: refused with {response.status_code}", location=op.key,
                                         evidence=evidence))
    return outcomes


def _send(ctx: ProbeContext, op: Operation, cookies: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return ctx.client.request(op.method, ctx.url(op), cookies=cookies, headers=headers,
                              json=ctx.spec.example_body(op))


def _state_changing_get(cookie_ops: list[Operation]) -> Outcome:
    suspicious = [op.key for op in cookie_ops if op.method == "GET"
                  and any(w in (op.operation_id + op.path).lower() for w in STATE_CHANGING_WORDS)]
    if suspicious:
        return STATE_GET.failed(f"GET operations that look state-changing: {', '.join(suspicious)}",
                                location=suspicious[0])
    return STATE_GET.passed(f"{sum(op.method == 'GET' for op in cookie_ops)} cookie GET operation(s) look read-only")


__all__ = ["run", "CookieSession"]
