"""The data model: suites produce it, reports render it, the gate judges it.

``RunResult`` is what ``readiness.json`` holds. Its JSON Schema is exported to
``harness/schema/readiness.schema.json``; any change to these models must bump
``SCHEMA_VERSION`` (a test compares the live schema with the exported file).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.5.0"

CHECK_ID_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_\-]+)+$"


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"
    # the probe ran but its evidence cannot decide (every deciding answer was 429/503, a timeout):
    # never a pass, never a failure; the run's verdict is inconclusive while one blocks
    INCONCLUSIVE = "inconclusive"


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Verdict(str, Enum):
    READY = "ready"
    NOT_READY = "not_ready"
    ABORTED = "aborted"
    ERROR = "error"
    NOTHING_RAN = "nothing_ran"
    INCONCLUSIVE = "inconclusive"


_SECRET_PATTERNS = [
    (re.compile(r"(?i)(authorization:\s*bearer\s+)[A-Za-z0-9\-_.=]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(\"?(?:password|refresh_token|access_token|secret)\"?\s*[:=]\s*\"?)[^\",\s&]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(cookie:\s*)[^\r\n]+"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    """Mask bearer tokens, passwords, refresh tokens and cookies in evidence text."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Sample(_Model):
    """One request/response pair kept as evidence (secrets redacted on creation)."""

    request: str
    status_code: int | None = None
    response_excerpt: str = ""
    elapsed_ms: float | None = None

    @field_validator("request", "response_excerpt")
    @classmethod
    def _redact(cls, value: str) -> str:
        return redact(value)[:2000]


class Evidence(_Model):
    """What a check measured: numbers, a few samples, a reproduction, artifacts."""

    measured: dict[str, Any] = Field(default_factory=dict)
    samples: list[Sample] = Field(default_factory=list)
    curl: str | None = None
    artifacts: list[str] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("curl")
    @classmethod
    def _redact_curl(cls, value: str | None) -> str | None:
        return redact(value) if value else value


class Check(_Model):
    """One verifiable statement about the target, with its verdict and evidence."""

    id: str = Field(pattern=CHECK_ID_PATTERN, description="stable dotted id, e.g. security.headers.hsts")
    suite: str
    category: str = "general"
    title: str
    severity: Severity = Severity.MEDIUM
    status: Status
    message: str = ""
    evidence: Evidence = Field(default_factory=Evidence)
    claims: list[str] = Field(default_factory=list, description="ids of the claims this check verifies")
    claim_only: bool = Field(False, description="run with a claim's own numbers (those in `claims`), beside the "
                             "suite's own run: decides those claims, never the run's verdict")
    owasp: list[str] = Field(default_factory=list)
    cwe: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    test_nodeid: str | None = None

    @property
    def is_failure(self) -> bool:
        return self.status in (Status.FAIL, Status.ERROR)

    @property
    def blocks(self) -> bool:
        """A failure that counts against the run (claim-only checks decide claims, not the run)."""
        return self.is_failure and not self.claim_only


class Finding(_Model):
    """A failed security/contract check with a stable fingerprint (baselines, SARIF)."""

    fingerprint: str
    check_id: str
    suite: str
    title: str
    severity: Severity
    location: str = ""  # e.g. "GET /analyses/{id}"
    owasp: list[str] = Field(default_factory=list)
    cwe: list[str] = Field(default_factory=list)
    evidence: Evidence = Field(default_factory=Evidence)

    @staticmethod
    def make_fingerprint(*parts: str) -> str:
        """Stable across runs: only ever hash the defect's identity, never timestamps."""
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class LoadSecond(_Model):
    """One second of a load run: the series behind charts and chaos steady state."""

    t: float  # seconds since the run's start
    label: str = "all"  # operation name or "all"
    requests: int = 0
    errors: int = 0
    dropped: int = 0
    rate: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class Metric(_Model):
    """One number a suite measured, named for baselines: ``load.smoke.list_analyses.p95_ms``.

    ``low``/``high`` bound the value at ``confidence`` from the run's own samples (an order-statistic
    interval for a percentile, a Wilson interval for a rate; see ``harness/stats.py``), so a gate can
    tell a change from sampling noise. A single measurement (time to recover) has no bounds.
    """

    name: str = Field(pattern=CHECK_ID_PATTERN, description="dotted: suite.profile-or-experiment.subject.stat")
    value: float | None
    unit: str  # ms, s, ratio, req/s
    samples: int = 0
    low: float | None = None
    high: float | None = None
    confidence: float | None = None
    higher_is_worse: bool = True


class FaultInjection(_Model):
    """One fault applied during the run (chaos timeline, shaded on charts)."""

    fault: str
    target: str
    started_at: datetime
    ended_at: datetime | None = None
    experiment: str | None = None
    rolled_back: bool = False


class SuiteResult(_Model):
    name: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    checks: list[Check] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    timeseries: list[LoadSecond] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)  # named numbers for baselines (p95 per operation …)
    inconclusive: str | None = None  # reason, when the suite could not reach a verdict
    artifacts: list[str] = Field(default_factory=list)

    @property
    def duration_s(self) -> float:
        if self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def counts(self) -> dict[str, int]:
        out = {status.value: 0 for status in Status}
        for check in self.checks:
            out[check.status.value] += 1
        return out


