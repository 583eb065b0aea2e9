"""Check mobench's NVML probes against independent readings on a machine with an NVIDIA GPU.

Runs without TensorFlow (PyTorch makes the GPU work), so it also runs on a GPU machine that has
only PyTorch and nvidia-ml-py:

    python benchmarks/nvml_check.py [--json OUT.json]

What it checks, each printed with its figures and PASS/FAIL:
- `gpu_inventory` and the hardware fingerprint name the GPU, and `hardware_id` carries it;
- idle: utilisation near 0 and power below the busy power;
- busy (bf16 matmuls for a few seconds): utilisation near 100%, power above idle;
- energy: the counter's joules agree with the trapezoidal integral of the sampled power (within
  15%), and twice the work takes about twice the energy (1.6x-2.4x);
- memory: allocating N GiB raises `memory_used_bytes_max` by about N GiB (torch's own count);
- the sampler's duration agrees with the wall clock around it (within 5%).
Without a GPU or NVML it prints the reason the fields are absent and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mobench.profiling.hardware import fingerprint  # noqa: E402
from mobench.profiling.nvml import NvmlSampler, gpu_inventory  # noqa: E402

GIB = 2**30


def integrated_power_j(sampler: NvmlSampler) -> float:
    """Trapezoidal integral of GPU 0's sampled power: the estimate beside the counter."""
    series = [(t, row[0][0]) for t, row in zip(sampler._times, sampler._rows, strict=True)
              if row[0][0] is not None]
    pairs = zip(series, series[1:], strict=False)
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in pairs)


def sampled(work, label: str) -> tuple[dict, float, float]:
    """(sampler result, wall seconds, integrated-power joules) around `work()`."""
    sampler = NvmlSampler(interval_s=0.02)
    t0 = time.perf_counter()
    with sampler:
        work()
    wall = time.perf_counter() - t0
    result = sampler.result() or {}
    print(f"{label}: {json.dumps({k: v for k, v in result.items() if k != 'per_gpu'})}")
    return result, wall, integrated_power_j(sampler)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every reading and verdict here")
    args = parser.parse_args()
    gpus, reason = gpu_inventory()
    fp = fingerprint(tensorflow=False)
    print(f"hardware_id: {fp['hardware_id']}")
    print(f"gpus: {json.dumps(gpus)}")
    if not gpus:
        print(f"no GPU: {reason}; NVML fields are absent, as they must be")
        return 0
    import torch

    checks: list[tuple[str, bool, str]] = []
    check = lambda name, ok, figures: checks.append((name, bool(ok), figures))  # noqa: E731
    check("fingerprint names the GPU", gpus[0].get("name") and
          any(part in fp["hardware_id"] for part in ("h200", "h100", "gpu", "nvidia")),
          f"{gpus[0].get('name')} -> {fp['hardware_id']}")

    dev = torch.device("cuda:0")
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    torch.cuda.synchronize()

    def busy(seconds: float):
        def work():
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                for _ in range(20):
                    a @ b
                torch.cuda.synchronize()
        return work

    idle, idle_wall, _ = sampled(lambda: time.sleep(2.0), "idle 2 s")
    busy3, wall3, integral3 = sampled(busy(3.0), "busy 3 s")
    busy6, wall6, integral6 = sampled(busy(6.0), "busy 6 s")
    check("idle utilisation < 10%", idle.get("utilization_pct_mean", 100) < 10,
          f"{idle.get('utilization_pct_mean')}%")
    check("busy utilisation > 90%", busy6.get("utilization_pct_mean", 0) > 90,
          f"{busy6.get('utilization_pct_mean')}%")
    check("busy power > idle power", busy6.get("power_w_mean", 0) > idle.get("power_w_mean", 1e9),
          f"{busy6.get('power_w_mean')} W vs {idle.get('power_w_mean')} W")
    for label, res, integral in (("3 s", busy3, integral3), ("6 s", busy6, integral6)):
        if res.get("energy_method") == "counter":
            ratio = res["energy_j"] / integral if integral else float("inf")
            check(f"counter vs integrated power ({label})", 0.85 <= ratio <= 1.15,
                  f"{res['energy_j']:.1f} J counter, {integral:.1f} J integrated, {ratio:.3f}")
        check(f"energy = mean power x duration ({label})",
              abs(res["energy_j"] - res["power_w_mean"] * res["duration_s"])
              <= 0.15 * res["energy_j"],
              f"{res['energy_j']:.1f} J vs {res['power_w_mean'] * res['duration_s']:.1f} J")
    growth = busy6["energy_j"] / busy3["energy_j"]
    check("twice the work, about twice the energy", 1.6 <= growth <= 2.4, f"{growth:.2f}x")
    check("sampler duration matches the wall clock",
          abs(busy6["duration_s"] - wall6) <= 0.05 * wall6,
          f"{busy6['duration_s']:.3f} s vs {wall6:.3f} s")

    before, _, _ = sampled(lambda: time.sleep(0.3), "before 4 GiB")
    blocks: list = []

    def allocate():
        blocks.append(torch.empty(4 * GIB, dtype=torch.uint8, device=dev).fill_(1))
        torch.cuda.synchronize()
        time.sleep(0.3)

    after, _, _ = sampled(allocate, "allocating 4 GiB")
    grown = (after["memory_used_bytes_max"] - before["memory_used_bytes_max"]) / GIB
    check("4 GiB allocated reads as 4 GiB more used", 3.9 <= grown <= 4.3, f"{grown:.3f} GiB")

    for name, ok, figures in checks:
        print(f"{'PASS' if ok else 'FAIL'} {name}: {figures}")
    if args.json:
        args.json.write_text(json.dumps({
            "hardware_id": fp["hardware_id"], "gpus": gpus, "idle": idle, "busy_3s": busy3,
            "busy_6s": busy6, "integrated_j": [integral3, integral6], "wall_s": [wall3, wall6],
            "checks": [{"name": n, "pass": ok, "figures": f} for n, ok, f in checks]}, indent=1))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
