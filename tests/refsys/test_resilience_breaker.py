"""Unit tests of the circuit breaker, retry backoff and answer cache (fake clock, no I/O)."""

from __future__ import annotations

import random
import statistics

import pytest

from fixtures.refsys.gateway.resilience import (
    BreakerState,
    CircuitBreaker,
    MemoryAnswerCache,
    RetryPolicy,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fail_times(breaker: CircuitBreaker, count: int) -> None:
    for _ in range(count):
        permit = breaker.allow_request()
        assert permit is not None, f"breaker rejected a call while {breaker.state.value}"
        breaker.record_failure(permit)


def test_full_cycle_closed_open_half_open_closed() -> None:
    clock = FakeClock()
    moves: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "gpu", failure_threshold=3, reset_s=5.0, reset_jitter=0.0, clock=clock,
        on_transition=lambda name, old, new: moves.append((old.value, new.value)),
    )
    fail_times(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    fail_times(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow_request() is None, "an open breaker short-circuits"
    clock.advance(4.99)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.02)
    assert breaker.state is BreakerState.HALF_OPEN
    trial = breaker.allow_request()
    assert trial is not None and trial.trial
    assert breaker.allow_request() is None, "only one trial call while half-open"
    breaker.record_success(trial)
    assert breaker.state is BreakerState.CLOSED
    assert moves == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_failed_trial_reopens_for_another_reset_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("gpu", failure_threshold=1, reset_s=2.0, reset_jitter=0.0, clock=clock)
    fail_times(breaker, 1)
    clock.advance(2.0)
    fail_times(breaker, 1)  # the trial
    assert breaker.state is BreakerState.OPEN
    assert breaker.reopen_at == pytest.approx(clock.now + 2.0)


def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker("gpu", failure_threshold=3, clock=FakeClock())
    fail_times(breaker, 2)
    permit = breaker.allow_request()
    assert permit is not None
    breaker.record_success(permit)
    fail_times(breaker, 2)
    assert breaker.state is BreakerState.CLOSED


def test_cancelled_trial_lets_the_next_call_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("gpu", failure_threshold=1, reset_s=1.0, reset_jitter=0.0, clock=clock)
    fail_times(breaker, 1)
    clock.advance(1.0)
    trial = breaker.allow_request()
    assert trial is not None
    breaker.abandon(trial)
    assert breaker.allow_request() is not None


def test_defect_no_circuit_breaker_never_opens() -> None:
    breaker = CircuitBreaker("gpu", failure_threshold=3, can_open=False, clock=FakeClock())
    fail_times(breaker, 50)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 50


def test_defect_breaker_never_half_open_stays_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("gpu", failure_threshold=1, reset_s=1.0, can_half_open=False, clock=clock)
    fail_times(breaker, 1)
    clock.advance(3600)
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow_request() is None


def reset_delays(jitter: float, replicas: int = 50) -> list[float]:
    delays = []
    for seed in range(replicas):
        clock = FakeClock()
        breaker = CircuitBreaker(
            "gpu", failure_threshold=1, reset_s=5.0, reset_jitter=jitter, clock=clock,
            rng=random.Random(seed),
        )
        fail_times(breaker, 1)
        delays.append(breaker.reopen_at - clock.now)
    return delays


def test_reset_time_is_jittered_upwards_only() -> None:
    delays = reset_delays(0.2)
    assert all(5.0 <= d <= 6.0 for d in delays)
    assert statistics.pstdev(delays) > 0.1, "replicas that opened together probe at different times"
    assert set(reset_delays(0.0)) == {5.0}, "without jitter every replica probes at the same moment"


def test_full_jitter_delays_stay_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(max_retries=4, base_s=0.05, cap_s=0.5, rng=random.Random(7))
    assert [policy.ceiling(n) for n in range(5)] == [0.05, 0.1, 0.2, 0.4, 0.5]
    samples = [policy.delay(1) for _ in range(500)]
    assert all(0.0 <= s <= 0.1 for s in samples)
    assert statistics.mean(samples) == pytest.approx(0.05, abs=0.01)  # U(0, 0.1)


def test_without_jitter_delays_are_exactly_the_ceiling() -> None:
    policy = RetryPolicy(max_retries=2, base_s=0.05, cap_s=0.5, jitter=False)
    assert [policy.delay(n) for n in range(3)] == [0.05, 0.1, 0.2]


async def test_memory_cache_expires_entries_after_ttl() -> None:
    clock = FakeClock()
    cache = MemoryAnswerCache(ttl_s=10.0, max_entries=2, clock=clock)
    await cache.set("a", {"label": "positive"})
    clock.advance(9.9)
    assert await cache.get("a") == {"label": "positive"}
    clock.advance(0.2)
    assert await cache.get("a") is None


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryAnswerCache(ttl_s=60.0, max_entries=2, clock=FakeClock())
    await cache.set("a", {"n": 1})
    await cache.set("b", {"n": 2})
    await cache.get("a")
    await cache.set("c", {"n": 3})
    assert await cache.get("b") is None
    assert await cache.get("a") == {"n": 1} and await cache.get("c") == {"n": 3}
