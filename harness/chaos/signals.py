"""When the system itself noticed a fault: readiness going red, the balancer marking a replica down.

The SLO tells when *users* felt a fault; these tell when the system saw it (together with the
breaker transitions the metrics sampler records). One thread per source polls at a fixed
interval and keeps every change of state with its wall-clock time: each replica's ``/readyz``
(503, or 200 naming a failing dependency), and the balancer's health flag per replica. A replica
that does not answer at all is "unreachable": that is the harness seeing it, not the system.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harness.chaos.pollers import Pollers


@dataclass(frozen=True)
class Signal:
    at: float  # wall clock (time.time()) of the poll that saw the change
    source: str  # "readiness" or "balancer"
    subject: str  # the replica
    state: str  # "ready", "not_ready 503 failing [database]", "unreachable", "healthy", "unhealthy"
    noticed: bool  # the system itself reports a problem

    def describe(self, since: float) -> str:
        return f"{self.at - since:.2f}s {self.source} {self.subject}: {self.state}"


def readiness_state(response: httpx.Response) -> tuple[str, bool]:
    """("ready" | "ready, failing [...]" | "not_ready 503 failing [...]", the system reports a problem)."""
    try:
        failing = list(response.json().get("failing") or [])
    except ValueError:
        failing = []
    if response.status_code == 503:
        return f"not_ready 503 failing {failing}", True
    if failing:
        return f"ready, failing {failing}", True
    return ("ready" if response.status_code == 200 else f"status {response.status_code}"), response.status_code != 200


class SystemSignals(Pollers):
    """Background pollers of readiness and the balancer; ``stop()`` joins them (bounded)."""

    def __init__(self, replicas: dict[str, str], lb_backends: Callable[[], dict[str, Any]] | None = None, *,
                 interval_s: float = 0.25, allow_hosts: tuple[str, ...] = ()) -> None:
        super().__init__(replicas, allow_hosts)
        self.lb_backends = lb_backends
        self.interval_s = interval_s
        self.events: list[Signal] = []
        self._last: dict[tuple[str, str], str] = {}
        for name, url in self.replicas.items():
            self._thread(self._poll_readiness, f"chaos-readiness-{name}", name, url)
        if lb_backends is not None:
            self._thread(self._poll_balancer, "chaos-balancer")

    def _note(self, source: str, subject: str, state: str, noticed: bool) -> None:
        with self._lock:
            if self._last.get((source, subject)) != state:
                self._last[(source, subject)] = state
                self.events.append(Signal(time.time(), source, subject, state, noticed))

    def _poll_readiness(self, name: str, url: str) -> None:
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while not self._stop.is_set():
                asked = time.time()
                try:
                    state, noticed = readiness_state(client.get(f"{url}/readyz"))
                except httpx.HTTPError:
                    state, noticed = "unreachable", False
                self._note("readiness", name, state, noticed)
                self._stop.wait(max(2 * self.interval_s - (time.time() - asked), 0.0))  # /readyz does real work

    def _poll_balancer(self) -> None:
        assert self.lb_backends is not None
        while not self._stop.is_set():
            asked = time.time()
            try:
                backends = self.lb_backends()
            except (httpx.HTTPError, KeyError, ValueError):
                backends = {}
            for name, info in backends.items():
                healthy = bool(info.get("healthy", True))
                replica = name.removeprefix("lb->")  # the balancer names each backend after its link
                self._note("balancer", replica, "healthy" if healthy else "unhealthy", not healthy)
            self._stop.wait(max(self.interval_s - (time.time() - asked), 0.0))

    def first_noticed(self, start: float, end: float) -> dict[str, Signal]:
        """Per source, the first change in [start, end] where the system reported a problem."""
        first: dict[str, Signal] = {}
        with self._lock:
            for event in self.events:
                if event.noticed and start <= event.at <= end and event.source not in first:
                    first[event.source] = event
        return first

    def between(self, start: float, end: float) -> list[Signal]:
        with self._lock:
            return [event for event in self.events if start <= event.at <= end]
