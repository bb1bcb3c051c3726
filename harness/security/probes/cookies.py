"""Cookie attributes: Secure, HttpOnly (session cookies), SameSite, and the ``__Host-`` prefix."""

from __future__ import annotations

import httpx

from harness.model import Evidence, Severity
from harness.security.auth import LoginFailed, login_payload, session_login_operation
from harness.security.catalog import Outcome, ProbeGroup, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext

FLAGS = rule("security.cookies.flags", "Cookies are Secure, HttpOnly (session), SameSite and __Host- prefixed",
             Severity.MEDIUM, "API8:2023", ("CWE-614", "CWE-1004", "CWE-1275"),
             "Set-Cookie with Secure; HttpOnly (except a CSRF cookie JavaScript must read); SameSite=Strict or Lax; "
             "name it __Host-... with Path=/ and no Domain (__Secure-... when it must be shared with subdomains).")

RULES = (FLAGS,)

def cookie_problems(set_cookie: str) -> list[str]:
    """What is wrong with one Set-Cookie header value (empty list when fine)."""
    name, _, rest = set_cookie.partition("=")
    name = name.strip()
    attributes = {part.split("=", 1)[0].strip().lower(): (part.split("=", 1)[1].strip() if "=" in part else "")
                  for part in rest.split(";")[1:] if part.strip()}
    readable_by_design = "csrf" in name.lower() or "xsrf" in name.lower()
    problems = []
    if "secure" not in attributes:
        problems.append(f"{name}: no Secure")
    if "httponly" not in attributes and not readable_by_design:
        problems.append(f"{name}: no HttpOnly")
    if attributes.get("samesite", "").lower() not in {"strict", "lax"}:
        problems.append(f"{name}: SameSite={attributes.get('samesite') or 'missing'}")
    if name.startswith("__Host-"):
        if "domain" in attributes or attributes.get("path") != "/":
            problems.append(f"{name}: __Host- cookie must have Path=/ and no Domain")
    elif "domain" in attributes:  # shared with subdomains on purpose: __Host- cannot apply, __Secure- can
        if not name.startswith("__Secure-"):
            problems.append(f"{name}: no __Secure- prefix (Domain is set, so __Host- cannot apply)")
    else:
        problems.append(f"{name}: no __Host- prefix")
    return problems


def cookie_responses(ctx: ProbeContext) -> list[httpx.Response]:
    """Responses that set cookies: the cookie login (from the spec), then any login response."""
    found: list[httpx.Response] = []
    identity = next(iter(ctx.identities.all), None)
    if identity is None:
        return found
    op = session_login_operation(ctx.spec, ctx.target.login_path)
    if op is not None:
        found.append(ctx.client.post(op.path, json=login_payload(identity)))
    bearer_login = ctx.client.post(ctx.target.login_path, json=login_payload(identity))
    if bearer_login.headers.get_list("set-cookie"):
        found.append(bearer_login)
    return [r for r in found if r.headers.get_list("set-cookie")]


def run(ctx: ProbeContext) -> list[Outcome]:
    try:
        responses = cookie_responses(ctx)
    except LoginFailed as exc:
        return [FLAGS.not_applicable(str(exc))]
    if not responses:
        return [FLAGS.not_applicable("no operation in the spec sets a cookie (bearer-only API)")]
    outcomes = []
    for response in responses:
        location = f"{response.request.method} {response.request.url.path}"
        headers = response.headers.get_list("set-cookie")
        problems = [p for header in headers for p in cookie_problems(header)]
        evidence = Evidence(measured={"set_cookie_count": len(headers), "problems": problems},
                            samples=[sample(response)])
        if problems:
            evidence.curl = curl(response)
            outcomes.append(FLAGS.failed("; ".join(problems), location=location, evidence=evidence))
        else:
            outcomes.append(FLAGS.passed(f"{len(headers)} cookie(s) well-flagged", location=location,
                                         evidence=evidence))
    return outcomes


GROUP = ProbeGroup("cookies", run, RULES)
