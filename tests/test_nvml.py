"""NVML inventory and sampler, with NVML faked only at the `pynvml` module boundary."""

from __future__ import annotations

import json
import os
import sys
import time
import types
from collections.abc import Iterable

import pytest

from mobench.profiling.hardware import fingerprint, hardware_id
from mobench.profiling.nvml import NvmlSampler, gpu_inventory


class FakeNVMLError(Exception):
    """Stands in for pynvml.NVMLError."""


def fake_pynvml(
    names: Iterable[str] = ("NVIDIA H100 80GB HBM3",),
    unsupported: Iterable[str] = (),
    init_error: str | None = None,
    power_mw: int = 100_000,
    energy_step_mj: int = 1000,
) -> types.ModuleType:
    """A module with the pynvml calls mobench uses; calls in `unsupported` raise NVMLError."""
    names = list(names)
    unsupported = set(unsupported)
    mod = types.ModuleType("pynvml")
    mod.NVMLError = FakeNVMLError
    mod.calls = {"init": 0, "shutdown": 0}
    energy = [0] * len(names)

    def nvmlInit() -> None:
        if init_error is not None:
            raise FakeNVMLError(init_error)
        mod.calls["init"] += 1

    def nvmlShutdown() -> None:
        mod.calls["shutdown"] += 1

    def get_energy(h: int) -> int:
        energy[h] += energy_step_mj
        return energy[h]

    functions = {
        "nvmlInit": nvmlInit,
        "nvmlShutdown": nvmlShutdown,
        "nvmlDeviceGetCount": lambda: len(names),
        "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlSystemGetDriverVersion": lambda: "550.54.15",
        "nvmlSystemGetCudaDriverVersion": lambda: 12040,
        "nvmlDeviceGetName": lambda h: names[h],
        "nvmlDeviceGetUUID": lambda h: f"GPU-fake-{h}",
        "nvmlDeviceGetMemoryInfo": lambda h: types.SimpleNamespace(
            total=80 * 2**30, used=(h + 1) * 2**30, free=0
        ),
        "nvmlDeviceGetEnforcedPowerLimit": lambda h: 700_000,
        "nvmlDeviceGetPowerManagementLimit": lambda h: 650_000,
        "nvmlDeviceGetCudaComputeCapability": lambda h: (9, 0),
        "nvmlDeviceGetUtilizationRates": lambda h: types.SimpleNamespace(gpu=50, memory=10),
        "nvmlDeviceGetPowerUsage": lambda h: power_mw,
        "nvmlDeviceGetTotalEnergyConsumption": get_energy,
    }
    for name, fn in functions.items():
        setattr(mod, name, _unsupported if name in unsupported else fn)
    return mod


def _unsupported(*args: object) -> None:
    raise FakeNVMLError("Not Supported")


@pytest.fixture
def use_fake(monkeypatch: pytest.MonkeyPatch):
    """Install a fake pynvml built with the given options; returns the module."""

    def install(**kwargs: object) -> types.ModuleType:
        mod = fake_pynvml(**kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", mod)
        return mod

    return install


def test_inventory_reports_all_fields(use_fake) -> None:
    nv = use_fake(names=["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"])
    gpus, reason = gpu_inventory()
    assert reason is None
    assert [g["index"] for g in gpus] == [0, 1]
    assert gpus[0] == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-fake-0",
        "memory_total_bytes": 80 * 2**30,
        "driver_version": "550.54.15",
        "cuda_driver_version": "12.4",
        "power_limit_w": 700.0,
        "compute_capability": "9.0",
    }
    assert nv.calls == {"init": 1, "shutdown": 1}
    json.dumps(gpus)


def test_unsupported_query_drops_only_its_field(use_fake) -> None:
    use_fake(unsupported={"nvmlDeviceGetUUID", "nvmlDeviceGetCudaComputeCapability"})
    (gpu,), _ = gpu_inventory()
    assert "uuid" not in gpu and "compute_capability" not in gpu
    assert gpu["name"] == "NVIDIA H100 80GB HBM3" and gpu["power_limit_w"] == 700.0


def test_power_limit_falls_back_to_management_limit(use_fake) -> None:
    use_fake(unsupported={"nvmlDeviceGetEnforcedPowerLimit"})
    (gpu,), _ = gpu_inventory()
    assert gpu["power_limit_w"] == 650.0
    use_fake(unsupported={"nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit"})
    (gpu,), _ = gpu_inventory()
    assert "power_limit_w" not in gpu


