"""Observability claims checked around a load run: /metrics counts what was sent, health endpoints answer.

The load suite knows exactly how many requests it sent, so "HTTP requests tracked" and "request duration
histograms" are checked by scraping before and after the run: some request counter (and some duration
histogram) must have grown by at least ``MIN_COUNTED`` of the requests sent. Scrapes go to every URL in
``Target.extra["metrics_urls"]`` (one per replica behind a balancer) or to ``Target.metrics_url``, and are
parsed with prometheus_client's parser. Run only for claims that name these checks (claim-only), so a
system without /metrics is not judged on it unless its report says it has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.model import Check, Evidence, Severity, Status
from harness.safety import ensure_allowed

MIN_COUNTED = 0.9  # of the requests the run sent (scrapes of idle replicas and the load's setup add some more)
HEALTH_PATHS = ("/healthz", "/readyz", "/livez", "/health", "/ready", "/health/live", "/health/ready")


@dataclass
class Scrape:
    """Totals per metric family across every replica scraped: counters (``_total``) and histograms (``_count``)."""

    counters: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def scrape(urls: list[str], allow_hosts: list[str]) -> Scrape:
    out = Scrape()
    for url in urls:
        ensure_allowed(url, allow_hosts)
        try:
            response = httpx.get(url, timeout=5)
            families = list(text_string_to_metric_families(response.text)) if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError) as exc:
            out.problems.append(f"{url}: {str(exc).splitlines()[0][:120]}")
            continue
        if response.status_code != 200:
            out.problems.append(f"{url}: HTTP {response.status_code}")
        for family in families:
            suffix = "_total" if family.type == "counter" else "_count" if family.type == "histogram" else None
            if suffix is None:
                continue
            total = sum(s.value for s in family.samples if s.name.endswith(suffix))
            into = out.counters if family.type == "counter" else out.histograms
            into[family.name] = into.get(family.name, 0.0) + total
    return out


def metrics_urls(extra: dict[str, object], metrics_url: str | None) -> list[str]:
    urls = extra.get("metrics_urls")
    return [str(u) for u in urls] if isinstance(urls, list) and urls else ([metrics_url] if metrics_url else [])


def metrics_checks(profile: str, before: Scrape, after: Scrape, sent: int) -> list[Check]:
    """Requests counted by a request counter, and timed by a duration histogram, as many as were sent."""
    out = []
    for kind, name_pattern, title in (("requests_counted", r"request", "a request counter counts the requests sent"),
                                      ("latency_histogram", r"duration|latency|seconds", "a duration histogram "
                                       "observes the requests sent")):
        totals_after = after.counters if kind == "requests_counted" else after.histograms
        totals_before = before.counters if kind == "requests_counted" else before.histograms
        grown = {name: round(total - totals_before.get(name, 0.0)) for name, total in totals_after.items()
                 if re.search(name_pattern, name)}
        best = max(grown.items(), key=lambda item: item[1], default=(None, 0))
        evidence = Evidence(measured={"requests_sent": sent, "grew_by": grown, "best": best[0],
                                      "problems": after.problems})
        if after.problems and not totals_after:
            status, message = Status.FAIL, f"no Prometheus metrics could be read: {'; '.join(after.problems)}"
        elif best[1] >= sent * MIN_COUNTED:
            status, message = Status.PASS, f"{best[0]} grew by {best[1]} for {sent} requests sent"
        else:
            status, message = Status.FAIL, (f"no {'counter' if kind == 'requests_counted' else 'histogram'} "
                                            f"matching /{name_pattern}/ grew by {MIN_COUNTED:.0%} of the {sent} "
                                            f"requests sent (best: {best[0]} +{best[1]})")
        out.append(Check(id=f"load.{profile}.metrics.{kind}", suite="load", category="observability", title=title,
                         severity=Severity.MEDIUM, status=status, message=message, evidence=evidence))
    return out


def health_check(profile: str, base_url: str, allow_hosts: list[str]) -> Check:
    """At least one of the usual health endpoints answers 2xx on the running system."""
    ensure_allowed(base_url, allow_hosts)
    answers: dict[str, int | str] = {}
    for path in HEALTH_PATHS:
        try:
            answers[path] = httpx.get(base_url.rstrip("/") + path, timeout=5).status_code
        except httpx.HTTPError as exc:
            answers[path] = type(exc).__name__
    healthy = [p for p, status in answers.items() if isinstance(status, int) and 200 <= status < 300]
    return Check(id=f"load.{profile}.health.endpoints", suite="load", category="observability",
                 title="health endpoints answer 2xx on the running system", severity=Severity.MEDIUM,
                 status=Status.PASS if healthy else Status.FAIL,
                 message=f"{', '.join(healthy)} answered 2xx" if healthy else
                 f"none of {', '.join(HEALTH_PATHS)} answered 2xx ({answers})",
                 evidence=Evidence(measured={"answers": answers}))
