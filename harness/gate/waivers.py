"""Waivers: accept a known failure for a while, with a reason, an owner and an expiry date.

A waiver names exactly one thing: a check id (every failure of that check), a finding fingerprint (that
finding only) or a claim id (that claim refuted). It lives in the policy (``waivers:``) or in a file of
its own (``harness gate --waivers FILE``, the same list under a top-level ``waivers:`` key).

It *expires on* its date: from that day on the failure it covered blocks again, and the gate says so by
the waiver's name and date. Within ``EXPIRY_WARNING_DAYS`` it warns; a waiver that covers nothing in a
report is stale and warns, so waivers do not outlive their reason unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.inputs import read_mapping, validate

EXPIRY_WARNING_DAYS = 14


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="a name to refer to it by (default: what it covers)")
    check: str | None = Field(None, description="a check id, exactly as in the report")
    fingerprint: str | None = Field(None, description="a finding's fingerprint (readiness.json, SARIF)")
    claim: str | None = Field(None, description="a claim id")
    reason: str = Field(min_length=3)
    owner: str = Field(min_length=1)
    expires: date

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Waiver:
        given = [key for key in ("check", "fingerprint", "claim") if getattr(self, key)]
        if len(given) != 1:
            raise ValueError(f"a waiver names exactly one of check, fingerprint, claim (got {', '.join(given) or 'none'})")
        return self

    @property
    def name(self) -> str:
        return self.id or str(self.check or self.fingerprint or self.claim)

    @property
    def covers(self) -> str:
        kind = "check" if self.check else "finding" if self.fingerprint else "claim"
        return f"{kind} {self.check or self.fingerprint or self.claim}"

    def expired(self, today: date) -> bool:
        return today >= self.expires

    def days_left(self, today: date) -> int:
        return (self.expires - today).days

    def describe(self) -> str:
        return f"waiver '{self.name}' ({self.covers}, owner {self.owner})"


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: Path) -> list[Waiver]:
    data = read_mapping(path, "waivers", "--waivers",
                        "waivers: [{check: security.headers.hsts, reason: …, owner: …, expires: 2030-01-31}]")
    return validate(WaiverFile, data, str(path)).waivers


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass
class WaiverLedger:
    """Looks waivers up for a report and remembers which ones covered something (the rest are stale)."""

    waivers: list[Waiver]
    today: date
    used: set[int] = field(default_factory=set)

    def _find(self, **target: str) -> Waiver | None:
        (key, value), = target.items()
        matches = [w for w in self.waivers if getattr(w, key) == value]
        if not matches:
            return None
        for waiver in matches:
            self.used.add(id(waiver))
        valid = [w for w in matches if not w.expired(self.today)]
        return max(valid or matches, key=lambda w: w.expires)  # a live waiver wins over an expired one

    def for_check(self, check_id: str) -> Waiver | None:
        return self._find(check=check_id)

    def for_finding(self, fingerprint: str) -> Waiver | None:
        return self._find(fingerprint=fingerprint)

    def for_claim(self, claim_id: str) -> Waiver | None:
        return self._find(claim=claim_id)

    def valid(self, waiver: Waiver | None) -> bool:
        return waiver is not None and not waiver.expired(self.today)

    def stale(self) -> list[Waiver]:
        return [w for w in self.waivers if id(w) not in self.used]

    def expiring(self) -> list[Waiver]:
        return [w for w in self.waivers if 0 < w.days_left(self.today) <= EXPIRY_WARNING_DAYS]
