"""Platforms start (or attach to) the system under test; ``make_platform`` picks one from config.

``base`` holds the contracts (``Platform``, ``Target``, ``Identity``); each platform lives in a
module or package of its own beside it (``external``, ``local/``) and is imported only when
chosen. A platform that applies faults registers its undo kinds in ``undo_kinds()`` below, so
``harness doctor --cleanup`` can undo what any of them left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.config import HarnessConfig, PlatformName
from harness.errors import PlatformError
from harness.faults.undo import UndoKinds
from harness.platforms.base import Identity, Platform, Target

__all__ = ["Identity", "Platform", "Target", "make_platform", "platform_class", "target_from_config",
           "undo_kinds"]


def target_from_config(config: HarnessConfig) -> Target:
    """The target an external run attaches to (validated; ``UsageError`` naming the bad key)."""
    from harness.platforms.external import target_from_config as external_target

    return external_target(config)


def make_platform(
    config: HarnessConfig, *, log_dir: Path | None = None, env: dict[str, str] | None = None
) -> Platform:
    """The platform the configuration asks for, not yet started (``env``: extra refsys environment)."""
    if config.platform == PlatformName.EXTERNAL or config.target_url or config.target:
        from harness.platforms.external import external_platform

        return external_platform(config)
    if config.platform == PlatformName.LOCAL:
        from harness.platforms.local.platform import LocalPlatform

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
        "or --target FILE / --target-url URL for a system you run yourself"
    )


def platform_class(config: HarnessConfig) -> type[Platform]:
    """The class ``make_platform`` would instantiate, for what it declares (``name``, ``fault_kinds``)."""
    if config.platform == PlatformName.EXTERNAL or config.target_url or config.target:
        from harness.platforms.external import ExternalPlatform

        return ExternalPlatform
    if config.platform == PlatformName.KIND:
        from harness.platforms.kind.platform import KindPlatform

        return KindPlatform
    from harness.platforms.local.platform import LocalPlatform

    return LocalPlatform


def undo_kinds() -> UndoKinds:
    """Every undo kind of every platform in this version (a new platform merges its own here)."""
    from harness.platforms.external_faults import external_undo_kinds
    from harness.platforms.kind.ledger import kind_undo_kinds
    from harness.platforms.local.faults import local_undo_kinds

    return local_undo_kinds().merged(external_undo_kinds()).merged(kind_undo_kinds())
