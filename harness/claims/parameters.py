"""A claim's own numbers, one model per kind of claim the suites can verify.

A claim carries any of these under ``params`` (``params: {rate_limit: {limit: 30, window_s: 60}}``).
The suite that verifies a kind reads them through ``ClaimSet`` and runs its check with the claim's
numbers; the checks it records then carry the claim's id (``Check.claims``). Numbers are in base
units: seconds, milliseconds for latency, requests per second for rates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

OPERATION_PATTERN = r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*$"
PERCENTILES = (50, 95, 99, 99.9)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitParams(_Params):
    """At most ``limit`` requests per ``window_s`` per user/client/IP on ``operations`` (empty: any authenticated GET)."""

    limit: int = Field(gt=0, le=100_000)
    window_s: float = Field(gt=0, le=86_400)
    per: Literal["user", "client", "ip", "global"] | None = Field("user", description="None: the claim does not say")
    operations: tuple[str, ...] = Field(default=(), description='"METHOD /path" the limit covers')
    tolerance: float = Field(0.1, ge=0, le=1, description="accepted excess before the claim counts as broken")

    @field_validator("operations")
    @classmethod
    def _operations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_operations(value)


class LoginAttemptsParams(_Params):
    """Failed logins per account (or client) before the login answers 429/423."""

    max_failures: int = Field(gt=0, le=200)
    window_s: float | None = Field(None, gt=0, le=86_400)


class LatencyParams(_Params):
    """``percentile`` of ``operation`` (None: all traffic) under ``max_ms`` at ``at_rate`` req/s (None: the profile's)."""

    percentile: float = Field(95, description="50, 95, 99 or 99.9: the percentiles the load suite reports")
    max_ms: float = Field(gt=0, le=600_000)
    operation: str | None = Field(None, pattern=OPERATION_PATTERN)
    at_rate: float | None = Field(None, gt=0, le=100_000, description="arrivals per second the claim is made at")


    @field_validator("percentile")
    @classmethod
    def _reported(cls, value: float) -> float:
        if value not in PERCENTILES:
            raise ValueError(f"p{value:g} is not reported by the load suite; use one of 50, 95, 99, 99.9")
        return value


class ThroughputParams(_Params):
    min_rps: float = Field(gt=0, le=1_000_000)


class ErrorRateParams(_Params):
    max_ratio: float = Field(ge=0, le=1)


class HeaderParams(_Params):
    """Response headers and the values they must carry (None: present with any value).

    A value ending in ``...`` is a prefix (status reports often cut long CSPs short); otherwise every
    ``;``/``,``-separated directive claimed must be in the header the system sends.
    """

    values: dict[str, str | None] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _lower_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        return {name.strip().lower(): (v.strip() if isinstance(v, str) else v) for name, v in value.items()}


class CorsParams(_Params):
    """Exactly these origins may call the API from a browser (empty: no allowlist stated, none may be reflected)."""

    allowed_origins: tuple[str, ...] = ()

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [o for o in value if not o.startswith(("http://", "https://")) or o.count("/") != 2]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an origin like https://app.example.com")
        return tuple(o.rstrip("/") for o in value)


class TokenParams(_Params):
    """Access tokens live at most ``access_ttl_s``; ``refresh`` claims rotation with reuse detection."""

    access_ttl_s: float | None = Field(None, gt=0, le=30 * 86_400)
    refresh: bool = False


class BreakerParams(_Params):
    """States the breaker goes through, in order, and how long it stays OPEN before probing."""

    states: tuple[Literal["closed", "open", "half_open"], ...] = ("closed", "open", "half_open", "closed")
    reset_s: float | None = Field(None, gt=0, le=3600)

    @field_validator("states", mode="before")
    @classmethod
    def _normalise(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return tuple(str(s).strip().lower().replace("-", "_").replace(" ", "_") for s in value)
        return value


class RetryParams(_Params):
    attempts: int | None = Field(None, gt=0, le=100)
    min_delay_s: float | None = Field(None, ge=0, le=3600)
    max_delay_s: float | None = Field(None, ge=0, le=3600)


class SurvivesParams(_Params):
    """The system keeps its SLO through the loss of ``component`` and recovers within ``recover_within_s``."""

    component: str = Field(min_length=1)
    recover_within_s: float | None = Field(None, gt=0, le=3600)


class PdbParams(_Params):
    min_available: int | None = Field(None, ge=0)


class ClaimParams(_Params):
    """Every kind of number a claim can hand to a check; a claim sets the ones it states."""

    rate_limit: RateLimitParams | None = None
    login_attempts: LoginAttemptsParams | None = None
    latency: LatencyParams | None = None
    throughput: ThroughputParams | None = None
    error_rate: ErrorRateParams | None = None
    headers: HeaderParams | None = None
    cors: CorsParams | None = None
    token: TokenParams | None = None
    breaker: BreakerParams | None = None
    retry: RetryParams | None = None
    survives: SurvivesParams | None = None
    pdb: PdbParams | None = None

    def kinds(self) -> list[str]:
        return [name for name in type(self).model_fields if getattr(self, name) is not None]

    def stated(self) -> dict[str, object]:
        """The numbers as stated, for the report's "claimed" column: what the claim sets, and who a rate limit is per."""
        out: dict[str, object] = {}
        for kind in self.kinds():
            params = getattr(self, kind)
            numbers = params.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            if kind == "rate_limit" and params.per is not None:
                numbers["per"] = params.per
            out[kind] = numbers
        return out


def _check_operations(value: tuple[str, ...]) -> tuple[str, ...]:
    import re

    bad = [op for op in value if not re.match(OPERATION_PATTERN, op)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an operation like 'GET /analyses'")
    return value
