"""Run Schemathesis 4 against a target, in-process through its engine API, and keep structured results.

Why in-process (``schemathesis.engine.from_schema(schema).execute()``) rather than the ``st`` CLI
as a subprocess: the engine's event stream hands over live Python objects — each check result
with its ``Case`` (operation, identity, minimized input), the response, the curl reproduction
and the typed failure — which is exactly what a fingerprint and a replayable Finding need. The
CLI's JUnit and JSON reports aggregate those away, and its NDJSON stream is the same events
serialized through a format that is not documented as stable. In-process also lets the harness
stop the run itself (``EventStream.stop()``) at a hard deadline. Schemathesis runs Hypothesis in
its own threads, so it shares the pytest process safely (unlike Locust's gevent).

The configuration is the same TOML-shaped table ``schemathesis.toml`` takes, built from the
profile, so anything the profile says can be checked against schemathesis' own documentation.
"""

from __future__ import annotations

import random
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema

from harness.contract.auth import wfc_auth_config
from harness.contract.chain import chained_reproduction
from harness.contract.conditions import scenario_conditions
from harness.contract.document import SpecReport, load_spec
from harness.contract.findings import FailureRecord, case_keys, case_shape, merge_duplicates, replayable_curl
from harness.contract.profile import KNOWN_CHECKS, ContractProfile, target_noise
from harness.platforms.base import Target
from harness.safety import ensure_allowed

RESPONSE_EXCERPT_CHARS = 600
DATABASE_FOLDER = "hypothesis-db"


@dataclass
class CheckTally:
    """How often one check ran on one operation, and how it ended."""

    success: int = 0
    failure: int = 0
    error: int = 0


@dataclass
class ContractRun:
    """Everything one schemathesis run observed, as plain data."""

    seed: int
    profile: ContractProfile
    base_url: str
    spec: SpecReport
    operations: list[str] = field(default_factory=list)
    tallies: dict[tuple[str, str], CheckTally] = field(default_factory=lambda: defaultdict(CheckTally))
    failures: list[FailureRecord] = field(default_factory=list)  # deduplicated, noise included (marked)
    errors: list[str] = field(default_factory=list)  # engine errors that did not stop the run
    fatal: str | None = None
    stop_reason: str = ""
    running_time_s: float = 0.0
    phases: dict[str, str] = field(default_factory=dict)
    analysis_warnings: list[str] = field(default_factory=list)
    engine_time_s: float = 0.0  # schemathesis' own clock; running_time_s adds spec loading and logins
    stateful_steps: int = 0  # requests sent by the stateful phase
    linked_steps: int = 0  # of those, requests whose inputs came from an earlier response through a link
    replayed_database: str | None = None  # a previous run's Hypothesis database this run started from
    noise_files: list[str] = field(default_factory=list)  # target-specific noise rules applied (targets/)

    @property
    def defects(self) -> list[FailureRecord]:
        return [f for f in self.failures if f.noise_reason is None]

    @property
    def noise(self) -> list[FailureRecord]:
        return [f for f in self.failures if f.noise_reason is not None]

    def summary(self) -> str:
        ran = sum(1 for t in self.tallies.values() if t.success or t.failure)
        return (f"contract: seed={self.seed} profile={self.profile.name} {len(self.operations)} operations, "
                f"{ran} operation×check pairs ran, {len(self.defects)} distinct failures "
                f"({len(self.noise)} known noise), stop={self.stop_reason} "
                f"in {self.running_time_s:.1f}s; replay with --seed {self.seed}")


def new_seed() -> int:
    return random.SystemRandom().randrange(1, 2**31)


def operation_config(profile: ContractProfile) -> list[dict[str, Any]]:
    """Per-operation schemathesis overrides for the profile's known-noise rules (reason kept in the YAML)."""
    entries = []
    for rule in profile.known_noise:
        if rule.operation == "*" or rule.classifies_failures:
            continue  # classified after the run, the check still runs
        method, path = rule.operation.split(" ", 1)
        check: dict[str, Any] = {"enabled": False} if rule.disables_check else {
            "expected-statuses": rule.expected_statuses}
        entries.append({"include-method": method, "include-path": path, "checks": {rule.check: check}})
    return entries


