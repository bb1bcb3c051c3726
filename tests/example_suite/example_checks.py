"""An example suite: real checks (and a finding) against whatever ``--target-url`` points at.

It uses only the public API a third-party suite has: the ``harness_target``, ``record_check`` and
``record_finding`` fixtures and the ``harness.model`` classes.

Not collected by the repo's own test run (the file name does not start with ``test_``);
tests/test_pytest_plugin.py runs it explicitly in a child pytest against tests/example_suite/server.py.
"""

from __future__ import annotations

import os
import time

import httpx
import pytest

from harness.model import Evidence, Sample

pytestmark = pytest.mark.harness_suite("example")


def test_health_answers_200(harness_target, record_check):
    response = httpx.get(f"{harness_target.base_url}/healthz", timeout=5)
    record_check(
        id="example.http.health",
        title="/healthz answers 200",
        status="pass" if response.status_code == 200 else "fail",
        severity="high",
        category="availability",
        evidence=Evidence(
            measured={"status_code": response.status_code},
            samples=[Sample(request="GET /healthz", status_code=response.status_code, response_excerpt=response.text[:200])],
            curl=f"curl -i {harness_target.base_url}/healthz",
        ),
    )


def test_nosniff_header(harness_target, record_check, record_finding):
    response = httpx.get(f"{harness_target.base_url}/items", timeout=5)
    value = response.headers.get("x-content-type-options")
    check = record_check(
        id="example.headers.nosniff",
        title="X-Content-Type-Options is nosniff",
        status="pass" if value == "nosniff" else "fail",
        severity="medium",
        category="headers",
        message="" if value == "nosniff" else f"header is {value!r}, expected 'nosniff'",
        owasp=["API8:2023"],
        cwe=["CWE-693"],
        evidence=Evidence(measured={"x-content-type-options": value}, curl=f"curl -i {harness_target.base_url}/items"),
    )
    if check.is_failure:  # a defect with a stable identity: the check and the operation, never the time
        record_finding(check_id=check.id, title=check.message, severity=check.severity, location="GET /items",
                       owasp=check.owasp, cwe=check.cwe, evidence=check.evidence)


def test_latency_p95(harness_target, record_check):
    durations = []
    with httpx.Client(timeout=5) as client:
        for _ in range(20):
            start = time.perf_counter()
            client.get(f"{harness_target.base_url}/items")
            durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    p95 = durations[int(0.95 * (len(durations) - 1))]
    limit = float(os.environ.get("EXAMPLE_P95_LIMIT_MS", "200"))
    record_check(
        id="example.latency.p95",
        title=f"p95 of 20 sequential requests < {limit:g} ms",
        status="pass" if p95 < limit else "fail",
        severity="medium",
        category="latency",
        evidence=Evidence(measured={"p95_ms": round(p95, 2), "limit_ms": limit, "samples": len(durations)}),
    )


def test_missing_route_is_404(harness_target, record_check):
    response = httpx.get(f"{harness_target.base_url}/definitely-not-here", timeout=5)
    record_check(
        id="example.http.unknown_route",
        title="unknown routes answer 404",
        status="pass" if response.status_code == 404 else "fail",
        severity="low",
        evidence=Evidence(measured={"status_code": response.status_code}),
    )


@pytest.mark.skipif(not os.environ.get("EXAMPLE_SLOW_S"), reason="only for the interrupt test")
def test_slow_probe_loop(harness_target, record_check):
    """Keeps probing for EXAMPLE_SLOW_S seconds, so a test can interrupt the run mid-way."""
    deadline = time.monotonic() + float(os.environ["EXAMPLE_SLOW_S"])
    rounds = 0
    while time.monotonic() < deadline and rounds < 10_000:
        httpx.get(f"{harness_target.base_url}/healthz", timeout=5)
        rounds += 1
        time.sleep(0.1)
    record_check(id="example.http.slow_loop", title="slow loop finished", status="pass",
                 evidence=Evidence(measured={"rounds": rounds}))
