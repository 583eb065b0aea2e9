"""`profile_suite`: a suite configuration, a dataset and the profiler -> a ProfileRecord."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mobench.data import Dataset
from mobench.errors import UsageError
from mobench.profiling.profiler import ProfileSettings, check_modes, profile_mode, staged_batch
from mobench.records import ModeProfile, ProfileRecord
from mobench.suites import Suite


def resolve_batch_size(suite: Suite, hp_values: dict[str, Any], override: int | None) -> int:
    return override if override is not None else suite.training_batch(hp_values)


def with_peak(result: ModeProfile, peak_flops: float | None) -> ModeProfile:
    """`result` with its fraction of the dense-matmul peak recomputed for `peak_flops`."""
    achieved = result.achieved_flops_per_s
    return replace(result, peak_fraction=achieved / peak_flops if achieved and peak_flops
                   else None)


def profile_suite(
    suite: Suite,
    dataset: Dataset,
    *,
    variant: str | None = None,
    values: dict[str, Any] | None = None,
    modes: tuple[str, ...] = ("eager", "graph", "xla"),
    settings: ProfileSettings | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    matmul_peak: bool = True,
    on_mode: Callable[[ModeProfile], None] | None = None,
) -> ProfileRecord:
    """Build the suite's model for a variant (or explicit hp values) and profile every mode."""

    from mobench.documents import provenance
    from mobench.models.common import fresh_model
    from mobench.profiling.flops import cached_matmul_peak, model_flops, tf_profiler_flops
    from mobench.profiling.hardware import fingerprint
    from mobench.profiling.memory import process_peak_rss_bytes

    settings = settings or ProfileSettings()
    modes = check_modes(modes)
    input_shape = tuple(dataset.x_train.shape[1:])
    hypermodel = suite.hypermodel(input_shape, dataset.num_classes)
    hp = suite.hyperparameters(hypermodel, variant, values)
    size = resolve_batch_size(suite, hp.values, batch_size)
    if size < 1:
        raise UsageError(f"--batch-size must be a positive integer, got {size}")

    def build_model():  # also frees the previous mode's model before its memory is measured
        return fresh_model(hypermodel, hp, seed)

    reference = build_model()
    flops = model_flops(reference)
    flops["tf_profiler_forward_per_sample"] = tf_profiler_flops(reference)
    params = int(reference.count_params())
    hp_values = dict(hp.values)
    del reference

    fp = fingerprint()
    peak = cached_matmul_peak(fp["hardware_id"]) if matmul_peak else None
    peak_flops = peak.get("flops_per_s_best") if peak else None
    batch = staged_batch(dataset.x_train, dataset.y_train, size)
    results: list[ModeProfile] = []
    refreshed = False
    for mode in modes:
        result = profile_mode(build_model, mode, batch, settings,
                              flops.get("train_per_sample"), peak_flops)
        if peak_flops and (result.achieved_flops_per_s or 0) > peak_flops and not refreshed:
            # a step faster than the cached dense-matmul peak: the peak was measured on a
            # loaded machine (a cache from such a run read 86 GFLOP/s where an idle run
            # measures 285); measure it again, once, and rescale what was measured so far
            peak = cached_matmul_peak(fp["hardware_id"], refresh=True)
            peak_flops, refreshed = peak.get("flops_per_s_best"), True
            results = [with_peak(r, peak_flops) for r in results]
            result = with_peak(result, peak_flops)
        results.append(result)
        if on_mode is not None:
            on_mode(result)
    return ProfileRecord(
        suite=suite.name,
        suite_version=suite.version,
        variant=variant,
        hyperparameters=hp_values,
        dataset=dataset.describe(),
        batch_size=size,
        steps=settings.steps,
        warmup=settings.warmup,
        seed=seed,
        params=params,
        flops=flops,
        matmul_peak=peak,
        modes=tuple(results),
        provenance=provenance(fp, seed, suite_version=suite.version),
        process_peak_rss_bytes=process_peak_rss_bytes(),
    )
