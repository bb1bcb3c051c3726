"""InferenceClient against scripted upstreams (httpx.MockTransport): de-dup, retry timing,
error classification, defects. The same client against real processes is in
``test_resilience_live.py``."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry

from fixtures.refsys.gateway.inference_client import (
    InferenceClient,
    InferenceRejected,
    InferenceUnavailable,
)

GPU, CPU = "http://gpu.invalid", "http://cpu.invalid"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def answer(request: httpx.Request, label: str = "positive") -> httpx.Response:
    tier = "gpu" if request.url.host == "gpu.invalid" else "cpu"
    return httpx.Response(
        200, json={"label": label, "score": 0.9, "tier": tier, "device": tier, "model_version": "m1"}
    )


class Upstream:
    """Records every request (tier, monotonic time) and answers through ``respond``."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.calls: list[tuple[str, float]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(("gpu" if request.url.host == "gpu.invalid" else "cpu", time.monotonic()))
        return await self.respond(request)

    def count(self, tier: str) -> int:
        return sum(1 for t, _ in self.calls if t == tier)


def make_client(upstream: Upstream, *, defects: frozenset[str] = frozenset(), **kwargs: object) -> InferenceClient:
    options: dict[str, object] = {"timeout_s": 0.5, "breaker_failures": 5, "breaker_reset_s": 5.0}
    options.update(kwargs)
    return InferenceClient(
        GPU, CPU, registry=CollectorRegistry(), defects=defects,
        transport=httpx.MockTransport(upstream), **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def clients() -> AsyncIterator[list[InferenceClient]]:
    """Collects clients made by a test and closes them even when the test fails."""
    made: list[InferenceClient] = []
    yield made
    for client in made:
        await client.aclose()


def metric(client: InferenceClient, name: str, **labels: str) -> float:
    value = client.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_concurrent_identical_texts_share_one_upstream_call(clients: list[InferenceClient]) -> None:
    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return answer(request)

    upstream = Upstream(slow_answer)
    clients.append(client := make_client(upstream))
    results = await asyncio.gather(*(client.analyze("same text") for _ in range(20)))
    assert upstream.count("gpu") == 1
    assert len({(r.label, r.score, r.tier) for r in results}) == 1
    assert metric(client, "refsys_inference_dedup_joins_total") == 19
    await client.analyze("same text")  # finished calls are not reused: no stale sharing
    assert upstream.count("gpu") == 2


async def test_one_caller_giving_up_does_not_cancel_the_shared_call(clients: list[InferenceClient]) -> None:
    async def slow_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return answer(request)

    clients.append(client := make_client(Upstream(slow_answer)))
    impatient = asyncio.create_task(client.analyze("t"))
    patient = asyncio.create_task(client.analyze("t"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert (await patient).tier == "gpu"


async def retry_waits(defects: frozenset[str], replicas: int, clients: list[InferenceClient]) -> list[float]:
    """Start ``replicas`` clients failing together; how long does each wait before retrying?

    Measured per client (2nd request time - 1st), so a loaded machine that staggers the first
    requests does not blur the comparison: fixed delays make every wait the same. The base
    delay is 200 ms and the verdicts use quartiles, so tens of milliseconds of scheduling
    noise on a busy 2-core CI box move a few samples, not the verdict.
    """

    async def overloaded(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "no_capacity"})

    upstreams = [Upstream(overloaded) for _ in range(replicas)]
    made = [
        make_client(u, defects=defects | {"no_fallback"}, breaker_failures=100, retry_base_s=0.2, timeout_s=1.0)
        for u in upstreams
    ]
    clients.extend(made)
    results = await asyncio.gather(*(c.analyze("x") for c in made), return_exceptions=True)
    assert all(isinstance(r, InferenceUnavailable) for r in results)
    assert all(u.count("gpu") == 3 for u in upstreams), "1 attempt + 2 retries each"
    return [u.calls[1][1] - u.calls[0][1] for u in upstreams]


def interquartile_range(values: list[float]) -> float:
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q3 - q1


async def test_retries_are_spread_by_full_jitter(clients: list[InferenceClient]) -> None:
    waits = await retry_waits(frozenset(), 16, clients)
    iqr = interquartile_range(waits)  # U(0, 200 ms) has an IQR of 100 ms
    assert iqr > 0.04, f"16 clients' first retries: IQR {iqr * 1000:.1f} ms, waits {sorted(waits)}"
    assert min(waits) < 0.15, "full jitter draws from U(0, 200 ms): some wait much less"


async def test_defect_no_retry_jitter_retries_in_lockstep(clients: list[InferenceClient]) -> None:
    waits = await retry_waits(frozenset({"no_retry_jitter"}), 16, clients)
    iqr = interquartile_range(waits)
    assert min(waits) >= 0.2, "every client waits exactly the 200 ms base delay"
    assert iqr < 0.02, f"lockstep waits should be equal; IQR {iqr * 1000:.1f} ms, waits {sorted(waits)}"


async def test_rejected_input_is_raised_and_does_not_trip_the_breaker(clients: list[InferenceClient]) -> None:
    async def unprocessable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": "text too long"})

    upstream = Upstream(unprocessable)
    clients.append(client := make_client(upstream, breaker_failures=2))
    for _ in range(5):
        with pytest.raises(InferenceRejected, match="422"):
            await client.analyze("x" * 10)
    assert client.breaker_states() == {"gpu": "closed", "cpu": "closed"}
    assert upstream.count("gpu") == 5 and upstream.count("cpu") == 0, "4xx is neither retried nor failed over"


async def test_malformed_gpu_answer_counts_as_failure_and_falls_back(clients: list[InferenceClient]) -> None:
    async def drifted(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gpu.invalid":
            return httpx.Response(200, json={"sentiment": "positive"})
        return answer(request, "negative")

    clients.append(client := make_client(Upstream(drifted), retry_base_s=0.001))
    result = await client.analyze("hello")
    assert (result.tier, result.label, result.degraded) == ("cpu", "negative", False)
    assert metric(client, "refsys_inference_calls_total", tier="gpu", outcome="bad_response") == 3
    assert metric(client, "refsys_inference_fallbacks_total", to="cpu") == 1


async def test_defect_no_fallback_raises_instead_of_using_cpu(clients: list[InferenceClient]) -> None:
    async def gpu_down(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gpu.invalid":
            raise httpx.ConnectError("connection refused", request=request)
        return answer(request)

    clean, broken = Upstream(gpu_down), Upstream(gpu_down)
    clients.append(clean_client := make_client(clean, retry_base_s=0.001))
    clients.append(broken_client := make_client(broken, defects=frozenset({"no_fallback"}), retry_base_s=0.001))
    assert (await clean_client.analyze("hi")).tier == "cpu"
    with pytest.raises(InferenceUnavailable, match="no_fallback"):
        await broken_client.analyze("hi")
    assert broken.count("cpu") == 0


async def test_breaker_state_gauge_and_transition_counter(clients: list[InferenceClient]) -> None:
    now = [0.0]

    async def gpu_fails(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500) if request.url.host == "gpu.invalid" else answer(request)

    clients.append(
        client := make_client(
            Upstream(gpu_fails), breaker_failures=3, breaker_reset_s=1.0, retry_base_s=0.001,
            clock=lambda: now[0],
        )
    )
    gauge = "refsys_breaker_state"
    assert metric(client, gauge, tier="gpu") == 0
    await client.analyze("a")  # 3 failed attempts open the breaker
    assert metric(client, gauge, tier="gpu") == 1
    now[0] += 1.5
    assert metric(client, gauge, tier="gpu") == 2, "a scrape shows the due half-open state"
    assert metric(client, "refsys_breaker_transitions_total", tier="gpu", from_state="open", to_state="half_open") == 1
    assert metric(client, gauge, tier="cpu") == 0


async def test_the_scrape_that_performs_a_due_half_open_also_counts_it(clients: list[InferenceClient]) -> None:
    """The chaos sampler times transitions to one scrape interval because of this order."""
    now = [0.0]

    async def gpu_fails(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500) if request.url.host == "gpu.invalid" else answer(request)

    clients.append(client := make_client(Upstream(gpu_fails), breaker_failures=3, breaker_reset_s=1.0,
                                         retry_base_s=0.001, clock=lambda: now[0]))
    await client.analyze("a")
    now[0] += 1.5
    scrape = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in client.registry.collect() for s in family.samples}
    assert scrape[("refsys_breaker_state", (("tier", "gpu"),))] == 2
    half_opened = ("refsys_breaker_transitions_total", (("from_state", "open"), ("tier", "gpu"), ("to_state", "half_open")))
    assert scrape[half_opened] == 1, "the transition this scrape performed is in the same scrape"


async def test_breaker_reset_is_jittered_unless_no_retry_jitter(clients: list[InferenceClient]) -> None:
    """Replicas whose breakers open at the same moment: when do they probe again?"""

    async def gpu_fails(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if request.url.host == "gpu.invalid" else answer(request)

    async def half_open_after_reset(defects: frozenset[str]) -> int:
        now = [0.0]
        made = [
            make_client(Upstream(gpu_fails), defects=defects, breaker_failures=1, breaker_reset_s=10.0,
                        clock=lambda: now[0])
            for _ in range(20)
        ]
        clients.extend(made)
        await asyncio.gather(*(c.analyze("x") for c in made))
        now[0] = 10.0 * 1.1  # 10% past the configured reset time
        return sum(c.breaker_states()["gpu"] == "half_open" for c in made)

    assert await half_open_after_reset(frozenset({"no_retry_jitter"})) == 20, "all probe together"
    jittered = await half_open_after_reset(frozenset())
    assert 0 < jittered < 20, f"{jittered}/20 jittered replicas probed within 10% of the reset time"


async def test_closed_client_frees_its_metric_names(clients: list[InferenceClient]) -> None:
    registry = CollectorRegistry()

    async def ok(request: httpx.Request) -> httpx.Response:
        return answer(request)

    first = InferenceClient(GPU, CPU, registry=registry, defects=frozenset(), transport=httpx.MockTransport(Upstream(ok)))
    await first.aclose()
    second = InferenceClient(GPU, CPU, registry=registry, defects=frozenset(), transport=httpx.MockTransport(Upstream(ok)))
    clients.append(second)
    assert (await second.analyze("hello")).tier == "gpu"
