"""The real measurement behind each benchmark: mobench's profiler, then the step to time.

`prepare` runs `profile_suite` for the case's one mode (fresh model, warm-up, timed steps,
memory, FLOPs, NVML) and then builds another fresh model in the same mode with the same staged
batch, whose `train_function` + device sync is what pytest-benchmark times. TensorFlow is
imported here, only when a benchmark runs.
"""

from __future__ import annotations

import os
from typing import Any

from mobench.benchmarking.options import Case, Prepared
from mobench.data import Dataset, load_dataset
from mobench.errors import MobenchError
from mobench.records import ModeProfile, ProfileRecord

_DATASETS: dict[tuple[str, int], Dataset] = {}


def dataset_for(name: str, seed: int) -> Dataset:
    """The dataset, loaded once per process (the auto choice is announced on stderr)."""
    if (name, seed) not in _DATASETS:
        _DATASETS[(name, seed)] = load_dataset(name, seed=seed)
    return _DATASETS[(name, seed)]


def figures(record: ProfileRecord, mode: ModeProfile) -> dict[str, Any]:
    """Flat extra_info figures of one profiled mode, named as the record fields, plus the
    catalogue objectives of this mode under `objectives`."""
    step = mode.step_time
    out: dict[str, Any] = {
        "step_time_s": step.median_s,
        "step_time_iqr_s": step.iqr_s,
        "step_time_p25_s": step.p25_s,
        "step_time_p75_s": step.p75_s,
        "compile_time_s": mode.compile_time_s,
        "throughput": mode.throughput,
        "model_params": record.params,
        "batch_size": record.batch_size,
        "profiler_steps": record.steps,
        "profiler_warmup": record.warmup,
        "dataset": record.dataset.get("name"),
        "suite_version": record.suite_version,
        "hyperparameters": record.hyperparameters,
    }
    if mode.peak_memory_bytes is not None:
        out["peak_memory_bytes"] = mode.peak_memory_bytes
        out["peak_memory_method"] = mode.peak_memory_method  # the report compares like only
    else:
        out["peak_memory_reason"] = mode.peak_memory_reason
    if record.flops.get("train_per_sample") is not None:
        out["train_flops_per_sample"] = record.flops["train_per_sample"]
    if mode.achieved_flops_per_s is not None:
        out["achieved_flops_per_s"] = mode.achieved_flops_per_s
    if mode.peak_fraction is not None:
        out["peak_fraction"] = mode.peak_fraction
    if record.matmul_peak and record.matmul_peak.get("flops_per_s_best"):
        out["matmul_peak_flops_per_s"] = record.matmul_peak["flops_per_s_best"]
    if mode.inference is not None:
        out["latency_p50_s"] = mode.inference.latency_p50_s
        out["latency_p99_s"] = mode.inference.latency_p99_s
        out["inference_throughput"] = mode.inference.throughput
    nvml = mode.nvml or {}
    if nvml.get("energy_j") is not None:
        out["energy_j_per_step"] = nvml["energy_j"] / record.steps
        out["energy_method"] = nvml.get("energy_method")
    if nvml.get("power_w_mean") is not None:
        out["power_w_mean"] = nvml["power_w_mean"]
    if nvml.get("utilization_pct_mean") is not None:
        out["gpu_utilization_pct"] = nvml["utilization_pct_mean"]
    return out


def prepare(case: Case) -> Prepared:
    """Profile the case with mobench's profiler, then hand back a fresh model's timed step."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from mobench.models.common import fresh_model
    from mobench.profiling.profiler import ProfileSettings, set_execution_mode, staged_batch
    from mobench.profiling.run import profile_suite, resolve_batch_size
    from mobench.profiling.timing import sync_devices

    dataset = dataset_for(case.dataset, case.seed)
    found: dict[str, Any] = {}
    if case.profile:
        settings = ProfileSettings(steps=case.rounds, warmup=case.warmup)
        record = profile_suite(case.suite, dataset, variant=case.variant, modes=(case.mode,),
                               settings=settings, seed=case.seed)
        mode = record.modes[0]
        if not mode.ok:
            raise MobenchError(f"{case.label}: {mode.status.value}: {mode.reason}")
        found = figures(record, mode)

    hypermodel = case.suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    hp = case.suite.hyperparameters(hypermodel, case.variant)
    model = fresh_model(hypermodel, hp, case.seed)
    set_execution_mode(model, case.mode)
    size = resolve_batch_size(case.suite, hp.values, None)
    data = [staged_batch(dataset.x_train, dataset.y_train, size)]

    def train_step() -> None:
        model.train_function(data)

    def close() -> None:
        nonlocal model
        model = None
        keras.backend.clear_session()  # and collects garbage (Keras 3)

    return Prepared(train_step=train_step, sync=sync_devices, figures=found, close=close)
