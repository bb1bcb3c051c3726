"""Platforms start (or attach to) the system under test; ``make_platform`` picks one from config."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from harness.config import HarnessConfig, PlatformName
from harness.errors import PlatformError, UsageError, invalid_input
from harness.platforms.base import ExternalPlatform, Identity, Platform, Target
from harness.targetfile import load_target


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


def make_platform(
    config: HarnessConfig, *, log_dir: Path | None = None, env: dict[str, str] | None = None
) -> Platform:
    """The platform the configuration asks for, not yet started (``env``: extra refsys environment)."""
    if config.platform == PlatformName.EXTERNAL or config.target_url or config.target:
        return ExternalPlatform(target_from_config(config))
    if config.platform == PlatformName.LOCAL:
        try:
            from harness.platforms.local.platform import LocalPlatform
        except ImportError as exc:  # pragma: no cover - only while the local platform is missing
            raise PlatformError(f"the local platform is not available: {exc}") from None
        return LocalPlatform(
            backend=config.backend,
            redis=config.redis,
            defects=config.defects,
            log_dir=log_dir,
            startup_timeout_s=config.startup_timeout_s,
            env=env or None,
        )
    raise PlatformError(
        f"platform {config.platform.value!r} is not available in this version; use --platform local, "
        "or --target-url URL for a system you run yourself"
    )
