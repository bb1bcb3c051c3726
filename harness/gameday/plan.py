"""A game day resolved before anything starts: each step's experiment loaded, overridden and validated.

``make_plan(path)`` is all a dry run does, and the first thing a real run does: every error (the file,
an unknown experiment, an override chaoslib or the harness extension rejects, a pause for an activity
the method does not have, a step that needs a backend the target lacks) is a ``UsageError`` naming the
field, before any process starts. ``describe(plan)`` says what will be hurt, in which order, for how long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ChaosException
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

from harness.chaos.extension import EXPERIMENT_DIR, EXTENSION_NAME, HarnessExtension
from harness.chaos.faults import load_fault_kinds
from harness.errors import UsageError
from harness.gameday.spec import GameDay, LocalOptions, Step, load_gameday
from harness.inputs import validate
from harness.load import LoadProfile
from harness.load.profile import Stage, Thresholds, load_profile

LOAD_SLACK_S = 120.0  # the held load outlives the longest day by this much; the runner stops it at the end


@dataclass
class PlannedStep:
    index: int
    step: Step
    path: Path
    experiment: dict[str, Any]  # the Chaos Toolkit experiment with the day's overrides applied
    extension: HarnessExtension

    @property
    def id(self) -> str:
        return self.step.step_id

    @property
    def title(self) -> str:
        return str(self.experiment.get("title", self.id))

    def actions(self) -> list[str]:
        """The method's actions as calls, e.g. ``kill_component(component=gateway-1)``, with their pauses."""
        out = []
        for activity in self.experiment.get("method") or []:
            if activity.get("type") != "action":
                continue
            provider = activity.get("provider") or {}
            args = ", ".join(f"{k}={v}" for k, v in (provider.get("arguments") or {}).items())
            pause = (activity.get("pauses") or {}).get("after")
            out.append(f"{provider.get('func', activity.get('name'))}({args})" + (f", then {pause:g} s" if pause else ""))
        return out

    def method_pauses_s(self) -> float:
        """Seconds the method pauses in all: how long the fault is held (probes in between add to it)."""
        return sum(float(v) for a in self.experiment.get("method") or [] for v in (a.get("pauses") or {}).values())

    def shortest_s(self) -> float:
        return self.extension.steady_state_s + self.method_pauses_s() + self.extension.settle_s

    def longest_s(self) -> float:
        """Bounded by the guardrails: steady state, the experiment up to its max duration, the recovery wait."""
        ext = self.extension
        return ext.steady_state_s + ext.max_duration_s + ext.recover_within_s + ext.settle_s

    def pause_after_s(self, day: GameDay) -> float:
        return day.pause_between_s if self.step.pause_after_s is None else self.step.pause_after_s


@dataclass
class Plan:
    day: GameDay
    source: Path
    steps: list[PlannedStep]
    load: LoadProfile  # the background profile, held at one level for the whole day

    def load_rate(self) -> str:
        stage = self.load.stages[0]
        return f"{stage.rate:g} arrivals/s" if stage.rate is not None else f"{stage.users} users"


def make_plan(path: Path) -> Plan:
    """Validate the game-day file and everything it names; nothing is started."""
    path = Path(path)
    day = load_gameday(path)
    steps = [plan_step(day, path, index, step) for index, step in enumerate(day.steps)]
    return Plan(day=day, source=path, steps=steps, load=held_profile(day, path, steps))


def held_profile(day: GameDay, source: Path, steps: list[PlannedStep]) -> LoadProfile:
    """The day's load profile at one level (its highest stage, or ``rate``) for longer than the day can last.

    Its thresholds are dropped: over a day of faults they would judge the faults; the guardrails and
    each experiment's SLO windows judge the load instead.
    """
    spec = day.background_load
    try:
        profile = load_profile(spec.profile)
    except UsageError as exc:
        raise UsageError(f"{source}: background_load.profile: {exc}") from None
    duration = day.guardrails.max_duration_s + LOAD_SLACK_S
    if profile.model == "open":
        stage = Stage(duration_s=duration, rate=spec.rate or max(s.rate or 0.0 for s in profile.stages))
    else:
        if spec.rate is not None:
            raise UsageError(f"{source}: background_load.rate: profile {profile.name!r} is closed-model "
                             "(users, not arrivals); leave rate out")
        stage = Stage(duration_s=duration, users=max(s.users or 0 for s in profile.stages))
    operations = [op.model_copy(update={"thresholds": None}) for op in profile.operations]
    for index, condition in enumerate(day.guardrails.stop_when):
        if condition.operation != "all" and condition.operation not in {op.name for op in operations}:
            raise UsageError(f"{source}: guardrails.stop_when.{index}.operation: profile {profile.name!r} has no "
                             f"operation {condition.operation!r}; it has {', '.join(op.name for op in operations)}, all")
    return profile.model_copy(update={"stages": [stage], "thresholds": Thresholds(), "operations": operations,
                                      "abort_grace_s": duration, "generator": spec.generator or profile.generator})


