"""Everything a probe needs: the client, the parsed spec, identities, claims and a time budget."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from harness.errors import UsageError
from harness.platforms.base import Identity, Target
from harness.security.auth import Identities
from harness.security.claims import SecurityClaims, load_claims
from harness.security.client import ProbeClient
from harness.security.spec import ApiSpec, Operation, save_pretty


@dataclass(frozen=True)
class Budget:
    """How long a probe may wait (token expiry, rate-limit windows); set by the profile."""

    max_wait_s: float = 15.0
    time_based_delay_s: float = 1.5  # injected sleep for time-based SQLi differentials

    @classmethod
    def for_profile(cls, profile: str) -> Budget:
        return cls(max_wait_s=90.0) if profile in {"full", "nightly", "soak"} else cls()


@dataclass
class ProbeContext:
    target: Target
    client: ProbeClient
    spec: ApiSpec
    identities: Identities
    claims: SecurityClaims
    budget: Budget = field(default_factory=Budget)
    spec_path: Path | None = None
    spec_lines: dict[str, int] = field(default_factory=dict)
    created: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # op key -> [(owner name, id)]

    @classmethod
    def open(cls, target: Target, *, allow_hosts: list[str] | None = None, run_dir: Path | None = None,
             profile: str = "smoke", claims: SecurityClaims | None = None, max_requests: int = 3000) -> ProbeContext:
        """Fetch the spec (saved pretty-printed to ``run_dir/openapi.json``) and prepare identities."""
        client = ProbeClient(target.base_url, allow_hosts=allow_hosts or [], max_requests=max_requests)
        spec_url = target.openapi_url or f"{target.base_url.rstrip('/')}/openapi.json"
        try:
            response = client.get(spec_url)
            response.raise_for_status()
            document = response.json()
            spec = ApiSpec(document)
        except (httpx.HTTPError, ValueError) as exc:
            client.close()
            raise UsageError(f"cannot load the OpenAPI spec from {spec_url} ({exc}); the security suite "
                             "works from the spec: pass --openapi-url") from None
        spec_path, lines = save_pretty(document, run_dir) if run_dir else (None, {})
        if claims is None:
            claims = load_claims(overrides=target.extra.get("claims"))
        return cls(target=target, client=client, spec=spec, identities=Identities(client, target), claims=claims,
                   budget=Budget.for_profile(profile), spec_path=spec_path, spec_lines=lines)

    def close(self) -> None:
        self.client.close()

    # -- calling operations --------------------------------------------------------------
    def url(self, op: Operation, path_values: dict[str, str] | None = None) -> str:
        values = path_values or {}

        def fill(match: re.Match[str]) -> str:
            return quote(str(values.get(match.group(1), "1")), safe="")

        return re.sub(r"\{([^}]+)\}", fill, op.path)

    def call(self, op: Operation, identity: Identity | None = None, *, path_values: dict[str, str] | None = None,
             params: dict[str, Any] | None = None, json: Any = ..., headers: dict[str, str] | None = None,
             **kwargs: Any) -> httpx.Response:
        """Send ``op`` as ``identity`` (bearer), with the example body unless ``json`` is given."""
        all_headers = dict(self.identities.bearer(identity) if identity else {})
        all_headers.update(headers or {})
        body = self.spec.example_body(op) if json is ... else json
        send_json = {} if body is None or op.method in {"GET", "HEAD", "DELETE"} and json is ... else {"json": body}
        return self.client.request(op.method, self.url(op, path_values), params=params, headers=all_headers,
                                   **send_json, **kwargs)

    def bearer_operations(self) -> list[Operation]:
        return [op for op in self.spec.operations if self.spec.uses_bearer(op)]

    def object_id(self, owner: Identity, collection: Operation) -> str | None:
        """Create one object through ``collection`` (a POST) as ``owner`` and return its id."""
        response = self.call(collection, owner)
        if response.status_code not in (200, 201) or "json" not in response.headers.get("content-type", ""):
            return None
        body = response.json()
        object_id = body.get("id") if isinstance(body, dict) else None
        if object_id is not None:
            self.created.setdefault(collection.key, []).append((owner.name, str(object_id)))
        return str(object_id) if object_id is not None else None

    def item_operations(self, collection: Operation) -> list[Operation]:
        """``/things/{id}`` operations under a ``POST /things`` collection."""
        prefix = collection.path.rstrip("/") + "/{"
        return [op for op in self.spec.operations if op.path.startswith(prefix) and op.path.count("{") == 1
                and op.path.endswith("}")]

    def collections(self) -> list[Operation]:
        """POST operations that create an object addressable at ``<path>/{id}``."""
        return [op for op in self.bearer_operations() if op.method == "POST" and self.item_operations(op)]
