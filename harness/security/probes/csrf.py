"""CSRF on cookie-session operations: the token must be present, match, be signed and bound to the session.

Only operations the spec marks as cookie-authenticated are in scope; a bearer-only API is
``not_applicable`` (browsers do not attach Authorization headers cross-site).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.auth import CookieSession, LoginFailed, session_login, session_login_operation
from harness.security.catalog import Outcome, ProbeGroup, Rule, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Operation

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

MAX_OBSERVED_GETS = 6  # cookie GETs tried as actions and used as observers (bounds the requests)
RULES = (MISSING, MISMATCH, FORGED, CROSS_SESSION, STATE_GET)


def run(ctx: ProbeContext) -> list[Outcome]:
    cookie_ops = [op for op in ctx.spec.operations if ctx.spec.uses_cookie(op)]
    if not cookie_ops:
        reason = "no cookie-authenticated operation in the spec (bearer-only API: CSRF does not apply)"
        return [r.not_applicable(reason) for r in RULES]
    login_op = session_login_operation(ctx.spec, ctx.target.login_path)
    identities = ctx.identities.users() or ctx.identities.all
    if login_op is None or not identities:
        return [r.not_applicable("no cookie login operation in the spec, or no identities") for r in RULES]
    try:
        outcomes = [state_changing_get(ctx, cookie_ops, login_op, identities[0])]
        mine = session_login(ctx.client, login_op, identities[0])
        other = session_login(ctx.client, login_op, identities[-1])
    except LoginFailed as exc:
        return [r.not_applicable(str(exc)) for r in RULES]
    targets = [op for op in cookie_ops if op.is_state_changing and "logout" not in op.path.lower()]
    if not targets:
        return outcomes + [r.not_applicable("no state-changing cookie operation besides logout")
                           for r in (MISSING, MISMATCH, FORGED, CROSS_SESSION)]
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


def state_changing_get(ctx: ProbeContext, cookie_ops: list[Operation], login_op: Operation,
                       identity: Identity) -> Outcome:
    """Send each cookie GET as a cross-site link would (session cookie, no CSRF header) and watch the others.

    A GET changes state when another GET answers differently after it than before it, while a control
    run (same reads in a fresh session, without the GET in between) shows no difference; or when the GET
    itself answers 2xx once and 401/403/404/410 when repeated (a logout or delete link).
    """
    gets = [op for op in cookie_ops if op.method == "GET" and not op.path_params][:MAX_OBSERVED_GETS]
    if not gets:
        return STATE_GET.not_applicable("no cookie-authenticated GET without path parameters to send")
    for action in gets:
        observers = [op for op in gets if op is not action]
        control = _observe(ctx, login_op, identity, observers)
        acted = _observe(ctx, login_op, identity, observers, action)
        changed = [key for key in acted.changed if key not in control.changed]
        if changed:
            evidence = Evidence(measured={"action": action.key, "changed": changed,
                                          "unstable_without_action": control.changed},
                                samples=[sample(r, label) for label, r in acted.responses][:4],
                                curl=curl(acted.responses[0][1]))
            return STATE_GET.failed(f"{action.key} (session cookie only, as a link would send it) changed what "
                                    f"{', '.join(changed)} answers", location=action.key, evidence=evidence)
    return STATE_GET.passed(f"{len(gets)} cookie GET operation(s) sent with a session: none changed what the "
                            "others (or a repeat) answer", evidence=Evidence(measured={"gets": [op.key for op in gets]}))


@dataclass
class _Observation:
    changed: list[str] = field(default_factory=list)  # observer keys (or the action's own) whose answer changed
    responses: list[tuple[str, httpx.Response]] = field(default_factory=list)  # action first, then evidence


def _observe(ctx: ProbeContext, login_op: Operation, identity: Identity, observers: list[Operation],
             action: Operation | None = None) -> _Observation:
    session = session_login(ctx.client, login_op, identity)

    def get(op: Operation) -> httpx.Response:
        return ctx.client.get(ctx.url(op), cookies=session.cookies)

    before = {op.key: get(op) for op in observers}
    acted = get(action) if action else None
    after = {op.key: get(op) for op in observers}
    seen = _Observation(changed=[key for key in before if _answer(before[key]) != _answer(after[key])])
    if action is not None and acted is not None:
        repeat = get(action)
        seen.responses = [(f"{action.key} (the GET)", acted)]
        if acted.is_success and repeat.status_code in (401, 403, 404, 410):
            seen.changed.append(f"{action.key} itself ({acted.status_code} then {repeat.status_code})")
            seen.responses.append((f"{action.key} repeated", repeat))
        for key in seen.changed:
            if key in before:
                seen.responses += [(f"{key} before", before[key]), (f"{key} after", after[key])]
    return seen


def _answer(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.text


__all__ = ["CookieSession", "run"]


GROUP = ProbeGroup("csrf", run, RULES)
