"""Load profiles are data: YAML files in ``scenarios/load/`` validated by these models.

A profile says *how much* traffic (stages of an open-model arrival rate, or closed-model
users), *what* traffic (weighted operations, which identities) and *what is good enough*
(thresholds, global and per operation). ``load_profile("smoke", {"stages.0.rate": 50})``
returns a validated ``LoadProfile``; anything malformed raises ``UsageError`` naming the
file and the field.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.errors import UsageError
from harness.inputs import validate
from harness.yaml_file import read_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILE_DIR = REPO_ROOT / "scenarios" / "load"
NAME_PATTERN = r"^[a-z0-9_]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stage(_Strict):
    """One stage: hold (or ramp to) an arrival rate (open model) or a user count (closed)."""

    duration_s: float = Field(gt=0, le=24 * 3600)
    rate: float | None = Field(None, gt=0, le=100_000, description="arrivals per second (open model)")
    users: int | None = Field(None, ge=1, le=10_000, description="concurrent users (closed model)")
    ramp: bool = Field(False, description="ramp linearly from the previous stage's level (0 for the first)")


class Thresholds(_Strict):
    """Limits one label (an operation, or ``all``) must stay within; each becomes a Check."""

    p50_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    p999_ms: float | None = Field(None, gt=0)
    max_error_rate: float | None = Field(None, ge=0, le=1)
    max_dropped_ratio: float | None = Field(None, ge=0, le=1)
    min_rate: float | None = Field(None, ge=0, description="achieved requests/s, absolute")
    min_rate_ratio: float | None = Field(None, ge=0, le=1, description="achieved / scheduled rate")
    abort: bool = Field(False, description="stop the run early when breached (after abort_grace_s)")

    def limits(self) -> dict[str, float]:
        """The metric → limit pairs that are set (``abort`` is not a limit)."""
        return {k: v for k, v in self.model_dump(exclude={"abort"}).items() if v is not None}


class Operation(_Strict):
    """One kind of request in the traffic mix."""

    name: str = Field(pattern=NAME_PATTERN)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = Field(pattern=r"^/", description="may hold {var} placeholders filled from captures")
    weight: float = Field(1.0, gt=0)
    json_body: Any = Field(None, alias="json", description="request JSON; '{seq}' in strings is replaced")
    headers: dict[str, str] = Field(default_factory=dict)
    identities: list[str] = Field(default_factory=list, description="target identity names, round robin")
    expect_status: list[int] = Field(default_factory=list, description="empty: any 2xx/3xx is success")
    capture: dict[str, str] = Field(default_factory=dict, description="var -> top-level JSON response key")
    thresholds: Thresholds | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GeneratorLimits(_Strict):
    """When the load generator itself is the bottleneck, the run is inconclusive."""

    max_cpu_percent: float = Field(90.0, gt=0, le=100, description="of one core, per worker process")
    max_saturated_fraction: float = Field(0.5, gt=0, le=1, description="share of seconds above max_cpu")
    max_lag_p99_ms: float = Field(50.0, gt=0, description="schedule lag tolerance (p99)")


class Trends(_Strict):
    """Slopes over the run (soak): growth of target RSS or of per-second p95 latency."""

    max_rss_growth_mb_per_min: float | None = Field(None, gt=0)
    max_p95_growth_ms_per_min: float | None = Field(None, gt=0)
    warmup_s: float = Field(0, ge=0, description="leave the first seconds out of the slopes (caches, "
                            "allocator and connection pools fill up at the start of any run)")


class LoadProfile(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    model: Literal["open", "closed"] = "open"
    arrivals: Literal["uniform", "poisson"] = "uniform"
    stages: list[Stage] = Field(min_length=1)
    operations: list[Operation] = Field(min_length=1)
    setup: list[Operation] = Field(default_factory=list, description="run once per identity, not measured")
    max_users: int = Field(100, ge=1, le=10_000, description="open model: pool of users serving arrivals")
    think_time_s: float = Field(0.0, ge=0, description="closed model: pause between a user's requests")
    timeout_s: float = Field(10.0, gt=0, le=300)
    seed: int = 1
    thresholds: Thresholds = Field(default_factory=Thresholds)
    abort_grace_s: float = Field(5.0, ge=0)
    generator: GeneratorLimits = Field(default_factory=GeneratorLimits)
    trends: Trends = Field(default_factory=Trends)

    @model_validator(mode="after")
    def _stages_match_model(self) -> LoadProfile:
        needed = "rate" if self.model == "open" else "users"
        for index, stage in enumerate(self.stages):
            if getattr(stage, needed) is None:
                raise ValueError(f"stages.{index}: a {self.model}-model stage needs '{needed}'")
        names = [op.name for op in self.operations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"operations: duplicate names {duplicates}")
        return self

    @property
    def duration_s(self) -> float:
        return sum(stage.duration_s for stage in self.stages)

    def operation(self, name: str) -> Operation:
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(name)

    def identity_names(self) -> set[str]:
        return {name for op in [*self.operations, *self.setup] for name in op.identities}


def resolve_profile_path(name_or_path: str | Path) -> Path:
    """A path as given, else ``scenarios/load/<name>.yaml`` (cwd first, then the repo)."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if candidate.is_file():
            return candidate
        raise UsageError(f"load profile file {candidate} does not exist")
    for directory in (Path.cwd() / "scenarios" / "load", PROFILE_DIR):
        path = directory / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    known = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
    raise UsageError(f"unknown load profile {str(name_or_path)!r}; known: {', '.join(known)} (or give a .yaml path)")


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """Set dotted keys (``stages.0.rate=50``); string values are parsed as YAML scalars."""
    data = copy.deepcopy(data)
    for dotted, raw in overrides.items():
        value = yaml.safe_load(raw) if isinstance(raw, str) else raw
        parts = dotted.split(".")
        node: Any = data
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise UsageError(f"{source}: override {dotted}: {where} is not an index of a list of {len(node)}")
                key: Any = int(part)
            elif isinstance(node, dict):
                key = part
            else:
                raise UsageError(f"{source}: override {dotted}: {'.'.join(parts[:depth])} is not a mapping or list")
            if last:
                node[key] = value
            else:
                if isinstance(node, dict) and key not in node:
                    node[key] = {}
                node = node[key]
    return data


def parse_profile(data: Any, source: str) -> LoadProfile:
    return validate(LoadProfile, data, str(source), shape="a load profile is a mapping (stages, thresholds, ...)")


def load_profile(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> LoadProfile:
    """Read, override and validate a profile; errors name the file and the field."""
    path = resolve_profile_path(name_or_path)
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    data = read_yaml(Path(shown), what="load profile")
    if overrides:
        data = apply_overrides(data if isinstance(data, dict) else {}, overrides, shown)
    data = data if not isinstance(data, dict) else {"name": _default_name(path), **data}
    return parse_profile(data, shown)


def _default_name(path: Path) -> str:
    return "".join(c if c.isalnum() else "_" for c in path.stem.lower())
