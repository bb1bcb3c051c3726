"""Hook specifications: how suites, reporters and third-party plugins extend the harness.

Plugins implement these with ``@harness.hookspecs.hookimpl`` and register through the
``harness.suites`` entry-point group (a module, or a ``SuiteSpec`` object for a plain suite).
Grouped by the phase of a run in which they are called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from harness.report.writer import Reporter

__all__ = ["Reporter", "hookimpl", "hookspec"]

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.events import EventHandler
    from harness.model import Check
    from harness.report.sarif import RuleText
    from harness.suites import SuiteSpec

hookspec = pluggy.HookspecMarker("harness")
hookimpl = pluggy.HookimplMarker("harness")


# -- discovery ------------------------------------------------------------------------


@hookspec
def harness_register_suites() -> list[SuiteSpec]:
    """Return the suites this plugin provides."""


# -- start of a run -------------------------------------------------------------------


@hookspec
def harness_environment_info(config: HarnessConfig) -> dict[str, Any]:
    """Return facts for the report's environment block (merged across plugins)."""


@hookspec
def harness_event_handlers(config: HarnessConfig) -> list[EventHandler]:
    """Return handlers that receive every run event (``harness.events``): live dashboards, webhooks, logs."""


# -- while checks are recorded --------------------------------------------------------


@hookspec
def harness_modify_check(check: Check, config: HarnessConfig) -> Check | None:
    """Return a changed copy of a just-recorded check (e.g. apply a waiver), or None to keep it."""


# -- end of a run ---------------------------------------------------------------------


@hookspec
def harness_make_reporters(config: HarnessConfig) -> list[Reporter]:
    """Return extra reporters, run after the built-in JSON, HTML, JUnit and SARIF writers."""


@hookspec
def harness_sarif_rules() -> Mapping[str, RuleText]:
    """Return rule descriptions by check id, for SARIF's ``tool.driver.rules`` (merged across plugins)."""
