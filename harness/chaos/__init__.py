"""Chaos Toolkit extension and runner for the harness's local platform.

Experiments (``scenarios/chaos/*.yaml``) call ``harness.chaos.actions`` / ``harness.chaos.probes``
as Python providers; ``ChaosRunner`` runs them under background load with guaranteed rollback.
``discover()`` follows the Chaos Toolkit extension convention (``chaos discover harness.chaos``).
"""

from __future__ import annotations

from typing import Any

from harness import __version__

__all__ = ["__version__", "discover"]


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Describe this extension's activities (and, when asked, the running local platform)."""
    from chaoslib.discovery import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("harness-chaos", __version__, "harness")
    discovery["activities"].extend(discover_actions("harness.chaos.actions"))
    discovery["activities"].extend(discover_probes("harness.chaos.probes"))
    if discover_system:
        discovery["system"] = _system()
    return discovery


def _system() -> dict[str, Any] | None:
    from harness.platforms.local.control import platform_status
    from harness.platforms.local.state import default_state_dir

    return platform_status(default_state_dir())
