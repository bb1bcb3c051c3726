"""How an identity gets its credentials on a target, and how a request presents them.

One path for every suite (security probes, the contract fuzzer's auth document, load workers,
chaos write-tracking, ``harness init``): a ``LoginSpec`` says where to log in (path, JSON or
form, a body template) and where the credential is in the answer (a dotted path into the JSON
body, ``header:NAME`` or ``cookie:NAME``); ``Credential`` says how it is sent back (a bearer
header, a named header or a cookie). Identities with static credentials (a token, an API key,
a cookie) skip the login.

A login "succeeds" only when the credential is where the spec says: a system that answers 200
to a wrong password (with an error in the body) is a failed login, not a token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from harness.platforms.base import Identity

AUTO_TOKEN_KEYS = ("access_token", "token", "id_token", "jwt", "accessToken", "auth_token")
SOURCE_PATTERN = r"^((header|cookie):[A-Za-z0-9_\-.]+|[A-Za-z0-9_\-$]+(\.[A-Za-z0-9_\-$]+)*)$"
CSRF_NAMES = re.compile(r"csrf|xsrf", re.I)


class LoginFailed(RuntimeError):
    """An identity could not log in: probes that need it become not_applicable with this reason."""


class LoginSpec(BaseModel):
    """Where an identity logs in and where its credential is in the answer."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("/auth/login", pattern=r"^/", description="the login operation's path")
    method: Literal["POST", "PUT"] = "POST"
    form: bool = Field(False, description="send the body as application/x-www-form-urlencoded (JSON by default)")
    body: dict[str, Any] = Field(default_factory=lambda: {"username": "{username}", "password": "{password}"},
                                 description="body template: {username}, {password}, {tenant} are filled in")
    token: str | None = Field(None, pattern=SOURCE_PATTERN, description="dotted path into the JSON answer (data.jwt), "
                              "header:NAME or cookie:NAME; default: the first of access_token, token, id_token, jwt, "
                              "else the session cookie the answer sets")
    refresh_token: str | None = Field(None, pattern=SOURCE_PATTERN, description="dotted path of a refresh token")
    expires_in: str | None = Field(None, pattern=SOURCE_PATTERN, description="dotted path of the lifetime in seconds")
    send: str | None = Field(None, pattern=r"^(bearer|header:[A-Za-z0-9_\-]+|cookie:[A-Za-z0-9_\-.]+)$",
                             description="how requests present it: bearer (default for body tokens), header:NAME, "
                             "cookie:NAME (default: like it came)")

    @field_validator("body")
    @classmethod
    def _mentions_credentials(cls, value: dict[str, Any]) -> dict[str, Any]:
        text = repr(value)
        if "{password}" not in text:
            raise ValueError("the body template must contain {password} (and usually {username})")
        return value

    @property
    def password_field(self) -> str | None:
        return next((k for k, v in self.body.items() if v == "{password}"), None)

    @property
    def username_field(self) -> str | None:
        return next((k for k, v in self.body.items() if v == "{username}"), None)

    def request_kwargs(self, username: str, password: str, tenant: str | None = None) -> dict[str, Any]:
        """``json=`` or ``data=`` for httpx, the template filled in."""
        values = {"username": username, "password": password, "tenant": tenant or ""}
        body = _fill(self.body, values)
        return {"data": {k: str(v) for k, v in body.items()}} if self.form else {"json": body}


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        exact = re.fullmatch(r"\{(username|password|tenant)\}", node)
        if exact:
            return values[exact.group(1)]
        return re.sub(r"\{(username|password|tenant)\}", lambda m: values[m.group(1)], node)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def dotted(data: Any, path: str) -> Any:
    """``data.jwt`` → ``data["data"]["jwt"]`` (list indexes as numbers); None when absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def response_cookies(response: httpx.Response) -> dict[str, str]:
    """Cookies a response sets, read from Set-Cookie (httpx drops Secure cookies on http://)."""
    cookies: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0].strip().strip('"')
        if name.strip() and value:
            cookies[name.strip()] = value
    return cookies


