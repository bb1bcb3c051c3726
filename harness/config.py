"""Configuration with one precedence: CLI flags > ``HARNESS_*`` env > ``[tool.harness]`` > defaults.

Each layer is a plain dict; they are merged key by key and validated once by pydantic. When
validation fails, the error names the layer (file or environment variable) that supplied the bad
key, the key, and what is allowed — never a traceback. (pydantic-settings can merge sources, but
it cannot say which source a bad value came from, which is the whole point of the error here.)
"""

from __future__ import annotations

import os
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import UsageError
from harness.model import Severity

ENV_PREFIX = "HARNESS_"
LIST_KEYS = {"allow_hosts", "defects", "suites", "load_overrides"}


class PlatformName(str, Enum):
    LOCAL = "local"
    KIND = "kind"
    EXTERNAL = "external"


def option(help: str, *, flag: str | None = None, short: str | None = None, repeat: bool = False,
           comma: bool = False, pytest: bool = True) -> Any:
    """A field's entry in the option table: its help, and how ``harness run`` / pytest spell it.

    ``flag`` defaults to ``--field-name``; ``repeat``: the flag may be given several times (a list);
    ``comma``: one flag carries a comma-separated list; ``pytest: False``: ``harness run`` only.
    The environment variable is always ``HARNESS_<FIELD>`` (lists comma-separated).
    """
    return {"description": help, "json_schema_extra": {"flag": flag, "short": short, "repeat": repeat,
                                                        "comma": comma, "pytest": pytest}}


class HarnessConfig(BaseModel):
    """Everything a run needs to know; every field can come from any layer.

    This class is the option table: ``harness.options`` derives the flags of ``harness run``, the
    pytest options and the ``HARNESS_*`` variables from these fields.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    platform: PlatformName = Field(PlatformName.LOCAL, **option(
        "where the system under test runs: local (start the reference system), kind, or external"))
    target_url: str | None = Field(None, **option("base URL of a system you run yourself (implies external)"))
    openapi_url: str | None = Field(None, **option("the target's OpenAPI: an http(s) URL, a file:// URL or a file path"))
    target: Path | None = Field(None, **option(
        "target file: a system you run, described in one YAML (base_url, openapi, login, identities, claims, "
        "hints; harness init writes one)"))
    identities_file: Path | None = Field(None, **option("YAML/JSON file with the target's test identities",
                                                        flag="--identities"))
    profile: str = Field("smoke", pattern=r"^[A-Za-z0-9_.\-/]+$", **option(
        "profile for every suite: smoke, full, stress, spike, soak, breakpoint (what each suite has)"))
    report_dir: Path = Field(Path("reports"), **option("folder for run reports"))
    allow_hosts: list[str] = Field(default_factory=list, **option(
        "allow traffic to this non-loopback host (repeatable)", flag="--allow-host", repeat=True))
    backend: Literal["sqlite", "postgres"] = Field("sqlite", **option("reference-system storage: sqlite or postgres"))
    redis: bool = Field(False, **option("start Redis for the reference system (cache and rate limits)"))
    defects: list[str] = Field(default_factory=list, **option(
        "reference-system defect switches, comma-separated (fixtures/refsys/DEFECTS.md)", comma=True))
    suites: list[str] = Field(default_factory=list, **option(
        "suite to run (repeatable; default all)", flag="--suite", short="-s", repeat=True, pytest=False))
    seed: int | None = Field(None, **option("seed for randomised suites (replays a run)"))
    policy: Path | None = Field(None, **option("gate policy YAML (rules, levels, waivers; docs/gate.md)"))
    claims: Path | None = Field(None, **option(
        "claims file (scenarios/claims/*.yaml): a verdict per claim in the report (scenarios/claims/README.md)"))
    severity_threshold: Severity = Field(Severity.MEDIUM, **option(
        "lowest severity of a failed check that blocks (a --policy sets it)"))
    load_workers: int = Field(1, ge=1, le=64, **option("load generator processes"))
    load_overrides: list[str] = Field(default_factory=list, **option(
        "override a load profile value KEY=VALUE, e.g. stages.0.rate=50 (repeatable)", flag="--load-set", repeat=True))
    startup_timeout_s: float = Field(30.0, gt=0, le=600, **option("seconds a platform may take to start"))
    kind_cluster: str = Field("harness", pattern=r"^[a-z0-9][a-z0-9-]{0,40}$", **option(
        "platform kind: the cluster's name (created, or reused when it exists)"))
    keep_cluster: bool = Field(False, **option("platform kind: leave a cluster this run created running after it"))

    @field_validator("load_overrides")
    @classmethod
    def _overrides_are_assignments(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if "=" not in v or not v.split("=", 1)[0].strip()]
        if bad:
            raise ValueError(f"{bad[0]!r} is not KEY=VALUE (e.g. stages.0.rate=50)")
        return values

    @field_validator("target")
    @classmethod
    def _target_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).expanduser().is_file():
            raise ValueError(f"no target file at {value}; write one with `harness init --target-url URL`")
        return Path(value).expanduser() if value is not None else None

    @field_validator("target_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("openapi_url")
    @classmethod
    def _url_or_existing_file(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("http://", "https://")):
            return value
        path = Path(value.removeprefix("file://")).expanduser()
        if not path.is_file():
            raise ValueError(f"no OpenAPI file at {path}; give an http(s):// URL or the path of a JSON/YAML file")
        return str(path.resolve())


def _allowed_values(key: str) -> str:
    """A short 'allowed: ...' hint for the field, for error messages."""
    field = HarnessConfig.model_fields.get(key)
    if field is None:
        return "known keys: " + ", ".join(sorted(HarnessConfig.model_fields))
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "allowed: " + ", ".join(member.value for member in annotation)
    literal_args = get_args(annotation)
    if literal_args and all(isinstance(a, str) for a in literal_args):
        return "allowed: " + ", ".join(literal_args)
    if key in LIST_KEYS:
        return "allowed: a list of strings (comma-separated in the environment)"
    name = getattr(annotation, "__name__", str(annotation))
    return f"expected: {name}"


def read_pyproject(path: Path) -> dict[str, Any]:
    """The ``[tool.harness]`` table of a pyproject.toml, or {} when absent."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix the file or remove [tool.harness]") from None
    table = data.get("tool", {}).get("harness", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.harness] must be a table")
    return {str(k).replace("-", "_"): v for k, v in table.items()}


