"""Suite registry: suites come from the ``harness.suites`` entry-point group (or pluggy hooks).

A suite is a pytest package plus a ``SuiteSpec`` saying where it lives. Third parties add a
suite by exposing a ``SuiteSpec`` under that entry-point group in their own package.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class SuiteSpec(BaseModel):
    """Where a suite's pytest package lives and what it is for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    path: Path
    description: str = ""
    default_profile: str = "smoke"
    # Position in a multi-suite run (lower first). Suites that share the target's per-user
    # budgets (rate limits, quotas) run in this order so their traffic does not collide.
    order: int = 50