def schemathesis_config(profile: ContractProfile, *, base_url: str, seed: int, database: Path,
                        auth: dict | None) -> dict[str, Any]:
    """The ``schemathesis.toml`` table for this run."""
    enabled = set(profile.check_names)
    config: dict[str, Any] = {
        "seed": seed,
        "max-time": profile.max_time_s,
        "cache": {"enabled": False},
        "base-url": base_url,
        "workers": profile.workers,
        "request-timeout": profile.request_timeout_s,
        "generation": {"mode": profile.mode, "max-examples": profile.max_examples, "database": str(database)},
        "phases": {
            "examples": {"enabled": "examples" in profile.phases},
            "coverage": {"enabled": "coverage" in profile.phases},
            "fuzzing": {"enabled": "fuzzing" in profile.phases},
            "stateful": {"enabled": "stateful" in profile.phases, "max-steps": profile.stateful_max_steps},
        },
        "checks": {name: {"enabled": name in enabled} for name in KNOWN_CHECKS},
        "operations": operation_config(profile),
    }
    if profile.max_failures:
        config["max-failures"] = profile.max_failures
    if auth:
        config["auth"] = auth
    return config


def run_contract(
    target: Target,
    profile: ContractProfile,
    *,
    out_dir: Path,
    seed: int | None = None,
    allow_hosts: list[str] | tuple[str, ...] = (),
    openapi: str | Path | None = None,
    replay_database: Path | None = None,
    workers: int | None = None,
) -> ContractRun:
    """Validate the target's OpenAPI, then fuzz it within the profile's budget.

    ``openapi`` overrides ``target.openapi_url`` (a URL, a ``file://`` URL or a file path). The
    Hypothesis example database lives in ``out_dir / "hypothesis-db"``; ``replay_database`` (a
    previous run's, see ``harness.contract.rerun``) is copied there first, so the failures that run
    found are tried first. ``workers`` overrides the profile's: a replay uses 1, so that the seed
    alone decides what is generated in which order.
    """
    started = time.monotonic()
    ensure_allowed(target.base_url, allow_hosts)
    location = spec_location(openapi or target.openapi_url or f"{target.base_url.rstrip('/')}/openapi.json")
    if isinstance(location, str):
        ensure_allowed(location, allow_hosts)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / DATABASE_FOLDER
    if replay_database is not None:
        shutil.copytree(replay_database, database, dirs_exist_ok=True)
    if workers is not None:
        profile = profile.model_copy(update={"workers": workers})
    seed = seed if seed is not None else new_seed()
    with wfc_auth_config(target) as auth:
        def engine_config(profile: ContractProfile) -> Any:
            return schemathesis.Config.from_dict(schemathesis_config(
                profile, base_url=target.base_url, seed=seed, database=database, auth=auth))

        spec = load_spec(location, engine_config(profile))
        rules, files = target_noise((spec.raw.get("info") or {}).get("title"))
        if rules:  # the API's own known noise; its per-operation switches are engine config, so load again
            before, profile = operation_config(profile), profile.with_noise(rules)
            if operation_config(profile) != before:
                spec = load_spec(location, engine_config(profile))
        run = ContractRun(seed=seed, profile=profile, base_url=target.base_url, spec=spec,
                          replayed_database=str(replay_database) if replay_database else None,
                          noise_files=[str(f) for f in files])
        if spec.schema is None:
            run.fatal = f"OpenAPI not usable: {spec.load_error}"
        else:
            run.operations = spec.operations
            _consume(from_schema(spec.schema).execute(), run, deadline=started + profile.run_budget_s)
    run.running_time_s = time.monotonic() - started
    return run


