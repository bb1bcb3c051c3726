"""The game-day file (``scenarios/gamedays/*.yaml``): what a scheduled game day is, validated by pydantic.

A game day runs a hypothesis through an ordered list of chaos experiments (``scenarios/chaos/*.yaml``
by name, each with overrides) under one background load held for the whole day, stopped by
guardrails, announced to webhooks, on a cron schedule. ``harness schema gameday`` exports the JSON
Schema (point an editor's YAML language server at it). ``load_gameday(path)`` raises a one-line
``UsageError`` naming the file and the field (exit 4) before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import UsageError
from harness.inputs import validate
from harness.load.profile import GeneratorLimits
from harness.safety import ensure_allowed, host_of
from harness.yaml_file import read_yaml

ID_PATTERN = r"^[a-z0-9_]+$"
EVENT_KINDS = ("started", "fault_injected", "fault_healed", "guardrail_fired", "aborted", "finished")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalOptions(_Strict):
    """The reference system started by the harness on this machine (``harness up`` options)."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    redis: bool = False
    defects: list[str] = Field(default_factory=list, description="refsys defect switches (fixtures/refsys/DEFECTS.md)")
    replicas: int = Field(2, ge=1, le=8)
    startup_timeout_s: float = Field(30.0, gt=0, le=600)


class KubernetesOptions(_Strict):
    """The reference system on a Kubernetes cluster (kind): reached through its Service DNS names."""

    namespace: str = Field("refsys", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    base_url: str | None = Field(None, description="default http://gateway.<namespace>.svc.cluster.local:8080")

    def service_url(self) -> str:
        return self.base_url or f"http://gateway.{self.namespace}.svc.cluster.local:8080"


class ExternalOptions(_Strict):
    target_url: str = Field(pattern=r"^https?://", description="base URL of the system you run")
    identities_file: Path | None = None


class Target(_Strict):
    """Which system the day hurts: ``local`` (default), ``kind`` (Kubernetes) or ``external``."""

    platform: Literal["local", "kind", "external"] = "local"
    options: dict[str, Any] = Field(default_factory=dict, description="per platform: see LocalOptions, "
                                    "KubernetesOptions, ExternalOptions")
    allow_hosts: list[str] = Field(default_factory=list, description="non-loopback hosts load and faults may reach")

    @model_validator(mode="after")
    def _options_fit_the_platform(self) -> Target:
        try:
            self.parsed_options()
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"options.{field}: {first['msg']} (platform {self.platform})") from None
        return self

    @model_validator(mode="after")
    def _kubernetes_service_is_allowed(self) -> Target:
        options = self.parsed_options()
        if isinstance(options, KubernetesOptions):
            try:
                ensure_allowed(options.service_url(), self.allow_hosts)
            except UsageError:
                raise ValueError(f"traffic goes only to hosts you name: add {host_of(options.service_url())} (the "
                                 "target's Service) to target.allow_hosts") from None
        return self

    def parsed_options(self) -> LocalOptions | KubernetesOptions | ExternalOptions:
        if self.platform == "kind":
            return KubernetesOptions.model_validate(self.options)
        if self.platform == "external":
            return ExternalOptions.model_validate(self.options)
        return LocalOptions.model_validate(self.options)


class BackgroundLoad(_Strict):
    """A load profile (``scenarios/load/<name>.yaml`` or a path) held at one level for the whole day."""

    profile: str = Field("smoke", description="load profile name or .yaml path; its mix of operations is used")
    rate: float | None = Field(None, gt=0, le=1000, description="arrivals/s held all day (default: the "
                               "profile's highest stage rate)")
    workers: int = Field(1, ge=1, le=16)
    generator: GeneratorLimits | None = Field(None, description="when the generator itself counts as unhealthy "
                                              "(default: the profile's)")


class ActivityPause(_Strict):
    before: float | None = Field(None, ge=0, le=3600)
    after: float | None = Field(None, ge=0, le=3600)


class Step(_Strict):
    """One chaos experiment of the day, by name, with the day's overrides."""

    experiment: str = Field(description="scenarios/chaos/<name>.yaml (or a path relative to the game-day file)")
    id: str | None = Field(None, pattern=ID_PATTERN, description="names the step in checks and the report "
                           "(default: the experiment's name; needed when an experiment runs twice)")
    harness: dict[str, Any] = Field(default_factory=dict, description="merged into the experiment's harness "
                                    "extension (steady_state_s, during, abort, recover_within_s, max_duration_s, ...)")
    pauses: dict[str, ActivityPause] = Field(default_factory=dict, description="per method activity name: its "
                                             "pauses, e.g. how long a fault is held")
    pause_after_s: float | None = Field(None, ge=0, le=3600, description="under load before the next step "
                                        "(default: pause_between_s)")
    suspend_guardrails: list[str] = Field(default_factory=list, description="stop conditions not watched "
                                          "during this step, e.g. write errors while the database is down")

    @property
    def step_id(self) -> str:
        return self.id or Path(self.experiment).stem.replace("-", "_")


METRICS = ("error_rate", "p95_ms", "slo_burn")


