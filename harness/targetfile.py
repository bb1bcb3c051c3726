"""The target file: one YAML that describes a system the harness did not start.

``harness run --target FILE`` (config key ``target``)::

    base_url: http://127.0.0.1:9000
    openapi: ./openapi.json            # URL or path (relative to this file); default <base_url>/openapi.json
    login:                             # how an identity gets its credentials (harness.login.LoginSpec)
      path: /api/v1/auth/token
      form: true                       # JSON by default
      body: {email: "{username}", secret: "{password}"}
      token: data.jwt                  # dotted path in the answer; or header:NAME / cookie:NAME
    identities:                        # tenant and role optional
      owner: {username: a@x.test, password: pw1, tenant: a}
      admin: {username: root@x.test, password: pw3, role: admin}
      robot: {api_key: "...", header: X-API-Key}          # static: {token: ...} / {cookie: "sid=..."} too
    claims:                            # what the team claims; a check without its claim is not_applicable
      rate_limit: {limit: 100, window_s: 60, per: user}
      login_attempts: {max_failures: 5}
    hints: {docs_allowed: true}        # see Hints
    load_profile: ./load.yaml          # the load suite's profile for this system (harness init writes one)
    fuzz: {exclude: ["DELETE /users/*"]}   # contract fuzzer: operations never sent (see FuzzFilter)
    chaos: {components: {api: {container: shop-api}, worker: {command: "python worker.py"}}}

Every key is validated before anything starts; an error names the file and the key (exit 4).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import UsageError
from harness.inputs import validate
from harness.login import LoginSpec
from harness.platforms.base import Identity, Target

OPERATION_PATTERN = r"^((GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|\*) /\S*|operationId:\S+|/\S*)$"


class Hints(BaseModel):
    """What the harness cannot learn from the spec or the answers (``Target.extra``)."""

    model_config = ConfigDict(extra="forbid")

    cors_allowed_origins: list[str] | None = Field(None, description="origins CORS must admit (the allowlist probe)")
    access_ttl_s: float | None = Field(None, gt=0, description="access-token lifetime when the login answer has "
                                       "no expires_in and the token no exp")
    jwt_leeway_s: float | None = Field(None, ge=0, description="the exp leeway the system admits (default 5 s)")
    docs_allowed: bool | None = Field(None, description="/docs, /redoc public on purpose (the policy's "
                                      "security.docs_allowed wins)")
    objects_shared_within_tenant: bool = Field(False, description="identities of one tenant may see each other's "
                                               "objects by design (BOLA attacks only from other tenants)")
    public_operations: list[str] = Field(default_factory=list, description="operations public on purpose, "
                                         "e.g. 'GET /products' (never learned as needing auth)")
    admin_operations: list[str] = Field(default_factory=list, description="operations only admins may call, "
                                        "besides those with admin in the path or tags")
    learn: bool = Field(True, description="learn what the spec does not say (auth, bodies, producers); "
                        "false: only what the spec declares")

    _operations = field_validator("public_operations", "admin_operations")(
        classmethod(lambda cls, values: _operation_patterns(values)))


class FuzzFilter(BaseModel):
    """Operations the contract fuzzer sends (``include``) or never sends (``exclude``), as Schemathesis filters:
    ``METHOD /path`` (``*`` globs), ``/path`` for every method, or ``operationId:ID``."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    keep_identities: bool = Field(True, description="never send operations that change the login identities' "
                                  "credentials or delete them (password, e-mail, delete user)")

    _patterns = field_validator("include", "exclude")(classmethod(lambda cls, values: _operation_patterns(values)))


