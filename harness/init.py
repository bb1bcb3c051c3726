"""``harness init --target-url URL``: describe a running system in a target file, from its spec and one login.

1. Read the OpenAPI document (``--openapi-url`` or ``<URL>/openapi.json``).
2. Find the login: a POST without security whose JSON or form body has a password-like field (ranked by a
   login-ish path); a spec that declares no body gets the usual field pairs tried on login-ish paths
   (``username``/``email``/``user``/``login`` with ``password``/``secret``/``pass``), at most ``MAX_TRIES``.
3. Log in with the credentials given (or typed); the answer must carry a credential (a token in the body,
   a header, or a session cookie) - that decides ``login.token``.
4. Write the target file (``harness-target.yaml``) and a starter load profile of the system's own GET
   operations at a low rate (``harness-load.yaml``), never the reference system's.

Every request goes to the allowed host only; nothing is written when the login cannot be found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.errors import UsageError
from harness.load.starter import probe_anonymous, starter_profile_data
from harness.login import Credential, LoginFailed, LoginSpec, credential_from
from harness.platforms.base import Identity, Target
from harness.safety import ensure_allowed

PASSWORD_FIELDS = re.compile(r"^(password|passwd|pass|pwd|secret|passphrase)$", re.I)
USER_FIELDS = re.compile(r"^(username|user|login|email|e-mail|user_?name|account|name|handle)$", re.I)
LOGIN_PATH = re.compile(r"(log-?in|sign-?in|auth|token|session)", re.I)
GUESSED_PAIRS = [("username", "password"), ("email", "password"), ("user", "password"), ("login", "password"),
                 ("email", "secret"), ("username", "secret"), ("user", "pass"), ("username", "pass")]
MAX_TRIES = 12


@dataclass
class Found:
    login: LoginSpec
    credential: Credential
    tried: int


def read_document(client: httpx.Client, location: str) -> dict[str, Any]:
    try:
        if location.startswith(("http://", "https://")):
            response = client.get(location)
            response.raise_for_status()
            document = response.json()
        else:
            document = yaml.safe_load(Path(location.removeprefix("file://")).read_text())
    except (httpx.HTTPError, OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the OpenAPI document at {location} ({str(exc).splitlines()[0]}); "
                         "pass --openapi-url") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise UsageError(f"{location} is not an OpenAPI document (no 'paths')")
    return document


def _resolve(document: dict[str, Any], node: Any) -> Any:
    for _ in range(20):
        if not (isinstance(node, dict) and "$ref" in node and str(node["$ref"]).startswith("#/")):
            return node
        target: Any = document
        for part in str(node["$ref"])[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def login_candidates(document: dict[str, Any]) -> list[LoginSpec]:
    """Login specs to try, best first: declared password-taking bodies, then guesses on login-ish paths."""
    declared, guessed = [], []
    global_security = document.get("security")
    for path, item in (document.get("paths") or {}).items():
        op = (item or {}).get("post")
        if not isinstance(op, dict) or op.get("security", global_security):
            continue
        content = (_resolve(document, op.get("requestBody")) or {}).get("content") or {}
        for media, body in content.items():
            props = (_resolve(document, (body or {}).get("schema")) or {}).get("properties") or {}
            password = next((k for k in props if PASSWORD_FIELDS.match(k) or "password" in k.lower()), None)
            user = next((k for k in props if USER_FIELDS.match(k)), None)
            if password and user and ("json" in media or "form" in media):
                declared.append((not LOGIN_PATH.search(path), LoginSpec(
                    path=path, form="form" in media, body={user: "{username}", password: "{password}"})))
        if not content and LOGIN_PATH.search(path) and "logout" not in path.lower() and "refresh" not in path.lower():
            for form in (False, True):  # JSON first: every pair, then the same as a form
                for user, password in GUESSED_PAIRS:
                    guessed.append(LoginSpec(path=path, form=form, body={user: "{username}", password: "{password}"}))
    return [spec for _, spec in sorted(declared, key=lambda pair: pair[0])] + guessed


def find_login(client: httpx.Client, document: dict[str, Any], identity: Identity) -> Found:
    tried = 0
    last = "the spec has no POST that takes a password and no login-ish path to try"
    for spec in login_candidates(document)[:MAX_TRIES * 2]:
        if tried >= MAX_TRIES:
            break
        tried += 1
        response = client.request(spec.method, spec.path, **spec.request_kwargs(identity.username or "",
                                                                              identity.password or ""))
        try:
            credential = credential_from(response, spec, identity.name)
        except LoginFailed as exc:
            last = str(exc)
            continue
        token = credential.source.removeprefix("body:") if credential.source else None
        return Found(spec.model_copy(update={"token": token}), credential, tried)
    raise UsageError(f"no working login found after {tried} attempt(s): {last}. Check the credentials, or write "
                     "the login section of the target file by hand (path, form, body, token)")


def parse_identity(text: str) -> tuple[str, str, str]:
    """``name=username:password`` (the password may contain ':')."""
    name, eq, rest = text.partition("=")
    username, colon, password = rest.partition(":")
    if not eq or not colon or not name or not username:
        raise UsageError(f"--identity {text!r}: expected name=username:password")
    return name, username, password


def init_target(base_url: str, identities: list[tuple[str, str, str]], *, openapi: str | None = None,
                allow_hosts: list[str] | None = None, out: Path = Path("harness-target.yaml"),
                load_out: Path = Path("harness-load.yaml"), force: bool = False) -> tuple[Path, Path, Found]:
    base_url = base_url.rstrip("/")
    ensure_allowed(base_url, allow_hosts or [])
    location = openapi or f"{base_url}/openapi.json"
    if location.startswith(("http://", "https://")):
        ensure_allowed(location, allow_hosts or [])
    for path in (out, load_out):
        if path.exists() and not force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    if not identities:
        raise UsageError("give at least one identity: --identity name=username:password (or --username/--password)")
    people = [Identity(name=n, username=u, password=p) for n, u, p in identities]
    with httpx.Client(base_url=base_url, timeout=10, follow_redirects=False) as client:
        document = read_document(client, location)
        found = find_login(client, document, people[0])
        for person in people[1:]:  # every identity must log in the same way
            answer = client.request(found.login.method, found.login.path,
                                    **found.login.request_kwargs(person.username or "", person.password or ""))
            try:
                credential_from(answer, found.login, person.name)
            except LoginFailed as exc:
                raise UsageError(f"identity {person.name}: {exc}") from None
        anonymous = probe_anonymous(client, document)
    target = Target(base_url=base_url, openapi_url=location, login=found.login,
                    identities={p.name: p for p in people})
    load_data = starter_profile_data(document, target, anonymous)
    load_out.write_text("# Written by harness init: this system's safe GET operations at a low rate.\n"
                        "# Raise the rate and set thresholds to what the team claims.\n"
                        + yaml.safe_dump(load_data, sort_keys=False))
    login: dict[str, Any] = found.login.model_dump(exclude_defaults=True)
    login["path"] = found.login.path  # always written, even when it is the default
    data: dict[str, Any] = {"base_url": base_url}
    if openapi:
        data["openapi"] = openapi
    data["login"] = login
    data["identities"] = {p.name: {"username": p.username, "password": p.password} for p in people}
    data["load_profile"] = str(load_out.resolve().relative_to(out.resolve().parent)) \
        if load_out.resolve().parent == out.resolve().parent else str(load_out.resolve())
    out.write_text("# Written by harness init. Add tenant/role to identities, claims (rate_limit, login_attempts)\n"
                   "# and hints as needed: see harness/targetfile.py. Test identities only: probes write data.\n"
                   + yaml.safe_dump(data, sort_keys=False))
    return out, load_out, found
