"""The game day in the HTML report: hypothesis and its verdict, the steps table, where it stopped, and the
guardrail marked on the same timeline as the shaded faults."""

from __future__ import annotations

from datetime import timedelta

from harness.model import FaultInjection, GameDayResult, GameDayStep, GuardrailEvent, LoadSecond
from harness.report.html import render_html
from tests.test_model import make_run


def test_the_report_shows_the_day_its_steps_and_the_guardrail_on_the_timeline() -> None:
    run = make_run()
    start = run.started_at
    run.finished_at = start + timedelta(seconds=40)
    suite = run.suite("gameday")
    suite.started_at = start
    suite.timeseries = [LoadSecond(t=float(t), requests=20, p50_ms=20.0, p95_ms=60.0, p99_ms=90.0, rate=20.0)
                        for t in range(30)]
    run.timeline = [FaultInjection(fault="gpu_loss:0", target="inference-gpu", experiment="gpu_loss",
                                   started_at=start + timedelta(seconds=10), ended_at=start + timedelta(seconds=17))]
    fired = GuardrailEvent(guardrail="writes_fail", reason="create errors > 50% for 3 s", step="gpu_loss",
                           breach_at=start + timedelta(seconds=14.0), fired_at=start + timedelta(seconds=14.2))
    run.gameday = GameDayResult(
        title="Weekly", hypothesis="Answers keep coming while the GPUs are gone.", owner="sre", file="w.yaml",
        hypothesis_verdict="refuted", verdict_reason="guardrail writes_fail fired", stopped_at="gpu_loss",
        guardrails=[fired], rolled_back_at=start + timedelta(seconds=15), load_stopped_at=start + timedelta(seconds=15.5),
        steps=[GameDayStep(id="gpu_loss", experiment="gpu_loss", title="GPUs lost", fault="gpu_loss", target="inference-gpu",
                           status="aborted", time_to_detect_s=1.7, journal="gameday/gpu_loss/gpu_loss.journal.json"),
               GameDayStep(id="partition", experiment="partition_gateway_inference", title="Partition", fault="partition",
                           target="gateway-*->inference-*", status="not_run")])
    html = render_html(run)
    assert 'id="gameday"' in html and "Answers keep coming while the GPUs are gone." in html
    assert 'class="badge h-refuted"' in html and "Stopped in step <b>gpu_loss</b>" in html
    assert html.count('class="badge st-aborted"') == 1 and 'class="badge st-not_run"' in html
    assert 'href="gameday/gpu_loss/gpu_loss.journal.json"' in html and "1.7 s" in html
    charts = html.count('class="chart"')
    assert charts >= 2 and html.count('class="marker"') == charts, "the guardrail is marked on every load chart"
    assert html.count('class="band"') == charts and "guardrail writes_fail" in html
