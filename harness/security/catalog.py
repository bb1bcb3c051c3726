"""What probes are made of: a ``Rule`` per check id (OWASP/CWE refs, default severity, help), the
``Outcome`` a probe reaches for a rule, and the ``ProbeGroup`` a probe module declares.

SARIF's ``tool.driver.rules`` and the policy's per-rule overrides are both keyed by rule ids. This
module registers nothing: ``harness.security.registry`` collects the groups explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.model import Evidence, Severity, Status

if TYPE_CHECKING:
    from harness.security.context import ProbeContext


@dataclass(frozen=True)
class Rule:
    id: str  # stable dotted check id, e.g. "security.headers.hsts"
    title: str
    severity: Severity
    owasp: tuple[str, ...]
    cwe: tuple[str, ...]
    help: str  # what a good answer looks like and how to fix it
    category: str = "security"

    def outcome(self, status: Status, message: str = "", *, location: str = "", parameter: str = "",
                evidence: Evidence | None = None, severity: Severity | None = None) -> Outcome:
        return Outcome(rule=self, status=status, message=message, location=location, parameter=parameter,
                       evidence=evidence or Evidence(), severity=severity or self.severity)

    def passed(self, message: str = "", **kwargs: object) -> Outcome:
        return self.outcome(Status.PASS, message, **kwargs)  # type: ignore[arg-type]

    def failed(self, message: str, **kwargs: object) -> Outcome:
        return self.outcome(Status.FAIL, message, **kwargs)  # type: ignore[arg-type]

    def not_applicable(self, reason: str, **kwargs: object) -> Outcome:
        return self.outcome(Status.NOT_APPLICABLE, reason, **kwargs)  # type: ignore[arg-type]

    def skipped(self, reason: str, **kwargs: object) -> Outcome:
        return self.outcome(Status.SKIPPED, reason, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str, **kwargs: object) -> Outcome:
        return self.outcome(Status.ERROR, message, **kwargs)  # type: ignore[arg-type]

    def inconclusive(self, reason: str, **kwargs: object) -> Outcome:
        """The probe ran but its answers cannot decide (throttled): neither a pass nor a finding."""
        return self.outcome(Status.INCONCLUSIVE, reason, **kwargs)  # type: ignore[arg-type]


@dataclass
class Outcome:
    """What one probe concluded about one rule at one location (operation + parameter)."""

    rule: Rule
    status: Status
    message: str = ""
    location: str = ""  # "GET /analyses/{analysis_id}" or "" for the whole API
    parameter: str = ""
    evidence: Evidence = field(default_factory=Evidence)
    severity: Severity = Severity.MEDIUM
    claims: tuple[str, ...] = ()  # claim ids this outcome verifies (run with their numbers)
    claim_only: bool = False  # run only for those claims' numbers: decides them, never the run's verdict

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAIL, Status.ERROR)


def for_claims(outcomes: list[Outcome], claims: tuple[str, ...], claim_only: bool) -> list[Outcome]:
    """Mark outcomes as run with these claims' numbers (see ``harness.claims.runs``)."""
    for outcome in outcomes:
        outcome.claims = tuple(dict.fromkeys(outcome.claims + claims))
        outcome.claim_only = outcome.claim_only or claim_only
    return outcomes


def rule(id: str, title: str, severity: Severity, owasp: str | tuple[str, ...], cwe: str | tuple[str, ...],
         help: str, category: str = "security") -> Rule:
    """Declare a rule (a plain value: list it in the probe module's ``RULES``)."""
    owasp_t = (owasp,) if isinstance(owasp, str) else owasp
    cwe_t = (cwe,) if isinstance(cwe, str) else cwe
    return Rule(id=id, title=title, severity=severity, owasp=owasp_t, cwe=cwe_t, help=help, category=category)


@dataclass(frozen=True)
class ProbeGroup:
    """One probe module's entry point and every rule it can report on."""

    name: str
    run: Callable[[ProbeContext], list[Outcome]]
    rules: tuple[Rule, ...]
    spends_budget: bool = False  # exhausts a budget on the target (rate limit): runs after the others
