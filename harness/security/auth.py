"""Logging in as the target's identities (``Target.login``, see ``harness.login``) and cookie sessions.

The harness never invents users: every identity comes from ``Target.identities`` (the platform,
the target file, or the user's ``--identities`` file). Credentials are cached per identity for the
whole probe run.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx

from harness.login import (
    Credential,
    LoginFailed,
    LoginSpec,
    csrf_header_name,
    present,
    response_cookies,
)
from harness.login import login as shared_login
from harness.platforms.base import Identity, Target
from harness.security.client import ProbeClient
from harness.security.openapi import ApiSpec, Operation


@dataclass
class CookieSession:
    cookies: dict[str, str]
    body: dict[str, Any]
    csrf_cookie: str | None  # name of the readable CSRF cookie, if any
    csrf_header: str | None  # header the server expects the CSRF token in

    @property
    def csrf_token(self) -> str | None:
        return self.cookies.get(self.csrf_cookie) if self.csrf_cookie else None


def login_payload(identity: Identity) -> dict[str, str]:
    return {"username": identity.username or "", "password": identity.password or ""}


def login(client: ProbeClient, spec: LoginSpec, identity: Identity) -> Credential:
    return shared_login(client.request, spec, identity)


def session_login_operation(spec: ApiSpec, login_path: str) -> Operation | None:
    """A POST taking a password that is not the bearer login: the browser (cookie) login, if any."""
    if not spec.cookie_scheme_names():
        return None
    for op in spec.operations:
        if op.method == "POST" and op.path != login_path and not op.security_schemes and op.body_schema \
                and "password" in op.body_schema.get("properties", {}):
            return op
    return None


def session_from(response: httpx.Response) -> CookieSession:
    cookies = response_cookies(response)
    body = response.json() if "json" in response.headers.get("content-type", "") else {}
    body = body if isinstance(body, dict) else {}
    csrf_cookie = next((name for name in cookies if "csrf" in name.lower() or "xsrf" in name.lower()), None)
    csrf_header = csrf_header_name(cookies, body) if csrf_cookie else None
    return CookieSession(cookies=cookies, body=body, csrf_cookie=csrf_cookie, csrf_header=csrf_header)


def session_login(client: ProbeClient, op: Operation, identity: Identity) -> CookieSession:
    response = client.post(op.path, json=login_payload(identity))
    if response.status_code not in (200, 201, 204):
        raise LoginFailed(f"cookie login as {identity.name} at {op.path} answered {response.status_code}")
    return session_from(response)


class Identities:
    """Target identities with cached credentials, and helpers to pick them by role and scope."""

    def __init__(self, client: ProbeClient, target: Target) -> None:
        self.client = client
        self.target = target
        self._tokens: dict[str, Credential] = {}
        self.issued: list[tuple[str, Credential]] = []  # every credential obtained (kept for expiry replay)

    @property
    def all(self) -> list[Identity]:
        return list(self.target.identities.values())

    @property
    def cookie_login(self) -> bool:
        """The target's login hands out a session cookie (not a token): its requests are cookie-authenticated."""
        for identity in self.logging_in():
            try:
                return self.tokens(identity).kind == "cookie"
            except LoginFailed:
                continue
        return False

    def logging_in(self) -> list[Identity]:
        return [i for i in self.all if i.logs_in]

    def tokens(self, identity: Identity) -> Credential:
        cached = self._tokens.get(identity.name)
        if cached is None or cached.stale:
            self._tokens[identity.name] = self.fresh_tokens(identity)
        return self._tokens[identity.name]

    def fresh_tokens(self, identity: Identity) -> Credential:
        """A new login (for tests that revoke or expire what they hold)."""
        credential = login(self.client, self.target.login, identity)
        self.issued.append((identity.name, credential))
        return credential

    def forget(self, identity: Identity) -> None:
        """Drop a cached credential (the probe changed or revoked it)."""
        self._tokens.pop(identity.name, None)

    def bearer(self, identity: Identity) -> dict[str, str]:
        """The headers that authenticate ``identity`` (a bearer or named header, or a Cookie header)."""
        return self.tokens(identity).request_headers()

    auth_headers = bearer

    def with_token(self, token: str | None) -> dict[str, str]:
        """Headers presenting a raw (possibly forged) token the way this target expects tokens: as the session
        cookie when its login hands out a cookie, else as its login spec says (bearer by default)."""
        if token is None:
            return {}
        source = self.target.login.token
        if source is None:
            source = next((c.source for _, c in self.issued if c.source), None)
        return present(self.target.login, token, came_from=source).request_headers()

    def users(self) -> list[Identity]:
        return [i for i in self.all if not is_admin(i)]

    def admins(self) -> list[Identity]:
        return [i for i in self.all if is_admin(i)]

    def bola_cast(self) -> tuple[Identity, list[Identity]] | None:
        """The BOLA owner and its attackers: a user and an admin of another scope, another user of its own.

        The owner is the first non-admin with a non-admin attacker, preferring one of another scope (tenant,
        or - without tenants - simply another identity). A second user of the owner's tenant is an attacker
        only when the identities list one: supply it when users must not see each other's objects.
        """
        users = self.users()
        for require_other_scope in (True, False):
            for owner in users:
                other_scope = [i for i in users if i.scope != owner.scope][:1]
                same_scope = [i for i in users if i.scope == owner.scope and i.name != owner.name][:1]
                if other_scope if require_other_scope else same_scope:
                    # an admin attacks only across declared tenants: without tenants an admin may see everything
                    other_admin = [i for i in self.admins() if i.tenant is not None and owner.tenant is not None
                                   and i.tenant != owner.tenant][:1]
                    return owner, other_scope + other_admin + same_scope
        return None


def is_admin(identity: Identity) -> bool:
    return identity.is_admin


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """Header, payload and signature of a JWS compact token; None if it is not one."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    try:
        return _b64json(pieces[0]), _b64json(pieces[1]), pieces[2]
    except ValueError:
        return None


def jwt_encode(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return f"{_b64(header)}.{_b64(payload)}.{signature}"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _b64json(text: str) -> dict[str, Any]:
    decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    return decoded
