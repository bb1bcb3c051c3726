"""A system someone else runs: the harness attaches to its URLs and identities.

``--target FILE`` (a target file, ``harness.targetfile``) or ``--target-url URL`` (optionally
``--openapi-url`` and ``--identities FILE``) selects it; flags given with a target file override its keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from harness.config import HarnessConfig
from harness.errors import UsageError, invalid_input
from harness.platforms.base import Identity, Platform, Target
from harness.targetfile import load_target


class ExternalPlatform(Platform):
    """Just URLs and identities: starting attaches, stopping leaves the system as it was."""

    name = "external"

    def __init__(self, target: Target) -> None:
        self._target = target

    def start(self) -> Target:
        return self._target

    def stop(self) -> None:
        return None


def load_identities(path: Path) -> dict[str, Identity]:
    """Read test identities for an external target: a YAML/JSON mapping name → fields.

    Example::

        acme_user: {username: alice@example.test, password: "...", tenant: acme, role: user}
    """
    if not path.is_file():
        raise UsageError(f"identities file {path} not found")
    try:
        data = (json.loads if path.suffix == ".json" else yaml.safe_load)(path.read_text()) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot parse identities ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: identities are a mapping of name -> {{username, password, tenant, role}}")
    out = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise UsageError(f"{path}: {name}: expected a mapping like {{username: ..., password: ...}}")
        try:
            out[name] = Identity(name=name, **fields)
        except ValidationError as exc:
            raise invalid_input(str(path), exc, prefix=f"{name}.") from None
    return out


def target_from_config(config: HarnessConfig) -> Target:
    """The external target: the target file (if any), then --target-url / --openapi-url / --identities on top."""
    if config.target is not None:
        target, _ = load_target(config.target)
    elif config.target_url:
        base = config.target_url.rstrip("/")
        target = Target(base_url=base, openapi_url=f"{base}/openapi.json", metrics_url=f"{base}/metrics")
    else:
        raise UsageError("platform external needs --target FILE or --target-url URL (the running system)")
    updates: dict = {}
    if config.target_url:
        base = config.target_url.rstrip("/")
        updates["base_url"] = base
        if config.target is None or target.openapi_url == f"{target.base_url}/openapi.json":
            updates["openapi_url"] = f"{base}/openapi.json"
    if config.openapi_url:
        updates["openapi_url"] = config.openapi_url
    if config.identities_file:
        updates["identities"] = load_identities(config.identities_file)
    return target.model_copy(update=updates) if updates else target


def external_platform(config: HarnessConfig) -> ExternalPlatform:
    """The external platform for ``--target`` / ``--target-url`` (``UsageError`` without either)."""
    return ExternalPlatform(target_from_config(config))
