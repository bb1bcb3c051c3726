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
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness.platforms.base import Identity, Target


def wfc_entry(identity: Identity, login_path: str) -> dict:
    return {
        "name": identity.name,
        "loginEndpointAuth": {
            "endpoint": login_path,
            "verb": "POST",
            "contentType": "application/json",
            "payloadUserPwd": {"username": identity.username, "password": identity.password,
                               "usernameField": "username", "passwordField": "password"},
            "token": {"extractFrom": "body", "extractSelector": "/access_token", "sendIn": "header",
                      "sendName": "Authorization", "sendTemplate": "Bearer {token}"},
        },
    }


def ordered_identities(target: Target) -> list[Identity]:
    """Ordinary users first (least privilege is tried first), then admins; stable by name."""
    return sorted(target.identities.values(), key=lambda i: (i.role == "admin", i.name))


def peer_names(identities: list[Identity]) -> list[str]:
    """Identities that must not see each other's objects: one non-admin per tenant."""
    peers: dict[str, str] = {}
    for identity in identities:
        if identity.role != "admin":
            peers.setdefault(identity.tenant, identity.name)
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
        document = {"auth": [wfc_entry(identity, target.login_path) for identity in identities]}
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        os.chmod(path, 0o600)
        wfc: dict = {"path": str(path), "refresh_interval": refresh_interval_s}
        peers = peer_names(identities)
        if peers:
            wfc["peers"] = peers
        yield {"wfc": wfc}