@dataclass
class Credential:
    """What one identity presents: headers (bearer or named) and cookies; the raw token when there is one."""

    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    token: str | None = None  # the access token itself (a JWT or opaque), when the credential is one
    refresh: str | None = None
    expires_in: float | None = None
    raw: Any = None  # the login answer's JSON body
    obtained_at: float = field(default_factory=time.monotonic)
    kind: str = "bearer"  # bearer | header | cookie | api_key
    source: str | None = None  # where the token came from: body:<path>, header:NAME, cookie:NAME

    @property
    def access(self) -> str:
        """The token (compatibility name); empty for cookie sessions without a readable token."""
        return self.token or ""

    @property
    def stale(self) -> bool:
        """Close enough to expiry that a probe could see a 401 for the wrong reason."""
        if not self.expires_in:
            return False
        margin = max(2.0, self.expires_in * 0.1)  # an exp rounded down to the second, clocks a little apart
        return time.monotonic() >= self.obtained_at + max(self.expires_in - margin, self.expires_in * 0.5)

    def request_headers(self) -> dict[str, str]:
        """Headers for one request: the credential, its cookies as a Cookie header, and a double-submit
        CSRF header when the session carries a readable CSRF cookie (what the target's own web client does)."""
        out = dict(self.headers)
        if self.cookies:
            out["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            csrf = next((v for k, v in self.cookies.items() if CSRF_NAMES.search(k)), None)
            if csrf is not None:
                out.setdefault(csrf_header_name(self.cookies, self.raw), csrf)
        return out


def csrf_header_name(cookies: dict[str, str], body: Any) -> str:
    """The header a double-submit CSRF token goes in: named by the login answer, else the usual name."""
    if isinstance(body, dict):
        named = next((v for k, v in body.items() if "csrf" in k.lower() and "header" in k.lower()
                      and isinstance(v, str)), None)
        if named:
            return named
    cookie = next((k for k in cookies if CSRF_NAMES.search(k)), "")
    return "X-XSRF-Token" if "xsrf" in cookie.lower() else "X-CSRF-Token"


def present(spec: LoginSpec, token: str, *, came_from: str | None = None) -> Credential:
    """A credential carrying ``token`` the way this target expects it back."""
    how = spec.send or (came_from if came_from and not came_from.startswith("body") else "bearer")
    if how.startswith("header:"):
        return Credential(headers={how.split(":", 1)[1]: token}, token=token, kind="header")
    if how.startswith("cookie:"):
        return Credential(cookies={how.split(":", 1)[1]: token}, token=token, kind="cookie")
    return Credential(headers={"Authorization": f"Bearer {token}"}, token=token, kind="bearer")


def static_credential(identity: Identity) -> Credential | None:
    """The credential of an identity that does not log in (token, API key or cookie given as is)."""
    if identity.token:
        return Credential(headers={"Authorization": f"Bearer {identity.token}"}, token=identity.token, kind="bearer")
    if identity.api_key:
        return Credential(headers={identity.header or "X-API-Key": identity.api_key}, token=identity.api_key,
                          kind="api_key")
    if identity.cookie:
        name, _, value = identity.cookie.partition("=")
        return Credential(cookies={name.strip(): value.strip()}, kind="cookie")
    return None


Send = Callable[..., httpx.Response]  # (method, path, **httpx kwargs) -> response


def login(send: Send, spec: LoginSpec, identity: Identity) -> Credential:
    """Log ``identity`` in through ``send`` and extract its credential; ``LoginFailed`` says why not."""
    static = static_credential(identity)
    if static is not None:
        return static
    if identity.username is None or identity.password is None:
        raise LoginFailed(f"identity {identity.name} has no username/password and no static credential")
    response = send(spec.method, spec.path, **spec.request_kwargs(identity.username, identity.password,
                                                                 identity.tenant))
    return credential_from(response, spec, identity.name)


def credential_from(response: httpx.Response, spec: LoginSpec, who: str = "the identity") -> Credential:
    """The credential in a login answer, per ``spec``; ``LoginFailed`` when it is not there."""
    where = f"{spec.method} {spec.path}"
    if response.status_code == 429 or response.status_code >= 500:
        raise LoginFailed(f"login as {who} at {where} answered {response.status_code}: the service is throttling "
                          "or unavailable (not a credential problem); try again when it is up")
    if not (200 <= response.status_code < 400):
        raise LoginFailed(f"login as {who} at {where} answered {response.status_code}; check the identity's "
                          "username/password and the target file's login section")
    body = _json(response)
    cookies = response_cookies(response)
    source, token = _find_token(spec, response, body, cookies)
    if source is None or token is None:
        wanted = spec.token or f"one of {', '.join(AUTO_TOKEN_KEYS)} or a session cookie"
        raise LoginFailed(f"login as {who} at {where} answered {response.status_code} without a credential "
                          f"({wanted}); a failed login, or set login.token in the target file")
    if source.startswith("cookie:") and not spec.send:
        credential = Credential(cookies=cookies, token=token, kind="cookie", source=source)
    else:
        credential = present(spec, token, came_from=source)
        credential.source = source
        if cookies and credential.kind != "cookie" and any(CSRF_NAMES.search(k) for k in cookies):
            credential.cookies = cookies
    credential.raw = body
    credential.refresh = _maybe_str(dotted(body, spec.refresh_token or "refresh_token"))
    lifetime = dotted(body, spec.expires_in or "expires_in")
    credential.expires_in = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else None
    return credential


def _find_token(spec: LoginSpec, response: httpx.Response, body: Any,
                cookies: dict[str, str]) -> tuple[str | None, str | None]:
    if spec.token:
        if spec.token.startswith("header:"):
            value = response.headers.get(spec.token.split(":", 1)[1])
            if value and value.lower().startswith("bearer "):
                value = value[7:]
            return spec.token, value or None
        if spec.token.startswith("cookie:"):
            return spec.token, cookies.get(spec.token.split(":", 1)[1])
        return "body:" + spec.token, _maybe_str(dotted(body, spec.token))
    for key in AUTO_TOKEN_KEYS:  # auto: a token in the body (top level or under data), else a session cookie
        for prefix in ("", "data."):
            value = _maybe_str(dotted(body, prefix + key))
            if value:
                return f"body:{prefix}{key}", value
    session = {k: v for k, v in cookies.items() if not CSRF_NAMES.search(k)}
    if session:
        name = next(iter(session))
        return f"cookie:{name}", session[name]
    return None, None


def _maybe_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None
