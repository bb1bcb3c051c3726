"""Accuracy against ground truth: a known delay on every request plus one 1-second stall.

Two ground truths, both independent of the harness's own clocks:

- *observed*: the server records when it answered each request (by schedule ``seq``);
  true latency = answer time - intended start from the schedule. The harness's p50/p95/p99
  must be within 5 % of it, stall included.
- *modelled*: from the schedule and the injected faults alone (delay, and the stall window
  the server reports): a request arriving during the stall waits for its end and then the
  delay. It ignores the server's catch-up after the stall, so it only bounds the tail from
  below: the stall must not be hidden, which is what a closed-loop tool does (see bench/).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.load import LoadRun
from harness.load.profile import parse_profile
from harness.load.schedule import arrivals
from harness.load.selftest_app import serve_selftest_app
from harness.platforms.base import Target

pytestmark = pytest.mark.integration

DELAY_S = 0.200
STALL_AT_S, STALL_S = 4.0, 1.0


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(max(round(p / 100 * len(ordered) + 0.5) - 1, 0), len(ordered) - 1)]


def modelled(intended: float, stall_start: float, stall_end: float) -> float:
    """Latency (s) of a request intended at ``intended`` given only the delay and the stall window."""
    if stall_start <= intended < stall_end:
        return stall_end + DELAY_S - intended
    if intended < stall_start < intended + DELAY_S:
        return max(intended + DELAY_S, stall_end) - intended
    return DELAY_S


def test_percentiles_match_ground_truth_with_a_stall(tmp_path: Path) -> None:
    profile = parse_profile({
        "name": "accuracy", "stages": [{"duration_s": 10, "rate": 50}], "max_users": 150,
        "operations": [{"name": "delayed", "path": f"/delay?delay_ms={DELAY_S * 1000:g}&seq={{seq}}"}],
    }, "test")
    with serve_selftest_app() as url:
        with LoadRun(profile, Target(base_url=url), out_dir=tmp_path) as run:
            assert run.start_epoch is not None
            httpx.post(url + "/_stall", json={"at_epoch": run.start_epoch + STALL_AT_S, "seconds": STALL_S})
            result = run.wait()
        stats_reply = httpx.get(url + "/_stats").json()
    [stall] = stats_reply["stalls"]
    answered = {int(seq): at for seq, at in stats_reply["completions"].items()}
    schedule = list(arrivals(profile))
    assert result.requests == len(schedule) == len(answered) and result.dropped == 0

    observed = [(answered[a.seq] - (run.start_epoch + a.offset_s)) * 1000 for a in schedule]
    model = [modelled(run.start_epoch + a.offset_s, stall["started"], stall["ended"]) * 1000 for a in schedule]
    measured = result.latency
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
        truth = nearest_rank(observed, p)
        assert measured.metric(name) == pytest.approx(truth, rel=0.05), (name, measured, truth)
        assert measured.metric(name) >= 0.97 * nearest_rank(model, p), (name, measured, nearest_rank(model, p))
    assert measured.p99_ms > 700  # the one-second stall is in the tail, not averaged away
    # The generator kept sending on schedule through the stall (open model): no arrival waited for a user.
    assert result.lag.p99_ms is not None and result.lag.p99_ms < 50
