"""Log schemathesis in as the target's identities through a Web Fuzzing Commons auth document.

Schemathesis 4 reads WFC documents natively: one entry per identity with a login endpoint; it logs
in lazily, caches each token for ``refresh_interval`` seconds and logs in again when a request
comes back 401 (that is the token refresh), tries identities in order for operations one of them
is refused, and uses the listed *peers* for its object-level-authorization check. So the harness
only writes the document; it never handles tokens itself.

The document holds passwords: it is written to a private temporary folder, never to the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml

from harness.login import AUTO_TOKEN_KEYS, LoginSpec, dotted, response_cookies, static_credential
from harness.platforms.base import Identity, Target


def wfc_entry(identity: Identity, login: LoginSpec, detected: str | None = None) -> dict:
    """One WFC auth entry: a login the target's way (JSON or form, any body, token from body or header,
    or a session cookie), or the identity's static credential as fixed headers."""
    static = static_credential(identity)
    if static is not None:
        return {"name": identity.name, "fixedHeaders": [{"name": k, "value": v}
                                                        for k, v in static.request_headers().items()]}
    endpoint: dict = {"endpoint": login.path, "verb": login.method,
                      "contentType": "application/x-www-form-urlencoded" if login.form else "application/json"}
    user_field, password_field = login.username_field, login.password_field
    if set(login.body) == {user_field, password_field} and user_field and password_field:
        endpoint["payloadUserPwd"] = {"username": identity.username, "password": identity.password,
                                      "usernameField": user_field, "passwordField": password_field}
    else:  # any other template: the filled body, sent as is
        filled = login.request_kwargs(identity.username or "", identity.password or "", identity.tenant)
        endpoint["payloadRaw"] = urlencode(filled["data"]) if login.form else json.dumps(filled["json"])
    source = login.token or detected or "body:access_token"  # undeclared: where the harness found it
    if source.startswith("cookie:") and not (login.send or "").startswith(("header:", "bearer")):
        endpoint["expectCookies"] = True
    else:
        token: dict = {"extractFrom": "header" if source.startswith("header:") else "body",
                       "extractSelector": source.split(":", 1)[1] if source.startswith(("header:", "cookie:"))
                       else "/" + source.removeprefix("body:").replace(".", "/")}
        send = login.send or ("header:" + source.split(":", 1)[1] if source.startswith("header:") else "bearer")
        if send == "bearer":
            token.update(sendIn="header", sendName="Authorization", sendTemplate="Bearer {token}")
        else:
            token.update(sendIn="header", sendName=send.split(":", 1)[1], sendTemplate="{token}")
        endpoint["token"] = token
    return {"name": identity.name, "loginEndpointAuth": endpoint}


def detect_source(target: Target) -> str | None:
    """Log one identity in to learn where an undeclared token lives: ``body:<dotted>`` or ``cookie:<name>``."""
    if target.login.token is not None:
        return None
    for identity in target.identities.values():
        if not identity.logs_in:
            continue
        try:
            with httpx.Client(base_url=target.base_url, timeout=10) as client:
                response = client.request(target.login.method, target.login.path,
                                          **target.login.request_kwargs(identity.username or "",
                                                                        identity.password or "", identity.tenant))
            body = response.json() if "json" in response.headers.get("content-type", "") else None
        except (httpx.HTTPError, ValueError):
            return None
        for key in AUTO_TOKEN_KEYS:
            for prefix in ("", "data."):
                if isinstance(dotted(body, prefix + key), str):
                    return f"body:{prefix}{key}"
        cookies = response_cookies(response)
        return f"cookie:{next(iter(cookies))}" if cookies else None
    return None


def ordered_identities(target: Target) -> list[Identity]:
    """Ordinary users first (least privilege is tried first), then admins; stable by name."""
    return sorted(target.identities.values(), key=lambda i: (i.is_admin, i.name))


def peer_names(identities: list[Identity]) -> list[str]:
    """Identities that must not see each other's objects: one non-admin per tenant."""
    peers: dict[str, str] = {}
    for identity in identities:
        if not identity.is_admin:
            peers.setdefault(identity.scope, identity.name)
    return list(peers.values()) if len(peers) > 1 else []


@contextlib.contextmanager
def wfc_auth_config(target: Target, refresh_interval_s: int = 240) -> Iterator[dict | None]:
    """The schemathesis ``auth`` table for ``target`` (``None`` without identities); file removed after."""
    identities = ordered_identities(target)
    if not identities:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="harness-contract-auth-") as folder:
        path = Path(folder) / "wfc-auth.yaml"
        detected = detect_source(target)
        document = {"auth": [wfc_entry(identity, target.login, detected) for identity in identities]}
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        os.chmod(path, 0o600)
        wfc: dict = {"path": str(path), "refresh_interval": refresh_interval_s}
        peers = peer_names(identities)
        if peers:
            wfc["peers"] = peers
        yield {"wfc": wfc}
