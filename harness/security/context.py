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
from harness.claims.parameters import CorsParams, LoginAttemptsParams, RateLimitParams, TargetClaims
from harness.claims.runs import ParamRun, param_runs
from harness.errors import UsageError
from harness.openapi_file import save_pretty
from harness.platforms.base import Identity, Target
from harness.policy import SecurityPolicy
from harness.safety import ensure_allowed
from harness.security.auth import Identities
from harness.security.client import ProbeClient
from harness.security.learn import (
    Knowledge,
    Producer,
    body_from_shapes,
    id_from_location,
    id_of,
    learn,
    objects_in,
)
from harness.security.openapi import ApiSpec, Operation


@dataclass(frozen=True)
class Budget:
    """How long a probe may wait (token expiry, rate-limit windows); set by the profile.

    Long profiles allow 180 s: enough for the rate-limit window check at a 60 s claim (~2.7 windows).
    """

    max_wait_s: float = 15.0
    time_based_delay_s: float = 1.5  # injected sleep for time-based SQLi differentials
    throttle_wait_s: float = 10.0  # longest single Retry-After a probe waits out before calling it throttled
    throttle_total_s: float = 60.0  # all such waits together, per probe run

    @classmethod
    def for_profile(cls, profile: str) -> Budget:
        if profile in {"full", "nightly", "soak"}:
            return cls(max_wait_s=180.0, throttle_wait_s=65.0, throttle_total_s=300.0)
        return cls()


