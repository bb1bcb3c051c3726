"""Per-rule actions, like ZAP's rules file: each probe id -> fail | warn | ignore.

Read from the policy YAML (``security: {rules: {"security.headers.hsts": warn, "security.injection.*": fail}}``);
patterns use shell globs, the most specific (longest) matching pattern wins.

- ``fail`` (default): a failed probe is a failed check at the rule's severity, and a finding.
- ``warn``: the check is recorded as passed with the message prefixed ``WARN:`` so tests and the gate do not
  block, and the finding is kept at severity ``low`` (it still appears in SARIF as a warning and in baselines).
- ``ignore``: the check is recorded as ``waived`` with the reason, and no finding is produced (also when the
  probe errored).

An errored probe (``error``: the probe could not reach a verdict) stays an error under ``fail`` and ``warn``.
"""

from __future__ import annotations

import fnmatch
from enum import Enum
from pathlib import Path

from harness.model import Severity, Status
from harness.policy import SecurityPolicy, load_policy
from harness.security.catalog import Outcome


class Action(str, Enum):
    FAIL = "fail"
    WARN = "warn"
    IGNORE = "ignore"


def load_rules(policy_path: Path | None) -> dict[str, Action]:
    """The ``security.rules`` mapping of a policy file (empty when there is none)."""
    if policy_path is None:
        return {}
    return rules_of(load_policy(Path(policy_path)).security)


def rules_of(policy: SecurityPolicy) -> dict[str, Action]:
    return {pattern: Action(action) for pattern, action in policy.rules.items()}


def action_for(check_id: str, rules: dict[str, Action]) -> Action:
    matching = [pattern for pattern in rules if fnmatch.fnmatchcase(check_id, pattern)]
    return rules[max(matching, key=len)] if matching else Action.FAIL


def apply_rules(outcome: Outcome, rules: dict[str, Action]) -> tuple[Outcome, bool]:
    """The outcome as the policy wants it recorded, and whether it yields a finding."""
    if not outcome.failed:
        return outcome, False
    action = action_for(outcome.id, rules)
    if action == Action.IGNORE:  # errored probes too: an ignored probe never produces a finding
        outcome.status = Status.WAIVED
        outcome.message = f"ignored by policy rule: {outcome.message}"
        return outcome, False
    if outcome.status == Status.ERROR:  # warn does not turn "could not judge" into a pass
        return outcome, True
    if action == Action.WARN:
        outcome.status = Status.PASS
        outcome.severity = Severity.LOW
        outcome.message = f"WARN: {outcome.message}"
        return outcome, True
    return outcome, True
