"""Unit tests of the emulated model, device pool and settings (no processes)."""

from __future__ import annotations

import pytest

from fixtures.refsys.inference.devices import DevicePool, request_memory_mib
from fixtures.refsys.inference.model import LABELS, latency_seconds, predict
from fixtures.refsys.inference.settings import InferenceSettings


def test_same_text_gives_same_answer_and_latency() -> None:
    text = "the quarterly numbers were released today"
    assert predict(text) == predict(text)
    assert latency_seconds(text, "gpu") == latency_seconds(text, "gpu")


def test_answers_spread_over_all_labels_and_valid_scores() -> None:
    predictions = [predict(f"order #{i} shipped") for i in range(300)]
    assert {p.label for p in predictions} == set(LABELS)
    assert all(0.5 <= p.score <= 1.0 for p in predictions)


def test_lexicon_decides_obvious_sentiment() -> None:
    assert predict("I love this, great work").label == "positive"
    assert predict("terrible and broken, I hate it").label == "negative"


def test_latency_model_gpu_fast_cpu_slow_and_grows_with_length() -> None:
    short, long = "hello", "x" * 50_000
    assert 0.015 <= latency_seconds(short, "gpu") <= 0.030
    assert 0.080 <= latency_seconds(short, "cpu") <= 0.150
    assert latency_seconds(long, "gpu") > latency_seconds(short, "gpu") + 0.04
    assert latency_seconds(short, "cpu", scale=2.0) == pytest.approx(2 * latency_seconds(short, "cpu"))


def test_pool_places_requests_on_least_busy_gpu_and_accounts_memory() -> None:
    pool = DevicePool(InferenceSettings(gpu_count=2, gpu_slots=2, model_weights_mib=1000))
    need = request_memory_mib("some text")
    taken = [pool.reserve(need) for _ in range(4)]
    assert all(r is not None for r in taken)
    assert sorted(r.device.name for r in taken if r) == ["gpu:0", "gpu:0", "gpu:1", "gpu:1"]
    assert [g.memory_used_mib for g in pool.gpus] == [1000 + 2 * need, 1000 + 2 * need]
    assert [g.utilisation_percent for g in pool.gpus] == [100.0, 100.0]
    assert pool.reserve(need) is None, "all slots busy must refuse the request"
    for reservation in taken:
        assert reservation is not None
        pool.release(reservation)
    assert [g.memory_used_mib for g in pool.gpus] == [1000, 1000]


def test_pool_refuses_when_memory_not_slots_runs_out() -> None:
    pool = DevicePool(InferenceSettings(gpu_count=1, gpu_slots=8, gpu_memory_mib=3000, model_weights_mib=1000))
    big = request_memory_mib("y" * 64_000)  # 768 + 1000 MiB
    assert pool.reserve(big) is not None
    assert pool.reserve(big) is None
    assert pool.gpus[0].busy_slots == 1


def test_gpu_loss_keeps_surviving_state_and_drops_lost_gpus() -> None:
    pool = DevicePool(InferenceSettings(gpu_count=2))
    on_gpu0 = pool.reserve(1000)
    on_gpu1 = pool.reserve(1000)
    assert on_gpu0 and on_gpu1 and on_gpu1.device.name == "gpu:1"
    pool.set_gpu_count(1)
    assert [g.name for g in pool.gpus] == ["gpu:0"]
    pool.release(on_gpu1)  # finishing on a lost GPU is harmless
    assert pool.gpus[0].busy_slots == 1
    pool.set_gpu_count(0)
    assert pool.reserve(10) is None
    pool.set_gpu_count(3)
    assert [g.busy_slots for g in pool.gpus] == [0, 0, 0]


def test_cpu_tier_has_no_gpus() -> None:
    pool = DevicePool(InferenceSettings(tier="cpu", gpu_count=0, cpu_slots=3))
    assert pool.gpus == [] and [d.name for d in pool.devices] == ["cpu"]
    with pytest.raises(ValueError, match="cpu tier has no GPUs"):
        pool.set_gpu_count(1)


def test_settings_from_env_and_errors_name_the_variable() -> None:
    settings = InferenceSettings.from_env({"INFERENCE_TIER": "gpu", "EMULATED_GPUS": "3", "GPU_SLOTS": "2"})
    assert (settings.gpu_count, settings.gpu_slots) == (3, 2)
    assert InferenceSettings.from_env({"INFERENCE_TIER": "cpu", "EMULATED_GPUS": "3"}).gpu_count == 0
    with pytest.raises(ValueError, match="EMULATED_GPUS must be an integer"):
        InferenceSettings.from_env({"EMULATED_GPUS": "two"})
    with pytest.raises(ValueError, match="INFERENCE_TIER must be"):
        InferenceSettings.from_env({"INFERENCE_TIER": "tpu"})