class StopCondition(_Strict):
    """Stop the day when ``metric`` of ``operation`` stays above ``above`` for ``for_s`` seconds.

    Judged on the background load's per-second series: the condition holds when every second of the
    last ``for_s`` that has requests of ``operation`` breaks the limit, and at least half of them have
    requests (a second without traffic neither breaks the limit nor clears it).
    """

    name: str = Field(pattern=ID_PATTERN, description="names the condition in events, the report and "
                      "steps' suspend_guardrails")
    metric: Literal[METRICS] = Field(description="error_rate (errors / requests), p95_ms, or slo_burn "  # type: ignore[valid-type]
                                     "(error rate / (1 - objective): 1 spends the error budget exactly)")
    above: float = Field(gt=0)
    for_s: float = Field(5.0, ge=1, le=600)
    operation: str = Field("all", description="an operation of the load profile, or all")
    objective: float | None = Field(None, gt=0, lt=1, description="slo_burn only: the SLO's success ratio")

    @model_validator(mode="after")
    def _metric_fields(self) -> StopCondition:
        if self.metric == "error_rate" and self.above > 1:
            raise ValueError("error_rate: above is a ratio between 0 and 1")
        if self.metric == "slo_burn" and self.objective is None:
            raise ValueError("slo_burn needs objective (the SLO's success ratio, e.g. 0.99)")
        if self.metric != "slo_burn" and self.objective is not None:
            raise ValueError("objective applies to slo_burn only")
        return self

    def describe(self) -> str:
        what = "SLO burn rate" if self.metric == "slo_burn" else self.metric.replace("_", " ")
        scope = "" if self.operation == "all" else f" of {self.operation}"
        limit = f"{self.above:.0%}" if self.metric == "error_rate" else f"{self.above:g}"
        return f"{self.name}: {what}{scope} > {limit} for {self.for_s:g} s"


class Guardrails(_Strict):
    """Stop conditions, watched over the background load from the first fault to the end of the day."""

    stop_when: list[StopCondition] = Field(min_length=1, description="any one of them stops the day")
    max_duration_s: float = Field(3600.0, gt=0, le=24 * 3600, description="the whole day, from the "
                                  "background load's start")

    @model_validator(mode="after")
    def _unique_names(self) -> Guardrails:
        names = [c.name for c in self.stop_when]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"stop_when: condition name(s) {', '.join(twice)} used twice")
        return self


class Notifications(_Strict):
    """Webhooks that receive the day's events as JSON (POST); only to allowed hosts (loopback by default)."""

    webhooks: list[str] = Field(default_factory=list)
    allow_hosts: list[str] = Field(default_factory=list, description="non-loopback webhook hosts you own")
    events: list[Literal[EVENT_KINDS]] = Field(default_factory=lambda: list(EVENT_KINDS))  # type: ignore[valid-type]
    timeout_s: float = Field(2.0, gt=0, le=30, description="per POST; a slow receiver never delays the day")

    @field_validator("webhooks")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    @model_validator(mode="after")
    def _only_allowed_hosts(self) -> Notifications:
        for url in self.webhooks:
            try:
                ensure_allowed(url, self.allow_hosts)
            except UsageError as exc:
                raise ValueError(f"{url}: {exc} (add it to notifications.allow_hosts)") from None
        return self


class Schedule(_Strict):
    cron: str = Field(description="five fields: minute hour day-of-month month day-of-week (UTC)")
    timezone: Literal["UTC"] = "UTC"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value.split(" ")) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a five-field cron expression (minute hour day-of-month month "
                             "day-of-week), e.g. '0 9 * * 2' for Tuesdays at 09:00 UTC")
        return value


class GameDay(_Strict):
    title: str = Field(min_length=1)
    hypothesis: str = Field(min_length=1, description="what the day sets out to show, in one sentence")
    owner: str = Field(min_length=1, description="who answers for the day (a person or a team)")
    description: str = ""
    target: Target = Field(default_factory=Target)
    background_load: BackgroundLoad = Field(default_factory=BackgroundLoad)
    steps: list[Step] = Field(min_length=1)
    pause_between_s: float = Field(10.0, ge=0, le=3600, description="under load between two steps")
    guardrails: Guardrails
    notifications: Notifications = Field(default_factory=Notifications)
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _steps_fit(self) -> GameDay:
        seen: set[str] = set()
        conditions = {c.name for c in self.guardrails.stop_when}
        for index, step in enumerate(self.steps):
            if step.step_id in seen:
                raise ValueError(f"steps.{index}: step id {step.step_id!r} is used twice; give it an id")
            seen.add(step.step_id)
            unknown = [n for n in step.suspend_guardrails if n not in conditions]
            if unknown:
                raise ValueError(f"steps.{index}.suspend_guardrails: no stop condition {unknown[0]!r}; "
                                 f"guardrails.stop_when has {', '.join(sorted(conditions))}")
        return self


def load_gameday(path: Path) -> GameDay:
    """Read and validate a game-day file; ``UsageError`` naming the file and the field otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no game-day file at {path}; see scenarios/gamedays/ for examples")
    data = read_yaml(path, what="game-day file")
    return validate(GameDay, data, str(path),
                    shape="a game-day file is a mapping (title, hypothesis, owner, steps, guardrails, ...)")
