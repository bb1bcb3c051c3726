"""The harness's part of an experiment file: ``extensions: [{name: harness, ...}]``.

Chaos Toolkit keeps everything it does not know in ``extensions``; this is where an experiment
says what its steady state is (SLO limits over the background load), what must hold while the
fault is on, what to expect (breaker cycle, no data lost), when to abort, and which harness
profiles include it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import UsageError
from harness.inputs import validate
from harness.yaml_file import read_yaml

EXTENSION_NAME = "harness"
EXPERIMENT_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "chaos"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Slo(_Strict):
    """Limits over a window of the background load; ``None`` means not judged."""

    max_error_rate: float | None = Field(0.01, ge=0, le=1)
    max_p95_ms: float | None = Field(1500.0, gt=0)
    max_degraded_ratio: float | None = Field(0.05, ge=0, le=1)
    min_requests: int = Field(5, ge=0, description="fewer requests in the window: no verdict (inconclusive)")


class Abort(_Strict):
    """Guardrail: stop the experiment (rollbacks still run) when the SLO burns this badly.

    A second burns when it breaks any limit that is set; the experiment aborts once every
    second of the last ``grace_s`` burned.
    """

    max_error_rate: float = Field(0.5, gt=0, le=1)
    max_p95_ms: float | None = Field(None, gt=0, description="None: latency never aborts")
    max_degraded_ratio: float | None = Field(None, ge=0, le=1, description="None: degraded answers never abort")
    grace_s: float = Field(8.0, ge=0, description="how long the burn may last before aborting")

    def as_slo(self) -> Slo:
        return Slo(max_error_rate=self.max_error_rate, max_p95_ms=self.max_p95_ms,
                   max_degraded_ratio=self.max_degraded_ratio, min_requests=0)


class Expect(_Strict):
    breaker_cycle: Literal["gpu", "cpu"] | None = Field(
        None, description="this tier's breaker must go OPEN -> HALF_OPEN -> CLOSED on some replica")
    back_on_tier: Literal["gpu", "cpu"] | None = Field(
        None, description="after recovery, answers must come from this tier again")
    jittered_breaker_reset: bool = Field(False, description="OPEN phases must not all last exactly the reset time")
    no_data_lost: bool = Field(False, description="every acknowledged write must read back after recovery")
    readiness_red: bool = Field(False, description="some replica's /readyz must answer 503 during the fault")
    writes_fail_cleanly: bool = Field(False, description="writes during the fault fail (at least one), each with "
                                      "5xx/429, never hang")
    rate_limit_fails_closed: bool = Field(False, description="authenticated calls during the fault (at least one) are "
                                          "all refused with 503/429; one that succeeds means the limiter fails open")


class BackgroundLoad(_Strict):
    rate: float = Field(8.0, gt=0, le=200, description="arrivals per second through the balancer")
    writes_per_s: float = Field(0.5, gt=0, le=20, description="tracked, read-back writes per second")


class HarnessExtension(_Strict):
    name: Literal["harness"] = "harness"
    fault: str = Field(description="short name of the fault, for the report timeline")
    target: str = Field(description="what the fault hits (component or link)")
    profiles: list[str] = Field(default_factory=lambda: ["full"], description="harness profiles that run it")
    requires: list[Literal["postgres", "redis", "cgroups"]] = Field(default_factory=list)
    steady_state_s: float = Field(4.0, gt=0, le=120, description="load observed before the fault")
    recover_within_s: float = Field(20.0, gt=0, le=600, description="SLO must hold again this long after rollback")
    settle_s: float = Field(3.0, ge=1, le=60, description="consecutive good seconds that count as recovered")
    max_duration_s: float = Field(90.0, gt=0, le=3600, description="guardrail: abort the experiment (from its "
                                  "start, after the observed steady state) once it runs this long")
    slo: Slo = Field(default_factory=Slo)
    during: Slo = Field(default_factory=lambda: Slo(max_error_rate=0.05, max_p95_ms=None, max_degraded_ratio=None))
    abort: Abort = Field(default_factory=Abort)
    expect: Expect = Field(default_factory=Expect)
    load: BackgroundLoad = Field(default_factory=BackgroundLoad)
    claims: list[str] = Field(default_factory=list)


def harness_extension(experiment: dict[str, Any], source: str = "experiment") -> HarnessExtension:
    """The validated ``harness`` extension of a loaded experiment; ``UsageError`` naming the field otherwise."""
    for extension in experiment.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == EXTENSION_NAME:
            return validate(HarnessExtension, extension, str(source), prefix="extensions.harness.")
    raise UsageError(f"{source}: no 'harness' extension; add extensions: [{{name: harness, fault: ..., target: ...}}]")


def read_experiment(path: Path) -> dict[str, Any]:
    """The experiment file as a mapping (``UsageError`` naming the file when it is not YAML or not a mapping)."""
    document = read_yaml(path, what="experiment")
    if not isinstance(document, dict):
        raise UsageError(f"{path}: an experiment is a YAML mapping (title, method, extensions …), "
                         f"got {type(document).__name__}")
    return document


def experiment_dir() -> Path:
    """``scenarios/chaos`` of the working directory when it holds experiments (your own), else the harness's."""
    own = Path.cwd() / "scenarios" / "chaos"
    return own if any(own.glob("*.yaml")) else EXPERIMENT_DIR


def experiment_paths(directory: Path | None = None) -> list[Path]:
    return sorted((directory or experiment_dir()).glob("*.yaml"))


def experiments_for_profile(profile: str, directory: Path | None = None) -> list[Path]:
    """Experiments whose ``profiles`` list the profile; any profile other than smoke runs them all."""
    chosen = []
    for path in experiment_paths(directory):
        extension = harness_extension(read_experiment(path), str(path))
        if profile != "smoke" or "smoke" in extension.profiles:
            chosen.append(path)
    return chosen


EXTERNAL_TEMPLATES = EXPERIMENT_DIR / "external"  # ${component} experiments for systems the user runs


def templates_for(component: dict[str, Any], profile: str, directory: Path = EXTERNAL_TEMPLATES) -> list[Path]:
    """The external experiment templates that apply to one component on this profile."""
    chosen = []
    for path in sorted(directory.glob("*.yaml")):
        if path.stem == "network_disconnect" and not (component.get("container") and component.get("network")):
            continue
        # a template is YAML only once ${component} is filled in (it sits inside flow mappings)
        extension = harness_extension(yaml.safe_load(path.read_text().replace("${component}", "x")), str(path))
        if profile != "smoke" or "smoke" in extension.profiles:
            chosen.append(path)
    return chosen


def render_template(template: Path, component: str, folder: Path) -> Path:
    """The template with the component filled in, written where the run keeps its experiments."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{template.stem}-{component}.yaml"
    path.write_text(template.read_text().replace("${component}", component))
    return path
