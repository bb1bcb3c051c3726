"""Security claims a team publishes (``scenarios/claims/*.yaml``): today the rate-limit claim.

Example file::

    rate_limit:
      id: api.rate_limit.per_user
      limit: 100          # requests admitted ...
      window_s: 60        # ... per this many seconds
      per: user           # user | ip | global
      scope: [GET /analyses, POST /analyses]   # optional; default: the first bearer GET without parameters
    login_attempts:
      max_failures: 10    # wrong passwords before 429/423/lockout
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import UsageError, invalid_input
from harness.yaml_file import read_yaml

DEFAULT_CLAIMS_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "claims"


class RateLimitClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = "api.rate_limit"
    limit: int = Field(gt=0, le=100_000)
    window_s: float = Field(gt=0, le=86_400)
    per: Literal["user", "ip", "global"] = "user"
    scope: list[str] = Field(default_factory=list)  # "METHOD /path" operations the limit covers
    tolerance: float = Field(0.1, ge=0, le=1, description="accepted excess before a verdict of fail")


class LoginAttemptsClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = "api.login.bruteforce"
    max_failures: int = Field(10, gt=0, le=200)


class SecurityClaims(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_limit: RateLimitClaim | None = None
    login_attempts: LoginAttemptsClaim = Field(default_factory=LoginAttemptsClaim)


def load_claims(paths: list[Path] | None = None, overrides: dict[str, Any] | None = None) -> SecurityClaims:
    """Merge claims files (later files win) and then ``overrides`` (e.g. ``Target.extra["claims"]``).

    A platform that runs the system with a shorter test window says so in
    ``Target.extra["claims"] = {"rate_limit": {"limit": 20, "window_s": 4}}`` so the claim matches what runs.
    """
    merged: dict[str, Any] = {}
    for path in paths if paths is not None else sorted(DEFAULT_CLAIMS_DIR.glob("*.yaml")):
        data = read_yaml(Path(path), what="claims file") or {}
        if not isinstance(data, dict):
            raise UsageError(f"claims file {path}: expected a mapping like 'rate_limit: {{limit: 100, window_s: 60}}'")
        _deep_merge(merged, {k: v for k, v in data.items() if k in SecurityClaims.model_fields})
    _deep_merge(merged, overrides or {})
    try:
        return SecurityClaims.model_validate(merged)
    except ValidationError as exc:
        raise invalid_input("claims", exc) from None


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
