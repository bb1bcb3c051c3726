"""Claims files (``scenarios/claims/*.yaml``): what a status report claims and what verifies each claim.

Example::

    document: STATUS.md
    claims:
      - id: rate-limit-per-user
        text: "Rate limiting (100 req/min/user)"
        source: {file: STATUS.md, line: 14}
        category: rate_limit
        verify: [security.ratelimit.enforced, security.ratelimit.per_user, security.ratelimit.window]
        params: {rate_limit: {limit: 100, window_s: 60, per: user}}
      - id: aes-256-at-rest
        text: "AES-256 encryption at rest"
        source: {file: STATUS.md, line: 16}
        category: data
        untestable: encryption at rest is not observable through the API

``verify`` names check ids or globs; ``params`` hands the claim's own numbers to the suites that run
those checks. ``harness claims extract STATUS.md`` drafts such a file; ``harness schema claims`` prints
its JSON Schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.claims.parameters import ClaimParams
from harness.errors import UsageError
from harness.inputs import validate
from harness.yaml_file import read_yaml

CLAIM_ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
CHECK_PATTERN = r"^[a-z0-9_*?\[\]\-]+(\.[a-z0-9_*?\[\]\-]+)*$"
PLATFORMS = ("local", "kind", "external")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimSource(_Strict):
    file: str = ""
    line: int | None = Field(None, ge=1)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class Claim(_Strict):
    """One claim as written, where it came from, and what verifies it (or why nothing can)."""

    id: str = Field(pattern=CLAIM_ID_PATTERN)
    text: str = Field(min_length=1, description="the claim as written in the status report")
    source: ClaimSource = Field(default_factory=ClaimSource)
    category: str = "general"
    status: Literal["claimed", "planned"] = Field(
        "claimed", description="planned: the document states it as a goal or open item, not as done")
    verify: list[str] = Field(default_factory=list, description="check ids or globs whose results decide the claim")
    params: ClaimParams = Field(default_factory=ClaimParams)
    platforms: list[Literal["local", "kind", "external"]] = Field(
        default_factory=list, description="platforms that can verify it (empty: any)")
    untestable: str | None = Field(None, description="why no suite can verify it (then verify stays empty)")

    @field_validator("verify")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        import re

        bad = [p for p in value if not re.match(CHECK_PATTERN, p)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a check id or glob like security.ratelimit.* ")
        return value

    @model_validator(mode="after")
    def _verifiable_or_not(self) -> Claim:
        if self.untestable and self.verify:
            raise ValueError(f"claim {self.id}: either 'verify' (check ids) or 'untestable' (a reason), not both")
        if not self.untestable and not self.verify:
            raise ValueError(f"claim {self.id}: give 'verify' (check ids or globs) or 'untestable' (why not)")
        return self


class ClaimsFile(_Strict):
    """A claims file: the claims of one document (or one system)."""

    document: str = Field("", description="the status report the claims come from")
    claims: list[Claim] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> ClaimsFile:
        seen: set[str] = set()
        for claim in self.claims:
            if claim.id in seen:
                raise ValueError(f"claim id {claim.id!r} appears twice; ids must be unique")
            seen.add(claim.id)
        return self

    def testable(self) -> list[Claim]:
        return [c for c in self.claims if not c.untestable]

    def with_params(self, kind: str) -> list[Claim]:
        """Testable claims that state numbers of this kind (``rate_limit``, ``latency`` …)."""
        return [c for c in self.testable() if getattr(c.params, kind) is not None]

    def to_yaml(self) -> str:
        """The file as people read it: fields in model order (id and text first), defaults left out."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def parse_claims(data: object, source: str) -> ClaimsFile:
    return validate(ClaimsFile, data, source,
                    shape="a claims file is a mapping with a 'claims:' list (see harness schema claims)")


def load_claims_file(path: Path | str) -> ClaimsFile:
    """Read and validate a claims file; any problem is a ``UsageError`` (exit 4) naming file and field."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"claims file {path} not found; draft one with: harness claims extract STATUS.md -o {path}")
    return parse_claims(read_yaml(path, what="claims file"), str(path))
