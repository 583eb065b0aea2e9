"""Profile a Keras model's training step in eager, graph and XLA modes, plus inference.

Method (written as code, see ARCHITECTURE.md): one fixed batch staged on the device; a fresh
model per mode (`clear_session`, same seed); the first call is the trace/compile, `warmup`
calls are discarded, then `steps` calls are each clocked with a device sync before every clock
read and GC disabled. Compile time = first call minus the steady median step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mobench.errors import UsageError
from mobench.profiling.memory import PeakWindow, training_memory_estimate
from mobench.profiling.timing import percentile, summarize, time_steps, timed_call
from mobench.records import Inference, ModeProfile, Status

MODES = ("eager", "graph", "xla")
TRACE_STEPS = 3
MIN_LATENCY_SAMPLES = 50


@dataclass(frozen=True)
class ProfileSettings:
    """How much to measure: timed steps, discarded warm-up calls, optional trace folder."""

    steps: int = 20
    warmup: int = 3
    trace_dir: str | None = None
    nvml: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise UsageError(f"--steps must be a positive integer, got {self.steps}")
        if self.warmup < 1:
            raise UsageError(f"--warmup must be a positive integer, got {self.warmup}")


def check_modes(modes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    from mobench.errors import unknown_name

    if not modes:
        raise UsageError(f"--modes needs at least one of: {', '.join(MODES)}")
    for mode in modes:
        if mode not in MODES:
            raise unknown_name("mode", mode, MODES)
    return tuple(dict.fromkeys(modes))


def set_execution_mode(model, mode: str) -> None:
    """Switch a compiled Keras model to eager, graph (tf.function) or XLA execution."""
    model.run_eagerly = mode == "eager"
    model.jit_compile = mode == "xla"
    if mode == "xla" and not model.jit_compile:
        raise RuntimeError("Keras reports that this model does not support jit_compile=True")
    model.make_train_function(force=True)
    model.make_predict_function(force=True)


def staged_batch(x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[Any, Any]:
    """The first `batch_size` examples as device tensors (the same batch every step)."""
    import tensorflow as tf

    if len(x) < batch_size:
        raise UsageError(
            f"the dataset has {len(x)} training examples, fewer than the batch size "
            f"{batch_size}: raise --limit or lower --batch-size"
        )
    return tf.constant(x[:batch_size]), tf.constant(y[:batch_size])


def profile_inference(model, x, steps: int, warmup: int) -> Inference:
    """Latency at batch 1 (p50, p99) and throughput at the training batch size."""
    one = x[:1]
    predict_one = lambda: model.predict_function([(one,)])  # noqa: E731
    predict_batch = lambda: model.predict_function([(x,)])  # noqa: E731
    for _ in range(warmup):
        timed_call(predict_one)
        timed_call(predict_batch)
    latencies = time_steps(predict_one, max(steps, MIN_LATENCY_SAMPLES))
    batch_times = summarize(time_steps(predict_batch, steps))
    return Inference(
        latency_p50_s=percentile(latencies, 50),
        latency_p99_s=percentile(latencies, 99),
        batch_size=int(x.shape[0]),
        batch_time=batch_times,
        throughput=int(x.shape[0]) / batch_times.median_s,
    )


def profile_mode(
    build_model: Callable[[], Any],
    mode: str,
    batch: tuple[Any, Any],
    settings: ProfileSettings,
    train_flops_per_sample: int | None = None,
    peak_flops_per_s: float | None = None,
) -> ModeProfile:
    """Measure one execution mode; a failure (OOM, XLA unsupported, ...) becomes the record."""
    import tensorflow as tf

    try:
        return _measure_mode(build_model, mode, batch, settings,
                             train_flops_per_sample, peak_flops_per_s)
    except tf.errors.ResourceExhaustedError as exc:
        return ModeProfile(mode, Status.OUT_OF_MEMORY, reason=_first_line(exc))
    except Exception as exc:  # one mode failing must not stop the others, but Ctrl-C does
        from mobench.console import raise_if_interrupted

        raise_if_interrupted()
        return ModeProfile(mode, Status.FAILED, reason=f"{type(exc).__name__}: {_first_line(exc)}")


def _measure_mode(build_model, mode, batch, settings, train_flops, peak_flops) -> ModeProfile:
    from mobench.profiling.nvml import NvmlSampler

    model = build_model()
    set_execution_mode(model, mode)
    x, y = batch
    data = [(x, y)]
    step = lambda: model.train_function(data)  # noqa: E731
    window = PeakWindow(model)
    first = timed_call(step)
    for _ in range(settings.warmup - 1):
        timed_call(step)
    sampler = NvmlSampler() if settings.nvml else None
    if sampler is not None:
        with sampler:
            times = time_steps(step, settings.steps)
    else:
        times = time_steps(step, settings.steps)
    peak, reason = window.read()
    stats = summarize(times)
    batch_size = int(x.shape[0])
    achieved = train_flops * batch_size / stats.median_s if train_flops else None
    trace = None
    if settings.trace_dir:
        from mobench.profiling.trace import trace_steps

        trace = trace_steps(step, TRACE_STEPS, Path(settings.trace_dir) / mode)
    return ModeProfile(
        mode=mode,
        status=Status.OK,
        step_time=stats,
        compile_time_s=max(first - stats.median_s, 0.0),
        throughput=batch_size / stats.median_s,
        peak_memory_bytes=peak,
        peak_memory_reason=reason,
        peak_memory_method=window.method if peak is not None else None,
        peak_memory_estimate=training_memory_estimate(model, batch_size),
        achieved_flops_per_s=achieved,
        peak_fraction=achieved / peak_flops if achieved and peak_flops else None,
        inference=profile_inference(model, x, settings.steps, settings.warmup),
        nvml=sampler.result() if sampler is not None else None,
        trace=trace,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
