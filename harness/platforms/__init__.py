"""Platforms start (or attach to) the system under test; ``make_platform`` picks one from config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from harness.config import HarnessConfig, PlatformName
from harness.errors import PlatformError, UsageError
from harness.platforms.base import ExternalPlatform, Identity, Platform, Target


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


def make_platform(
    config: HarnessConfig, *, log_dir: Path | None = None, env: dict[str, str] | None = None
) -> Platform:
    """The platform the configuration asks for, not yet started (``env``: extra refsys environment)."""
    if config.platform == PlatformName.EXTERNAL or config.target_url:
        if not config.target_url:
            raise UsageError("platform external needs --target-url (the base URL of the running system)")
        identities = load_identities(config.identities_file) if config.identities_file else {}
        base = config.target_url.rstrip("/")
        target = Target(
            base_url=base,
            openapi_url=config.openapi_url or f"{base}/openapi.json",
            metrics_url=f"{base}/metrics",
            identities=identities,
        )
        return ExternalPlatform(target)
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
    if config.platform == PlatformName.KIND:
        from harness.platforms.kind.platform import KindPlatform, stderr_progress

        return KindPlatform(
            defects=config.defects,
            cluster_name=config.kind_cluster,
            keep_cluster=config.keep_cluster,
            state_dir=Path(os.environ.get("HARNESS_STATE_DIR") or ".harness"),
            env=env or None,
            startup_timeout_s=max(config.startup_timeout_s, 300.0),
            progress=stderr_progress,
        )
    raise PlatformError(
        f"platform {config.platform.value!r} is not available in this version; use --platform local, "
        "or --target-url URL for a system you run yourself"
    )
