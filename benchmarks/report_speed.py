"""Time `mobench report` on 50 stored runs — target: under 30 s on a 2-core machine.

The 50 documents are SYNTHETIC: schema-valid profile, tuning and evaluation documents with
made-up numbers (suites named `synthetic-*`, provenance marked `"synthetic": true`), written to
a temporary folder only to time the report. They are not measurements and never enter results/.

Run: python benchmarks/report_speed.py [--runs 50] [--trials 40] [--distinct] [--keep DIR]
  --distinct: every tuning run its own suite (one group, hence one set of plots, per run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_S = 30.0
HARDWARE = ("cpu-synthetic-laptop-8c", "synthetic-gpu-80gbx1")
STRATEGIES = ("random", "nsga2", "motpe", "pesa2", "parego")
OBJECTIVES = [{"name": "val_accuracy", "direction": "maximize", "unit": ""},
              {"name": "train_time", "direction": "minimize", "unit": "s"},
              {"name": "peak_memory", "direction": "minimize", "unit": "B"}]


def provenance(hw: str, i: int) -> dict:
    return {"mobench_version": "0.1.0", "created_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}"
            "+00:00", "command": "synthetic document for benchmarks/report_speed.py",
            "synthetic": True, "git_commit": "0" * 40, "seed": i, "hardware_id": hw,
            "hardware": {"hardware_id": hw, "versions": {"tensorflow": "2.21.0",
                                                         "keras": "3.15.1"}}}


def timing(median: float) -> dict:
    return {"median_s": median, "iqr_s": median / 10, "p25_s": median * 0.95,
            "p75_s": median * 1.05, "min_s": median * 0.9, "max_s": median * 1.3,
            "mean_s": median * 1.01, "n": 20}


def profile_doc(rng: np.random.Generator, i: int, suite: str, hw: str) -> dict:
    fast = 0.2 if "gpu" in hw else 1.0
    modes = []
    for mode, factor in (("eager", 10.0), ("graph", 1.0), ("xla", 0.7)):
        step = float(rng.uniform(1e-3, 3e-3) * factor * fast)
        modes.append({"mode": mode, "status": "ok", "step_time": timing(step),
                      "compile_time_s": 0.5, "throughput": 128 / step,
                      "peak_memory_bytes": int(rng.integers(1e5, 1e7)),
                      "achieved_flops_per_s": 3e5 * 128 / step,
                      "peak_fraction": float(rng.uniform(0.01, 0.5)),
                      "inference": {"latency_p50_s": step / 3, "latency_p99_s": step / 2,
                                    "batch_size": 128, "batch_time": timing(step / 2),
                                    "throughput": 256 / step},
                      "nvml": {"energy_j": step * 20 * 70} if "gpu" in hw else None})
    return {"schema_version": 1, "kind": "profile", "suite": suite, "suite_version": 1,
            "variant": ("small", "medium")[(i // 10) % 2], "hyperparameters": {"units_0": 64},
            "dataset": {"name": "synthetic"}, "batch_size": 128, "steps": 20, "warmup": 3,
            "seed": i, "params": 50890, "flops": {"train_per_sample": 305118},
            "matmul_peak": {"flops_per_s_best": 1e11}, "modes": modes,
            "provenance": provenance(hw, i)}


def tuning_doc(rng: np.random.Generator, i: int, suite: str, hw: str, trials: int) -> dict:
    entries = []
    for n in range(trials):
        params = {"units_0": int(rng.integers(32, 512)), "learning_rate": float(rng.uniform(1e-4,
                  1e-2)), "activation": str(rng.choice(["relu", "tanh", "gelu"]))}
        state, feasible = ("fail", False) if rng.random() < 0.05 else ("complete", True)
        values = {} if state == "fail" else {
            "val_accuracy": float(rng.uniform(0.5, 0.99)),
            "train_time": float(rng.uniform(1, 20)), "peak_memory": float(rng.uniform(1e6, 1e8))}
        if values and values["peak_memory"] > 9e7:
            feasible = False
        entries.append({"number": n, "state": state, "params": params, "objectives": values,
                        "measured": values, "feasible": feasible, "constraints": {},
                        "infeasible_reason": None if feasible else "peak_memory over the cap",
                        "fail_reason": "out of memory" if state == "fail" else None,
                        "duration_s": 1.0})
    return {"schema_version": 1, "kind": "tuning", "suite": suite, "suite_version": 1,
            "strategy": STRATEGIES[i % len(STRATEGIES)], "study_name": f"synthetic-{i}",
            "objectives": OBJECTIVES, "constraints": ["peak_memory<=90MB"], "seed": i,
            "epochs": 1, "dataset": {"name": "synthetic"}, "provenance": provenance(hw, i),
            "trials": entries, "pareto_front": []}


def write_documents(folder: Path, runs: int, trials: int, distinct: bool) -> None:
    """40% profiles, 50% tuning runs, 10% evaluations, across two hardware ids."""
    rng = np.random.default_rng(0)
    for i in range(runs):
        hw = HARDWARE[i % 2]
        suite = f"synthetic-suite-{i % 5}"
        if i % 10 < 4:  # each profiled suite and variant on both hardware ids
            doc = profile_doc(rng, i, f"synthetic-suite-{(i // 2) % 2}", hw)
        elif i % 10 < 9:
            doc = tuning_doc(rng, i, f"synthetic-run-{i}" if distinct else suite, hw, trials)
        else:
            doc = {"schema_version": 1, "kind": "evaluation", "suite": suite, "suite_version": 1,
                   "variant": "small", "hyperparameters": {}, "dataset": {"name": "synthetic"},
                   "epochs": 1, "batch_size": 128, "seed": i, "status": "ok",
                   "metrics": {"val_accuracy": 0.9}, "train_time_s": 3.0,
                   "provenance": provenance(hw, i)}
        (folder / f"synthetic-{i:03d}-{doc['kind']}.json").write_text(json.dumps(doc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--trials", type=int, default=40, help="trials per tuning run")
    parser.add_argument("--distinct", action="store_true",
                        help="every tuning run in its own group (the most plots)")
    parser.add_argument("--keep", type=Path, help="also copy the report to this folder")
    args = parser.parse_args()
    t0 = time.perf_counter()
    from mobench.report.build import build_report
    from mobench.report.load import collect

    import_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="mobench-report-speed-") as tmp:
        results = Path(tmp) / "results"
        results.mkdir()
        write_documents(results, args.runs, args.trials, args.distinct)
        t1 = time.perf_counter()
        loaded = collect([results])
        load_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        outcome = build_report([results], Path(tmp) / "report")
        total_s = time.perf_counter() - t2
        html = outcome.written[0]
        size = html.stat().st_size
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in outcome.written:
                shutil.copy(path, args.keep)
    print(f"{args.runs} synthetic documents, {len(loaded.frame)} units "
          f"({args.trials} trials per tuning run{', distinct groups' if args.distinct else ''})")
    print(f"import pandas+report: {import_s:.2f} s, load: {load_s:.2f} s, "
          f"load + render + write: {total_s:.2f} s, report.html {size / 2**20:.1f} MiB")
    verdict = "OK" if import_s + total_s < TARGET_S else "OVER"
    print(f"target < {TARGET_S:.0f} s: {verdict} ({import_s + total_s:.2f} s)")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
