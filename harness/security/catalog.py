"""The probe catalogue: one ``Rule`` per check id with its OWASP/CWE refs, default severity and help.

SARIF's ``tool.driver.rules`` and the policy's per-rule overrides are both keyed by these ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model import Evidence, Severity, Status


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

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAIL, Status.ERROR)


RULES: dict[str, Rule] = {}


def rule(id: str, title: str, severity: Severity, owasp: str | tuple[str, ...], cwe: str | tuple[str, ...],
         help: str, category: str = "security") -> Rule:
    """Declare (once) and register a rule; probe modules call this at import time."""
    owasp_t = (owasp,) if isinstance(owasp, str) else owasp
    cwe_t = (cwe,) if isinstance(cwe, str) else cwe
    declared = Rule(id=id, title=title, severity=severity, owasp=owasp_t, cwe=cwe_t, help=help, category=category)
    RULES[id] = declared
    return declared


def all_rules() -> dict[str, Rule]:
    """Every rule of every probe module (importing them registers their rules)."""
    from harness.security import probes  # noqa: F401  (import side effect: registration)

    return dict(sorted(RULES.items()))
