"""The process-wide handle Chaos Toolkit activities use to find the platform they hurt.

chaoslib calls activities as plain functions with only the experiment's arguments, so the
runner installs a ``ChaosSession`` here before running an experiment. In a standalone
``chaos run`` (no runner in the process) the harness control (``harness.chaos.control``)
installs one attached to the platform ``harness up`` started, through its state file
(``HARNESS_STATE_DIR``, default ``.harness``), with the experiment's own ``harness`` extension.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.errors import PlatformError
from harness.events import Event, FaultHealed, FaultInjected
from harness.model import FaultInjection
from harness.platforms.base import Target


def component_port(platform: Any, component: str) -> int:
    """The loopback port a component listens on (local or attached platform)."""
    if hasattr(platform, "port"):
        return int(platform.port(component))
    try:
        return int(platform.supervisor.states[component].port)
    except (AttributeError, KeyError):
        raise PlatformError(f"platform {getattr(platform, 'name', '?')!r} does not expose component "
                            f"{component!r}'s port; chaos on this platform needs a local platform") from None


def gateway_replicas(platform: Any) -> list[str]:
    return sorted(name for name in platform.components() if name.startswith("gateway-"))


def replica_urls(platform: Any) -> dict[str, str]:
    """Each gateway replica's own loopback URL (the metrics sampler and signals poll them directly)."""
    return {name: f"http://127.0.0.1:{component_port(platform, name)}" for name in gateway_replicas(platform)}


@dataclass
class ChaosSession:
    platform: Any  # LocalPlatform or AttachedLocalPlatform (duck-typed fault API)
    target: Target
    experiment: str | None = None
    injections: list[FaultInjection] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)  # probes leave their measurements here
    sampler: Any = None  # MetricsSampler while an experiment runs
    writes: Any = None  # WriteTracker while an experiment runs
    load: Any = None  # LoadRun while an experiment runs
    extension: Any = None  # the experiment's HarnessExtension (SLO limits, expectations)
    left_by_rollbacks: list[str] | None = None  # what the first heal still found open (None: never healed)
    emit: Callable[[Event], None] | None = None  # the run's events: fault injected / healed, as they happen
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def replica_urls(self) -> dict[str, str]:
        return replica_urls(self.platform)

    # -- the injection timeline ------------------------------------------------------------
    def injected(self, fault: str, target: str) -> FaultInjection:
        injection = FaultInjection(fault=fault, target=target, started_at=datetime.now(UTC),
                                   experiment=self.experiment)
        with self._lock:
            self.injections.append(injection)
        if self.emit is not None:
            self.emit(FaultInjected(injection=injection.model_copy()))
        return injection

    def rolled_back(self, target: str, fault: str | None = None) -> None:
        """Close every open injection on ``target`` (of ``fault``, if given)."""
        now = datetime.now(UTC)
        healed = []
        with self._lock:
            for injection in self.injections:
                if injection.ended_at is None and injection.target == target and fault in (None, injection.fault):
                    injection.ended_at = now
                    injection.rolled_back = True
                    healed.append(injection.model_copy())
        if self.emit is not None:
            for injection in healed:
                self.emit(FaultHealed(injection=injection))

    def open_injections(self) -> list[FaultInjection]:
        with self._lock:
            return [i for i in self.injections if i.ended_at is None]

    # -- the live steady state -------------------------------------------------------------
    def require_load(self, activity: str) -> None:
        """Raise a clear error when an activity that judges the steady state runs without background load."""
        if self.load is None or self.extension is None:
            raise PlatformError(
                f"{activity} judges the SLO over the harness's background load, and none runs in this process: "
                f"declare the harness control in the experiment (controls: [{{name: harness, provider: {{type: python, "
                f"module: harness.chaos.control}}}}]) or run it through `harness run --suite chaos`")

    def rows(self) -> list[Any]:
        """Per-second load rows published so far ([] before the load started)."""
        return self.load.live() if self.load is not None else []

    def load_time(self, wall: float | None = None) -> float:
        """Seconds since the load's common start (the series' time base)."""
        start = getattr(self.load, "start_epoch", None) or time.time()
        return (wall if wall is not None else time.time()) - start

    def fault_end_s(self) -> float:
        """When the last rolled-back fault ended, in load seconds (now, if none has ended)."""
        ended = [i.ended_at.timestamp() for i in self.injections if i.ended_at is not None]
        return self.load_time(max(ended)) if ended else self.load_time()

    def degraded_at(self, t: float) -> tuple[int, int]:
        """(analyses, degraded) answered during load second ``t``."""
        return self.degraded_between(t, t + 1)

    def degraded_between(self, start_s: float, end_s: float) -> tuple[int, int]:
        if self.sampler is None or self.load is None or self.load.start_epoch is None:
            return (0, 0)
        base = self.load.start_epoch
        counts = self.sampler.counts_between(round(base + start_s), round(base + end_s))
        return (counts.analyses, counts.degraded)

    def observe(self, key: str, value: Any) -> None:
        with self._lock:
            self.observations.setdefault(key, []).append({"at": time.time(), **value} if isinstance(value, dict)
                                                         else {"at": time.time(), "value": value})

    def heal(self) -> list[str]:
        """Safety net after rollbacks: clear every fault the platform still has; returns what was open.

        The first heal (the experiment's ``heal_platform`` rollback, or the runner's own heal when the
        experiment has none) runs after every specific rollback: what it still finds open is what the
        experiment's rollbacks left behind, kept in ``left_by_rollbacks``. Later heals change nothing there.
        """
        still_open = [f"{i.fault} on {i.target}" for i in self.open_injections()]
        if self.left_by_rollbacks is None:
            self.left_by_rollbacks = still_open
        self.platform.clear_all_faults()
        for injection in self.open_injections():
            self.rolled_back(injection.target)
        return still_open


_current: ChaosSession | None = None


def installed_session() -> ChaosSession | None:
    """The session a runner (or the standalone control) installed, if any; never attaches."""
    return _current


def current_session() -> ChaosSession:
    """The installed session, or one attached to the platform `harness up` left running (faults only:
    without the harness control there is no background load, so SLO probes refuse to judge)."""
    global _current
    if _current is None:
        from harness.chaos.attach import AttachedLocalPlatform

        platform = AttachedLocalPlatform()
        _current = ChaosSession(platform=platform, target=platform.target)
    return _current


@contextmanager
def use_session(session: ChaosSession) -> Iterator[ChaosSession]:
    """Install ``session`` as the process-wide handle for the duration of one experiment."""
    global _current
    previous, _current = _current, session
    try:
        yield session
    finally:
        _current = previous
