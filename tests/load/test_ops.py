"""Observability claims around a load run: the request counter and duration histogram must grow by what was sent."""

from __future__ import annotations

from harness.load.ops import Scrape, metrics_checks, scrape
from harness.model import Status
from tests.security.notes_app import make_app, serve


def statuses(before: Scrape, after: Scrape, sent: int) -> dict[str, Status]:
    return {c.id: c.status for c in metrics_checks("smoke", before, after, sent)}


def test_a_counter_and_a_histogram_that_grew_by_what_was_sent_pass():
    before = Scrape(counters={"app_http_requests": 10}, histograms={"app_request_duration_seconds": 10})
    after = Scrape(counters={"app_http_requests": 310}, histograms={"app_request_duration_seconds": 305})
    assert statuses(before, after, 300) == {"load.smoke.metrics.requests_counted": Status.PASS,
                                            "load.smoke.metrics.latency_histogram": Status.PASS}


def test_metrics_that_count_a_fraction_of_the_traffic_fail():
    """A stub /metrics (constant numbers), or one replica of two scraped, does not count what was sent."""
    before = Scrape(counters={"app_http_requests": 10}, histograms={"app_request_duration_seconds": 10})
    half = Scrape(counters={"app_http_requests": 160}, histograms={"app_request_duration_seconds": 10})
    checks = {c.id: c for c in metrics_checks("smoke", before, half, 300)}
    assert checks["load.smoke.metrics.requests_counted"].status is Status.FAIL
    assert "best: app_http_requests +150" in checks["load.smoke.metrics.requests_counted"].message
    assert checks["load.smoke.metrics.latency_histogram"].status is Status.FAIL


def test_a_system_without_metrics_fails_with_what_the_scrape_got():
    with serve(make_app()) as base_url:  # the notes app has no /metrics
        after = scrape([f"{base_url}/metrics"], [])
    checks = metrics_checks("smoke", Scrape(), after, 100)
    assert all(c.status is Status.FAIL for c in checks)
    assert "HTTP 404" in checks[0].message
