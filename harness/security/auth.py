"""Logging in as the target's identities: bearer tokens (``login_path``) and cookie sessions.

The harness never invents users: every identity comes from ``Target.identities`` (the platform,
or the user's ``--identities`` file). Tokens are cached per identity for the whole probe run.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.platforms.base import Identity, Target
from harness.security.client import ProbeClient
from harness.security.openapi import ApiSpec, Operation

TOKEN_KEYS = ("access_token", "token", "id_token", "jwt")


class LoginFailed(RuntimeError):
    """An identity could not log in: probes that need it become not_applicable with this reason."""


@dataclass
class Tokens:
    access: str
    refresh: str | None
    expires_in: float | None
    raw: dict[str, Any] = field(default_factory=dict)
    obtained_at: float = field(default_factory=time.monotonic)

    @property
    def stale(self) -> bool:
        """Close enough to expiry that a probe could see a 401 for the wrong reason."""
        if not self.expires_in:
            return False
        return time.monotonic() >= self.obtained_at + max(self.expires_in - 1.0, self.expires_in * 0.5)


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
    return {"username": identity.username, "password": identity.password}


def login(client: ProbeClient, login_path: str, identity: Identity) -> Tokens:
    response = client.post(login_path, json=login_payload(identity))
    if response.status_code != 200:
        raise LoginFailed(f"login as {identity.name} ({identity.username}) at {login_path} answered "
                          f"{response.status_code}; check the identities file and Target.login_path")
    body = response.json()
    access = next((body[k] for k in TOKEN_KEYS if isinstance(body.get(k), str)), None)
    if not access:
        raise LoginFailed(f"login response of {login_path} has none of {TOKEN_KEYS}; cannot get a bearer token")
    return Tokens(access=access, refresh=body.get("refresh_token"), expires_in=body.get("expires_in"), raw=body)


def session_login_operation(spec: ApiSpec, login_path: str) -> Operation | None:
    """A POST taking a password that is not the bearer login: the browser (cookie) login, if any."""
    if not spec.cookie_scheme_names():
        return None
    for op in spec.operations:
        if op.method == "POST" and op.path != login_path and not op.security_schemes and op.body_schema \
                and "password" in op.body_schema.get("properties", {}):
            return op
    return None


def session_login(client: ProbeClient, op: Operation, identity: Identity) -> CookieSession:
    response = client.post(op.path, json=login_payload(identity))
    if response.status_code not in (200, 201, 204):
        raise LoginFailed(f"cookie login as {identity.name} at {op.path} answered {response.status_code}")
    cookies = {c.name: c.value or "" for c in httpx.Cookies(response.cookies).jar}  # a valueless cookie is "name="
    if not cookies:  # httpx drops Secure cookies on http:// — read Set-Cookie directly
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
    body = response.json() if "json" in response.headers.get("content-type", "") else {}
    csrf_cookie = next((name for name in cookies if "csrf" in name.lower() or "xsrf" in name.lower()), None)
    csrf_header = next((v for k, v in body.items() if "csrf" in k.lower() and "header" in k.lower()
                        and isinstance(v, str)), None)
    if csrf_cookie and not csrf_header:
        csrf_header = "X-XSRF-Token" if "xsrf" in csrf_cookie.lower() else "X-CSRF-Token"
    return CookieSession(cookies=cookies, body=body, csrf_cookie=csrf_cookie, csrf_header=csrf_header)


class Identities:
    """Target identities with cached bearer tokens, and helpers to pick them by role and tenant."""

    def __init__(self, client: ProbeClient, target: Target) -> None:
        self.client = client
        self.target = target
        self._tokens: dict[str, Tokens] = {}

    @property
    def all(self) -> list[Identity]:
        return list(self.target.identities.values())

    def tokens(self, identity: Identity) -> Tokens:
        cached = self._tokens.get(identity.name)
        if cached is None or cached.stale:
            self._tokens[identity.name] = login(self.client, self.target.login_path, identity)
        return self._tokens[identity.name]

    def fresh_tokens(self, identity: Identity) -> Tokens:
        """A new login (for tests that revoke or expire what they hold)."""
        return login(self.client, self.target.login_path, identity)

    def bearer(self, identity: Identity) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens(identity).access}"}

    def users(self) -> list[Identity]:
        return [i for i in self.all if not is_admin(i)]

    def admins(self) -> list[Identity]:
        return [i for i in self.all if is_admin(i)]

    def bola_cast(self) -> tuple[Identity, list[Identity]] | None:
        """The BOLA owner and its attackers: a user and an admin of another tenant, another user of its own.

        The owner is the first non-admin with a non-admin attacker, preferring one with another tenant's
        user. A second user of the owner's tenant is an attacker only when the identities list one: supply
        it when users must not see each other's objects (leave it out if objects are shared in a tenant).
        """
        users = self.users()
        for require_other_tenant in (True, False):
            for owner in users:
                other_tenant = [i for i in users if i.tenant != owner.tenant][:1]
                same_tenant = [i for i in users if i.tenant == owner.tenant and i.name != owner.name][:1]
                if other_tenant if require_other_tenant else same_tenant:
                    other_admin = [i for i in self.admins() if i.tenant != owner.tenant][:1]
                    return owner, other_tenant + other_admin + same_tenant
        return None


def is_admin(identity: Identity) -> bool:
    return identity.role.lower() in {"admin", "administrator", "superuser", "owner"}


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