def _fetch_document(client: ProbeClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    response.raise_for_status()
    return _mapping(response.json())


def _read_document(path_or_file_url: str) -> dict[str, Any]:
    """A spec file (``--openapi-url`` may name one): JSON or YAML."""
    return _mapping(yaml.safe_load(Path(path_or_file_url.removeprefix("file://")).read_text()))


def load_document(target: Target, allow_hosts: list[str] | None = None) -> dict[str, Any]:
    """The target's OpenAPI document (URL or file), allowlist-checked; ``UsageError`` when it cannot be read."""
    spec_url = target.openapi_url or f"{target.base_url.rstrip('/')}/openapi.json"
    try:
        if spec_url.startswith(("http://", "https://")):
            ensure_allowed(spec_url, allow_hosts or [])
            with ProbeClient(target.base_url, allow_hosts=allow_hosts or []) as client:
                return _fetch_document(client, spec_url)
        return _read_document(spec_url)
    except (httpx.HTTPError, OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot load the OpenAPI spec from {spec_url} ({str(exc).splitlines()[0]}); "
                         "pass --openapi-url or set openapi in the target file") from None


def _mapping(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValueError("not an OpenAPI document: expected a JSON object")
    return document


ALLOWED_ORIGINS_KEY = "cors_allowed_origins"


def published_claims(extra: dict[str, Any]) -> TargetClaims:
    """The numbers the target states (``Target.extra["claims"]``: its target file, or what a platform runs)."""
    return TargetClaims.model_validate(extra.get("claims") or {})


def published_rate_limit(extra: dict[str, Any]) -> RateLimitParams | None:
    return published_claims(extra).rate_limit


def published_login_attempts(extra: dict[str, Any]) -> LoginAttemptsParams | None:
    return published_claims(extra).login_attempts


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
    knowledge: Knowledge = field(default_factory=Knowledge)  # what the spec did not say, learned from answers
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
        budget = Budget.for_profile(profile)
        client = ProbeClient(target.base_url, allow_hosts=allow_hosts or [], max_requests=max_requests,
                             max_retry_after_s=budget.throttle_wait_s, max_total_wait_s=budget.throttle_total_s)
        try:
            document = _fetch_document(client, spec_url) if is_http else _read_document(spec_url)
            spec = ApiSpec(document)
        except (httpx.HTTPError, OSError, ValueError, yaml.YAMLError) as exc:
            client.close()
            raise UsageError(f"cannot load the OpenAPI spec from {spec_url} ({str(exc).splitlines()[0]}); the "
                             "security suite works from the spec: pass --openapi-url") from None
        spec_path, lines = save_pretty(document, run_dir) if run_dir else (None, {})
        ctx = cls(target=target, client=client, spec=spec, identities=Identities(client, target),
                  claims=claims or ClaimsFile(), budget=budget, policy=policy or SecurityPolicy(),
                  spec_path=spec_path, spec_lines=lines)
        learn(ctx)
        return ctx

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
        body = self.body_for(op) if json is ... else json
        send_json: dict[str, Any] = {} if body is None or (op.method in {"GET", "HEAD", "DELETE"} and json is ...) else {"json": body}
        response = self.client.request(op.method, self.url(op, path_values), params=params, headers=all_headers,
                                       **send_json, **kwargs)
        if identity is not None and response.status_code == 401 and identity.logs_in and not headers:
            self.identities.forget(identity)  # a login lost on the way (expired, revoked): log in again, once
            all_headers = {**self.identities.bearer(identity), **(headers or {})}
            response = self.client.request(op.method, self.url(op, path_values), params=params,
                                           headers=all_headers, **send_json, **kwargs)
        return response

    def authenticated(self, op: Operation) -> bool:
        """Sent with the identity's credential: declared (bearer, OAuth2, API key) or learned (401 without)."""
        return self.spec.uses_bearer(op) or self.knowledge.needs_auth.get(op.key, False)

    def bearer_operations(self) -> list[Operation]:
        """Operations that need the identities' credential (the name predates cookie and API-key targets)."""
        return [op for op in self.spec.operations if self.authenticated(op)]

    def body_for(self, op: Operation) -> dict[str, Any] | None:
        """What to send: a body that worked before, the spec's example, else a shape learned from answers."""
        if op.key in self.knowledge.bodies:
            return dict(self.knowledge.bodies[op.key])
        declared = self.spec.example_body(op)
        if declared:
            return declared
        if op.method in {"POST", "PUT", "PATCH"}:
            learned = body_from_shapes(self, op)
            if learned:
                self.knowledge.add(op.key, "request body " + ", ".join(sorted(learned)), "learned",
                                   "fields of the objects its collection answers with")
                self.knowledge.bodies[op.key] = learned
                return dict(learned)
        return declared

    def object_id(self, owner: Identity, collection: Operation, param: str = "id") -> str | None:
        """Create one object through ``collection`` (a POST) as ``owner``; its id from the answer or ``Location``."""
        response = self.call(collection, owner)
        if response.status_code not in (200, 201, 202):
            return None
        found = id_of(objects_in(response)[0], param) if objects_in(response) else None
        source = f"body:{found[0]}" if found else None
        object_id = found[1] if found else None
        if object_id is None and id_from_location(response):
            object_id, source = id_from_location(response), "Location header"
        if object_id is None:
            return None
        if source and not any(f.subject == collection.key and "creates" in f.fact for f in self.knowledge.facts):
            declared = "declared" if source == "body:id" else "learned"
            self.knowledge.add(collection.key, f"creates objects (id from {source})", declared,
                               f"{response.status_code} as {owner.name}")
        self.created.setdefault(collection.key, []).append((owner.name, object_id))
        return object_id

    def producer(self, op: Operation) -> Producer | None:
        return self.knowledge.producers.get(op.key)

    def item_operations(self, collection: Operation) -> list[Operation]:
        """``/things/{id}`` operations whose objects ``collection`` (a POST) creates."""
        return [op for op in self.spec.operations if (p := self.producer(op)) is not None and p.create is collection
                and op.path.endswith("}")]

    def collections(self) -> list[Operation]:
        """POST operations that create objects addressable at ``<path>/{id}``."""
        found: list[Operation] = []
        for producer in self.knowledge.producers.values():
            create = producer.create
            if create is not None and create not in found and (self.authenticated(create) or
                                                               self.authenticated_items(create)):
                found.append(create)
        return found

    def authenticated_items(self, collection: Operation) -> bool:
        return any(self.authenticated(op) for op in self.item_operations(collection))

    def collection_for(self, op: Operation) -> Operation | None:
        """The ``POST /things`` whose objects ``op`` addresses: ``/things/{id}``, also under a prefix
        (``/admin/things/{id}``)."""
        producer = self.producer(op)
        if producer is not None and producer.create is not None:
            return producer.create
        if not op.path_params:
            return None
        item = "/{" + op.path_params[-1].name + "}"
        return next((c for c in self.collections() if op.path.endswith(c.path.rstrip("/") + item)), None)