def experiment_path(name: str, source: Path) -> Path:
    """``name`` as a path relative to the game-day file, else ``scenarios/chaos/<name>.yaml`` (cwd, then repo)."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml", ".json"):
        for base in (source.parent, Path.cwd()):
            if (base / candidate).is_file():
                return base / candidate
        raise FileNotFoundError(str(candidate))
    for directory in (Path.cwd() / "scenarios" / "chaos", EXPERIMENT_DIR):
        if (directory / f"{name}.yaml").is_file():
            return directory / f"{name}.yaml"
    raise FileNotFoundError(name)


def plan_step(day: GameDay, source: Path, index: int, step: Step) -> PlannedStep:
    where = f"{source}: steps.{index}"
    try:
        path = experiment_path(step.experiment, source)
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml")))
        raise UsageError(f"{where}.experiment: no experiment {step.experiment!r}; known: {known} "
                         "(or a .yaml path relative to the game-day file)") from None
    # a JSON round trip: YAML anchors share objects (a method's restore is its rollback), and an override
    # of one activity's pauses must not change the other
    experiment = json.loads(json.dumps(load_experiment(str(path))))
    _override_pauses(experiment, step, where)
    extension = _override_extension(experiment, step, str(source), index)
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise UsageError(f"{where}: {step.experiment} is not a valid Chaos Toolkit experiment with these "
                         f"overrides: {' '.join(str(exc).split())}") from None
    unknown = load_fault_kinds().unknown(experiment)
    if unknown:
        raise UsageError(f"{where}.experiment: {', '.join(unknown)} is not a fault action (harness.chaos.faults lists "
                         "what each action injects and undoes)")
    _check_requirements(day, extension, where)
    return PlannedStep(index=index, step=step, path=path, experiment=experiment, extension=extension)


def _override_pauses(experiment: dict[str, Any], step: Step, where: str) -> None:
    method = {a.get("name"): a for a in experiment.get("method") or [] if isinstance(a, dict)}
    for name, pause in step.pauses.items():
        if name not in method:
            raise UsageError(f"{where}.pauses.{name}: {step.experiment}'s method has no activity {name!r}; "
                             f"it has: {', '.join(str(n) for n in method)}")
        pauses = method[name].setdefault("pauses", {})
        pauses.update(pause.model_dump(exclude_none=True))


def _override_extension(experiment: dict[str, Any], step: Step, source: str, index: int) -> HarnessExtension:
    where = f"{source}: steps.{index}"
    extensions = experiment.get("extensions") or []
    position = next((i for i, e in enumerate(extensions) if isinstance(e, dict) and e.get("name") == EXTENSION_NAME), None)
    if position is None:
        raise UsageError(f"{where}.experiment: {step.experiment} has no 'harness' extension, so the harness "
                         "cannot measure it")
    merged = _deep_merge(extensions[position], step.harness)
    extension = validate(HarnessExtension, merged, source, prefix=f"steps.{index}.harness.")
    extensions[position] = extension.model_dump(mode="json")
    return extension


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _check_requirements(day: GameDay, extension: HarnessExtension, where: str) -> None:
    """Backends the local target must start for this step (a machine without cgroups is found at run time)."""
    options = day.target.parsed_options()
    if not isinstance(options, LocalOptions):
        return
    if "postgres" in extension.requires and options.backend != "postgres":
        raise UsageError(f"{where}: {extension.fault} needs PostgreSQL; set target.options.backend: postgres")
    if "redis" in extension.requires and not options.redis:
        raise UsageError(f"{where}: {extension.fault} needs Redis; set target.options.redis: true")


def describe(plan: Plan) -> list[str]:
    """The plan in plain lines: target, load, then each step (what is hurt, how, for how long), guardrails."""
    day, lines = plan.day, []
    options = day.target.parsed_options()
    lines.append(f"game day: {day.title} (owner {day.owner})")
    lines.append(f"hypothesis: {day.hypothesis}")
    lines.append(f"target: {day.target.platform} " + ", ".join(f"{k}={v}" for k, v in options.model_dump().items()
                                                             if v not in (None, [], {})))
    ops = ", ".join(f"{op.name} x{op.weight:g}" for op in plan.load.operations)
    lines.append(f"background load: {plan.load.name} held at {plan.load_rate()} for the whole day ({ops}); it "
                 "replaces each experiment's own background load")
    shortest = longest = 0.0
    for planned in plan.steps:
        ext = planned.extension
        lines.append(f"{planned.index + 1}. {planned.id}: {ext.fault} on {ext.target} - {planned.title}")
        for action in planned.actions():
            lines.append(f"     {action}")
        lines.append(f"     steady state {ext.steady_state_s:g} s, fault held ~{planned.method_pauses_s():g} s, "
                     f"recovery within {ext.recover_within_s:g} s (SLO {ext.settle_s:g} s in a row); "
                     f"abort after {ext.max_duration_s:g} s or when errors > {ext.abort.max_error_rate:.0%} "
                     f"for {ext.abort.grace_s:g} s")
        pause = planned.pause_after_s(day) if planned.index + 1 < len(plan.steps) else 0.0
        if pause:
            lines.append(f"     then {pause:g} s under load before the next step")
        shortest += planned.shortest_s() + pause
        longest += planned.longest_s() + pause
    guard = day.guardrails
    lines.append(f"guardrails (watched from the first fault; any one stops the day): "
                 f"{'; '.join(c.describe() for c in guard.stop_when)}; the whole day at most {guard.max_duration_s:g} s")
    for planned in plan.steps:
        if planned.step.suspend_guardrails:
            lines.append(f"     during {planned.id}: {', '.join(planned.step.suspend_guardrails)} not watched")
    lines.append(f"duration: about {shortest / 60:.1f} to {min(longest, guard.max_duration_s) / 60:.1f} min")
    hooks = ", ".join(day.notifications.webhooks) or "none"
    lines.append(f"notifications: {hooks}" + (f" ({', '.join(day.notifications.events)})" if day.notifications.webhooks else ""))
    if day.schedule:
        lines.append(f"schedule: {day.schedule.cron} ({day.schedule.timezone})")
    return lines
