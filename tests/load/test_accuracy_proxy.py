"""Accuracy through the harness's own fault proxy: a known delay on every request plus one 1 s stall.

The proxy (not the server) adds 200 ms to every request and blackholes the link for one second
mid-run, as the chaos suite would. Ground truth is what the server saw: the time it answered each
request (by schedule ``seq``) minus that request's intended start. The harness's p50/p95/p99 must
be within 5 % of it, the stall included in the tail.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from harness.load import LoadRun
from harness.load.profile import parse_profile
from harness.load.schedule import arrivals
from harness.load.selftest_app import serve_selftest_app
from harness.platforms.base import Target
from harness.platforms.local.proxy import LinkFaults
from harness.platforms.local.threaded_link import ThreadedLink
from tests.load.test_accuracy import nearest_rank

pytestmark = pytest.mark.integration

DELAY_MS = 200.0
STALL_AT_S, STALL_S = 4.0, 1.0


def test_percentiles_match_ground_truth_through_the_fault_proxy(tmp_path: Path) -> None:
    profile = parse_profile({
        "name": "accuracy_proxy", "stages": [{"duration_s": 10, "rate": 50}], "max_users": 150,
        "operations": [{"name": "proxied", "path": "/delay?delay_ms=0&seq={seq}"}],
    }, "test")
    delayed = LinkFaults(latency_ms=DELAY_MS)
    stall: dict[str, float] = {}
    with serve_selftest_app() as server_url:
        upstream = urlsplit(server_url)
        with ThreadedLink((upstream.hostname, upstream.port), name="accuracy") as link:
            link.set_faults(delayed)

            def stall_link(start_epoch: float) -> None:
                time.sleep(max(0.0, start_epoch + STALL_AT_S - time.time()))
                stall["started"] = time.time()
                link.set_faults(delayed.model_copy(update={"blackhole": True}))
                time.sleep(STALL_S)
                link.set_faults(delayed)
                stall["ended"] = time.time()

            with LoadRun(profile, Target(base_url=link.url), out_dir=tmp_path) as run:
                assert run.start_epoch is not None
                staller = threading.Thread(target=stall_link, args=(run.start_epoch,), daemon=True)
                staller.start()
                result = run.wait()
                staller.join(timeout=10)
        answered = {int(seq): at for seq, at in httpx.get(server_url + "/_stats").json()["completions"].items()}
    schedule = list(arrivals(profile))
    assert result.requests == len(schedule) == len(answered) and result.dropped == 0
    assert stall["ended"] - stall["started"] == pytest.approx(STALL_S, abs=0.1)

    observed = [(answered[a.seq] - (run.start_epoch + a.offset_s)) * 1000 for a in schedule]
    assert nearest_rank(observed, 50) >= DELAY_MS  # the proxy's delay is really there
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
        truth = nearest_rank(observed, p)
        assert result.latency.metric(name) == pytest.approx(truth, rel=0.05), (name, result.latency, truth)
    assert result.latency.p99_ms > 700  # the one-second stall is in the tail, not averaged away
