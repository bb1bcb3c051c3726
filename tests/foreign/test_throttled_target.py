"""A target behind 5 requests/min per client address: throttling is a state, not a verdict.

The tickets app with every defect switched on sits behind the limiter. The security suite must finish within
its budget, and no check may pass on a 429: each check about a listed defect either found it (fail) or says
it could not decide (inconclusive, with the reason). Without the limiter the same run finds all of them
(``test_found_from_target_file``), so a pass here could only have come from a 429.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.foreign import tickets_app
from tests.foreign.conftest import checks, run_harness
from tests.foreign.test_found_from_target_file import passes_on_throttled_evidence

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BUDGET_S = 180  # smoke: at most 60 s of waiting out Retry-After, plus the probes themselves


def test_no_check_passes_on_throttled_evidence(tmp_path: Path) -> None:
    started = time.monotonic()
    app = tickets_app.make_app(set(tickets_app.DEFECTS), ttl_s=20, rate_limit=(5, 60.0))
    with tickets_app.serve(app) as base_url:
        code, report, output = run_harness(tickets_app.target_file(base_url), tmp_path, "--suite", "security")
    elapsed = time.monotonic() - started
    assert report, output
    assert elapsed < BUDGET_S, f"took {elapsed:.0f} s"
    assert code in (1, 6), output  # a proven defect, or inconclusive: never ready
    assert passes_on_throttled_evidence(report) == []
    defect_checks = {d["check"] for d in tickets_app.DEFECTS.values()}
    passed = [f"{c['id']}: {c['message']}" for c in checks(report) if c["id"] in defect_checks and c["status"] == "pass"]
    assert passed == [], "a defect's check passed behind the limiter:\n" + "\n".join(passed)
    inconclusive = [c for c in checks(report) if c["status"] == "inconclusive"]
    assert inconclusive and all("throttled" in c["message"] or "429" in c["message"] for c in inconclusive)
    assert report["verdict"] in ("not_ready", "inconclusive")
