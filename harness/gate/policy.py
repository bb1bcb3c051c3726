"""Gate policies (``scenarios/policies/*.yaml``): what blocks a release, readiness levels, waivers, tolerances.

Version 1 files (``severity_threshold``, ``description``, ``security``) load unchanged: every key they
had keeps its meaning. Version 2 adds:

- ``rules``: ordered; the first rule whose every given field matches a failed check (id glob, suite
  glob, minimum severity, OWASP ref glob) or a refuted claim (``claim`` glob) decides: block, warn,
  ignore. No rule matches → a check blocks at ``severity_threshold`` or above, a refuted claim as
  ``refuted_claims`` says (block by default).
- ``levels``: ordered lowest first (bronze → silver → gold); each needs every check matched by its
  globs to pass and its claims to be verified, on top of every lower level. ``require_level`` makes a
  lower level block.
- ``baseline.metrics``: change expressions per metric glob (``load.*.p95_ms: +10%``), first match wins.
- ``waivers``: see ``harness/gate/waivers.py``.

``harness schema policy`` prints the JSON Schema (for editors); docs/gate.md explains every key.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from harness.gate.change import ALLOWED as CHANGE_ALLOWED
from harness.gate.change import valid_change
from harness.gate.waivers import Waiver
from harness.inputs import read_mapping, validate
from harness.model import Check, Severity

Action = Literal["block", "warn", "ignore"]
LEVEL_NAME = r"^[A-Za-z0-9_\-]+$"

DEFAULT_METRIC_CHANGES: dict[str, str] = {
    "load.*.p95_ms": "+10%",
    "load.*.p99_ms": "+20%",
    "load.*.error_rate": "+0.5pp",
    "chaos.*.time_to_recover_s": "+2s",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecurityPolicy(_Strict):
    """Like ZAP's rules file: probe id (fnmatch pattern) -> fail | warn | ignore (applied while the suite runs)."""

    rules: dict[str, Literal["fail", "warn", "ignore"]] = Field(default_factory=dict)
    # /docs, /redoc public on purpose? (security.inventory.docs_exposure; unset: the target's own hint, else no)
    docs_allowed: bool | None = None


class Rule(_Strict):
    """What a failed check (or a refuted claim) does. Every field given must match; the first rule wins."""

    check: str | None = Field(None, description="check id glob, e.g. security.authz.*")
    suite: str | None = Field(None, description="suite name glob, e.g. chaos")
    min_severity: Severity | None = Field(None, description="matches checks of this severity or above")
    owasp: str | None = Field(None, description="glob on any OWASP ref of the check, e.g. 'API1:2023*'")
    claim: str | None = Field(None, description="claim id glob: the rule is about refuted claims")
    action: Action = "block"

    @model_validator(mode="after")
    def _says_what_it_matches(self) -> Rule:
        check_fields = [k for k in ("check", "suite", "min_severity", "owasp") if getattr(self, k) is not None]
        if self.claim is not None and check_fields:
            raise ValueError(f"a rule is about checks or about claims: 'claim' cannot go with {', '.join(check_fields)}")
        if self.claim is None and not check_fields:
            raise ValueError("a rule needs at least one of check, suite, min_severity, owasp, claim")
        return self

    def matches(self, check: Check) -> bool:
        return (self.claim is None
                and (self.check is None or fnmatchcase(check.id, self.check))
                and (self.suite is None or fnmatchcase(check.suite, self.suite))
                and (self.min_severity is None or check.severity >= self.min_severity)
                and (self.owasp is None or any(fnmatchcase(ref, self.owasp) for ref in check.owasp)))


class Level(_Strict):
    name: str = Field(pattern=LEVEL_NAME)
    description: str = ""
    checks: list[str] = Field(default_factory=list, description="check id globs: each matches a check that ran, all pass",
                              json_schema_extra={"allowed": "a list of check id globs, e.g. ['security.authz.*']"})
    claims: list[str] = Field(default_factory=list, description="claim ids that must be verified",
                              json_schema_extra={"allowed": "a list of claim ids"})

    @model_validator(mode="after")
    def _requires_something(self) -> Level:
        if not self.checks and not self.claims:
            raise ValueError(f"level {self.name!r} requires nothing: give it checks (id globs) or claims")
        return self


ChangeText = Annotated[str, AfterValidator(valid_change)]


class BaselinePolicy(_Strict):
    metrics: dict[str, ChangeText] = Field(
        default_factory=lambda: dict(DEFAULT_METRIC_CHANGES),
        description="metric name glob -> change expression; first match wins",
        json_schema_extra={"allowed": CHANGE_ALLOWED})

    def change_for(self, metric: str) -> tuple[str, str] | None:
        """(glob, expression) of the first entry matching the metric name."""
        for pattern, expression in self.metrics.items():
            if fnmatchcase(metric, pattern):
                return pattern, expression
        return None


class Policy(_Strict):
    version: Literal[1, 2] = 2
    description: str = ""
    severity_threshold: Severity = Severity.MEDIUM
    refuted_claims: Action = "block"
    rules: list[Rule] = Field(default_factory=list)
    levels: list[Level] = Field(default_factory=list)
    require_level: str | None = None
    baseline: BaselinePolicy = Field(default_factory=BaselinePolicy)
    waivers: list[Waiver] = Field(default_factory=list)
    security: SecurityPolicy = Field(default_factory=SecurityPolicy)

    @model_validator(mode="after")
    def _levels_are_consistent(self) -> Policy:
        names = [level.name for level in self.levels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"levels: duplicate names {duplicates}")
        if self.require_level is not None and self.require_level not in names:
            raise ValueError(f"require_level {self.require_level!r} is not a level of this policy "
                             f"(levels: {', '.join(names) or 'none'})")
        return self

    def action_for(self, check: Check) -> Action:
        for rule in self.rules:
            if rule.matches(check):
                return rule.action
        return "block" if check.severity >= self.severity_threshold else "warn"

    def action_for_claim(self, claim_id: str) -> Action:
        for rule in self.rules:
            if rule.claim is not None and fnmatchcase(claim_id, rule.claim):
                return rule.action
        return self.refuted_claims


def load_policy(path: Path | None) -> Policy:
    """Read a policy file; ``None`` gives the default policy. Bad files raise ``UsageError`` (exit 4)."""
    if path is None:
        return Policy()
    data = read_mapping(path, "policy", "--policy", "severity_threshold: high")
    return validate(Policy, data, str(path))
