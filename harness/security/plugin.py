"""Harness plugin of the security suite: describes its probe rules for the SARIF report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from harness.hookspecs import hookimpl
from harness.security.registry import load_all_rules

if TYPE_CHECKING:
    from harness.report.sarif import RuleText


@hookimpl
def harness_sarif_rules() -> Mapping[str, RuleText]:
    return load_all_rules()
