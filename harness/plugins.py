"""The plugin manager and the suite registry built on it."""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from harness import hookspecs
from harness.errors import UsageError
from harness.suites import SuiteSpec

ENTRY_POINT_GROUP = "harness.suites"


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """One manager per process: hookspecs, built-ins, then every ``harness.suites`` entry point."""
    pm = pluggy.PluginManager("harness")
    pm.add_hookspecs(hookspecs)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken third-party suite must not take the harness down
            warnings.warn(f"suite entry point {ep.name!r} ({ep.value}) failed to load and is skipped: {exc}",
                          stacklevel=2)
            continue
        if isinstance(loaded, SuiteSpec):
            pm.register(_SpecPlugin(loaded), name=f"suite:{ep.name}")
        elif pm.get_plugin(ep.name) is None:
            pm.register(loaded, name=ep.name)
    return pm


class _SpecPlugin:
    """Adapts a bare ``SuiteSpec`` entry point to the registration hook."""

    def __init__(self, spec: SuiteSpec) -> None:
        self.spec = spec

    @hookspecs.hookimpl
    def harness_register_suites(self) -> list[SuiteSpec]:
        return [self.spec]


def registered_suites() -> dict[str, SuiteSpec]:
    suites: dict[str, SuiteSpec] = {}
    for batch in plugin_manager().hook.harness_register_suites():
        for spec in batch or []:
            suites[spec.name] = spec
    return dict(sorted(suites.items(), key=lambda item: (item[1].order, item[0])))


def resolve_suites(names: list[str]) -> list[SuiteSpec]:
    """The named suites (all when ``names`` is empty); unknown names are a usage error."""
    available = registered_suites()
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UsageError(
            f"unknown suite(s) {', '.join(unknown)}; available: {', '.join(available) or 'none installed'}"
        )
    return [available[n] for n in names]
