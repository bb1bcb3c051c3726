"""The system a game day hurts: the configuration it runs with, and starting (or attaching to) it.

``day_config`` turns the file's ``target`` (plus command-line flags) into the ``HarnessConfig`` every
run uses, so the usual layers apply (``HARNESS_REPORT_DIR``, ``[tool.harness]``); ``start_platform``
starts the reference system locally the way the chaos suite does (its ``platform_env``: the per-user
rate limit lifted, the background load is steady-state traffic) or attaches to an external one.
"""

from __future__ import annotations

from typing import Any

from harness.config import HarnessConfig, load_config
from harness.errors import HarnessError, UsageError
from harness.events import EnvironmentNoted, TargetAttached
from harness.gameday.plan import Plan
from harness.gameday.spec import ExternalOptions, LocalOptions
from harness.run_context import RunContext

# the chaos suite's own start-up environment (suites/chaos SuiteSpec.platform_env), read from its registration
FALLBACK_PLATFORM_ENV = {"REFSYS_RATE_LIMIT": "1000000", "REFSYS_TENANT_DAILY_QUOTA": "1000000"}


def day_config(plan: Plan, flags: dict[str, Any] | None = None) -> HarnessConfig:
    """The run's configuration: the game-day file's target, then flags (``option_layer``; ``defects`` and
    ``allow_hosts`` add to the file's)."""
    flags = dict(flags or {})
    defects = flags.pop("defects", None)
    target = plan.day.target
    options = target.parsed_options()
    layer: dict[str, Any] = {**flags, "platform": target.platform, "profile": "gameday",
                             "allow_hosts": [*target.allow_hosts, *(flags.get("allow_hosts") or [])] or None}
    if isinstance(options, LocalOptions):
        layer.update(backend=options.backend, redis=options.redis, defects=[*options.defects, *(defects or [])] or None,
                     startup_timeout_s=options.startup_timeout_s)
    elif defects:
        raise UsageError(f"--defects switches the reference system's defects; target {target.platform!r} is not "
                         "started by the harness")
    if isinstance(options, ExternalOptions):
        layer.update(target_url=options.target_url, identities_file=options.identities_file)
    return load_config(layer)


def chaos_platform_env() -> dict[str, str]:
    try:
        from harness.plugins import registered_suites

        spec = registered_suites().get("chaos")
    except HarnessError:
        spec = None
    return dict(spec.platform_env) if spec is not None else dict(FALLBACK_PLATFORM_ENV)


def start_platform(plan: Plan, config: HarnessConfig, context: RunContext) -> tuple[Any, Any]:
    """Start (or attach to) the target; (platform, target). A failed start cleans up and raises."""
    from harness.platforms import make_platform

    log_dir = context.run_dir / "logs" / "gameday"
    options = plan.day.target.parsed_options()
    env = chaos_platform_env()
    if isinstance(options, LocalOptions):
        from harness.platforms.local.platform import LocalPlatform

        platform: Any = LocalPlatform(backend=options.backend, redis=options.redis, defects=config.defects,
                                      replicas=options.replicas, log_dir=log_dir,
                                      startup_timeout_s=options.startup_timeout_s, env=env)
    else:
        platform = make_platform(config, log_dir=log_dir, env=env)
    try:
        target = platform.__enter__()
    except HarnessError as exc:
        raise type(exc)(f"platform failed to start: {exc}") from None
    context.emit(TargetAttached(base_url=target.base_url, openapi_url=target.openapi_url))
    context.emit(EnvironmentNoted(facts=platform.environment()))
    if platform.name != "external":
        context.emit(EnvironmentNoted(facts={"platform_env[gameday]": ", ".join(f"{k}={v}" for k, v in sorted(env.items()))}))
    platform.target = target
    return platform, target
