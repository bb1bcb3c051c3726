"""The reference system as the local platform runs it: its test identities, commands, defects and claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.errors import UsageError
from harness.platforms.base import Identity
from harness.platforms.local.supervisor import python_module

BACKENDS = ("sqlite", "postgres")
PASSWORD = "correct-horse-battery-staple"
IDENTITIES = {
    "acme_user": Identity(name="acme_user", username="alice@acme.test", password=PASSWORD, tenant="acme", role="user"),
    "acme_admin": Identity(name="acme_admin", username="adam@acme.test", password=PASSWORD, tenant="acme", role="admin"),
    "globex_user": Identity(name="globex_user", username="bob@globex.test", password=PASSWORD, tenant="globex", role="user"),
    "globex_admin": Identity(name="globex_admin", username="grace@globex.test", password=PASSWORD, tenant="globex",
                             role="admin"),
}
DEFAULT_COMMANDS: dict[str, list[str]] = {
    "inference": python_module("fixtures.refsys.inference"),
    "gateway": python_module("fixtures.refsys.gateway"),
}
DEFAULT_GPUS = 2


def validate_defects(defects: Iterable[str]) -> list[str]:
    """Known defect names, sorted; ``UsageError`` listing the valid names otherwise."""
    from fixtures.refsys.defects import parse_defects

    try:
        return sorted(parse_defects(",".join(defects)))
    except ValueError as exc:
        raise UsageError(f"--defects: {exc}") from None


def validate_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UsageError(f"--backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    return backend


def claims_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """What the refsys is configured to do, for suites verifying it (Target.extra): its rate limit on
    ``GET /analyses`` per user, its failed-login limit and, when shortened, its token lifetime."""
    extra: dict[str, Any] = {}
    if "REFSYS_ACCESS_TTL_S" in env:
        extra["access_ttl_s"] = float(env["REFSYS_ACCESS_TTL_S"])
    extra["claims"] = {
        "rate_limit": {"limit": int(env.get("REFSYS_RATE_LIMIT", 100)),
                       "window_s": float(env.get("REFSYS_RATE_WINDOW_S", 60)), "per": "user",
                       "operations": ["GET /analyses"]},
        "login_attempts": {"max_failures": int(env.get("REFSYS_LOGIN_FAILURE_LIMIT", 5)),
                           "window_s": float(env.get("REFSYS_LOGIN_FAILURE_WINDOW_S", 60))},
    }
    return extra


def cors_allowed_origins(lb_url: str) -> list[str]:
    """The refsys' CORS allowlist (its public origin + its fixed app origin), for the allowlist probe."""
    from fixtures.refsys.gateway.settings import ALWAYS_ALLOWED_ORIGINS

    return [lb_url.rstrip("/"), *ALWAYS_ALLOWED_ORIGINS]