def spec_location(location: str | Path) -> str | Path:
    """An http(s) URL stays a URL; a ``file://`` URL or anything else is a local file path."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return text
    return Path(text.removeprefix("file://"))


def _consume(stream: Any, run: ContractRun, *, deadline: float) -> None:
    """Fold the engine's events into ``run``; past ``deadline`` (the profile's run budget) stop the engine."""
    raw: list[FailureRecord] = []
    for event in stream:
        if time.monotonic() > deadline and run.stop_reason != "harness_deadline":
            run.stop_reason = "harness_deadline"
            stream.stop()
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            raw.extend(_record_scenario(event, run))
        elif isinstance(event, events.SchemaAnalysisWarnings):
            run.analysis_warnings.extend(str(w) for w in event.warnings)
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.title}: {event.info.message}"[:500])
        elif isinstance(event, events.FatalError):
            run.fatal = f"{type(event.exception).__name__}: {event.exception}"[:1000]
        elif isinstance(event, events.PhaseFinished):
            # the engine cycles phases until the budget ends: a final "skip" must not hide an earlier result
            name = event.phase.name.value
            if event.status.value != "skip" or name not in run.phases:
                run.phases[name] = event.status.value
        elif isinstance(event, events.EngineFinished):
            if run.stop_reason != "harness_deadline":
                run.stop_reason = event.stop_reason.value
            run.engine_time_s = event.running_time
    for record in raw:
        record.noise_reason = noise_reason(run.profile, record)
    run.failures = merge_duplicates(raw)


def noise_reason(profile: ContractProfile, record: FailureRecord) -> str | None:
    """The reason of the first known-noise rule this failure matches, or ``None``: a defect."""
    return next((rule.reason for rule in profile.known_noise
                 if rule.matches(record.operation, record.check, record.text, record.conditions)), None)


def _record_scenario(event: Any, run: ContractRun) -> list[FailureRecord]:
    recorder = event.recorder
    phase = getattr(getattr(event, "phase", None), "value", "fuzz")
    if phase == "stateful":
        run.stateful_steps += len(recorder.cases)
        run.linked_steps += sum(1 for node in recorder.cases.values() if node.parent_id is not None)
    out = []
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        if node is None:
            continue
        case = node.value
        operation = case.operation.label
        for check in nodes:
            tally = run.tallies[(operation, check.name)]
            status = check.status.value
            if status == "success":
                tally.success += 1
            elif status == "error":
                tally.error += 1
            if check.failure_info is None:
                continue
            tally.failure += 1
            out.append(_failure_record(recorder, case_id, case, check, phase))
    return out


def _failure_record(recorder: Any, case_id: str, case: Any, check: Any, phase: str) -> FailureRecord:
    info = check.failure_info
    failure = info.failure
    operation = failure.operation or case.operation.label
    steps = [replayable_curl(step.curl, _identity_of(recorder, step.case_id)) for step in info.steps]
    if not steps:
        steps = [replayable_curl(info.code_sample, getattr(case, "auth_identity", None))]
    ancestors = _ancestors(recorder, case_id) if len(steps) == 1 else []
    if ancestors:  # found by following links: re-create what the request depends on
        steps = chained_reproduction([*ancestors, (steps[0], None)])
    response = recorder.find_response(case_id=case_id)
    excerpt = ""
    if response is not None:
        try:
            excerpt = response.text[:RESPONSE_EXCERPT_CHARS]
        except Exception:  # noqa: BLE001 - undecodable body: keep the bytes' repr
            excerpt = repr(response.content[:RESPONSE_EXCERPT_CHARS])
    return FailureRecord(
        operation=operation,
        check=check.name,
        code=getattr(failure, "code", "ST901"),
        title=failure.title,
        message=failure.message,
        severity=str(getattr(failure.severity, "value", failure.severity)),
        phase=phase,
        curl_steps=steps,
        identity=getattr(case, "auth_identity", None),
        input_shape=case_shape(case),
        input_keys=case_keys(case),
        status_code=response.status_code if response is not None else None,
        response_excerpt=excerpt,
        elapsed_ms=round(response.elapsed * 1000, 1) if response is not None and response.elapsed else None,
        conditions=scenario_conditions(recorder, case_id, case),
    )


def _ancestors(recorder: Any, case_id: str) -> list[tuple[str, str | None]]:
    """(curl, response body) of the requests whose responses fed this one through links, oldest first."""
    chain: list[tuple[str, str | None]] = []
    node = recorder.cases.get(case_id)
    while node is not None and node.parent_id is not None and len(chain) < 10:
        parent_id = node.parent_id
        node = recorder.cases.get(parent_id)
        if node is None:
            break
        response = recorder.find_response(case_id=parent_id)
        body = response.text if response is not None else None
        chain.append((replayable_curl(node.value.as_curl_command(), node.value.auth_identity), body))
    return chain[::-1]


def _identity_of(recorder: Any, case_id: str) -> str | None:
    node = recorder.cases.get(case_id)
    return getattr(node.value, "auth_identity", None) if node is not None else None
