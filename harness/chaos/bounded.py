"""Hard timeouts for Chaos Toolkit activities (chaoslib records ``timeout`` but never enforces it).

Each activity body runs in a daemon thread; the caller waits at most ``timeout_s`` and then
raises ``ActivityFailed`` so the experiment moves on to its rollbacks. A thread cannot be
killed in Python, so a timed-out body may still finish later: the runner's final
``ChaosSession.heal()`` clears whatever such a late body applied.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from chaoslib.exceptions import ActivityFailed

F = TypeVar("F", bound=Callable[..., Any])
ACTIVITY_THREAD_PREFIX = "chaos-activity-"


def run_bounded(fn: Callable[..., Any], limit_s: float, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` and return its result, or raise ``ActivityFailed`` after ``limit_s`` seconds."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=body, name=f"{ACTIVITY_THREAD_PREFIX}{fn.__name__}", daemon=True)
    worker.start()
    worker.join(limit_s)
    if worker.is_alive():
        raise ActivityFailed(f"{fn.__name__} did not finish within its {limit_s:g}s hard timeout; "
                             "the runner will roll back and heal the platform")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def bounded(timeout_s: float) -> Callable[[F], F]:
    """Decorator: the activity never runs longer than ``timeout_s`` (signature kept for discovery)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return run_bounded(fn, timeout_s, *args, **kwargs)

        wrapper.hard_timeout_s = timeout_s  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return wrap
