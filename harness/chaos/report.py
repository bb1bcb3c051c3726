"""What one experiment showed, and the Checks it becomes.

Check ids are ``chaos.<experiment>.<aspect>``: ``hypothesis`` (SLO before/during/after),
``recovery`` (time-to-recover; time-to-detect by the SLO and by the system itself), ``rollback``
(every fault undone by the experiment's own rollbacks), and one per expectation
(``breaker_cycle``, ``back_on_tier``, ``retry_jitter``, ``no_data_lost``, ``readiness``,
``clean_write_failures``, ``rate_limit_fails_closed``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from harness.chaos.extension import HarnessExtension
from harness.chaos.slo import Window
from harness.model import Check, Evidence, FaultInjection, LoadSecond, Metric, Severity, Status

SUITE = "chaos"
MIN_OPENINGS_TO_JUDGE_JITTER = 4
MAX_PHASE_UNCERTAINTY_S = 0.3  # phases timed less precisely than this (slow scrapes) are not judged; ~0.13 s idle


class WriteSummary(BaseModel):
    attempted: int
    acknowledged: int
    found: int
    lost: int
    missing: list[str] = Field(default_factory=list)
    unreadable: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, tracker: Any, read_back: Any) -> WriteSummary:
        return cls(attempted=len(tracker.attempts), acknowledged=read_back.acknowledged, found=read_back.found,
                   lost=read_back.lost, missing=read_back.missing[:20], unreadable=read_back.unreadable[:20])


class SystemNotice(BaseModel):
    """The first sign, from one source, that the system itself saw the fault."""

    after_s: float  # seconds after the fault started
    what: str  # e.g. "gateway-1: unhealthy", "gateway-2: gpu breaker closed->open"


class ExperimentReport(BaseModel):
    name: str
    title: str
    extension: HarnessExtension
    not_applicable: str | None = None
    journal_status: str | None = None
    deviated: bool = False
    aborted: str | None = None
    steady_state_before_met: bool | None = None
    steady_state_after_met: bool | None = None
    load_inconclusive: str | None = None
    windows: list[Window] = Field(default_factory=list)
    fault_start_s: float | None = None
    fault_end_s: float | None = None
    heal_done_s: float = 0.0
    time_to_detect_s: float | None = None  # first second that broke the SLO (users felt it)
    time_to_detect_system_s: float | None = None  # first sign the system itself saw it
    system_noticed: dict[str, SystemNotice] = Field(default_factory=dict)  # breaker / readiness / balancer
    system_signals: list[str] = Field(default_factory=list)  # readiness and balancer changes, for evidence
    time_to_recover_s: float | None = None
    transitions: list[str] = Field(default_factory=list)
    open_durations_s: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)
    answers: dict[str, Any] = Field(default_factory=dict)
    writes_during_fault: dict[str, Any] = Field(default_factory=dict)
    read_back: WriteSummary | None = None
    injections: list[FaultInjection] = Field(default_factory=list)
    leftover_faults: list[str] = Field(default_factory=list)
    observations: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    # the background load, for the report's latency timeline (t is seconds since load_start_epoch)
    timeseries: list[LoadSecond] = Field(default_factory=list)
    load_start_epoch: float | None = None

    # -- verdict helpers -------------------------------------------------------------------
    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

    @property
    def inconclusive(self) -> str | None:
        """Why no verdict is possible: steady state failed before any fault, or the generator was unhealthy."""
        if self.not_applicable:
            return None
        before = self.window("before")
        if self.steady_state_before_met is False or (before is not None and not before.ok):
            reasons = before.reasons if before is not None else []
            return f"{self.name}: steady state failed before any fault ({'; '.join(reasons) or 'hypothesis not met'})"
        if before is not None and before.inconclusive:
            return f"{self.name}: too little traffic before the fault ({'; '.join(before.reasons)})"
        if self.load_inconclusive:
            return f"{self.name}: load generator unhealthy ({self.load_inconclusive})"
        return None

    def measured(self) -> dict[str, Any]:
        return {
            "time_to_detect_s": self.time_to_detect_s, "time_to_recover_s": self.time_to_recover_s,
            "time_to_detect_system_s": self.time_to_detect_system_s,
            "system_noticed": {source: notice.model_dump() for source, notice in self.system_noticed.items()},
            "fault_window_s": [self.fault_start_s, self.fault_end_s],
            "windows": {w.name: w.model_dump(exclude={"name"}) for w in self.windows},
            "journal_status": self.journal_status, "deviated": self.deviated,
            "steady_state_before_met": self.steady_state_before_met,
            "steady_state_after_met": self.steady_state_after_met,
        }

    def evidence(self, **extra: Any) -> Evidence:
        timeline = [f"{i.fault} on {i.target}: {i.started_at:%H:%M:%S.%f}"[:-3] +
                    (f" -> {i.ended_at:%H:%M:%S.%f}"[:-3] if i.ended_at else " (not ended)") for i in self.injections]
        return Evidence(measured={**self.measured(), **extra}, artifacts=self.artifacts,
                        notes="; ".join(timeline)[:1500] or None)

    def metrics(self) -> list[Metric]:
        """Times to detect and recover as named numbers for baselines (``chaos.<experiment>.time_to_recover_s``).

        One measurement each, at the per-second resolution of the SLO series: no sampling bounds.
        """
        if self.not_applicable or self.inconclusive:
            return []
        times = {"time_to_detect_s": self.time_to_detect_s, "time_to_recover_s": self.time_to_recover_s,
                 "time_to_detect_system_s": self.time_to_detect_system_s}
        return [Metric(name=f"chaos.{self.name}.{key}", value=value, unit="s", samples=1)
                for key, value in times.items() if value is not None]

    def checks(self) -> list[Check]:
        """What the experiment showed, as the suite records it."""
        base = f"chaos.{self.name}"
        claims = self.extension.claims
        if self.not_applicable:
            return [_check(f"{base}.hypothesis", f"{self.title}", Status.NOT_APPLICABLE, self.not_applicable,
                           Evidence(), claims)]
        if self.inconclusive:
            skipped = _check(f"{base}.hypothesis", self.title, Status.SKIPPED, self.inconclusive, self.evidence(),
                             claims)
            # a lost acknowledged write is a fact whatever the steady state was: still report it
            data = [self._data(base, claims)] if self.read_back is not None else []
            return [skipped, *data]
        return [self._hypothesis(base, claims), self._recovery(base, claims), self._rollback(base),
                *self._expectations(base, claims)]

    def _hypothesis(self, base: str, claims: list[str]) -> Check:
        problems = []
        if self.aborted:
            problems.append(f"aborted by guardrail: {self.aborted}")
        for window in self.windows:
            if not window.ok:
                problems.append(f"{window.name}: {'; '.join(window.reasons)}")
        if self.steady_state_after_met is False:
            problems.append("the experiment's after-method steady-state hypothesis was not met")
        status = Status.FAIL if problems else Status.PASS
        message = "; ".join(problems) or (
            f"SLO held before, during and after {self.extension.fault} on {self.extension.target}")
        return _check(f"{base}.hypothesis", self.title, status, message, self.evidence(), claims,
                      severity=Severity.HIGH)

    def _recovery(self, base: str, claims: list[str]) -> Check:
        limit = self.extension.recover_within_s
        ttr = self.time_to_recover_s
        ok = ttr is not None and ttr <= limit
        message = (f"recovered {ttr:.0f}s after the fault ended (limit {limit:g}s); "
                   f"{_slo_breach(self.time_to_detect_s)}; {self._noticed()}" if ttr is not None
                   else f"SLO did not hold {self.extension.settle_s:g}s in a row within {limit:g}s after the fault")
        return _check(f"{base}.recovery", f"{self.title}: time to recover", Status.PASS if ok else Status.FAIL,
                      message, self.evidence(limit_s=limit, system_signals=self.system_signals[:40]), claims)

    def _noticed(self) -> str:
        if not self.system_noticed:
            return "the system itself showed no sign of the fault (no breaker OPEN, readiness red or replica marked down)"
        first_source, first = next(iter(self.system_noticed.items()))
        return f"the system noticed after {first.after_s:.1f}s ({first_source}: {first.what})"

    def _rollback(self, base: str) -> Check:
        if self.leftover_faults:
            return _check(f"{base}.rollback", f"{self.title}: rollbacks undo every fault", Status.FAIL,
                          "the experiment's rollbacks left faults behind (the harness healed them): "
                          + ", ".join(self.leftover_faults), self.evidence(), [])
        return _check(f"{base}.rollback", f"{self.title}: rollbacks undo every fault", Status.PASS,
                      f"{len(self.injections)} injection(s), all rolled back", self.evidence(), [])

    def _expectations(self, base: str, claims: list[str]) -> list[Check]:
        expect = self.extension.expect
        out = []
        if expect.breaker_cycle:
            out.append(self._breaker_cycle(base, expect.breaker_cycle, claims))
        if expect.back_on_tier:
            tier = expect.back_on_tier
            after = self.answers.get("after", {}).get("by_tier", {})
            served = after.get(tier, 0)
            status = Status.PASS if served else Status.FAIL
            message = (f"{served} answers from the {tier} tier after recovery" if served else
                       f"no answer came from the {tier} tier after recovery (answers by tier: {after or 'none'})")
            out.append(_check(f"{base}.back_on_tier", f"{self.title}: traffic returns to the {tier} tier", status,
                              message, self.evidence(answers=self.answers), claims))
        if expect.jittered_breaker_reset:
            out.append(self._jitter(base, claims))
        if expect.no_data_lost:
            out.append(self._data(base, claims))
        if expect.readiness_red:
            out.append(self._readiness(base, claims))
        if expect.writes_fail_cleanly:
            out.append(self._clean_failures(base, claims))
        if expect.rate_limit_fails_closed:
            out.append(self._fails_closed(base, claims))
        return out

    def _breaker_cycle(self, base: str, tier: str, claims: list[str]) -> Check:
        seen = [t.split(" ", 3)[-1] for t in self.transitions if f" {tier}: " in t]
        cycle = ["closed->open", "open->half_open", "half_open->closed"]
        replicas_complete = []
        for replica in sorted({t.split()[1] for t in self.transitions}):
            steps = [t.split(": ")[1] for t in self.transitions if t.split()[1] == replica and f" {tier}: " in t]
            position = 0
            for step in steps:
                if position < len(cycle) and step == cycle[position]:
                    position += 1
            if position == len(cycle):
                replicas_complete.append(replica)
        status = Status.PASS if replicas_complete else Status.FAIL
        missing = [c for c in cycle if not any(s.endswith(c) for s in seen)]
        message = (f"{tier} breaker went CLOSED -> OPEN -> HALF_OPEN -> CLOSED on {', '.join(replicas_complete)}"
                   if replicas_complete else
                   f"{tier} breaker never completed CLOSED -> OPEN -> HALF_OPEN -> CLOSED; never seen: "
                   f"{', '.join(missing) or 'the steps in order'}")
        calls = {phase: {k: v for k, v in data.get("calls", {}).items() if k.startswith(tier)}
                 for phase, data in self.answers.items()}
        return _check(f"{base}.breaker_cycle", f"{self.title}: {tier} breaker opens, half-opens and closes", status,
                      message, self.evidence(transitions=self.transitions[:60], upstream_calls=calls), claims,
                      severity=Severity.HIGH)

    def _jitter(self, base: str, claims: list[str]) -> Check:
        title = f"{self.title}: breaker probes are spread by jitter (no thundering herd)"
        phases = [(lo, hi) for values in self.open_durations_s.values() for lo, hi in values]
        precise = sorted((lo, hi) for lo, hi in phases if hi - lo <= MAX_PHASE_UNCERTAINTY_S)
        evidence = self.evidence(open_phases_s=[[round(lo, 3), round(hi, 3)] for lo, hi in precise],
                                 imprecise_phases=len(phases) - len(precise))
        if len(precise) < MIN_OPENINGS_TO_JUDGE_JITTER:
            return _check(f"{base}.retry_jitter", title, Status.SKIPPED,
                          f"only {len(precise)} precisely timed breaker openings ({len(phases)} in all); "
                          f"need {MIN_OPENINGS_TO_JUDGE_JITTER}", evidence, claims)
        # each phase's true length lies in [lo, hi]; if one value fits them all, every replica waited
        # exactly the same reset time: no jitter, probes hit the recovering tier in lockstep
        common_lo, common_hi = max(lo for lo, _ in precise), min(hi for _, hi in precise)
        lockstep = common_lo <= common_hi
        message = (f"all {len(precise)} OPEN phases are consistent with one fixed reset of "
                   f"{common_lo:.2f}-{common_hi:.2f}s: breakers (and their retries) probe the recovering tier "
                   "in lockstep, a synchronised thundering herd" if lockstep else
                   f"OPEN phases differ beyond measurement error ({precise[0][1]:.2f}s vs {precise[-1][0]:.2f}s "
                   "at least): probes are jittered")
        return _check(f"{base}.retry_jitter", title, Status.FAIL if lockstep else Status.PASS, message, evidence,
                      claims)

    def _data(self, base: str, claims: list[str]) -> Check:
        title = f"{self.title}: every acknowledged write survives"
        rb = self.read_back
        if rb is None:
            return _check(f"{base}.no_data_lost", title, Status.ERROR, "no read-back was made", self.evidence(), claims)
        ok = rb.lost == 0 and not rb.unreadable and rb.acknowledged > 0
        message = (f"all {rb.acknowledged} acknowledged writes read back" if ok else
                   f"{rb.lost} of {rb.acknowledged} acknowledged writes are gone"
                   + (f"; {len(rb.unreadable)} could not be read" if rb.unreadable else "")
                   if rb.acknowledged else "no write was acknowledged, nothing to verify")
        return _check(f"{base}.no_data_lost", title, Status.PASS if ok else Status.FAIL, message,
                      self.evidence(read_back=rb.model_dump()), claims, severity=Severity.CRITICAL)

    def _readiness(self, base: str, claims: list[str]) -> Check:
        seen = self.observations.get("gateway_readiness", [])
        red = [f"{name}: {info['status']} failing {info['failing']}" for obs in seen
               for name, info in obs.get("replicas", {}).items() if info.get("status") == 503]
        status = Status.PASS if red else Status.FAIL
        message = ("readiness went red during the fault: " + "; ".join(red[:4]) if red else
                   f"no replica reported 503 on /readyz during the fault ({len(seen)} probes)")
        return _check(f"{base}.readiness", f"{self.title}: readiness reports the outage", status, message,
                      self.evidence(readiness=seen[:10]), claims)

    def _clean_failures(self, base: str, claims: list[str]) -> Check:
        info = self.writes_during_fault
        attempted, failed, statuses = info.get("attempted", 0), info.get("failed", 0), info.get("statuses", [])
        unclean = [s for s in statuses if not _is_clean_refusal(s)]
        if unclean:
            status, message = Status.FAIL, (f"writes during the fault failed without an HTTP answer or with {unclean} "
                                            f"(hung or unclear): {info.get('errors') or ''}")
        elif not failed:
            status, message = Status.FAIL, (f"no write failed during the fault ({attempted} attempted): nothing shows "
                                            "how writes fail" if attempted else "no write was attempted during the fault")
        else:
            status, message = Status.PASS, f"{failed} of {attempted} writes during the fault failed, all cleanly with {statuses}"
        return _check(f"{base}.clean_write_failures", f"{self.title}: writes fail cleanly during the outage", status,
                      message, self.evidence(writes_during_fault=info), claims)

    def _fails_closed(self, base: str, claims: list[str]) -> Check:
        """Authenticated calls while the limiter's store is gone: refused cleanly (503/429), none let through."""
        info = self.writes_during_fault
        attempted, succeeded, statuses = info.get("attempted", 0), info.get("succeeded", 0), info.get("statuses", [])
        unclean = [s for s in statuses if s not in ("503", "429")]
        if not attempted:
            status, message = Status.FAIL, "no authenticated call was made during the outage: fail-closed not shown"
        elif succeeded:
            status, message = Status.FAIL, (f"{succeeded} of {attempted} authenticated calls succeeded while the "
                                            "rate-limit store was unreachable: the limiter fails open (unlimited)")
        elif unclean:
            status, message = Status.FAIL, (f"authenticated calls during the outage were not refused with 503/429 "
                                            f"but {unclean}: {info.get('errors') or ''}")
        else:
            status, message = Status.PASS, (f"all {attempted} authenticated calls during the outage were refused "
                                            f"cleanly ({info.get('status_counts')}): the limiter fails closed")
        return _check(f"{base}.rate_limit_fails_closed", f"{self.title}: the rate limiter fails closed", status,
                      message, self.evidence(writes_during_fault=info), claims, severity=Severity.HIGH)


def _is_clean_refusal(status: str) -> bool:
    """An HTTP answer that says "not now": 429 or 5xx (``None``, no answer at all, is not clean)."""
    return status.isdigit() and (int(status) >= 500 or int(status) == 429)

def _slo_breach(detected_s: float | None) -> str:
    return "users never saw an SLO breach" if detected_s is None else f"the SLO broke after {detected_s:.0f}s"


def _check(check_id: str, title: str, status: Status, message: str, evidence: Evidence, claims: list[str],
           severity: Severity = Severity.MEDIUM) -> Check:
    return Check(id=check_id.replace("-", "_"), suite=SUITE, title=title, status=status, severity=severity,
                 category="resilience", message=message, evidence=evidence, claims=claims)
