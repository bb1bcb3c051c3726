"""Everything a probe needs: the client, the parsed spec, identities, the numbers to verify and a time budget."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from harness.claims.model import ClaimsFile
from harness.claims.parameters import CorsParams, LoginAttemptsParams, RateLimitParams
from harness.claims.runs import ParamRun, param_runs
from harness.errors import UsageError
from harness.openapi_file import save_pretty
from harness.platforms.base import Identity, Target
from harness.policy import SecurityPolicy
from harness.safety import ensure_allowed
from harness.security.auth import Identities
from harness.security.client import ProbeClient
from harness.security.openapi import ApiSpec, Operation


@dataclass(frozen=True)
class Budget:
    """How long a probe may wait (token expiry, rate-limit windows); set by the profile.

    Long profiles allow 180 s: enough for the rate-limit window check at a 60 s claim (~2.7 windows).
    """

    max_wait_s: float = 15.0
    time_based_delay_s: float = 1.5  # injected sleep for time-based SQLi differentials

    @classmethod
    def for_profile(cls, profile: str) -> Budget:
        return cls(max_wait_s=180.0) if profile in {"full", "nightly", "soak"} else cls()


def _fetch_document(client: ProbeClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    response.raise_for_status()
    return _mapping(response.json())


def _read_document(path_or_file_url: str) -> dict[str, Any]:
    """A spec file (``--openapi-url`` may name one): JSON or YAML."""
    return _mapping(yaml.safe_load(Path(path_or_file_url.removeprefix("file://")).read_text()))


def _mapping(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValueError("not an OpenAPI document: expected a JSON object")
    return document


DEFAULT_LOGIN_FAILURES = 10  # wrong passwords before throttling, when neither the target nor a claim says
ALLOWED_ORIGINS_KEY = "cors_allowed_origins"


def published_rate_limit(extra: dict[str, Any]) -> RateLimitParams | None:
    """The limit a platform says it runs (``Target.extra["claims"]["rate_limit"]``), e.g. the refsys' 100/60 s."""
    data = dict((extra.get("claims") or {}).get("rate_limit") or {})
    if not data:
        return None
    data.setdefault("operations", data.pop("scope", ()))
    data.pop("id", None)
    return RateLimitParams.model_validate(data)


def published_login_attempts(extra: dict[str, Any]) -> LoginAttemptsParams:
    data = dict((extra.get("claims") or {}).get("login_attempts") or {})
    data.pop("id", None)
    return LoginAttemptsParams.model_validate({"max_failures": DEFAULT_LOGIN_FAILURES, **data})


def published_cors(extra: dict[str, Any]) -> CorsParams | None:
    origins = extra.get(ALLOWED_ORIGINS_KEY)
    return CorsParams(allowed_origins=tuple(origins)) if origins else None


@dataclass
class ProbeContext:
    target: Target
    client: ProbeClient
    spec: ApiSpec
    identities: Identities
    claims: ClaimsFile = field(default_factory=ClaimsFile)  # the run's claims file (empty without one)
    budget: Budget = field(default_factory=Budget)
    policy: SecurityPolicy = field(default_factory=SecurityPolicy)  # the gate policy's ``security`` section
    spec_path: Path | None = None
    spec_lines: dict[str, int] = field(default_factory=dict)
    created: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # op key -> [(owner name, id)]
    used_identities: set[str] = field(default_factory=set)  # driven into a limit or locked out by a probe

    # -- the numbers each check runs with: the target's own, then each claim that states others ----------
    def rate_limits(self) -> list[ParamRun[RateLimitParams]]:
        return param_runs(self.claims, "rate_limit", published_rate_limit(self.target.extra))

    def login_attempts(self) -> list[ParamRun[LoginAttemptsParams]]:
        return param_runs(self.claims, "login_attempts", published_login_attempts(self.target.extra))

    def cors_allowlists(self) -> list[ParamRun[CorsParams]]:
        claimed = ClaimsFile(claims=[c for c in self.claims.with_params("cors") if c.params.cors.allowed_origins])  # type: ignore[union-attr]
        return param_runs(claimed, "cors", published_cors(self.target.extra))

    @classmethod
    def open(cls, target: Target, *, allow_hosts: list[str] | None = None, run_dir: Path | None = None,
             profile: str = "smoke", claims: ClaimsFile | None = None, max_requests: int = 3000,
             policy: SecurityPolicy | None = None) -> ProbeContext:
        """Fetch the spec (saved pretty-printed to ``run_dir/openapi.json``) and prepare identities.

        Both the base URL and the spec URL must be on the allowlist (``DisallowedHostError``, exit 4,
        before any request is sent).
        """
        spec_url = target.openapi_url or f"{target.base_url.rstrip('/')}/openapi.json"
        is_http = spec_url.startswith(("http://", "https://"))
        if is_http:
            ensure_allowed(spec_url, allow_hosts or [])
        client = ProbeClient(target.base_url, allow_hosts=allow_hosts or [], max_requests=max_requests)
        try:
            document = _fetch_document(client, spec_url) if is_http else _read_document(spec_url)
            spec = ApiSpec(document)
        except (httpx.HTTPError, OSError, ValueError, yaml.YAMLError) as exc:
            client.close()
            raise UsageError(f"cannot load the OpenAPI spec from {spec_url} ({str(exc).splitlines()[0]}); the "
                             "security suite works from the spec: pass --openapi-url") from None
        spec_path, lines = save_pretty(document, run_dir) if run_dir else (None, {})
        return cls(target=target, client=client, spec=spec, identities=Identities(client, target),
                   claims=claims or ClaimsFile(),
                   budget=Budget.for_profile(profile), policy=policy or SecurityPolicy(), spec_path=spec_path,
                   spec_lines=lines)

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
        send_json: dict[str, Any] = {} if body is None or (op.method in {"GET", "HEAD", "DELETE"} and json is ...) else {"json": body}
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

    def collection_for(self, op: Operation) -> Operation | None:
        """The ``POST /things`` whose objects ``op`` addresses: ``/things/{id}``, also under a prefix
        (``/admin/things/{id}``)."""
        if not op.path_params:
            return None
        item = "/{" + op.path_params[-1].name + "}"
        return next((c for c in self.collections() if op.path.endswith(c.path.rstrip("/") + item)), None)
