"""From probe outcomes to the data model: one ``Check`` each, and a ``Finding`` per failure (after policy rules)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.model import Check, Finding
from harness.security.catalog import Outcome
from harness.security.rules import Action, apply_rules

SUITE = "security"


def fingerprint(outcome: Outcome) -> str:
    """Stable across runs: the probe id, the operation and the parameter - never tokens or times."""
    return Finding.make_fingerprint(outcome.id, outcome.location, outcome.parameter)


def to_check(outcome: Outcome, suite: str = SUITE) -> Check:
    where = " ".join(part for part in (outcome.location, outcome.parameter) if part)
    return Check(id=outcome.id, suite=suite, category=outcome.rule.category,
                 title=outcome.rule.title + (f" ({where})" if where else ""), severity=outcome.severity,
                 status=outcome.status, message=outcome.message, evidence=outcome.evidence,
                 owasp=list(outcome.rule.owasp), cwe=list(outcome.rule.cwe), claims=list(outcome.claims),
                 claim_only=outcome.claim_only)


def to_finding(outcome: Outcome, suite: str = SUITE) -> Finding:
    location = outcome.location + (f" [{outcome.parameter}]" if outcome.parameter else "")
    title = outcome.message[:300] or outcome.rule.title  # what is wrong; the rule's title says what should hold
    return Finding(fingerprint=fingerprint(outcome), check_id=outcome.id, suite=suite, title=title,
                   severity=outcome.severity, location=location, owasp=list(outcome.rule.owasp),
                   cwe=list(outcome.rule.cwe), evidence=outcome.evidence)


def judge_outcomes(outcomes: Iterable[Outcome], rules: dict[str, Action] | None = None,
                   suite: str = SUITE) -> tuple[list[Check], list[Finding]]:
    """Every outcome as the policy wants it recorded (a check each), and the findings among them.

    A claim-only outcome (a check run with a claim's own numbers) decides that claim, not the run: it is
    a check, but never a finding.
    """
    checks: list[Check] = []
    findings: list[Finding] = []
    for outcome in outcomes:
        outcome, is_finding = apply_rules(outcome, rules or {})
        checks.append(to_check(outcome, suite))
        if is_finding and not outcome.claim_only:
            findings.append(to_finding(outcome, suite))
    return checks, findings
