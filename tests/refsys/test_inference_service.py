"""The inference service as real processes on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixtures.refsys.inference.app import create_app
from fixtures.refsys.inference.devices import request_memory_mib
from fixtures.refsys.inference.model import predict
from fixtures.refsys.inference.process import REPO_ROOT, InferenceProcess
from fixtures.refsys.inference.settings import InferenceSettings

pytestmark = pytest.mark.integration

WEIGHTS_MIB = 2048  # default MODEL_WEIGHTS_MIB


@pytest.fixture(scope="module")
def gpu() -> Iterator[InferenceProcess]:
    with InferenceProcess("gpu") as process:
        yield process


@pytest.fixture(scope="module")
def cpu() -> Iterator[InferenceProcess]:
    with InferenceProcess("cpu") as process:
        yield process


@pytest.fixture(scope="module")
def slow_gpu() -> Iterator[InferenceProcess]:
    """Two GPUs with 40x latency (>= 600 ms), so concurrent requests surely overlap."""
    with InferenceProcess("gpu", env={"INFERENCE_LATENCY_SCALE": "40"}) as process:
        yield process


def scrape(base_url: str) -> dict[str, dict[str, float]]:
    """One consistent ``/metrics`` snapshot: ``{metric: {gpu-or-device label: value}}``."""
    text = httpx.get(base_url + "/metrics", trust_env=False).text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.labels.get("gpu") or sample.labels.get("device") or sample.labels.get("tier", "")
            found.setdefault(sample.name, {})[key] = sample.value
    return found


def metric_samples(base_url: str, name: str) -> dict[str, float]:
    return scrape(base_url).get(name, {})


def metric_value(base_url: str, name: str, **labels: str) -> float | None:
    """The value of the one sample of ``name`` whose labels include ``labels``."""
    text = httpx.get(base_url + "/metrics", trust_env=False).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return None


def test_answers_are_deterministic_and_identical_across_tiers(
    gpu: InferenceProcess, cpu: InferenceProcess
) -> None:
    text = "shipping was fast and the support team was great"
    answers = [httpx.post(url + "/v1/infer", json={"text": text}, trust_env=False).json()
               for url in (gpu.url, gpu.url, cpu.url)]
    expected = predict(text)
    for answer in answers:
        assert (answer["label"], answer["score"]) == (expected.label, expected.score)
    assert answers[0]["tier"] == "gpu" and answers[0]["device"].startswith("gpu:")
    assert (answers[2]["tier"], answers[2]["device"]) == ("cpu", "cpu")


def test_gpu_tier_is_faster_than_cpu_tier(gpu: InferenceProcess, cpu: InferenceProcess) -> None:
    def median_latency(url: str) -> float:
        timings = []
        with httpx.Client(base_url=url, trust_env=False) as client:
            for i in range(6):
                started = time.perf_counter()
                assert client.post("/v1/infer", json={"text": f"review {i}"}).status_code == 200
                timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    gpu_s, cpu_s = median_latency(gpu.url), median_latency(cpu.url)
    assert 0.015 <= gpu_s < cpu_s, f"gpu median {gpu_s:.3f}s, cpu median {cpu_s:.3f}s"
    assert cpu_s >= 0.080


async def test_dcgm_gauges_follow_concurrent_requests(slow_gpu: InferenceProcess) -> None:
    text = "z" * 6400  # 768 + 100 MiB per request
    per_request = request_memory_mib(text)
    assert metric_samples(slow_gpu.url, "DCGM_FI_DEV_FB_USED") == {"0": WEIGHTS_MIB, "1": WEIGHTS_MIB}

    async with httpx.AsyncClient(base_url=slow_gpu.url, trust_env=False) as client:
        calls = [asyncio.create_task(client.post("/v1/infer", json={"text": text})) for _ in range(6)]
        snapshot: dict[str, dict[str, float]] = {}
        for _ in range(200):  # until all six hold a slot (each lasts >= 600 ms)
            snapshot = await asyncio.to_thread(scrape, slow_gpu.url)
            if sum(snapshot["refsys_inference_slots_busy"].values()) == 6:
                break
            await asyncio.sleep(0.01)
        responses = await asyncio.gather(*calls)

    busy, used = snapshot["refsys_inference_slots_busy"], snapshot["DCGM_FI_DEV_FB_USED"]
    free, util = snapshot["DCGM_FI_DEV_FB_FREE"], snapshot["DCGM_FI_DEV_GPU_UTIL"]

    assert busy == {"gpu:0": 3, "gpu:1": 3}, "requests are spread over the least busy GPU"
    assert used == {"0": WEIGHTS_MIB + 3 * per_request, "1": WEIGHTS_MIB + 3 * per_request}
    assert free == {"0": 16_384 - used["0"], "1": 16_384 - used["1"]}
    assert util == {"0": 75.0, "1": 75.0}
    assert all(r.status_code == 200 for r in responses)
    assert metric_samples(slow_gpu.url, "DCGM_FI_DEV_FB_USED") == {"0": WEIGHTS_MIB, "1": WEIGHTS_MIB}
    assert metric_samples(slow_gpu.url, "DCGM_FI_DEV_GPU_UTIL") == {"0": 0.0, "1": 0.0}


async def test_full_slots_answer_503_with_retry_after(slow_gpu: InferenceProcess) -> None:
    async with httpx.AsyncClient(base_url=slow_gpu.url, trust_env=False) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/infer", json={"text": f"burst {i}"}) for i in range(12))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 8 + [503] * 4, "2 GPUs x 4 slots take 8; the rest are refused"
    refused = [r for r in responses if r.status_code == 503]
    assert all(r.headers["Retry-After"] == "1" and r.json()["error"] == "no_capacity" for r in refused)
    assert metric_value(slow_gpu.url, "refsys_inference_requests_total", outcome="no_capacity") == 4


def test_gpu_loss_makes_the_tier_unready_and_refuse_work(gpu: InferenceProcess) -> None:
    with httpx.Client(base_url=gpu.url, trust_env=False) as client:
        try:
            assert client.post("/admin/gpus", json={"count": 0}).json() == {"tier": "gpu", "gpus": 0}
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["failing"] == "gpu"
            refused = client.post("/v1/infer", json={"text": "anything"})
            assert refused.status_code == 503 and refused.json()["error"] == "no_gpu"
            assert "Retry-After" in refused.headers
            assert metric_samples(gpu.url, "DCGM_FI_DEV_FB_USED") == {}, "lost GPUs leave the exporter"
            assert client.get("/healthz").status_code == 200, "liveness is not readiness"
        finally:
            client.post("/admin/gpus", json={"count": 2})
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/infer", json={"text": "anything"}).status_code == 200


def test_admin_rejects_bad_counts_and_the_cpu_tier(gpu: InferenceProcess, cpu: InferenceProcess) -> None:
    assert httpx.post(gpu.url + "/admin/gpus", json={"count": -1}, trust_env=False).status_code == 422
    assert httpx.post(cpu.url + "/admin/gpus", json={"count": 1}, trust_env=False).status_code == 409
    assert httpx.post(gpu.url + "/v1/infer", json={"text": ""}, trust_env=False).status_code == 422


async def test_admin_refuses_non_loopback_clients() -> None:
    app = create_app(InferenceSettings())
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://inference") as client:
        response = await client.post("/admin/gpus", json={"count": 0})
    assert response.status_code == 403
    assert len(app.state.pool.gpus) == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REFSYS_DEFECTS": "no_such_defect"}, "valid names:"),
        ({"EMULATED_GPUS": "many"}, "EMULATED_GPUS must be an integer"),
    ],
)
def test_bad_configuration_exits_2_with_a_message(env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fixtures.refsys.inference", "--port", "1"],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
