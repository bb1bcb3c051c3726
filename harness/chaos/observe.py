"""What the chaos runner sees besides the load series: each gateway replica's ``/metrics``.

A sampler thread scrapes every replica directly (not through the balancer) every
``interval_s`` and turns counter deltas into events: breaker transitions with their time,
analyses answered per tier and whether degraded, upstream inference calls by outcome.
Scraping also makes a due OPEN -> HALF_OPEN transition happen (the gateway performs it
when the state is read), so transition times are exact to one interval.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.chaos.pollers import Pollers

TRANSITIONS = "refsys_breaker_transitions_total"
ANALYSES = "refsys_gateway_analyses_total"
CALLS = "refsys_inference_calls_total"
BREAKER_STATE = "refsys_breaker_state"
STATE_NAMES = {0: "closed", 1: "open", 2: "half_open"}


@dataclass(frozen=True)
class Transition:
    at: float  # wall clock (time.time()) of the scrape that saw it
    after: float  # the replica's previous successful scrape: it happened in (after, at]
    replica: str
    tier: str
    from_state: str
    to_state: str


@dataclass
class SecondCounts:
    """Per wall-clock second, summed over replicas."""

    analyses: int = 0
    degraded: int = 0
    by_tier: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "gpu:ok" -> n


def scrape(url: str, timeout_s: float = 0.5, client: httpx.Client | None = None
           ) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text at ``url`` as {(sample name, sorted labels): value}."""
    response = (client.get(url, timeout=timeout_s) if client is not None
                else httpx.get(url, timeout=timeout_s, trust_env=False, verify=False))
    response.raise_for_status()
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


class MetricsSampler(Pollers):
    """Background scraper of the gateway replicas; ``stop()`` joins it (bounded)."""

    def __init__(self, replicas: dict[str, str], *, interval_s: float = 0.1,
                 allow_hosts: tuple[str, ...] = ()) -> None:
        super().__init__(replicas, allow_hosts)
        self.interval_s = interval_s
        self.transitions: list[Transition] = []
        self.seconds: dict[int, SecondCounts] = defaultdict(SecondCounts)
        self.states: dict[str, dict[str, str]] = {}  # replica -> tier -> last seen state
        self.scrape_errors: dict[str, int] = defaultdict(int)
        self._last: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        self._asked: dict[str, float] = {}  # replica -> when the previous scrape was sent
        # one thread per replica: a slow or hung replica must not delay the others' timestamps
        for name, url in self.replicas.items():
            self._thread(self._loop, f"chaos-sampler-{name}", name, url)

    def _loop(self, name: str, url: str) -> None:
        with httpx.Client(trust_env=False) as client:
            while not self._stop.is_set():
                asked = time.time()
                try:
                    values = scrape(f"{url}/metrics", client=client)
                except (httpx.HTTPError, ValueError):
                    with self._lock:
                        self.scrape_errors[name] += 1  # killed, paused or restarting: counters resume later
                else:
                    with self._lock:
                        self._ingest(name, values, asked, time.time())
                self._stop.wait(max(self.interval_s - (time.time() - asked), 0.0))

    def _ingest(self, replica: str, values: dict, asked: float, at: float) -> None:
        previous = self._last.get(replica, {})
        first_scrape = replica not in self._last
        self._last[replica] = values
        # the gateway reads its breaker states (performing a due OPEN -> HALF_OPEN) before it writes the
        # transition counters, so a transition seen now happened after the previous scrape was sent
        after = self._asked.get(replica, asked)
        self._asked[replica] = asked
        bucket = self.seconds[int(at)]
        for (name, labels), value in values.items():
            if name not in (TRANSITIONS, ANALYSES, CALLS):
                if name == BREAKER_STATE:
                    self.states.setdefault(replica, {})[dict(labels)["tier"]] = STATE_NAMES.get(int(value), "?")
                continue
            before = previous.get((name, labels))
            if first_scrape:
                continue  # the baseline: counts before the sampler started are not events
            # a restarted replica starts its counters at zero again
            delta = int(value - before) if before is not None and value >= before else int(value)
            if delta <= 0:
                continue
            label = dict(labels)
            if name == TRANSITIONS:
                self.transitions.extend(Transition(at, after, replica, label["tier"], label["from_state"], label["to_state"])
                                        for _ in range(delta))
            elif name == ANALYSES:
                bucket.analyses += delta
                bucket.by_tier[label["tier"]] += delta
                if label["degraded"] == "true":
                    bucket.degraded += delta
            else:
                bucket.calls[f"{label['tier']}:{label['outcome']}"] += delta

    # -- queries (thread-safe snapshots) ---------------------------------------------------
    def transitions_between(self, start: float, end: float) -> list[Transition]:
        with self._lock:
            return [t for t in self.transitions if start <= t.at <= end]

    def counts_between(self, start: float, end: float) -> SecondCounts:
        total = SecondCounts()
        with self._lock:
            for second, counts in self.seconds.items():
                if start <= second < end:
                    total.analyses += counts.analyses
                    total.degraded += counts.degraded
                    for tier, n in counts.by_tier.items():
                        total.by_tier[tier] += n
                    for key, n in counts.calls.items():
                        total.calls[key] += n
        return total

    def degraded_by_second(self) -> dict[int, tuple[int, int]]:
        """wall second -> (analyses, degraded)."""
        with self._lock:
            return {second: (c.analyses, c.degraded) for second, c in self.seconds.items()}


# several transitions can land in one scrape: replay them in the only order the breaker allows
_ORDER_IN_ONE_SCRAPE = {("open", "half_open"): 0, ("half_open", "closed"): 1, ("half_open", "open"): 1,
                        ("closed", "open"): 2}


def open_durations(transitions: list[Transition], tier: str) -> list[tuple[float, float]]:
    """Bounds (shortest, longest) of how long each OPEN phase of ``tier`` lasted (the breaker's reset delay).

    Each transition is only known to lie between two scrapes, so a phase's duration is an interval.
    """
    durations: list[tuple[float, float]] = []
    opened: dict[str, Transition] = {}
    for event in sorted(transitions, key=lambda e: (e.at, _ORDER_IN_ONE_SCRAPE.get((e.from_state, e.to_state), 1))):
        if event.tier != tier:
            continue
        if event.to_state == "open":
            opened[event.replica] = event
        elif event.from_state == "open" and event.to_state == "half_open" and event.replica in opened:
            start = opened.pop(event.replica)
            durations.append((max(event.after - start.at, 0.0), event.at - start.after))
    return durations
