"""The webhook notifier is an event handler: ordered JSON bodies with run id and timestamps, only to allowed
hosts, never blocking the run, a dead receiver costing nothing but a logged line."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.errors import DisallowedHostError
from harness.events import (
    FaultHealed,
    FaultInjected,
    GameDayStarted,
    GuardrailFired,
    Interrupted,
    Progress,
    RunFinished,
)
from harness.model import FaultInjection, GameDayResult, Verdict
from harness.report.webhook import WebhookNotifier
from tests.gameday.receiver import WebhookReceiver
from tests.test_model import make_run


def day_events(run_id: str) -> list:
    injection = FaultInjection(fault="gpu_loss:0", target="inference-gpu", started_at=datetime.now(UTC),
                               experiment="gpu_loss")
    run = make_run()
    run.run_id, run.verdict, run.exit_code, run.aborted_reason = run_id, Verdict.ABORTED, 2, "guardrail errors fired"
    run.gameday = GameDayResult(title="t", hypothesis="h", owner="o", file="f.yaml", hypothesis_verdict="refuted")
    return [GameDayStarted(run_id=run_id, title="t", hypothesis="h", owner="o", steps=["gpu_loss"], file="f.yaml"),
            Progress(text="not announced"), FaultInjected(injection=injection),
            GuardrailFired(guardrail="errors", reason="error rate > 50% for 3 s", step="gpu_loss"),
            FaultHealed(injection=injection.model_copy(update={"ended_at": datetime.now(UTC)})),
            Interrupted(reason="guardrail errors fired"), RunFinished(run=run)]


def test_events_arrive_in_order_with_run_id_and_timestamps(tmp_path: Path) -> None:
    run_dir = tmp_path / "20260101T000000Z-abcd"
    run_dir.mkdir()
    with WebhookReceiver() as hooks:
        notifier = WebhookNotifier([hooks.url])
        notifier.start(run_dir)
        for event in day_events(run_dir.name):
            notifier.handle(event)
        notifier.shutdown()
        bodies = hooks.bodies
    assert [b["event"] for b in bodies] == ["started", "fault_injected", "guardrail_fired", "fault_healed", "aborted",
                                            "finished"]
    assert {b["run_id"] for b in bodies} == {run_dir.name} and [b["sequence"] for b in bodies] == [1, 2, 3, 4, 5, 6]
    assert all(datetime.fromisoformat(b["sent_at"]) >= datetime.fromisoformat(b["at"]) for b in bodies)
    assert bodies[1]["fault"] == "gpu_loss:0" and bodies[1]["target"] == "inference-gpu" and bodies[1]["started_at"]
    assert bodies[3]["ended_at"] and bodies[2]["guardrail"] == "errors" and bodies[4]["reason"] == "guardrail errors fired"
    assert (bodies[5]["verdict"], bodies[5]["exit_code"], bodies[5]["hypothesis_verdict"]) == ("aborted", 2, "refuted")
    log = json.loads((run_dir / "webhooks.json").read_text())
    assert [d["status"] for d in log] == [204] * 6


def test_a_dead_or_slow_receiver_never_holds_the_run_up(tmp_path: Path) -> None:
    with WebhookReceiver(delay_s=1.5) as slow:
        notifier = WebhookNotifier([slow.url, "http://127.0.0.1:9/nobody-listens"], timeout_s=0.5, drain_s=2.0)
        notifier.start(tmp_path)
        started = time.monotonic()
        for event in day_events("run-1"):
            notifier.handle(event)
        assert time.monotonic() - started < 0.2, "handle() only queues"
        notifier.shutdown()
        assert time.monotonic() - started < 4.0, "shutdown waits at most drain_s"
    log = json.loads((tmp_path / "webhooks.json").read_text())
    assert any(d["url"].endswith("/nobody-listens") and d["status"] is None and "ConnectError" in d["error"] for d in log)


def test_only_allowed_hosts_and_only_the_chosen_events(tmp_path: Path) -> None:
    with pytest.raises(DisallowedHostError):
        WebhookNotifier(["https://hooks.example.com/gameday"])
    WebhookNotifier(["https://hooks.example.com/gameday"], allow_hosts=["hooks.example.com"])  # named: allowed
    with WebhookReceiver() as hooks:
        notifier = WebhookNotifier([hooks.url], events=["guardrail_fired", "finished"])
        notifier.start(tmp_path)
        for event in day_events("run-2"):
            notifier.handle(event)
        notifier.shutdown()
        assert hooks.events() == ["guardrail_fired", "finished"]
        assert [b["sequence"] for b in hooks.bodies] == [1, 2]