def test_inventory_without_nvml(use_fake) -> None:
    use_fake(init_error="NVML Shared Library Not Found")
    assert gpu_inventory() == ([], "NVML unavailable: NVML Shared Library Not Found")


def test_inventory_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    gpus, reason = gpu_inventory()
    assert gpus == [] and "not installed" in reason


def test_fingerprint_with_fake_gpus(use_fake, monkeypatch) -> None:
    # every core allowed, as an unpinned run: a test process pinned with taskset would add
    # the -cpu<M> suffix, which test_hardware_id checks on its own
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(os.cpu_count() or 1)))
    use_fake(names=["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"])
    fp = fingerprint(tensorflow=False)
    assert len(fp["gpus"]) == 2 and "gpu_unavailable_reason" not in fp
    assert fp["hardware_id"] == hardware_id(fp) == "h100-80gb-hbm3x2"


def test_sampler_energy_from_counter(use_fake) -> None:
    use_fake(names=["NVIDIA A100-SXM4-40GB"] * 2, energy_step_mj=1000)
    with NvmlSampler(interval_s=0.01) as sampler:
        time.sleep(0.05)
    res = sampler.result()
    assert res["energy_method"] == "counter"
    assert res["energy_j"] == pytest.approx(2.0)  # one 1000 mJ step per GPU
    assert [g["energy_j"] for g in res["per_gpu"]] == pytest.approx([1.0, 1.0])
    assert res["samples"] >= 2
    assert res["power_w_mean"] == pytest.approx(200.0)  # total over both GPUs
    assert res["power_w_max"] == pytest.approx(200.0)
    assert res["utilization_pct_mean"] == pytest.approx(50.0)
    assert res["memory_used_bytes_max"] == 3 * 2**30
    json.dumps(res)


def test_sampler_integrates_power_without_counter(use_fake) -> None:
    nv = use_fake(unsupported={"nvmlDeviceGetTotalEnergyConsumption"}, power_mw=100_000)
    with NvmlSampler(interval_s=0.01) as sampler:
        time.sleep(0.3)
    res = sampler.result()
    assert res["energy_method"] == "integrated_power"
    assert 0.25 < res["duration_s"] < 2.0
    assert res["energy_j"] == pytest.approx(100.0 * res["duration_s"], rel=0.05)
    assert res["samples"] >= 5
    assert nv.calls == {"init": 1, "shutdown": 1}


def test_sampler_without_power_omits_energy(use_fake) -> None:
    use_fake(unsupported={"nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetPowerUsage"})
    with NvmlSampler(interval_s=0.01) as sampler:
        time.sleep(0.03)
    res = sampler.result()
    assert "energy_j" not in res and "energy_method" not in res and "power_w_mean" not in res
    assert res["utilization_pct_mean"] == pytest.approx(50.0)


def test_sampler_restricted_devices(use_fake) -> None:
    use_fake(names=["NVIDIA H100 80GB HBM3"] * 3)
    with NvmlSampler(interval_s=0.01, devices=[1]) as sampler:
        pass
    res = sampler.result()
    assert [g["index"] for g in res["per_gpu"]] == [1]
    assert res["memory_used_bytes_max"] == 2 * 2**30


def test_sampler_unknown_device_is_unavailable(use_fake) -> None:
    nv = use_fake()
    with NvmlSampler(devices=[3]) as sampler:
        pass
    assert sampler.result() is None and "GPU [3]" in sampler.unavailable_reason
    assert nv.calls == {"init": 1, "shutdown": 1}


def test_sampler_without_nvml_is_a_cheap_no_op(use_fake) -> None:
    use_fake(init_error="NVML Shared Library Not Found")
    start = time.perf_counter()
    with NvmlSampler() as sampler:
        pass
    assert time.perf_counter() - start < 0.5
    assert sampler.result() is None
    assert sampler.unavailable_reason == "NVML unavailable: NVML Shared Library Not Found"


def test_sampler_on_this_machine() -> None:
    """The real pynvml: None plus a reason without a driver, a result with one."""
    with NvmlSampler(interval_s=0.01) as sampler:
        time.sleep(0.02)
    gpus, _ = gpu_inventory()
    if gpus:
        assert sampler.result() is not None and sampler.result()["per_gpu"]
    else:
        assert sampler.result() is None and sampler.unavailable_reason


def test_result_before_stop_is_an_error(use_fake) -> None:
    use_fake()
    sampler = NvmlSampler()
    sampler.start()
    try:
        with pytest.raises(RuntimeError):
            sampler.result()
    finally:
        sampler.stop()
