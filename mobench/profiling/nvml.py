"""NVML (module `pynvml`, package `nvidia-ml-py`): GPU inventory and a power/energy sampler.

No GPU or no driver is a normal case: callers get an empty list or None plus a reason, and a
field NVML cannot report is absent, never faked. `pynvml` is imported inside functions only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any


def _init() -> tuple[ModuleType | None, str | None]:
    """Import pynvml and nvmlInit(); (module, None) on success, else (None, reason)."""
    try:
        import pynvml
    except ImportError as exc:
        return None, f"NVML unavailable: nvidia-ml-py not installed ({exc})"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return None, f"NVML unavailable: {exc}"
    return pynvml, None


def _shutdown(pynvml: ModuleType) -> None:
    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass


def _query(pynvml: ModuleType, name: str, *args: Any) -> Any:
    """Call pynvml.<name>(*args); None when the call or the binding is not supported."""
    fn = getattr(pynvml, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except pynvml.NVMLError:
        return None


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _describe(pynvml: ModuleType, index: int, driver: Any, cuda: Any) -> dict[str, Any]:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    gpu: dict[str, Any] = {"index": index}
    if (name := _query(pynvml, "nvmlDeviceGetName", handle)) is not None:
        gpu["name"] = _text(name)
    if (uuid := _query(pynvml, "nvmlDeviceGetUUID", handle)) is not None:
        gpu["uuid"] = _text(uuid)
    if (mem := _query(pynvml, "nvmlDeviceGetMemoryInfo", handle)) is not None:
        gpu["memory_total_bytes"] = int(mem.total)
    if driver is not None:
        gpu["driver_version"] = _text(driver)
    if cuda is not None:
        gpu["cuda_driver_version"] = f"{cuda // 1000}.{cuda % 1000 // 10}"
    limit = _query(pynvml, "nvmlDeviceGetEnforcedPowerLimit", handle)
    if limit is None:
        limit = _query(pynvml, "nvmlDeviceGetPowerManagementLimit", handle)
    if limit is not None:
        gpu["power_limit_w"] = limit / 1000.0
    if (cc := _query(pynvml, "nvmlDeviceGetCudaComputeCapability", handle)) is not None:
        gpu["compute_capability"] = f"{cc[0]}.{cc[1]}"
    return gpu


def gpu_inventory() -> tuple[list[dict[str, Any]], str | None]:
    """Describe every NVIDIA GPU: ([{index, name, uuid, ...}], None), or ([], reason).

    Keys: index, name, uuid, memory_total_bytes, driver_version, cuda_driver_version ("12.4"),
    power_limit_w, compute_capability ("9.0"); a query the device does not support drops only
    its key.
    """
    pynvml, reason = _init()
    if pynvml is None:
        return [], reason
    try:
        driver = _query(pynvml, "nvmlSystemGetDriverVersion")
        cuda = _query(pynvml, "nvmlSystemGetCudaDriverVersion")
        count = pynvml.nvmlDeviceGetCount()
        return [_describe(pynvml, i, driver, cuda) for i in range(count)], None
    except pynvml.NVMLError as exc:
        return [], f"NVML query failed: {exc}"
    finally:
        _shutdown(pynvml)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


class NvmlSampler:
    """Sample GPU power, utilisation and memory in a background thread while active.

    Use as `with NvmlSampler() as s: work()`, then `s.result()`. Energy comes from the
    `nvmlDeviceGetTotalEnergyConsumption` counter (Volta+) when every selected GPU supports it,
    else from the trapezoidal integral of sampled power. Without NVML, start() records
    `unavailable_reason` and does nothing else; it never raises for a missing GPU.
    """

    def __init__(
        self,
        interval_s: float = 0.05,
        devices: Sequence[int] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.devices = None if devices is None else list(devices)
        self.unavailable_reason: str | None = None
        self._pynvml: ModuleType | None = None
        self._handles: list[tuple[int, Any]] = []
        self._times: list[float] = []
        self._rows: list[list[tuple[float | None, float | None, int | None]]] = []
        self._energy_start: list[int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = self._t1 = 0.0
        self._result: dict[str, Any] | None = None
        self._done = False

    def __enter__(self) -> NvmlSampler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Open NVML, read the energy counters, take a first sample, start the thread."""
        pynvml, self.unavailable_reason = _init()
        if pynvml is None:
            return
        try:
            count = pynvml.nvmlDeviceGetCount()
            wanted = list(range(count)) if self.devices is None else self.devices
            missing = [i for i in wanted if not 0 <= i < count]
            if missing or not wanted:
                self.unavailable_reason = f"no GPU {missing or wanted} (NVML sees {count})"
                _shutdown(pynvml)
                return
            self._handles = [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in wanted]
        except pynvml.NVMLError as exc:
            self.unavailable_reason = f"NVML query failed: {exc}"
            _shutdown(pynvml)
            return
        self._pynvml = pynvml
        self._times, self._rows, self._result, self._done = [], [], None, False
        self._energy_start = self._read_energy()
        self._t0 = time.perf_counter()
        self._sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mobench-nvml", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, take a last sample, compute the result, close NVML."""
        pynvml = self._pynvml
        if pynvml is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._t1 = time.perf_counter()
        energy_end = self._read_energy()
        _shutdown(pynvml)
        self._pynvml = None
        self._result = self._summarise(energy_end)
        self._done = True

    def result(self) -> dict[str, Any] | None:
        """The JSON-able summary, or None when NVML was unavailable (see `unavailable_reason`)."""
        if self.unavailable_reason is not None:
            return None
        if not self._done:
            raise RuntimeError("NvmlSampler.result() called before the sampler was stopped")
        return self._result

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _read_energy(self) -> list[int] | None:
        assert self._pynvml is not None
        values = [
            _query(self._pynvml, "nvmlDeviceGetTotalEnergyConsumption", h) for _, h in self._handles
        ]
        return None if any(v is None for v in values) else [int(v) for v in values]

    def _sample(self) -> None:
        pynvml = self._pynvml
        assert pynvml is not None
        row = []
        for _, handle in self._handles:
            power = _query(pynvml, "nvmlDeviceGetPowerUsage", handle)
            util = _query(pynvml, "nvmlDeviceGetUtilizationRates", handle)
            mem = _query(pynvml, "nvmlDeviceGetMemoryInfo", handle)
            row.append(
                (
                    None if power is None else power / 1000.0,
                    None if util is None else float(util.gpu),
                    None if mem is None else int(mem.used),
                )
            )
        self._times.append(time.perf_counter())
        self._rows.append(row)

    def _summarise(self, energy_end: list[int] | None) -> dict[str, Any]:
        """Per-GPU and total figures; power and memory are sums over GPUs, utilisation a mean."""
        use_counter = self._energy_start is not None and energy_end is not None
        per_gpu: list[dict[str, Any]] = []
        for k, (index, _) in enumerate(self._handles):
            gpu: dict[str, Any] = {"index": index}
            series = [(t, row[k]) for t, row in zip(self._times, self._rows, strict=True)]
            powers = [(t, s[0]) for t, s in series if s[0] is not None]
            utils = [s[1] for _, s in series if s[1] is not None]
            mems = [s[2] for _, s in series if s[2] is not None]
            if use_counter:
                assert self._energy_start is not None and energy_end is not None
                gpu["energy_j"] = (energy_end[k] - self._energy_start[k]) / 1000.0
            elif len(powers) >= 2:
                gpu["energy_j"] = sum(
                    (t1 - t0) * (p0 + p1) / 2.0
                    for (t0, p0), (t1, p1) in zip(powers, powers[1:], strict=False)
                )
            if powers:
                gpu["power_w_mean"] = _mean([p for _, p in powers])
                gpu["power_w_max"] = max(p for _, p in powers)
            if utils:
                gpu["utilization_pct_mean"] = _mean(utils)
            if mems:
                gpu["memory_used_bytes_max"] = max(mems)
            per_gpu.append(gpu)

        out: dict[str, Any] = {}
        if all("energy_j" in g for g in per_gpu):
            out["energy_j"] = sum(g["energy_j"] for g in per_gpu)
            out["energy_method"] = "counter" if use_counter else "integrated_power"
        out["duration_s"] = self._t1 - self._t0
        rows = self._rows
        totals = [sum(s[0] for s in r) for r in rows if all(s[0] is not None for s in r)]
        if totals:
            out["power_w_mean"] = _mean(totals)
            out["power_w_max"] = max(totals)
        if utils := [s[1] for r in rows for s in r if s[1] is not None]:
            out["utilization_pct_mean"] = _mean(utils)
        if mems := [sum(s[2] for s in r) for r in rows if all(s[2] is not None for s in r)]:
            out["memory_used_bytes_max"] = max(mems)
        out["samples"] = len(self._times)
        out["per_gpu"] = per_gpu
        return out
