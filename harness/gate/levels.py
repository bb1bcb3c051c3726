"""Readiness levels (bronze → silver → gold): which one a run reached and what the next one still needs.

A level is reached when every check its globs match passed (or does not apply to this target, or is
covered by a live waiver), every glob matched at least one check, every claim it names was verified,
and every lower level was reached. Levels are absolute: a failure the baseline already had still
keeps the level it belongs to out of reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from harness.gate.baseline import FAILING, check_statuses
from harness.gate.policy import Level
from harness.gate.waivers import WaiverLedger
from harness.model import ClaimVerdict, RunResult, Status

MET = (Status.PASS, Status.NOT_APPLICABLE, Status.WAIVED)


@dataclass
class LevelOutcome:
    name: str
    missing: list[str] = field(default_factory=list)  # one line per unmet requirement
    waived: list[str] = field(default_factory=list)  # requirements met only thanks to a waiver

    @property
    def met(self) -> bool:
        return not self.missing


@dataclass
class LevelStatus:
    outcomes: list[LevelOutcome]

    @property
    def reached(self) -> str | None:
        reached = None
        for outcome in self.outcomes:
            if not outcome.met:
                break
            reached = outcome.name
        return reached

    @property
    def next(self) -> LevelOutcome | None:
        return next((outcome for outcome in self.outcomes if not outcome.met), None)

    def rank(self, name: str | None) -> int:
        """0 for no level, 1 for the lowest …"""
        names = [o.name for o in self.outcomes]
        return names.index(name) + 1 if name in names else 0

    def line(self) -> str:
        marks = " ".join(f"{o.name} {'✓' if o.met and self.rank(o.name) <= self.rank(self.reached) else '✗'}"
                         for o in self.outcomes)
        reached = self.reached or "none"
        nxt = self.next
        tail = f"; missing for {nxt.name}: {'; '.join(nxt.missing)}" if nxt else " (top level)"
        return f"level {reached} [{marks}]{tail}"


def evaluate_levels(run: RunResult, levels: list[Level], ledger: WaiverLedger) -> LevelStatus:
    statuses = check_statuses(run)
    fingerprints: dict[str, list[str]] = {}
    for finding in run.all_findings():
        fingerprints.setdefault(finding.check_id, []).append(finding.fingerprint)
    claims = {claim.id: claim for claim in run.claims}
    outcomes = []
    for level in levels:
        outcome = LevelOutcome(level.name)
        for glob in level.checks:
            matched = sorted(cid for cid in statuses if fnmatchcase(cid, glob))
            if not matched:
                outcome.missing.append(f"no check matches {glob} (suite not run?)")
            for cid in matched:
                status = statuses[cid]
                if status in MET:
                    continue
                waiver = ledger.for_check(cid) if status in FAILING else None
                if ledger.valid(waiver):
                    assert waiver is not None
                    outcome.waived.append(f"{cid} {status.value} (waived: {waiver.name})")
                    continue
                by_finding = [ledger.for_finding(fp) for fp in fingerprints.get(cid, [])] if status in FAILING else []
                if by_finding and all(ledger.valid(w) for w in by_finding):
                    names = sorted({w.name for w in by_finding if w is not None})
                    outcome.waived.append(f"{cid} {status.value} (findings waived: {', '.join(names)})")
                    continue
                why = f"{status.value}: not verified" if status in (Status.SKIPPED, Status.INCONCLUSIVE) else status.value
                outcome.missing.append(f"{cid} {why}")
        for claim_id in level.claims:
            claim = claims.get(claim_id)
            if claim is None:
                outcome.missing.append(f"claim {claim_id} not in the report")
            elif claim.verdict is not ClaimVerdict.VERIFIED:
                waiver = ledger.for_claim(claim_id) if claim.verdict is ClaimVerdict.REFUTED else None
                if ledger.valid(waiver):
                    assert waiver is not None
                    outcome.waived.append(f"claim {claim_id} refuted (waived: {waiver.name})")
                else:
                    outcome.missing.append(f"claim {claim_id} {claim.verdict.value}")
        outcomes.append(outcome)
    return LevelStatus(outcomes)
