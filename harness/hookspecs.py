"""Hook specifications: how suites, reporters and third-party plugins extend the harness.

Plugins implement these with ``@harness.hookspecs.hookimpl`` and register through the
``harness.suites`` entry-point group (a module, or a ``SuiteSpec`` object for a plain suite).
Grouped by the phase of a run in which they are called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.model import Check, RunResult
    from harness.suites import SuiteSpec

hookspec = pluggy.HookspecMarker("harness")
hookimpl = pluggy.HookimplMarker("harness")


class Reporter(Protocol):
    """Writes one artefact of a run's report (JSON, HTML, JUnit, SARIF …)."""

    name: str

    def write(self, run: RunResult, folder: Path) -> Path:
        """Render ``run`` into ``folder`` and return the file written."""
        ...


# -- discovery ------------------------------------------------------------------------


@hookspec
def harness_register_suites() -> list[SuiteSpec]:
    """Return the suites this plugin provides."""


# -- start of a run -------------------------------------------------------------------


@hookspec
def harness_environment_info(config: HarnessConfig) -> dict[str, Any]:
    """Return facts for the report's environment block (merged across plugins)."""


# -- while checks are recorded --------------------------------------------------------


@hookspec
def harness_modify_check(check: Check, config: HarnessConfig) -> Check | None:
    """Return a changed copy of a just-recorded check (e.g. apply a waiver), or None to keep it."""


# -- end of a run ---------------------------------------------------------------------


@hookspec
def harness_make_reporters(config: HarnessConfig) -> list[Reporter]:
    """Return extra reporters; the built-in JSON, HTML and JUnit writers always run."""
