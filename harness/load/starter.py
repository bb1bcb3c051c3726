"""A starter load profile for a system the harness did not write: its own GET operations, gently.

The bundled profiles (``scenarios/load/*.yaml``) describe the reference system (``POST /analyses`` …) and
would only produce load errors anywhere else. For a foreign target the load suite uses the target file's
``load_profile``; without one it builds this starter from the spec (and ``harness init`` writes it to a
file to edit): every GET without path or required parameters - safe to repeat - with equal weights, at a
low open-model rate, as the first user identity where the operation refuses anonymous calls.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.load.profile import LoadProfile, parse_profile
from harness.platforms.base import Target

STARTER_RATE = 2.0  # arrivals per second: low enough for a per-IP limiter of ~150/min
STARTER_DURATION_S = 15.0
MAX_OPERATIONS = 12
DENIED = {401, 403}


def safe_gets(document: dict[str, Any]) -> list[str]:
    """Paths of GET operations without path parameters or required query parameters."""
    out = []
    for path, item in (document.get("paths") or {}).items():
        op = (item or {}).get("get")
        if not isinstance(op, dict) or "{" in path:
            continue
        params = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
        if any(isinstance(p, dict) and p.get("required") for p in params):
            continue
        if any(word in path.lower() for word in ("logout", "signout", "debug", "admin", "delete")):
            continue
        out.append(path)
    return out[:MAX_OPERATIONS]


def needs_identity(document: dict[str, Any], path: str, answered: int | None) -> bool:
    op = document["paths"][path]["get"]
    declared = op.get("security", document.get("security"))
    return bool(declared) or answered in DENIED


def starter_profile_data(document: dict[str, Any], target: Target,
                         anonymous_status: dict[str, int] | None = None) -> dict[str, Any]:
    """The profile as YAML-able data; ``anonymous_status`` (path -> status without credentials) says which
    operations need an identity when the spec does not."""
    users = [i.name for i in target.identities.values() if not i.is_admin] or list(target.identities)
    operations = []
    for path in safe_gets(document):
        op: dict[str, Any] = {"name": _name(path), "path": path, "weight": 1}
        if needs_identity(document, path, (anonymous_status or {}).get(path)) and users:
            op["identities"] = users[:2]
        operations.append(op)
    return {
        "description": f"starter for {target.base_url}: its {len(operations)} safe GET operations at "
                       f"{STARTER_RATE:g} req/s (edit rate, duration and thresholds to your claims)",
        "model": "open", "arrivals": "uniform",
        "stages": [{"duration_s": STARTER_DURATION_S, "rate": STARTER_RATE}],
        "max_users": 10, "timeout_s": 10,
        "operations": operations,
        "thresholds": {"p95_ms": 1000, "max_error_rate": 0.01, "max_dropped_ratio": 0.05, "min_rate_ratio": 0.8},
    }


def probe_anonymous(client: httpx.Client, document: dict[str, Any]) -> dict[str, int]:
    """One anonymous GET per safe operation: which ones refuse without credentials (bounded, read-only)."""
    return {path: client.get(path).status_code for path in safe_gets(document)}


def starter_profile(document: dict[str, Any], target: Target, name: str = "starter",
                    anonymous_status: dict[str, int] | None = None) -> LoadProfile:
    data = {"name": name, **starter_profile_data(document, target, anonymous_status)}
    if not data["operations"]:
        from harness.errors import UsageError

        raise UsageError(f"{target.base_url}: the spec has no GET operation without parameters to build a load "
                         "profile from; write one (scenarios/load/*.yaml shows the format) and set load_profile")
    return parse_profile(data, f"starter profile for {target.base_url}")


def _name(path: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in path.strip("/").lower()) or "root"
    return ("get_" + slug.strip("_"))[:60]
