"""The inference tier follows the GPUs a device plugin allocated (kind) and their health."""

import asyncio

from fixtures.refsys.inference.allocation import follow_device_health, healthy_count
from fixtures.refsys.inference.devices import DevicePool
from fixtures.refsys.inference.settings import InferenceSettings


def test_allocated_devices_decide_the_gpu_count():
    settings = InferenceSettings.from_env({"NVIDIA_VISIBLE_DEVICES": "GPU-n-0,GPU-n-3", "EMULATED_GPUS": "8",
                                           "HARNESS_GPU_HEALTH_DIR": "/run/harness-gpu"})
    assert settings.gpu_count == 2 and settings.gpu_ids == ("GPU-n-0", "GPU-n-3")
    assert settings.gpu_health_dir == "/run/harness-gpu"


def test_without_an_allocation_the_emulated_count_stays():
    for value in ("", "all", "none"):
        settings = InferenceSettings.from_env({"NVIDIA_VISIBLE_DEVICES": value, "EMULATED_GPUS": "3"})
        assert settings.gpu_count == 3 and settings.gpu_ids == ()


def test_health_files_count_healthy_devices(tmp_path):
    (tmp_path / "GPU-n-0").write_text("Healthy\n")
    (tmp_path / "GPU-n-1").write_text("Unhealthy\n")
    assert healthy_count(tmp_path, ("GPU-n-0", "GPU-n-1", "GPU-n-2")) == 2  # no file: no evidence of a failure


async def test_the_pool_loses_and_regains_gpus_with_the_plugin_report(tmp_path):
    ids = ("GPU-n-0", "GPU-n-1")
    for device in ids:
        (tmp_path / device).write_text("Healthy\n")
    settings = InferenceSettings.from_env({"NVIDIA_VISIBLE_DEVICES": ",".join(ids),
                                           "HARNESS_GPU_HEALTH_DIR": str(tmp_path)})
    pool = DevicePool(settings)
    task = asyncio.create_task(follow_device_health(pool, settings, interval_s=0.01))
    try:
        for device in ids:
            (tmp_path / device).write_text("Unhealthy\n")
        await asyncio.sleep(0.1)
        assert pool.gpus == []
        (tmp_path / ids[0]).write_text("Healthy\n")
        await asyncio.sleep(0.1)
        assert [d.name for d in pool.gpus] == ["gpu:0"]
    finally:
        task.cancel()
