"""A trial starts from a healthy system: every replica ready on every dependency, the balancer seeing them all.

Experiments run one after another; the previous one's heal restarts what it killed, but a
restarted PostgreSQL or Redis takes a moment before every replica's pool reconnects. Starting
the next trial's load before that measures the last experiment's tail, not this one's steady
state (and the load generator's login meets a 503).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from harness.chaos.signals import readiness_state
from harness.errors import PlatformError
from harness.safety import ensure_allowed


def not_ready(replicas: dict[str, str], lb_backends: Callable[[], dict[str, Any]] | None = None) -> list[str]:
    """What keeps the system from being healthy now (empty: healthy): failing readiness checks, unhealthy backends."""
    problems: list[str] = []
    for name, url in replicas.items():
        try:
            state, problem = readiness_state(httpx.get(f"{url}/readyz", timeout=1.0, trust_env=False, verify=False))
        except (httpx.HTTPError, AttributeError) as exc:  # AttributeError: a JSON body that is not an object
            state, problem = type(exc).__name__, True
        if problem:
            problems.append(f"{name} /readyz: {state}")
    if lb_backends is not None:
        try:
            unhealthy = sorted(name for name, info in lb_backends().items() if not info.get("healthy", True))
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            unhealthy = [f"? ({type(exc).__name__})"]
        problems += [f"balancer marks {name} unhealthy" for name in unhealthy]
    return problems


def wait_until_healthy(replicas: dict[str, str], lb_backends: Callable[[], dict[str, Any]] | None = None, *,
                       timeout_s: float = 30.0, allow_hosts: tuple[str, ...] = (),
                       halted: Callable[[], bool] = lambda: False) -> float:
    """Poll until ``not_ready`` is empty (or ``halted()``); seconds waited. PlatformError naming what stayed
    unhealthy otherwise."""
    for url in replicas.values():
        ensure_allowed(url, allow_hosts)
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        problems = not_ready(replicas, lb_backends)
        if not problems or halted():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise PlatformError(f"the system is not healthy {timeout_s:.0f} s before the experiment, so it has "
                                f"no steady state to start from: {'; '.join(problems)}. Check the components' "
                                "logs (harness status) or restart it (harness down && harness up).")
        time.sleep(0.2)
