"""Authentication and the JWT lifecycle, black-box (the harness never knows the signing key).

What each check can and cannot prove without the key:

- ``no_token``/``tampered_signature``/``alg_none``: direct proof - a forged or missing token is accepted or not.
- ``modified_claims``: ``exp`` in the past, ``nbf`` in the future, other ``aud``/``iss``, ``role``/``sub``
  changed, each with the ORIGINAL signature. Acceptance proves the signature is not verified over the
  payload; rejection proves only that the signature check works - not that ``aud``/``iss``/``nbf`` are
  validated on their own (that would need a validly signed token with those claims).
- ``expired``: the only proof that ``exp`` is enforced: take a real token and wait until it has expired
  (``expires_in`` of the login response, or ``Target.extra["access_ttl_s"]``) plus a leeway allowance
  (``Target.extra["jwt_leeway_s"]``, default 5 s). Skipped when that wait exceeds the profile's budget.
- refresh rotation, reuse detection (family revocation), access token used as refresh token, logout
  revocation: direct proofs through the API's own endpoints, found in the spec.
- ``bruteforce``: wrong passwords until 429/423 or the claimed maximum is exceeded.
"""

from __future__ import annotations

import time

import httpx

from harness.model import Evidence, Severity
from harness.platforms.base import Identity
from harness.security.auth import LoginFailed, jwt_encode, jwt_parts
from harness.security.catalog import Outcome, ProbeGroup, for_claims, rule
from harness.security.client import curl, sample
from harness.security.context import ProbeContext
from harness.security.openapi import Operation

API2 = "API2:2023"
NO_TOKEN = rule("security.auth.no_token", "Bearer operations refuse requests without a token", Severity.CRITICAL,
                API2, "CWE-306", "Require authentication on every operation the spec marks as secured.")
TAMPERED = rule("security.auth.tampered_signature", "A token with a tampered signature is refused",
                Severity.CRITICAL, API2, "CWE-347", "Verify the JWT signature with the server's key on every request.")
ALG_NONE = rule("security.auth.alg_none", "A token with alg 'none' is refused", Severity.CRITICAL, API2, "CWE-347",
                "Pin the accepted algorithms (e.g. algorithms=['HS256']); never accept 'none'.")
MODIFIED = rule("security.auth.modified_claims", "Tokens with changed claims (exp, nbf, aud, iss, role, sub) are refused",
                Severity.CRITICAL, API2, ("CWE-347", "CWE-345"),
                "Verify the signature over the payload; validate exp, nbf, aud and iss.")
EXPIRED = rule("security.auth.expired", "An expired access token is refused", Severity.HIGH, API2, "CWE-613",
               "Validate exp with a small leeway (seconds, not minutes).")
ROTATION = rule("security.auth.refresh_rotation", "Refreshing rotates the refresh token", Severity.MEDIUM, API2,
                "CWE-613", "Issue a new refresh token on every refresh and mark the old one used.")
REUSE = rule("security.auth.refresh_reuse", "Reusing a rotated refresh token is refused and revokes the family",
             Severity.HIGH, API2, "CWE-613", "Detect reuse of a used refresh token and revoke every token of its family.")
ACCESS_AS_REFRESH = rule("security.auth.access_as_refresh", "An access token is not accepted as a refresh token",
                         Severity.HIGH, API2, "CWE-287", "Check the token type (typ/aud) on the refresh endpoint.")
LOGOUT = rule("security.auth.logout_revokes", "Tokens are dead after logout", Severity.MEDIUM, API2, "CWE-613",
              "Revoke the access token (deny-list its jti) and the refresh family at logout.")
LIFETIME = rule("security.auth.token_lifetime", "Access tokens live no longer than the claim states", Severity.MEDIUM,
                API2, "CWE-613", "Issue access tokens whose exp is at most the stated lifetime after iat (and say "
                "so in expires_in), or correct the claim.")
DEFAULT_LEEWAY_S = 5.0  # common clock-skew allowance; a target with another one sets Target.extra["jwt_leeway_s"]
BRUTEFORCE = rule("security.auth.bruteforce", "Login attempts are limited", Severity.MEDIUM, API2, "CWE-307",
                  "Throttle failed logins per account and per client (429 with Retry-After, or lockout).")