class EnvironmentInfo(_Model):
    harness_version: str
    python: str
    platform: str  # OS string
    hostname: str
    cpu_count: int
    packages: dict[str, str] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    def fingerprint(self) -> str:
        data = json.dumps(self.model_dump(mode="json", exclude={"hostname"}), sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:12]


class TargetInfo(_Model):
    platform: str
    base_url: str | None = None
    openapi_url: str | None = None
    defects: list[str] = Field(default_factory=list)


class ClaimVerdict(str, Enum):
    """What the run showed about one claim of a status report."""

    VERIFIED = "verified"  # every mapped check passed on this run
    REFUTED = "refuted"  # a mapped check failed: measured vs claimed shown side by side
    INCONCLUSIVE = "inconclusive"  # a mapped check was inconclusive, errored or was not run
    UNTESTED = "untested"  # no suite can verify it here (the reason says why)


class ClaimResult(_Model):
    """One claim as written, what verifies it, and the verdict this run reached."""

    id: str
    text: str  # the claim as written in the status report
    source: str = ""  # where it came from, e.g. "STATUS.md:42"
    category: str = "general"
    status: str = "claimed"  # "planned" when the report states it as a goal, not as done
    verdict: ClaimVerdict
    claimed: dict[str, Any] = Field(default_factory=dict)  # the claim's own numbers
    measured: dict[str, Any] = Field(default_factory=dict)  # what the deciding checks measured
    checks: list[str] = Field(default_factory=list)  # ids of the checks the verdict rests on
    reason: str = ""  # why inconclusive/untested, or what refuted it


class GateSummary(_Model):
    """What the gate policy said when the run finished (no baseline): readiness level and blocking reasons."""

    policy: str = "default"  # the policy file, or "default"
    levels: list[str] = Field(default_factory=list)  # the policy's levels, lowest first
    level: str | None = None  # the highest level reached (every lower one reached too)
    next_level: str | None = None
    missing: list[str] = Field(default_factory=list)  # what the next level still needs, one line each
    required_level: str | None = None
    blocking: list[str] = Field(default_factory=list)  # one line per blocking reason
    waived: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class GuardrailEvent(_Model):
    """A game-day stop condition that fired (or a step's own guardrail, or the day's max duration)."""

    guardrail: str  # the stop condition's name, "max_duration", or "<step>.abort" for an experiment's own
    reason: str
    step: str | None = None  # the step running when it fired
    breach_at: datetime | None = None  # end of the last second that completed the breach (load series)
    fired_at: datetime  # when the harness decided to stop


class GameDayStep(_Model):
    """One experiment of a game day, as far as it got."""

    id: str
    experiment: str  # scenarios/chaos name (or path)
    title: str
    fault: str
    target: str
    status: str  # passed | failed | aborted | interrupted | inconclusive | not_applicable | not_run
    message: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    time_to_detect_s: float | None = None  # first second that broke the SLO after the fault started
    time_to_detect_system_s: float | None = None  # first sign the system itself saw it
    time_to_recover_s: float | None = None
    journal: str | None = None  # Chaos Toolkit journal, relative to the run folder


class GameDayResult(_Model):
    """What a game day set out to show, what each step showed, and where (and why) it stopped."""

    title: str
    hypothesis: str
    owner: str
    file: str
    schedule: str | None = None
    background_load: str = ""
    hypothesis_verdict: str = "inconclusive"  # confirmed | refuted | inconclusive
    verdict_reason: str = ""
    steps: list[GameDayStep] = Field(default_factory=list)
    guardrails: list[GuardrailEvent] = Field(default_factory=list)
    stopped_at: str | None = None  # the step it stopped in (guardrail, signal, lost steady state)
    rolled_back_at: datetime | None = None  # abort: every fault undone
    load_stopped_at: datetime | None = None  # abort: background load workers gone


class RunResult(_Model):
    schema_version: str = SCHEMA_VERSION
    run_id: str
    trigger: str = "pytest"  # pytest | cli | ci | gameday
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    environment: EnvironmentInfo
    environment_fingerprint: str = ""
    target: TargetInfo
    profile: str = "smoke"
    suites: list[SuiteResult] = Field(default_factory=list)
    timeline: list[FaultInjection] = Field(default_factory=list)
    claims: list[ClaimResult] = Field(default_factory=list)
    verdict: Verdict = Verdict.NOTHING_RAN
    exit_code: int = 5
    aborted_reason: str | None = None
    error: str | None = None  # the harness itself failed (platform start, internal error)
    severity_threshold: Severity = Severity.MEDIUM
    gate: GateSummary | None = None  # set when the run finishes, from the run's policy
    gameday: GameDayResult | None = None  # set by `harness gameday run`

    def all_checks(self) -> list[Check]:
        return [check for suite in self.suites for check in suite.checks]

    def run_checks(self) -> list[Check]:
        """The checks the run's verdict and the gate judge: all but those run only with a claim's own numbers
        (``claim_only``: they decide claims, and a claims file never changes the run's verdict)."""
        return [check for check in self.all_checks() if not check.claim_only]

    def all_findings(self) -> list[Finding]:
        return [finding for suite in self.suites for finding in suite.findings]

    def all_metrics(self) -> list[Metric]:
        return [metric for suite in self.suites for metric in suite.metrics]

    def suite(self, name: str) -> SuiteResult:
        """The suite result of that name, created on first use."""
        for existing in self.suites:
            if existing.name == name:
                return existing
        created = SuiteResult(name=name)
        self.suites.append(created)
        return created
