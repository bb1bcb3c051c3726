"""Harness plugin of the security suite: adds the SARIF reporter to every run."""

from __future__ import annotations

from harness.hookspecs import Reporter, hookimpl
from harness.security.sarif import SarifReporter


@hookimpl
def harness_make_reporters(config: object) -> list[Reporter]:
    return [SarifReporter()]
