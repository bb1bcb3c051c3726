"""Run events: how RunContext folds them into the RunResult, and how it treats its handlers."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from harness.claims.model import Claim, ClaimsFile
from harness.config import HarnessConfig
from harness.events import (
    ArtifactSaved,
    CheckRecorded,
    ClaimJudged,
    EnvironmentNoted,
    Event,
    EventHandler,
    FaultHealed,
    FaultInjected,
    FindingReported,
    HarnessFailed,
    Interrupted,
    Progress,
    RunFinished,
    SeriesRecorded,
    SuiteFinished,
    SuiteInconclusive,
    SuiteStarted,
    TargetAttached,
)
from harness.model import (
    Check,
    ClaimResult,
    ClaimVerdict,
    FaultInjection,
    Finding,
    LoadSecond,
    Status,
    Verdict,
    utcnow,
)
from harness.report import builtin_writers
from harness.run_context import RunContext


def context(tmp_path: Path, *handlers: EventHandler) -> RunContext:
    return RunContext(HarnessConfig(report_dir=tmp_path / "reports"), run_id="run-1", handlers=handlers)


def check(check_id: str = "acme.health.ok", status: Status = Status.PASS) -> Check:
    return Check(id=check_id, suite="acme", title="health is 200", status=status)


class Collector(EventHandler):
    name = "collector"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self, run_dir: Path) -> None:
        self.calls.append("start")

    def handle(self, event: Event) -> None:
        self.calls.append(event.kind)

    def shutdown(self) -> None:
        self.calls.append("shutdown")


class Broken(EventHandler):
    name = "broken"

    def handle(self, event: Event) -> None:
        raise OSError("disk full")


def test_each_event_lands_where_the_table_says(tmp_path: Path) -> None:
    run = context(tmp_path)
    run.emit(SuiteStarted(suite="acme"))
    run.emit(TargetAttached(base_url="http://127.0.0.1:1", openapi_url="http://127.0.0.1:1/openapi.json"))
    run.emit(EnvironmentNoted(facts={"backend": "sqlite", "unknown": None}))
    run.emit(CheckRecorded(check=check()))
    finding = Finding(fingerprint="f1", check_id="acme.health.ok", suite="acme", title="t", severity="high")
    run.emit(FindingReported(finding=finding))
    run.emit(FindingReported(finding=finding.model_copy(update={"title": "same defect again"})))
    run.emit(ArtifactSaved(suite="acme", paths=["a.json"]))
    run.emit(SuiteInconclusive(suite="acme", reason="first reason"))
    run.emit(SuiteInconclusive(suite="acme", reason="second reason"))
    claim = ClaimResult(id="c1", text="P95 < 500 ms", verdict=ClaimVerdict.VERIFIED)
    run.emit(ClaimJudged(claim=claim))
    run.emit(Progress(text="nothing to fold"))
    run.emit(SuiteFinished(suite="acme"))
    result = run.result
    [suite] = result.suites
    assert (result.target.base_url, result.target.openapi_url) == ("http://127.0.0.1:1", "http://127.0.0.1:1/openapi.json")
    assert result.environment.extra == {"backend": "sqlite"}
    assert [c.id for c in suite.checks] == ["acme.health.ok"]
    assert [f.title for f in suite.findings] == ["t"], "one finding per fingerprint"
    assert suite.artifacts == ["a.json"] and suite.inconclusive == "first reason"
    assert result.claims == [claim] and suite.finished_at is not None
    assert run.checks_by_test == {}  # no node id: not attributed to a test


def test_series_with_a_start_epoch_moves_onto_the_suites_clock(tmp_path: Path) -> None:
    run = context(tmp_path)
    run.emit(SuiteStarted(suite="chaos"))
    started = run.result.suite("chaos").started_at.timestamp()
    rows = [LoadSecond(t=0.0, requests=5), LoadSecond(t=1.0, requests=6)]
    run.emit(SeriesRecorded(suite="chaos", rows=rows, start_epoch=started + 12.5))
    run.emit(SeriesRecorded(suite="chaos", rows=rows))
    assert [row.t for row in run.result.suite("chaos").timeseries] == [12.5, 13.5, 0.0, 1.0]
    assert [row.t for row in rows] == [0.0, 1.0], "the emitter's rows are not changed"


def test_a_healed_fault_closes_its_injection_on_the_timeline(tmp_path: Path) -> None:
    run = context(tmp_path)
    kill = FaultInjection(fault="kill", target="gateway-1", started_at=utcnow(), experiment="replica_kill")
    pause = FaultInjection(fault="pause", target="gateway-1", started_at=kill.started_at, experiment="replica_kill")
    run.emit(FaultInjected(injection=kill))
    run.emit(FaultInjected(injection=pause))
    healed = kill.model_copy(update={"ended_at": kill.started_at + timedelta(seconds=3), "rolled_back": True})
    run.emit(FaultHealed(injection=healed))
    assert [(f.fault, f.ended_at, f.rolled_back) for f in run.result.timeline] == [
        ("kill", healed.ended_at, True), ("pause", None, False)]


def test_finish_judges_writes_every_report_and_moves_latest(tmp_path: Path) -> None:
    collector = Collector()
    run = context(tmp_path, *builtin_writers(), collector)
    run.emit(CheckRecorded(check=check(status=Status.FAIL)))
    judgement = run.finish()
    assert judgement.verdict == Verdict.NOT_READY
    folder = tmp_path / "reports" / "run-1"
    for name in ("readiness.json", "readiness.html", "junit.xml", "findings.sarif"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "readiness.json").read_text())["verdict"] == "not_ready"
    assert (tmp_path / "reports" / "latest").resolve() == folder.resolve()
    assert collector.calls == ["start", "run_started", "check_recorded", "run_finished", "shutdown"]


def test_finish_judges_the_claims_file_before_the_gate_without_changing_the_verdict(tmp_path: Path) -> None:
    claims = ClaimsFile(claims=[Claim(id="fast", text="P95 < 500 ms", verify=["acme.latency.*"]),
                                Claim(id="up", text="health is 200", verify=["acme.health.ok"])])
    collector = Collector()
    run = RunContext(HarnessConfig(report_dir=tmp_path / "reports"), run_id="run-1", handlers=[collector],
                     claims=claims)
    run.emit(CheckRecorded(check=check()))
    run.emit(CheckRecorded(check=check("acme.latency.p95", Status.FAIL).model_copy(
        update={"claims": ["fast"], "claim_only": True})))  # run with the claim's own numbers
    judgement = run.finish()
    assert [(c.id, c.verdict) for c in run.result.claims] == [("fast", ClaimVerdict.REFUTED),
                                                               ("up", ClaimVerdict.VERIFIED)]
    assert collector.calls[-4:] == ["claim_judged", "claim_judged", "run_finished", "shutdown"]
    assert judgement.verdict == Verdict.READY  # a refuted claim warns without a policy that blocks on it


def test_interrupted_run_is_aborted(tmp_path: Path) -> None:
    run = context(tmp_path)
    run.emit(CheckRecorded(check=check()))
    assert run.finish(aborted_reason="interrupted (SIGINT)").verdict == Verdict.ABORTED
    assert run.result.aborted_reason == "interrupted (SIGINT)"


def test_harness_failure_is_an_error_verdict(tmp_path: Path) -> None:
    run = context(tmp_path)
    run.emit(HarnessFailed(error="platform failed to start: port taken"))
    run.emit(Interrupted(reason="never mind"))
    assert run.result.error == "platform failed to start: port taken"


def test_a_failing_handler_is_logged_and_the_others_still_write(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    collector = Collector()
    run = context(tmp_path, Broken(), *builtin_writers(), collector)
    with caplog.at_level(logging.ERROR):
        run.emit(CheckRecorded(check=check()))
        run.finish()
    assert (tmp_path / "reports" / "run-1" / "readiness.html").is_file()
    assert collector.calls[-2:] == ["run_finished", "shutdown"]
    assert run.handler_failures[0] == "broken: OSError: disk full"
    assert "event handler broken failed in handle" in caplog.text


def test_a_failing_required_handler_fails_the_run_after_the_others(tmp_path: Path) -> None:
    class BrokenJson(EventHandler):
        name, required = "json", True

        def handle(self, event: Event) -> None:
            if isinstance(event, RunFinished):
                raise OSError("disk full")

    collector = Collector()
    run = context(tmp_path, BrokenJson(), collector)
    with pytest.raises(RuntimeError, match="report handler\\(s\\) json failed on run_finished"):
        run.finish()
    assert collector.calls[-2:] == ["run_finished", "shutdown"], "the others got the event and were shut down"


def test_events_serialise_with_their_kind() -> None:
    event = CheckRecorded(check=check())
    data = json.loads(event.model_dump_json())
    assert data["kind"] == "check_recorded" and data["check"]["id"] == "acme.health.ok"
    assert isinstance(RunFinished.model_fields["run"].annotation, type)


def test_no_suite_or_suite_library_writes_into_the_run_result_itself() -> None:
    """One path: suites and their libraries emit events; only RunContext's fold touches RunResult."""
    repo = Path(__file__).resolve().parents[1]
    libraries = ("load", "security", "contract", "chaos")  # (the gate reads finished reports: not a producer)
    sources = [*(repo / "suites").rglob("*.py"), *(p for lib in libraries for p in (repo / "harness" / lib).rglob("*.py"))]
    offenders = []
    for path in sources:
        text = path.read_text()
        for needle in (".result.", "RunResult(", "SuiteResult(", ".suite(", ".findings.append", ".findings.extend",
                       ".timeseries.extend", ".timeline.append", ".aborted_reason ="):
            if needle in text and path.name not in {"run_context.py", "model.py"}:
                offenders.append(f"{path.relative_to(repo)}: {needle}")
    assert offenders == []