class ChaosComponent(BaseModel):
    """Something of the system chaos may hurt: a docker container, or a process by PID or command line."""

    model_config = ConfigDict(extra="forbid")

    container: str | None = Field(None, description="docker container name or id")
    pid: int | None = Field(None, gt=1)
    command: str | None = Field(None, description="a substring of the process's command line (exactly one match)")
    restart: list[str] | None = Field(None, description="argv to start the process again (processes only; "
                                      "default: its own command line)")
    network: str | None = Field(None, description="docker network to disconnect it from (network_disconnect)")

    @model_validator(mode="after")
    def _one_handle(self) -> ChaosComponent:
        given = [k for k in ("container", "pid", "command") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of container, pid, command")
        if self.network and not self.container:
            raise ValueError("network applies to containers only")
        return self


class ChaosSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    components: dict[str, ChaosComponent] = Field(default_factory=dict)
    experiments: list[str] = Field(default_factory=list, description="experiment files (relative to this file)")


class TargetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    openapi: str | None = None
    login: LoginSpec = Field(default_factory=LoginSpec)
    identities: dict[str, dict[str, Any]] = Field(default_factory=dict)
    claims: dict[str, Any] = Field(default_factory=dict)
    hints: Hints = Field(default_factory=Hints)
    load_profile: str | None = None
    fuzz: FuzzFilter = Field(default_factory=FuzzFilter)
    chaos: ChaosSection = Field(default_factory=ChaosSection)

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("claims")
    @classmethod
    def _claims(cls, value: dict[str, Any]) -> dict[str, Any]:
        from harness.claims.parameters import TargetClaims

        try:
            TargetClaims.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        return value


def _operation_patterns(values: list[str]) -> list[str]:
    bad = [v for v in values if re.fullmatch(OPERATION_PATTERN, v) is None]
    if bad:
        raise ValueError(f"{bad[0]!r} is not 'METHOD /path' (e.g. 'GET /products'), '/path' or 'operationId:ID'")
    return values


def read_target_file(path: Path) -> TargetFile:
    """Parse and validate; ``UsageError`` naming the file and the key on anything wrong."""
    if not path.is_file():
        raise UsageError(f"target file {path} not found; write one with `harness init --target-url URL`")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    parsed = validate(TargetFile, data, str(path), shape="expected a mapping with base_url, login, identities …")
    for name, fields in parsed.identities.items():  # each identity named in the error: identities.owner.password
        if not isinstance(fields, dict):
            raise UsageError(f"{path}: identities.{name}: expected a mapping like {{username: ..., password: ...}}")
        validate(Identity, {"name": name, **fields}, str(path), prefix=f"identities.{name}.")
    return parsed


def resolve_relative(value: str | None, folder: Path) -> str | None:
    """URLs stay URLs; a path is taken relative to the target file's folder."""
    if value is None or value.startswith(("http://", "https://")):
        return value
    path = Path(value.removeprefix("file://")).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def load_target(path: Path) -> tuple[Target, TargetFile]:
    """The ``Target`` a target file describes (claims and hints in ``Target.extra``) and the parsed file."""
    spec = read_target_file(path)
    folder = path.resolve().parent
    openapi = resolve_relative(spec.openapi, folder) or f"{spec.base_url}/openapi.json"
    if not openapi.startswith(("http://", "https://")) and not Path(openapi).is_file():
        raise UsageError(f"{path}: openapi: no file at {openapi}; give a URL or a path relative to the target file")
    extra: dict[str, Any] = {k: v for k, v in spec.hints.model_dump().items() if v not in (None, [], False)}
    extra["learn"] = spec.hints.learn
    if spec.claims:
        extra["claims"] = spec.claims
    extra["target_file"] = str(path.resolve())
    extra["fuzz"] = spec.fuzz.model_dump()
    if spec.load_profile:
        extra["load_profile"] = resolve_relative(spec.load_profile, folder)
    if spec.chaos.components:
        extra["chaos_components"] = {name: c.model_dump(exclude_none=True) for name, c in spec.chaos.components.items()}
    if spec.chaos.experiments:
        extra["chaos_experiments"] = [resolve_relative(e, folder) for e in spec.chaos.experiments]
    target = Target(base_url=spec.base_url, openapi_url=openapi, metrics_url=None, login=spec.login,
                    identities={name: Identity(name=name, **fields) for name, fields in spec.identities.items()},
                    extra=extra)
    return target, spec
