"""From probe outcomes to the run: one ``Check`` each (via ``record_check``) and a ``Finding`` per failure."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.model import Check, Finding, SuiteResult
from harness.security.catalog import Outcome
from harness.security.rules import Action, apply_rules


def fingerprint(outcome: Outcome) -> str:
    """Stable across runs: the probe id, the operation and the parameter - never tokens or times."""
    return Finding.make_fingerprint(outcome.id, outcome.location, outcome.parameter)


def to_finding(outcome: Outcome, suite: str = "security") -> Finding:
    location = outcome.location + (f" [{outcome.parameter}]" if outcome.parameter else "")
    title = outcome.message[:300] or outcome.rule.title  # what is wrong; the rule's title says what should hold
    return Finding(fingerprint=fingerprint(outcome), check_id=outcome.id, suite=suite, title=title,
                   severity=outcome.severity, location=location, owasp=list(outcome.rule.owasp),
                   cwe=list(outcome.rule.cwe), evidence=outcome.evidence)


def record_outcomes(outcomes: Iterable[Outcome], record_check: Callable[..., Check], suite: SuiteResult,
                    rules: dict[str, Action] | None = None) -> list[Check]:
    """Record every outcome; failed ones (after policy rules) also become findings of ``suite``.

    A claim-only outcome (a check run with a claim's own numbers) decides that claim, not the run: it is
    recorded, but never becomes a finding.
    """
    checks = []
    known = {f.fingerprint for f in suite.findings}
    for outcome in outcomes:
        outcome, is_finding = apply_rules(outcome, rules or {})
        where = " ".join(part for part in (outcome.location, outcome.parameter) if part)
        checks.append(record_check(
            id=outcome.id, title=outcome.rule.title + (f" ({where})" if where else ""), status=outcome.status,
            severity=outcome.severity, category=outcome.rule.category, message=outcome.message,
            evidence=outcome.evidence, owasp=list(outcome.rule.owasp), cwe=list(outcome.rule.cwe),
            claims=list(outcome.claims), claim_only=outcome.claim_only))
        if is_finding and not outcome.claim_only and fingerprint(outcome) not in known:
            suite.findings.append(to_finding(outcome, suite.name))
            known.add(fingerprint(outcome))
    return checks
