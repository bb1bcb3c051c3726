"""A system someone else runs: the harness attaches to its URLs and identities, and hurts nothing.

``--target-url URL`` (optionally ``--openapi-url`` and ``--identities FILE``) selects it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from harness.config import HarnessConfig
from harness.errors import UsageError
from harness.platforms.base import Identity, Platform, Target


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
    try:
        return {name: Identity(name=name, **fields) for name, fields in data.items()}
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{path}: bad identity ({str(exc).splitlines()[0]}); each needs username, password, tenant, role") from None


def external_platform(config: HarnessConfig) -> ExternalPlatform:
    """The external platform for ``config.target_url`` (``UsageError`` without one)."""
    if not config.target_url:
        raise UsageError("platform external needs --target-url (the base URL of the running system)")
    identities = load_identities(config.identities_file) if config.identities_file else {}
    base = config.target_url.rstrip("/")
    return ExternalPlatform(Target(base_url=base, openapi_url=config.openapi_url or f"{base}/openapi.json",
                                   metrics_url=f"{base}/metrics", identities=identities))
