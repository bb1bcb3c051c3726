"""Suite registry: suites come from the ``harness.suites`` entry-point group (or pluggy hooks).

A suite is a pytest package plus a ``SuiteSpec`` saying where it lives. Third parties add a
suite by exposing a ``SuiteSpec`` under that entry-point group in their own package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SuiteSpec(BaseModel):
    """Where a suite's pytest package lives and what it is for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    path: Path
    description: str = ""
    default_profile: str = "smoke"
    # Position in a multi-suite run (lower first): cheap, fault-free suites before chaos.
    order: int = 50
    # Extra environment for the reference system when the harness starts it for this suite
    # (e.g. lifting the per-user rate limit so a capacity test measures capacity, not the
    # limiter). Ignored for systems the harness does not start; recorded in the report.
    platform_env: dict[str, str] = Field(default_factory=dict)
    # Loads and validates every input the suite will read for a configuration (profile, scenario files),
    # raising ``UsageError``; ``harness run`` and the pytest plugin call it before any system starts.
    check_inputs: Callable[[Any], object] | None = None