RULES = (NO_TOKEN, TAMPERED, ALG_NONE, MODIFIED, EXPIRED, ROTATION, REUSE, ACCESS_AS_REFRESH, LOGOUT, LIFETIME,
         BRUTEFORCE)


def probe_operation(ctx: ProbeContext) -> Operation | None:
    """An authenticated GET with no required inputs, to test tokens against (GET /me style)."""
    candidates = [op for op in ctx.bearer_operations() if op.method == "GET" and not op.path_params
                  and not any(p.required for p in op.parameters)]
    candidates.sort(key=lambda op: (len(op.parameters), len(op.path)))
    return candidates[0] if candidates else None


def _with_token(ctx: ProbeContext, op: Operation, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return ctx.client.request(op.method, ctx.url(op), headers=headers)


def run(ctx: ProbeContext) -> list[Outcome]:
    op = probe_operation(ctx)
    users = ctx.identities.users() or ctx.identities.all
    if op is None or not users:
        reason = "no bearer GET operation without inputs, or no identities to log in as"
        return [r.not_applicable(reason) for r in (NO_TOKEN, TAMPERED, ALG_NONE, MODIFIED, EXPIRED)]
    outcomes = [no_token(ctx)]
    try:
        tokens = ctx.identities.tokens(users[0])
    except LoginFailed as exc:
        return outcomes + [r.not_applicable(str(exc)) for r in (TAMPERED, ALG_NONE, MODIFIED, EXPIRED)]
    control = _with_token(ctx, op, tokens.access)
    if not control.is_success:
        reason = f"a fresh token is refused by {op.key} ({control.status_code}); cannot judge forged ones"
        return outcomes + [r.skipped(reason) for r in (TAMPERED, ALG_NONE, MODIFIED, EXPIRED)]
    parts = jwt_parts(tokens.access)
    if parts is None:
        reason = "the access token is not a JWT (opaque token): forgery checks do not apply"
        outcomes += [r.not_applicable(reason) for r in (TAMPERED, ALG_NONE, MODIFIED)]
    else:
        outcomes += forged_tokens(ctx, op, tokens.access, parts, control, users)
    outcomes.append(expired(ctx, op, users[0]))
    outcomes += refresh_lifecycle(ctx, op, users[-1])
    for claim in ctx.claims.with_params("token"):
        if claim.params.token.access_ttl_s is not None:  # type: ignore[union-attr]
            outcomes += for_claims([token_lifetime(ctx, users[0], claim.params.token.access_ttl_s)],  # type: ignore[union-attr]
                                   (claim.id,), claim_only=True)
    return outcomes


def token_lifetime(ctx: ProbeContext, identity: Identity, claimed_s: float) -> Outcome:
    """The lifetime a fresh access token is issued with (exp - iat, else expires_in) against the claimed maximum.

    With ``security.auth.expired`` (exp is enforced) this proves tokens die within the claimed time,
    without waiting that long.
    """
    tokens = ctx.identities.fresh_tokens(identity)
    parts = jwt_parts(tokens.access)
    payload = parts[1] if parts else {}
    if isinstance(payload.get("exp"), (int, float)) and isinstance(payload.get("iat"), (int, float)):
        lifetime, source = float(payload["exp"]) - float(payload["iat"]), "exp - iat of the access token"
    elif tokens.expires_in:
        lifetime, source = float(tokens.expires_in), "expires_in of the login response"
    else:
        return LIFETIME.skipped("cannot see the token's lifetime: no exp/iat claims and no expires_in",
                                evidence=Evidence(measured={"claimed_max_s": claimed_s}))
    evidence = Evidence(measured={"lifetime_s": lifetime, "source": source, "claimed_max_s": claimed_s,
                                  "expires_in": tokens.expires_in})
    if lifetime > claimed_s + 1:
        return LIFETIME.failed(f"access tokens are issued for {lifetime:g} s ({source}); the claim says at most "
                               f"{claimed_s:g} s", location=f"POST {ctx.target.login_path}", evidence=evidence)
    return LIFETIME.passed(f"issued for {lifetime:g} s ({source}) <= {claimed_s:g} s claimed",
                           location=f"POST {ctx.target.login_path}", evidence=evidence)


def no_token(ctx: ProbeContext) -> Outcome:
    accepted = []
    checked = 0
    for op in ctx.bearer_operations():
        if op.method not in {"GET", "DELETE", "POST", "PATCH", "PUT"}:
            continue
        checked += 1
        response = ctx.call(op, None)
        if response.is_success:
            accepted.append(response)
    evidence = Evidence(measured={"operations_checked": checked, "accepted_without_token": len(accepted)})
    if accepted:
        evidence.samples = [sample(r) for r in accepted[:3]]
        evidence.curl = curl(accepted[0])
        first = accepted[0].request
        return NO_TOKEN.failed(f"{len(accepted)} secured operation(s) answer 2xx without a token",
                               location=f"{first.method} {first.url.path}", evidence=evidence)
    return NO_TOKEN.passed(f"all {checked} secured operations refuse anonymous requests", evidence=evidence)


def forged_tokens(ctx: ProbeContext, op: Operation, token: str, parts: tuple[dict, dict, str],
                  control: httpx.Response, users: list[Identity]) -> list[Outcome]:
    header, payload, signature = parts
    # change the first and the second-to-last character (the last one may carry only padding bits)
    flipped = ("A" if signature[:1] != "A" else "B") + signature[1:-2] \
        + ("Q" if signature[-2:-1] != "Q" else "R") + signature[-1:]
    variants = {
        TAMPERED: {"tampered signature": jwt_encode(header, payload, flipped)},
        ALG_NONE: {f"alg={alg}": jwt_encode({**header, "alg": alg}, payload, "") for alg in ("none", "None", "NONE")},
        MODIFIED: _claim_variants(header, payload, signature, users),
    }
    outcomes = []
    for rule_, tokens in variants.items():
        accepted, samples = [], [sample(control, "control: real token")]
        for label, forged in tokens.items():
            response = _with_token(ctx, op, forged)
            samples.append(sample(response, label))
            if response.is_success:
                accepted.append((label, response))
        evidence = Evidence(measured={"variants": list(tokens), "accepted": [label for label, _ in accepted]},
                            samples=samples[:4])
        if accepted:
            evidence.curl = curl(accepted[0][1])
            outcomes.append(rule_.failed(f"accepted: {', '.join(label for label, _ in accepted)}", location=op.key,
                                         evidence=evidence))
        else:
            outcomes.append(rule_.passed(f"all {len(tokens)} variant(s) refused", location=op.key, evidence=evidence))
    return outcomes


def _claim_variants(header: dict, payload: dict, signature: str, users: list[Identity]) -> dict[str, str]:
    now = int(time.time())
    changes: dict[str, dict] = {
        "exp in the past": {"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200},
        "nbf in the future": {"nbf": now + 3600},
        "other aud": {"aud": "harness-probe-other-audience"},
        "other iss": {"iss": "https://harness-probe.invalid"},
        "role=admin": {"role": "admin", "roles": ["admin"], "is_admin": True},
        "other sub": {"sub": f"{payload.get('sub', 'user')}-other"},
    }
    return {label: jwt_encode(header, {**payload, **change}, signature) for label, change in changes.items()}


def _ttl(ctx: ProbeContext, expires_in: float | None, token: str) -> float | None:
    if expires_in:
        return float(expires_in)
    if "access_ttl_s" in ctx.target.extra:
        return float(ctx.target.extra["access_ttl_s"])
    parts = jwt_parts(token)
    if parts and "exp" in parts[1]:
        return max(0.0, float(parts[1]["exp"]) - time.time())
    return None


def expired(ctx: ProbeContext, op: Operation, identity: Identity) -> Outcome:
    tokens = ctx.identities.fresh_tokens(identity)
    ttl = _ttl(ctx, tokens.expires_in, tokens.access)
    leeway = float(ctx.target.extra.get("jwt_leeway_s", DEFAULT_LEEWAY_S))
    if ttl is None:
        return EXPIRED.not_applicable("token lifetime unknown (no expires_in, no exp claim, no access_ttl_s)")
    wait = ttl + leeway + 0.5
    if wait > ctx.budget.max_wait_s:
        return EXPIRED.skipped(f"access tokens live {ttl:.0f} s; waiting {wait:.0f} s exceeds this profile's "
                               f"budget ({ctx.budget.max_wait_s:.0f} s): run profile full, or give the target a "
                               "short TTL for tests", evidence=Evidence(measured={"ttl_s": ttl}))
    before = _with_token(ctx, op, tokens.access)
    time.sleep(wait)
    after = _with_token(ctx, op, tokens.access)
    evidence = Evidence(measured={"ttl_s": ttl, "waited_s": round(wait, 1), "status_before": before.status_code,
                                  "status_after": after.status_code},
                        samples=[sample(before, "fresh token"), sample(after, f"same token {wait:.1f} s later")])
    if not before.is_success:
        return EXPIRED.skipped(f"the fresh token was already refused ({before.status_code})", location=op.key,
                               evidence=evidence)
    if after.is_success:
        evidence.curl = curl(after)
        return EXPIRED.failed(f"token accepted {wait:.1f} s after issue (TTL {ttl:.0f} s + leeway {leeway:.0f} s)",
                              location=op.key, evidence=evidence)
    return EXPIRED.passed(f"refused with {after.status_code} after expiry", location=op.key, evidence=evidence)


def refresh_operation(ctx: ProbeContext) -> Operation | None:
    return next((op for op in ctx.spec.operations if op.method == "POST" and op.body_schema
                 and any("refresh" in name for name in op.body_schema.get("properties", {}))), None)


def logout_operation(ctx: ProbeContext) -> Operation | None:
    return next((op for op in ctx.bearer_operations() if "logout" in op.path.lower() and op.method == "POST"), None)


def _refresh(ctx: ProbeContext, op: Operation, token: str) -> httpx.Response:
    field = next(name for name in op.body_schema.get("properties", {}) if "refresh" in name)  # type: ignore[union-attr]
    return ctx.client.post(op.path, json={field: token})


def refresh_lifecycle(ctx: ProbeContext, probe_op: Operation, identity: Identity) -> list[Outcome]:
    op = refresh_operation(ctx)
    rules = (ROTATION, REUSE, ACCESS_AS_REFRESH)
    if op is None:
        return [r.not_applicable("no refresh operation (POST with a refresh_token body) in the spec") for r in rules]
    first = ctx.identities.fresh_tokens(identity)
    if not first.refresh:
        return [r.not_applicable("the login response has no refresh_token") for r in rules]
    outcomes = []
    rotated = _refresh(ctx, op, first.refresh)
    second = rotated.json().get("refresh_token") if rotated.is_success else None
    evidence = Evidence(measured={"status": rotated.status_code, "rotated": bool(second and second != first.refresh)},
                        samples=[sample(rotated, "first refresh")])
    if not rotated.is_success:
        return [r.skipped(f"refreshing a fresh refresh token failed ({rotated.status_code})", location=op.key,
                          evidence=evidence) for r in rules]
    if second and second != first.refresh:
        outcomes.append(ROTATION.passed("a new refresh token was issued", location=op.key, evidence=evidence))
        outcomes.append(refresh_reuse(ctx, op, first.refresh, second))
    else:
        evidence.curl = curl(rotated)
        outcomes.append(ROTATION.failed("the refresh response did not rotate the refresh token", location=op.key,
                                        evidence=evidence))
        outcomes.append(REUSE.not_applicable("no rotation, so no used token to reuse (the refresh token is "
                                             "reusable by design: see security.auth.refresh_rotation)",
                                             location=op.key))
    as_refresh = _refresh(ctx, op, ctx.identities.fresh_tokens(identity).access)
    evidence = Evidence(measured={"status": as_refresh.status_code}, samples=[sample(as_refresh)])
    if as_refresh.is_success:
        evidence.curl = curl(as_refresh)
        outcomes.append(ACCESS_AS_REFRESH.failed("an access token was accepted by the refresh endpoint",
                                                 location=op.key, evidence=evidence))
    else:
        outcomes.append(ACCESS_AS_REFRESH.passed(f"refused with {as_refresh.status_code}", location=op.key,
                                                 evidence=evidence))
    outcomes.append(logout_revokes(ctx, probe_op, op, identity))
    return outcomes


def refresh_reuse(ctx: ProbeContext, op: Operation, used: str, newest: str) -> Outcome:
    """After a rotation: the used token again must be refused, and that reuse must revoke ``newest`` too."""
    reused = _refresh(ctx, op, used)
    family = _refresh(ctx, op, newest)
    evidence = Evidence(measured={"reuse_status": reused.status_code, "family_status_after_reuse": family.status_code},
                        samples=[sample(reused, "reuse of the rotated token"), sample(family, "newest token after reuse")])
    if reused.is_success:
        evidence.curl = curl(reused)
        return REUSE.failed(f"a used refresh token was accepted again ({reused.status_code})", location=op.key,
                            evidence=evidence)
    if family.is_success:
        evidence.curl = curl(family)
        return REUSE.failed("reuse was refused but the family was not revoked: the newest refresh token still works",
                            location=op.key, evidence=evidence)
    return REUSE.passed("reuse refused and the family revoked", location=op.key, evidence=evidence)


def logout_revokes(ctx: ProbeContext, probe_op: Operation, refresh_op: Operation, identity: Identity) -> Outcome:
    op = logout_operation(ctx)
    if op is None:
        return LOGOUT.not_applicable("no bearer logout operation in the spec")
    tokens = ctx.identities.fresh_tokens(identity)
    out = ctx.client.post(op.path, headers={"Authorization": f"Bearer {tokens.access}"})
    if not out.is_success:
        return LOGOUT.skipped(f"logout answered {out.status_code}", location=op.key,
                              evidence=Evidence(samples=[sample(out)]))
    access_after = _with_token(ctx, probe_op, tokens.access)
    refresh_after = _refresh(ctx, refresh_op, tokens.refresh) if tokens.refresh else None
    alive = [name for name, r in (("access token", access_after), ("refresh token", refresh_after))
             if r is not None and r.is_success]
    evidence = Evidence(measured={"access_status": access_after.status_code,
                                  "refresh_status": refresh_after.status_code if refresh_after else None},
                        samples=[sample(access_after, "access after logout")]
                        + ([sample(refresh_after, "refresh after logout")] if refresh_after else []))
    if alive:
        evidence.curl = curl(access_after if "access token" in alive else refresh_after)  # type: ignore[arg-type]
        return LOGOUT.failed(f"{' and '.join(alive)} still accepted after logout", location=op.key, evidence=evidence)
    return LOGOUT.passed("access and refresh tokens refused after logout", location=op.key, evidence=evidence)


def bruteforce(ctx: ProbeContext) -> list[Outcome]:
    """The login limit the target publishes (or the suite's default 10), then each claim stating another one."""
    return [o for param_run in ctx.login_attempts()
            for o in for_claims([bruteforce_once(ctx, param_run.params.max_failures, param_run.label)],
                                param_run.claims, param_run.claim_only)]


def bruteforce_once(ctx: ProbeContext, limit: int, label: str) -> Outcome:
    """Wrong passwords for one identity until throttled; run last (it locks that identity out)."""
    identities = [i for i in reversed(ctx.identities.all) if f"login:{i.name}" not in ctx.used_identities]
    if not identities:
        return BRUTEFORCE.not_applicable("no identities" if not ctx.identities.all else
                                         f"every identity is already locked out by an earlier run ({label})")
    victim = identities[0]
    ctx.used_identities.add(f"login:{victim.name}")
    responses = []
    for attempt in range(limit + 5):
        response = ctx.client.post(ctx.target.login_path, retry_429=False,
                                   json={"username": victim.username, "password": f"wrong-password-{attempt}"})
        responses.append(response)
        if response.status_code in (423, 429) or response.is_success:
            break
    throttled = next((i for i, r in enumerate(responses, 1) if r.status_code in (423, 429)), None)
    evidence = Evidence(measured={"attempts": len(responses), "throttled_at": throttled, "claimed_max": limit,
                                  "retry_after": responses[-1].headers.get("retry-after")},
                        samples=[sample(responses[0], "first wrong password"), sample(responses[-1], "last attempt")],
                        notes=f"limit from {label}")
    location = f"POST {ctx.target.login_path}"
    if responses[-1].is_success:
        return BRUTEFORCE.error("a wrong password logged in?! check the identities file", location=location,
                                evidence=evidence)
    if throttled is None or throttled > limit + 1:
        evidence.curl = curl(responses[-1])
        return BRUTEFORCE.failed(f"{len(responses)} wrong passwords without 429/423 (claim: <= {limit})",
                                 location=location, evidence=evidence)
    return BRUTEFORCE.passed(f"throttled after {throttled - 1} failures (claim <= {limit})", location=location,
                             evidence=evidence)


GROUP = ProbeGroup("jwt", run, RULES)