def read_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``HARNESS_PROFILE=stress`` → ``{"profile": "stress"}``; lists are comma-separated."""
    environ = dict(os.environ if environ is None else environ)
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_CONFIG:
            continue
        key = name[len(ENV_PREFIX):].lower()
        out[key] = [p.strip() for p in value.split(",") if p.strip()] if key in LIST_KEYS else value
    return out


# HARNESS_* variables that are not configuration keys (internal plumbing between processes).
_ENV_NOT_CONFIG = {"HARNESS_STATE_DIR", "HARNESS_RUN_ID", "HARNESS_TRIGGER"}


def load_config(
    cli: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    pyproject: Path | None = None,
) -> HarnessConfig:
    """Merge the layers in precedence order and validate; bad input raises ``UsageError``."""
    pyproject = pyproject if pyproject is not None else Path.cwd() / "pyproject.toml"
    layers: list[tuple[str, dict[str, Any]]] = [
        (f"{pyproject} [tool.harness]", read_pyproject(pyproject)),
        ("environment", read_environment(environ)),
        ("command line", {k: v for k, v in (cli or {}).items() if v is not None and v != [] and v != ()}),
    ]
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in layers:
        for key, value in values.items():
            merged[key] = value
            origin[key] = source
    try:
        return HarnessConfig.model_validate(merged)
    except ValidationError as exc:
        raise UsageError(_describe(exc, origin)) from None


def _describe(exc: ValidationError, origin: dict[str, str]) -> str:
    first = exc.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else "?"
    source = origin.get(key, "configuration")
    if source == "environment":
        source = f"environment variable {ENV_PREFIX}{key.upper()}"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}; {_allowed_values('?')}"
    path = ".".join(str(p) for p in first["loc"])
    return f"{source}: {path}: {first['msg']} (got {first.get('input')!r}); {_allowed_values(key)}"
