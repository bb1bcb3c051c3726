"""Game days end to end on the reference system, through the real ``harness gameday run`` in a child process.

* a defect that breaks the steady state (``no_fallback``: GPU loss turns into 503s) fires the guardrail; the
  day aborts within 2 s of the breach (measured from the report's own timestamps), exit 2, the report says
  where it stopped, the loopback webhook receiver got every event in order, nothing is left behind;
* SIGTERM or Ctrl-C in the middle of a fault does the same (exit 2, faults rolled back, load stopped, report
  written);
* the shipped weekly example passes on the clean reference system.
"""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from harness.exitcodes import ExitCode
from harness.faults.undo import UndoLog
from harness.model import RunResult
from harness.platforms.local.faults import local_undo_kinds
from tests.conftest import REPO
from tests.gameday.conftest import day_file, harness_gameday
from tests.gameday.receiver import WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ABORT_BUDGET_S = 2.0


def report_of(reports: Path) -> tuple[RunResult, Path]:
    path = reports / "latest" / "readiness.json"
    return RunResult.model_validate_json(path.read_text()), path


def started_with(state_dir: Path) -> list[str]:
    """Processes still running that the day started: every one inherits its HARNESS_STATE_DIR."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.environ().get("HARNESS_STATE_DIR") == str(state_dir) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:120]}")
        except psutil.Error:
            continue
    return found


def assert_nothing_left(state_dir: Path, run: RunResult) -> None:
    """Undo log empty (every fault, process and load worker it recorded was undone), no process of the day
    still running (the fault proxies included), every injection of the timeline rolled back."""
    assert UndoLog(state_dir, local_undo_kinds()).pending() == [], "an undo entry (fault, process) is still pending"
    assert started_with(state_dir) == [], "a process the day started still runs"
    assert all(i.ended_at is not None and i.rolled_back for i in run.timeline), run.timeline
    rollbacks = [c for c in run.all_checks() if c.id.endswith(".rollback")]
    assert all(c.status.value == "pass" for c in rollbacks), [c.message for c in rollbacks]


def seconds(later: datetime | None, earlier: datetime | None) -> float:
    assert later is not None and earlier is not None
    return (later - earlier).total_seconds()


def test_a_guardrail_breach_aborts_within_2_s_and_leaves_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with WebhookReceiver() as hooks:
        day = day_file(tmp_path, "short", hooks.url)
        child = harness_gameday(tmp_path, "run", str(day), "--report-dir", str(reports), "--defects", "no_fallback")
        code = child.wait(timeout=300)
        output = (tmp_path / "gameday.log").read_text()[-3000:]
        assert code == ExitCode.ABORTED, output
        bodies = list(hooks.bodies)
    run, path = report_of(reports)
    day_result = run.gameday
    assert day_result is not None and run.verdict.value == "aborted", output

    # the guardrail fired on its own condition, during GPU loss; the day stopped there
    [fired] = day_result.guardrails
    assert (fired.guardrail, fired.step) == ("writes_fail", "gpu_loss"), fired
    assert day_result.stopped_at == "gpu_loss" and day_result.hypothesis_verdict == "refuted"
    assert [(s.id, s.status) for s in day_result.steps] == [("gpu_loss", "aborted"), ("partition_gateway_inference", "not_run")]
    assert day_result.steps[0].journal and (path.parent / day_result.steps[0].journal).is_file()
    assert run.aborted_reason and "writes_fail" in run.aborted_reason

    # within 2 s of the breach (the end of the last second that completed it): every fault rolled back,
    # the load stopped, the report written
    assert 0 <= seconds(fired.fired_at, fired.breach_at) < ABORT_BUDGET_S, "detected late"
    for name, at in {"rolled back": day_result.rolled_back_at, "load stopped": day_result.load_stopped_at,
                     "report stamped": run.finished_at}.items():
        assert seconds(at, fired.breach_at) <= ABORT_BUDGET_S, f"{name} {seconds(at, fired.breach_at):.2f} s after the breach"
    written = datetime.fromtimestamp(path.stat().st_mtime, fired.fired_at.tzinfo)
    assert seconds(written, fired.breach_at) <= ABORT_BUDGET_S, f"report written {seconds(written, fired.breach_at):.2f} s after"
    assert run.timeline and all(i.ended_at is not None for i in run.timeline), run.timeline
    assert max(i.ended_at for i in run.timeline if i.ended_at) <= day_result.rolled_back_at  # type: ignore[operator]

    # the receiver got the events in order, each with the run id and timestamps
    assert [b["event"] for b in bodies] == ["started", "fault_injected", "guardrail_fired", "fault_healed", "aborted",
                                            "finished"], bodies
    assert {b["run_id"] for b in bodies} == {run.run_id}
    assert [b["sequence"] for b in bodies] == list(range(1, len(bodies) + 1))
    times = [datetime.fromisoformat(b["at"]) for b in bodies]
    assert times == sorted(times) and all(datetime.fromisoformat(b["sent_at"]) >= t for b, t in zip(bodies, times, strict=True))
    assert bodies[2]["guardrail"] == "writes_fail" and bodies[-1]["verdict"] == "aborted" and bodies[-1]["exit_code"] == 2
    assert bodies[-1]["hypothesis_verdict"] == "refuted"
    assert_nothing_left(tmp_path / "state", run)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_during_a_fault_aborts_the_day_the_same_way(tmp_path: Path, signum: signal.Signals) -> None:
    reports = tmp_path / "reports"
    with WebhookReceiver() as hooks:
        day = day_file(tmp_path, "short", hooks.url)
        child = harness_gameday(tmp_path, "run", str(day), "--report-dir", str(reports))
        injected = hooks.wait_for("fault_injected", timeout_s=180)
        assert injected is not None, (tmp_path / "gameday.log").read_text()[-3000:]
        child.send_signal(signum)
        code = child.wait(timeout=120)
        events = hooks.events()
    output = (tmp_path / "gameday.log").read_text()[-3000:]
    assert code == ExitCode.ABORTED, output
    run, _ = report_of(reports)
    assert run.gameday is not None and run.aborted_reason and "interrupted" in run.aborted_reason
    assert run.gameday.stopped_at == "gpu_loss" and run.gameday.steps[0].status == "interrupted", run.gameday.steps
    assert run.gameday.hypothesis_verdict == "inconclusive" and run.gameday.load_stopped_at is not None
    assert all(i.ended_at is not None for i in run.timeline)
    assert events[-2:] == ["aborted", "finished"] and "guardrail_fired" not in events, events
    assert_nothing_left(tmp_path / "state", run)


def test_the_weekly_example_passes_on_the_clean_reference_system(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    child = harness_gameday(tmp_path, "run", str(REPO / "scenarios" / "gamedays" / "refsys-weekly.yaml"),
                            "--report-dir", str(reports))
    code = child.wait(timeout=900)
    output = (tmp_path / "gameday.log").read_text()[-4000:]
    run, _ = report_of(reports)
    assert code == ExitCode.READY, output + "\n" + "\n".join(
        f"{c.id} {c.status.value}: {c.message}" for c in run.all_checks() if c.is_failure)
    assert run.gameday is not None and run.gameday.hypothesis_verdict == "confirmed"
    assert [s.status for s in run.gameday.steps] == ["passed"] * 4
    assert not run.gameday.guardrails
    faults = {i.experiment for i in run.timeline}
    assert faults == {"gateway_replica_kill", "gpu_loss", "database_outage", "partition_gateway_inference"}
    assert all(s.time_to_recover_s is not None for s in run.gameday.steps)
    assert_nothing_left(tmp_path / "state", run)
