"""A fuzzer that keeps its identities: which operations it never sends, and whether every login survived.

Schemathesis sends every operation as the target's identities. An operation that changes the caller's own
password or e-mail, or deletes users (``DELETE /users/{id}``, ``DELETE /me``), would take a test identity
away mid-run and turn the rest of the run into login failures. So, for targets whose identities log in:

- those operations are excluded (``fuzz.keep_identities``, on by default), and so is whatever the target
  file's ``fuzz.exclude`` names; ``fuzz.include`` (when given) keeps only what it names. Patterns are
  Schemathesis-style: ``METHOD /path`` (``*`` globs), ``/path`` (every method) or ``operationId:ID``.
  They become per-operation ``enabled = false`` entries of the engine's own configuration;
- after the run every login identity logs in once more; one that cannot is named with the reason
  (``contract.identities.kept``), so a lost login is a harness finding, never a wall of 401s.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import httpx

from harness.contract.document import iter_operations
from harness.login import LoginFailed, login
from harness.platforms.base import Target

CREDENTIAL_REASON = "changes or deletes a login identity (fuzz.keep_identities)"


def credential_changing(method: str, path: str) -> bool:
    from harness.security.learn import changes_credentials
    from harness.security.openapi import Operation

    return changes_credentials(Operation(method.upper(), path, "", {}))


def matches(pattern: str, method: str, path: str, operation_id: str | None) -> bool:
    if pattern.startswith("operationId:"):
        return operation_id == pattern.split(":", 1)[1]
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(path, pattern)
    wanted_method, _, wanted_path = pattern.partition(" ")
    return (wanted_method in ("*", method.upper())) and fnmatch.fnmatchcase(path, wanted_path)


def excluded_operations(raw: dict[str, Any], target: Target) -> dict[str, str]:
    """``"METHOD /path" -> why it is not sent``."""
    fuzz = target.extra.get("fuzz") or {}
    include, exclude = list(fuzz.get("include") or []), list(fuzz.get("exclude") or [])
    keep = fuzz.get("keep_identities", True) and any(i.logs_in for i in target.identities.values())
    out: dict[str, str] = {}
    for path, method, operation in iter_operations(raw):
        key, op_id = f"{method.upper()} {path}", operation.get("operationId")
        named = next((p for p in exclude if matches(p, method, path, op_id)), None)
        if named:
            out[key] = f"fuzz.exclude: {named}"
        elif include and not any(matches(p, method, path, op_id) for p in include):
            out[key] = "not in fuzz.include"
        elif keep and credential_changing(method, path):
            out[key] = CREDENTIAL_REASON
    return out


def disabled_entries(excluded: dict[str, str]) -> list[dict[str, Any]]:
    """Schemathesis per-operation config turning each excluded operation off."""
    # one filter on the label: schemathesis ORs separate include-method / include-path filters
    return [{"include-name": key, "enabled": False} for key in excluded]


def lost_identities(target: Target, timeout_s: float = 10.0) -> dict[str, str]:
    """Every identity that logs in, logged in once more after the run: name -> why it no longer can."""
    lost: dict[str, str] = {}
    with httpx.Client(base_url=target.base_url, timeout=timeout_s) as client:
        for identity in target.identities.values():
            if not identity.logs_in:
                continue
            try:
                login(client.request, target.login, identity)
            except (LoginFailed, httpx.HTTPError) as exc:
                lost[identity.name] = str(exc)
    return lost
