"""The gate's judgement: a report + policy (+ waivers, + baseline) → verdict and one line per reason.

Order of verdicts (as ``harness.verdict.judge``): aborted > harness error > nothing ran > blocking >
inconclusive (a suite that could not decide, or a check the policy blocks on that could not) > ready. Blocking reasons, regressions first:

1. regressions against the baseline: a check that passed there and fails now; a metric worse than its
   policy expression allows (``compare.py``);
2. failed checks the policy blocks (``rules``, else ``severity_threshold``); with a baseline only what
   is new blocks — a finding whose fingerprint the baseline knows, a check that failed there too, a
   claim refuted there too are "known" and shown, not blocking (code scanning's "new alerts" on a PR);
3. refuted claims (``refuted_claims`` / claim rules);
4. a level below ``require_level``.

A live waiver turns a blocking item into a "waived" line with its reason; an expired one leaves it
blocking and the line names the waiver and its expiry date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from harness.exitcodes import ExitCode
from harness.gate.baseline import FAILING, Baseline, check_statuses
from harness.gate.compare import MetricChange, compare_metrics
from harness.gate.levels import LevelStatus, evaluate_levels
from harness.gate.policy import Policy
from harness.gate.waivers import Waiver, WaiverLedger, utc_today
from harness.model import Check, ClaimVerdict, Finding, GateSummary, RunResult, Status, Verdict
from harness.verdict import VERDICT_EXIT, judge

REGRESSION, NEW_FINDING, FAILED, REFUTED, LEVEL = "regression", "new finding", "failed", "refuted claim", "level"


@dataclass
class GateResult:
    verdict: Verdict
    policy_source: str = "default"
    blocking: list[tuple[str, str]] = field(default_factory=list)  # (kind, line), regressions first
    waived: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why ready / inconclusive / aborted
    levels: LevelStatus | None = None
    required_level: str | None = None
    baseline: Baseline | None = None
    metric_changes: list[MetricChange] = field(default_factory=list)
    check_regressions: list[tuple[Check, str]] = field(default_factory=list)  # (failing check, baseline status)
    fixed: list[str] = field(default_factory=list)  # failed in the baseline, pass now
    new_findings: list[tuple[Finding, bool]] = field(default_factory=list)  # (finding, blocks)
    waivers: list[Waiver] = field(default_factory=list)
    today: date = field(default_factory=utc_today)

    @property
    def exit_code(self) -> ExitCode:
        return VERDICT_EXIT[self.verdict]

    @property
    def reasons(self) -> list[str]:
        return [f"{kind}: {text}" for kind, text in self.blocking] or self.notes

    def summary(self) -> GateSummary:
        levels = self.levels
        nxt = levels.next if levels else None
        return GateSummary(
            policy=self.policy_source, levels=[o.name for o in levels.outcomes] if levels else [],
            level=levels.reached if levels else None, next_level=nxt.name if nxt else None,
            missing=list(nxt.missing) if nxt else [], required_level=self.required_level,
            blocking=[f"{kind}: {text}" for kind, text in self.blocking], waived=self.waived, warnings=self.warnings)


def evaluate(run: RunResult, policy: Policy, *, waivers: list[Waiver] | None = None, baseline: Baseline | None = None,
             today: date | None = None, policy_source: str = "default") -> GateResult:
    ledger = WaiverLedger([*policy.waivers, *(waivers or [])], today or utc_today())
    result = GateResult(Verdict.READY, policy_source=policy_source, baseline=baseline, waivers=ledger.waivers,
                        today=ledger.today, required_level=policy.require_level)
    first = judge(run, policy.severity_threshold)
    if first.verdict in (Verdict.ABORTED, Verdict.ERROR, Verdict.NOTHING_RAN):
        result.verdict, result.notes = first.verdict, first.reasons
        return result
    regressions: list[tuple[str, str]] = []
    blocking: list[tuple[str, str]] = []
    _judge_checks(run, policy, ledger, baseline, result, regressions, blocking)
    _judge_claims(run, policy, ledger, baseline, result, blocking)
    if baseline is not None:
        result.metric_changes = compare_metrics(run, baseline, policy.baseline, policy_source)
        regressions += [(REGRESSION, change.line()) for change in result.metric_changes if change.regressed]
        if baseline.profile != run.profile:
            result.warnings.append(f"{baseline.describe()} ran profile {baseline.profile}, this run {run.profile}: "
                                   "metrics and load checks do not line up (save a baseline from the same profile)")
    if policy.levels:
        result.levels = evaluate_levels(run, policy.levels, ledger)
        required = policy.require_level
        if required and result.levels.rank(result.levels.reached) < result.levels.rank(required):
            nxt = result.levels.next
            assert nxt is not None
            blocking.append((LEVEL, f"reached {result.levels.reached or 'no level'}, policy requires {required}; "
                                    f"missing for {nxt.name}: {'; '.join(nxt.missing)}"))
    _waiver_housekeeping(ledger, result)
    result.blocking = regressions + blocking
    if result.blocking:
        result.verdict = Verdict.NOT_READY
    elif undecided := _undecided(run, policy):
        result.verdict = Verdict.INCONCLUSIVE
        result.notes = undecided
    else:
        against = f"; nothing worse than {baseline.describe()}" if baseline else ""
        result.notes = [f"every blocking check passed (severity ≥ {policy.severity_threshold.value} "
                        f"unless a rule says otherwise){against}"]
    return result


def apply_gate(run: RunResult, policy: Policy, policy_source: str = "default") -> GateResult:
    """Judge a finished run by its own policy (no baseline) and store verdict, exit code and level on it."""
    result = evaluate(run, policy, policy_source=policy_source)
    run.verdict = result.verdict
    run.exit_code = int(result.exit_code)
    run.severity_threshold = policy.severity_threshold
    run.gate = result.summary()
    return result


def _judge_checks(run: RunResult, policy: Policy, ledger: WaiverLedger, baseline: Baseline | None,
                  result: GateResult, regressions: list[tuple[str, str]], blocking: list[tuple[str, str]]) -> None:
    failing: dict[str, list[Check]] = defaultdict(list)
    for check in run.run_checks():
        if check.is_failure:
            failing[check.id].append(check)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for finding in run.all_findings():
        findings[finding.check_id].append(finding)
    before = baseline.checks if baseline else {}
    if baseline:
        now = check_statuses(run)
        result.fixed = sorted(cid for cid, status in before.items() if status in FAILING and now.get(cid) is Status.PASS)
    for cid, checks in failing.items():
        worst = max(checks, key=lambda c: c.severity.rank)
        action = policy.action_for(worst)
        if action == "ignore":
            continue
        sink = blocking if action == "block" else None
        what = f"{cid} {worst.status.value} ({worst.severity.value})"
        waiver = ledger.for_check(cid)
        if ledger.valid(waiver):
            assert waiver is not None
            result.waived.append(_waived_line(what, waiver))
            continue
        open_findings = _open_findings(findings.get(cid, []), ledger, result)
        if findings.get(cid) and not open_findings:  # every finding of the check is waived by fingerprint
            continue
        expired = _expired([waiver, *(ledger.for_finding(f.fingerprint) for f in open_findings)])
        was = before.get(cid)
        if baseline is not None and was is Status.PASS:
            result.check_regressions.append((worst, was.value))
            result.new_findings += [(finding, action == "block") for finding in open_findings]
            _add(regressions if action == "block" else None, result, REGRESSION,
                 f"{cid} pass → {worst.status.value} ({worst.severity.value}): "
                 f"{_detail(worst, checks, open_findings)}{expired}")
            continue
        if baseline is not None and open_findings:
            result.known += [f"{cid} ({f.severity.value}) at {f.location or '-'}: known in the baseline [{f.fingerprint}]"
                             for f in open_findings if f.fingerprint in baseline.findings]
            for finding in open_findings:
                if finding.fingerprint not in baseline.findings:
                    result.new_findings.append((finding, action == "block"))
                    _add(sink, result, NEW_FINDING,
                         f"{cid} ({finding.severity.value}) at {finding.location or '-'}: {finding.title} "
                         f"[fingerprint {finding.fingerprint}]{_expired([waiver, ledger.for_finding(finding.fingerprint)])}")
            continue
        if baseline is not None and was in FAILING:
            result.known.append(f"{what}: failed in the baseline too")
            continue
        _add(sink, result, FAILED, f"{what}: {_detail(worst, checks, open_findings)}{expired}")


def _undecided(run: RunResult, policy: Policy) -> list[str]:
    """Suites that could not decide, and checks the policy would block on that could not decide (throttled)."""
    reasons = [f"{s.name}: {s.inconclusive}" for s in run.suites if s.inconclusive]
    return reasons + [f"{c.id} inconclusive ({c.severity.value}): {c.message or c.title}" for c in run.run_checks()
                      if c.status is Status.INCONCLUSIVE and policy.action_for(c) == "block"]


def _judge_claims(run: RunResult, policy: Policy, ledger: WaiverLedger, baseline: Baseline | None,
                  result: GateResult, blocking: list[tuple[str, str]]) -> None:
    for claim in run.claims:
        if claim.verdict is not ClaimVerdict.REFUTED:
            continue
        action = policy.action_for_claim(claim.id)
        if action == "ignore":
            continue
        what = f"{claim.id} ({claim.text})"
        waiver = ledger.for_claim(claim.id)
        if ledger.valid(waiver):
            assert waiver is not None
            result.waived.append(_waived_line(f"claim {what}", waiver))
            continue
        if baseline is not None and baseline.claims.get(claim.id) is ClaimVerdict.REFUTED:
            result.known.append(f"claim {what}: refuted in the baseline too")
            continue
        expired = _expired([waiver])
        _add(blocking if action == "block" else None, result, REFUTED,
             f"{what}: {claim.reason or 'a mapped check failed'}{expired}")


def _open_findings(findings: list[Finding], ledger: WaiverLedger, result: GateResult) -> list[Finding]:
    """The findings no live waiver covers (the waived ones become "waived" lines)."""
    open_findings = []
    for finding in findings:
        waiver = ledger.for_finding(finding.fingerprint)
        if ledger.valid(waiver):
            assert waiver is not None
            result.waived.append(_waived_line(f"{finding.check_id} ({finding.severity.value}) at "
                                              f"{finding.location or '-'} [{finding.fingerprint}]", waiver))
        else:
            open_findings.append(finding)
    return open_findings


def _detail(worst: Check, checks: list[Check], findings: list[Finding]) -> str:
    where = sorted({f.location for f in findings if f.location})
    at = f" at {', '.join(where)}" if where else ""
    more = f" ({len(checks)} failing instances)" if len(checks) > 1 else ""
    return f"{worst.message or worst.title}{more}{at}"


def _add(sink: list[tuple[str, str]] | None, result: GateResult, kind: str, line: str) -> None:
    """A blocking line, or (sink None: the policy says warn) a warning."""
    if sink is not None:
        sink.append((kind, line))
    else:
        result.warnings.append(f"{kind} (not blocking under this policy): {line}")


def _waived_line(what: str, waiver: Waiver) -> str:
    return f"{what} waived by '{waiver.name}' until {waiver.expires} (owner {waiver.owner}): {waiver.reason}"


def _expired(waivers: list[Waiver | None]) -> str:
    """``; waiver 'x' (…) expired on DATE`` for each expired waiver that would have covered the item."""
    notes = [f"; {w.describe()} expired on {w.expires}" for w in waivers if w is not None]
    return "".join(dict.fromkeys(notes))


def _waiver_housekeeping(ledger: WaiverLedger, result: GateResult) -> None:
    for waiver in ledger.expiring():
        days = waiver.days_left(ledger.today)
        result.warnings.append(f"{waiver.describe()} expires in {days} day{'s' if days != 1 else ''} ({waiver.expires})")
    for waiver in ledger.stale():
        state = f"expired on {waiver.expires} and " if waiver.expired(ledger.today) else ""
        result.warnings.append(f"{waiver.describe()} {state}matches nothing in this report (stale): remove it")
