"""The login itself: brute force is throttled, and failures do not tell which usernames exist.

Both work from ``Target.login`` (any path, JSON or form, any body template). A login "succeeded"
only when the credential is where the login spec says - a system answering 200 with an error in
the body to a wrong password is a failed attempt, not a break-in.
"""

from __future__ import annotations

import re
import secrets

import httpx

from harness.login import LoginFailed, credential_from
from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.catalog import Outcome, ProbeGroup, for_claims, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

API2 = "API2:2023"
BRUTEFORCE = rule("security.auth.bruteforce", "Login attempts are limited", Severity.MEDIUM, API2, "CWE-307",
                  "Throttle failed logins per account and per client (429 with Retry-After, or lockout).",
                  measures_throttling=True)
ENUMERATION = rule("security.auth.user_enumeration", "Failed logins do not reveal which usernames exist",
                   Severity.MEDIUM, API2, "CWE-204", "Answer an unknown username exactly like a wrong password "
                   "(same status, same body), e.g. 401 'invalid credentials'.")
UNCLAIMED_BOUND = 20  # no claim: wrong passwords tried before "not limited" (OWASP ASVS 2.2.1 asks for limits)


def send_login(ctx: ProbeContext, username: str, password: str, **kwargs: object) -> httpx.Response:
    spec = ctx.target.login
    return ctx.client.request(spec.method, spec.path, **spec.request_kwargs(username, password), **kwargs)  # type: ignore[arg-type]


def logged_in(ctx: ProbeContext, response: httpx.Response) -> bool:
    try:
        credential_from(response, ctx.target.login)
    except LoginFailed:
        return False
    return True


def unknown_username(identity: Identity) -> str:
    """A username nobody has, shaped like the identity's (an e-mail stays an e-mail on the same domain)."""
    name = identity.username or "user"
    token = secrets.token_hex(4)
    if "@" in name:
        return f"harness-nobody-{token}@{name.split('@', 1)[1]}"
    return f"harnessnobody{token}"


def user_enumeration(ctx: ProbeContext) -> Outcome:
    """One wrong password for a real username and one for a username nobody has: the answers must not differ."""
    identity = next(iter(ctx.identities.logging_in()), None)
    location = f"{ctx.target.login.method} {ctx.target.login.path}"
    if identity is None or identity.username is None:
        return ENUMERATION.not_applicable("no identity logs in with a username and password")
    wrong = f"harness-wrong-{secrets.token_hex(3)}"
    known = send_login(ctx, identity.username, wrong)
    nobody_name = unknown_username(identity)
    unknown = send_login(ctx, nobody_name, wrong)
    known_text = _normalised(known.text, identity.username)
    unknown_text = _normalised(unknown.text, nobody_name)
    evidence = Evidence(measured={"known_user_status": known.status_code, "unknown_user_status": unknown.status_code,
                                  "same_body": known_text == unknown_text},
                        samples=[sample(known, f"wrong password for {identity.name}"),
                                 sample(unknown, "a username nobody has")])
    if logged_in(ctx, known):
        return ENUMERATION.error(f"a wrong password logged {identity.name} in", location=location, evidence=evidence)
    if known.status_code != unknown.status_code or known_text != unknown_text:
        evidence.curl = curl(unknown)
        how = (f"status {known.status_code} vs {unknown.status_code}" if known.status_code != unknown.status_code
               else f"bodies differ: {known.text[:80]!r} vs {unknown.text[:80]!r}")
        return ENUMERATION.failed(f"a wrong password and an unknown username answer differently ({how})",
                                  location=location, evidence=evidence)
    return ENUMERATION.passed(f"both answered {known.status_code} with the same body", location=location,
                              evidence=evidence)


def _normalised(text: str, username: str) -> str:
    """The body without the username it echoes and without volatile values (ids, times)."""
    text = text.replace(username, "<user>")
    return re.sub(r"[0-9a-f]{8,}|\d{4}-\d\d-\d\dT[\d:.]+Z?|\b\d{9,}\b", "<v>", text)


def bruteforce(ctx: ProbeContext) -> list[Outcome]:
    """The login limit the target states, then each claim stating another one; with none, the harness's bound."""
    runs = ctx.login_attempts()
    if not runs:
        return [bruteforce_once(ctx, None, "no login_attempts claim (target file or --claims)")]
    return [o for param_run in runs
            for o in for_claims([bruteforce_once(ctx, param_run.params.max_failures, param_run.label)],
                                param_run.claims, param_run.claim_only)]


def bruteforce_once(ctx: ProbeContext, claimed: int | None, label: str) -> Outcome:
    """Wrong passwords for one identity until throttled; run last (it may lock that identity out)."""
    location = f"{ctx.target.login.method} {ctx.target.login.path}"
    logging_in = ctx.identities.logging_in()
    if not logging_in:
        return BRUTEFORCE.not_applicable("no identity logs in with a username and password")
    fresh = [i for i in reversed(logging_in) if f"login:{i.name}" not in ctx.used_identities]
    if not fresh:
        return BRUTEFORCE.not_applicable(f"every identity is already locked out by an earlier run ({label})")
    victim = fresh[0]
    ctx.used_identities.add(f"login:{victim.name}")
    limit = claimed if claimed is not None else UNCLAIMED_BOUND
    responses = []
    for attempt in range(limit + 5):
        response = send_login(ctx, victim.username or "", f"wrong-password-{attempt}", retry_429=False)
        responses.append(response)
        if response.status_code in (423, 429) or logged_in(ctx, response):
            break
    throttled = next((i for i, r in enumerate(responses, 1) if r.status_code in (423, 429)), None)
    evidence = Evidence(measured={"attempts": len(responses), "throttled_at": throttled, "claimed_max": claimed,
                                  "bound_without_claim": None if claimed is not None else UNCLAIMED_BOUND,
                                  "statuses": sorted({r.status_code for r in responses}),
                                  "retry_after": responses[-1].headers.get("retry-after")},
                        samples=[sample(responses[0], "first wrong password"), sample(responses[-1], "last attempt")],
                        notes=f"limit from {label}")
    said = f"claim: <= {limit}" if claimed is not None else f"no claim; the harness's bound is {UNCLAIMED_BOUND}"
    if logged_in(ctx, responses[-1]):
        return BRUTEFORCE.error(f"a wrong password logged {victim.name} in: check the identities", location=location,
                                evidence=evidence)
    if throttled == 1:
        return BRUTEFORCE.inconclusive("the login was throttled before the first wrong password counted "
                                       "(another probe's traffic?)", location=location, evidence=evidence)
    if throttled is None or throttled > limit + 1:
        evidence.curl = curl(responses[-1])
        return BRUTEFORCE.failed(f"{len(responses)} wrong passwords without 429/423 ({said})",
                                 location=location, evidence=evidence)
    return BRUTEFORCE.passed(f"throttled after {throttled - 1} failures ({said})", location=location,
                             evidence=evidence)


def run(ctx: ProbeContext) -> list[Outcome]:
    return [user_enumeration(ctx)]


RULES = (ENUMERATION, BRUTEFORCE)
GROUP = ProbeGroup("login", run, RULES)
