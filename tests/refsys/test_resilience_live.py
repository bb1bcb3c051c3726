"""InferenceClient against real inference processes (and a real redis-server) on loopback.

Outages are real: GPU loss through ``POST /admin/gpus``, a stopped process (connection
refused), a port nobody listens on, a tier slower than the client's timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from fixtures.refsys.gateway.inference_client import (
    InferenceClient,
    InferenceUnavailable,
)
from fixtures.refsys.gateway.resilience import RedisAnswerCache
from fixtures.refsys.inference.model import predict
from fixtures.refsys.inference.process import InferenceProcess, free_port

pytestmark = pytest.mark.integration

RESET_S = 0.3  # breaker reset; jitter makes it at most 0.36 s


@pytest.fixture(scope="module")
def gpu() -> Iterator[InferenceProcess]:
    with InferenceProcess("gpu") as process:
        yield process


@pytest.fixture(scope="module")
def cpu() -> Iterator[InferenceProcess]:
    with InferenceProcess("cpu") as process:
        yield process


@pytest.fixture
async def clients() -> AsyncIterator[list[InferenceClient]]:
    made: list[InferenceClient] = []
    yield made
    for client in made:
        await client.aclose()


@pytest.fixture
def new_client(clients: list[InferenceClient]):  # type: ignore[no-untyped-def]
    def make(gpu_url: str, cpu_url: str, defects: frozenset[str] = frozenset(), **options: object) -> InferenceClient:
        settings: dict[str, object] = {
            "timeout_s": 1.0, "breaker_failures": 3, "breaker_reset_s": RESET_S, "retry_base_s": 0.005,
        }
        settings.update(options)
        client = InferenceClient(gpu_url, cpu_url, registry=CollectorRegistry(), defects=defects, **settings)  # type: ignore[arg-type]
        clients.append(client)
        return client

    return make


@contextmanager
def gpus_lost(process: InferenceProcess) -> Iterator[None]:
    """GPU loss on a running inference process; the GPUs come back on exit, whatever happens."""
    set_gpus(process, 0)
    try:
        yield
    finally:
        set_gpus(process, 2)


def set_gpus(process: InferenceProcess, count: int) -> None:
    response = httpx.post(process.url + "/admin/gpus", json={"count": count}, trust_env=False)
    response.raise_for_status()


def served(process: InferenceProcess, outcome: str = "ok") -> float:
    text = httpx.get(process.url + "/metrics", trust_env=False).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "refsys_inference_requests_total" and sample.labels["outcome"] == outcome:
                return sample.value
    return 0.0


def metric(client: InferenceClient, name: str, **labels: str) -> float:
    return client.registry.get_sample_value(name, labels) or 0.0


async def wait_for_state(client: InferenceClient, tier: str, state: str, within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while client.breaker_states()[tier] != state:
        if time.monotonic() > deadline:
            raise AssertionError(f"{tier} breaker still {client.breaker_states()[tier]}, expected {state}")
        await asyncio.sleep(0.02)


async def test_healthy_tiers_answer_from_gpu_with_the_models_label(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(gpu.url, cpu.url)
    result = await client.analyze("what a wonderful day")
    expected = predict("what a wonderful day")
    assert (result.label, result.score, result.tier, result.degraded) == (expected.label, expected.score, "gpu", False)
    assert await client.readiness() == {"inference-gpu": True, "inference-cpu": True}


async def test_breaker_cycle_through_gpu_loss_and_recovery(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(gpu.url, cpu.url, breaker_reset_s=1.0)
    with gpus_lost(gpu):
        assert await client.readiness() == {"inference-gpu": False, "inference-cpu": True}
        first = await client.analyze("during the outage 1")
        assert (first.tier, first.degraded) == ("cpu", False)
        assert client.breaker_states()["gpu"] == "open", "3 failed attempts (1 + 2 retries) open it"
        refused_before = served(gpu, "no_gpu")
        assert (await client.analyze("during the outage 2")).tier == "cpu"
        assert served(gpu, "no_gpu") == refused_before, "an open breaker sends nothing to the GPU tier"
        assert metric(client, "refsys_inference_calls_total", tier="gpu", outcome="short_circuited") == 1
        await wait_for_state(client, "gpu", "half_open")
    recovered = await client.analyze("after the outage")
    assert recovered.tier == "gpu"
    assert client.breaker_states()["gpu"] == "closed"
    moves = [(f, t) for f, t in [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
             if metric(client, "refsys_breaker_transitions_total", tier="gpu", from_state=f, to_state=t) == 1]
    assert len(moves) == 3


async def test_breaker_reopens_while_the_process_is_down_and_closes_after_restart(cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    with InferenceProcess("gpu") as flaky_gpu:
        client = new_client(flaky_gpu.url, cpu.url)
        assert (await client.analyze("before")).tier == "gpu"
        flaky_gpu.stop(kill=True)
        assert (await client.analyze("down 1")).tier == "cpu"
        assert client.breaker_states()["gpu"] == "open"
        await wait_for_state(client, "gpu", "half_open")
        assert (await client.analyze("down 2")).tier == "cpu", "the trial call fails: connection refused"
        assert client.breaker_states()["gpu"] == "open"
        assert metric(client, "refsys_breaker_transitions_total", tier="gpu", from_state="half_open", to_state="open") == 1
        flaky_gpu.start()  # same port
        await wait_for_state(client, "gpu", "half_open")
        assert (await client.analyze("back")).tier == "gpu"
        assert client.breaker_states()["gpu"] == "closed"


async def test_fallback_chain_gpu_cpu_cache_degraded(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(gpu.url, cpu.url)
    known = await client.analyze("seen before")
    assert known.tier == "gpu"
    with gpus_lost(gpu):
        assert (await client.analyze("seen on cpu")).tier == "cpu"
    cpu.stop()
    try:
        with gpus_lost(gpu):
            cached = await client.analyze("seen before")
            assert (cached.tier, cached.degraded, cached.label, cached.score) == ("cache", True, known.label, known.score)
            from_cpu = await client.analyze("seen on cpu")
            assert (from_cpu.tier, from_cpu.degraded) == ("cache", True)
            unknown = await client.analyze("never seen")
            assert (unknown.tier, unknown.degraded, unknown.label) == ("degraded", True, "neutral")
            assert await client.readiness() == {"inference-gpu": False, "inference-cpu": False}
    finally:
        cpu.start()
    assert metric(client, "refsys_inference_cache_hits_total") == 2
    assert metric(client, "refsys_inference_cache_misses_total") == 1


async def test_a_tier_slower_than_the_timeout_falls_back_within_the_budget(cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    with InferenceProcess("gpu", env={"INFERENCE_LATENCY_SCALE": "60"}) as slow_gpu:  # >= 900 ms
        # 0.6 s timeout: the GPU tier never makes it, the CPU tier (<= 150 ms) has 4x headroom
        client = new_client(slow_gpu.url, cpu.url, timeout_s=0.6, breaker_failures=10)
        started = time.monotonic()
        result = await client.analyze("slow")
        elapsed = time.monotonic() - started
    assert result.tier == "cpu"
    assert metric(client, "refsys_inference_calls_total", tier="gpu", outcome="timeout") == 2
    assert 1.2 <= elapsed < 1.2 + 0.15 + 1.0, f"GPU budget 1.2 s + CPU ~0.15 s, took {elapsed:.2f} s"


async def test_concurrent_identical_requests_reach_the_gpu_once(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(gpu.url, cpu.url)
    before = served(gpu)
    results = await asyncio.gather(*(client.analyze("popular question") for _ in range(10)))
    assert served(gpu) - before == 1
    assert len({(r.label, r.score) for r in results}) == 1


async def test_defect_no_circuit_breaker_keeps_hammering_the_failing_tier(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    clean = new_client(gpu.url, cpu.url, breaker_reset_s=60.0)
    broken = new_client(gpu.url, cpu.url, frozenset({"no_circuit_breaker"}), breaker_reset_s=60.0)
    with gpus_lost(gpu):
        for i in range(6):
            assert (await clean.analyze(f"c{i}")).tier == "cpu"
            assert (await broken.analyze(f"b{i}")).tier == "cpu"
    gpu_attempts = {
        name: metric(c, "refsys_inference_calls_total", tier="gpu", outcome="http_5xx")
        for name, c in (("clean", clean), ("broken", broken))
    }
    assert gpu_attempts == {"clean": 3, "broken": 18}, "6 calls x (1 + 2 retries) without a breaker"
    assert broken.breaker_states()["gpu"] == "closed"
    assert metric(broken, "refsys_inference_retries_total", tier="gpu") == 12


async def test_defect_breaker_never_half_open_stays_on_cpu_after_recovery(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    clean = new_client(gpu.url, cpu.url)
    broken = new_client(gpu.url, cpu.url, frozenset({"breaker_never_half_open"}))
    with gpus_lost(gpu):
        await clean.analyze("outage")
        await broken.analyze("outage")
    await asyncio.sleep(RESET_S * 1.2 + 0.1)
    assert (await clean.analyze("recovered?")).tier == "gpu"
    assert (await broken.analyze("recovered?")).tier == "cpu"
    assert broken.breaker_states()["gpu"] == "open"


async def test_defect_no_fallback_turns_gpu_loss_into_an_error(gpu, cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    clean = new_client(gpu.url, cpu.url)
    broken = new_client(gpu.url, cpu.url, frozenset({"no_fallback"}))
    with gpus_lost(gpu):
        assert (await clean.analyze("x")).tier == "cpu"
        with pytest.raises(InferenceUnavailable):
            await broken.analyze("x")


async def test_unreachable_port_is_a_failure_not_a_crash(cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(f"http://127.0.0.1:{free_port()}", cpu.url)
    assert (await client.analyze("hello")).tier == "cpu"
    assert metric(client, "refsys_inference_calls_total", tier="gpu", outcome="connect_error") == 3


# -- shared cache through a real redis-server ------------------------------------------------


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen[bytes]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the server (it accepts connections but never answers); SIGCONT on exit."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not on PATH (apt-get install redis-server)")
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, socket_timeout=0.5).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield RedisServer(f"redis://127.0.0.1:{port}/0", proc)
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=10)


async def test_redis_cache_is_shared_between_gateway_replicas(gpu, cpu, redis_server, new_client) -> None:  # type: ignore[no-untyped-def]
    replica_1 = new_client(gpu.url, cpu.url, redis_url=redis_server.url)
    nowhere = f"http://127.0.0.1:{free_port()}"
    replica_2 = new_client(nowhere, nowhere, redis_url=redis_server.url)  # both its tiers are unreachable
    answered = await replica_1.analyze("shared through redis")
    await wait_for_redis_key(redis_server.url, "shared through redis")  # the write is asynchronous
    from_cache = await replica_2.analyze("shared through redis")
    assert (from_cache.tier, from_cache.label, from_cache.score) == ("cache", answered.label, answered.score)


async def test_a_hung_redis_does_not_slow_down_good_answers(gpu, cpu, redis_server, new_client) -> None:  # type: ignore[no-untyped-def]
    client = new_client(gpu.url, cpu.url, redis_url=redis_server.url)
    await client.analyze("warm up the connections")
    with redis_server.paused():
        started = time.monotonic()
        result = await client.analyze("redis is frozen")
        elapsed = time.monotonic() - started
        assert result.tier == "gpu"
        assert elapsed < 0.2, f"the cache write is not on the request path; took {elapsed:.3f} s"
        await asyncio.sleep(0.4)  # the background write times out after 0.25 s
    assert metric(client, "refsys_inference_cache_errors_total") >= 1


async def wait_for_redis_key(url: str, text: str, within_s: float = 2.0) -> None:
    import redis.asyncio

    key = RedisAnswerCache.KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()
    client = redis.asyncio.Redis.from_url(url)
    try:
        deadline = time.monotonic() + within_s
        while not await client.exists(key):
            assert time.monotonic() < deadline, f"{key} never appeared in Redis"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_redis_outage_degrades_to_a_cache_miss(cpu, new_client) -> None:  # type: ignore[no-untyped-def]
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = new_client(nowhere, nowhere, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    result = await client.analyze("no redis either")
    assert (result.tier, result.degraded) == ("degraded", True)
    assert metric(client, "refsys_inference_cache_errors_total") >= 1
