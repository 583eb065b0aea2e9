"""Train one configuration of a suite once and record quality, cost and (optionally) a profile.

`cheap_objectives` gives `params` and `flops` from the built model without training, so a
strategy can use them before paying for a trial.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mobench.data import Dataset
from mobench.records import EvaluationRecord, Status
from mobench.suites import Suite


def cheap_objectives(model) -> tuple[int, dict[str, Any]]:
    """(params, FLOP counts) of a built model, without training it."""
    from mobench.profiling.flops import model_flops

    return int(model.count_params()), model_flops(model)


def epoch_timer():
    """A Keras callback that records the training seconds of each epoch, device synced at each
    boundary: wall time from the epoch's start to its end minus the validation pass inside it
    (`validation_s`), so a larger validation set does not make a config look slower."""
    import keras

    from mobench.profiling.timing import sync_devices

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self.validation_s: list[float] = []
            self._in_validation = 0

        def on_epoch_begin(self, epoch, logs=None):
            sync_devices()
            self._in_validation = 0
            self._t0 = time.perf_counter_ns()

        def on_test_begin(self, logs=None):
            sync_devices()
            self._test_t0 = time.perf_counter_ns()

        def on_test_end(self, logs=None):
            sync_devices()
            self._in_validation += time.perf_counter_ns() - self._test_t0

        def on_epoch_end(self, epoch, logs=None):
            sync_devices()
            elapsed = time.perf_counter_ns() - self._t0
            self.times.append((elapsed - self._in_validation) / 1e9)
            self.validation_s.append(self._in_validation / 1e9)

    return EpochTimer()


@dataclass(frozen=True)
class Training:
    """What one timed `fit` produced; `batch_size`: the batch `model.fit` trained at (None when
    the data came batched, e.g. a tf.data.Dataset)."""

    status: Status
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    train_time_s: float | None = None
    epoch_times_s: tuple[float, ...] = ()
    peak_memory_bytes: int | None = None
    peak_memory_reason: str | None = None
    peak_memory_method: str | None = None
    batch_size: int | None = None


@contextmanager
def default_batch(model, batch_size: int | None) -> Iterator[dict[str, Any]]:
    """While in the block, `model.fit` on arrays trains at `batch_size` unless its caller (a
    HyperModel's own `fit`) passes one: a `build_model(hp)` suite or a user HyperModel would
    otherwise train at Keras' default 32, and one that sets its own gets no duplicate keyword.
    Yields {"batch_size": the batch fit was called with}."""
    used: dict[str, Any] = {}
    fit = model.fit

    def fit_at_batch(*args: Any, **kwargs: Any):
        x = args[0] if args else kwargs.get("x")
        if batch_size is not None and getattr(x, "shape", None) is not None:
            kwargs.setdefault("batch_size", batch_size)
        used["batch_size"] = kwargs.get("batch_size")
        return fit(*args, **kwargs)

    model.fit = fit_at_batch
    try:
        yield used
    finally:
        del model.fit  # the class's method again (the model may be saved next)


def train_measured(hypermodel, hp, model, *fit_args: Any, epochs: int,
                   default_batch_size: int | None = None, callbacks: list | None = None,
                   **fit_kwargs: Any) -> Training:
    """`hypermodel.fit` under the clock and the allocator's peak; OOM and NaN become states.
    Every `model.fit` inside trains at `default_batch_size` unless given one (a `batch_size`
    in `fit_kwargs`, or the hypermodel's own `fit`)."""
    import keras
    import tensorflow as tf

    from mobench.console import raise_if_interrupted
    from mobench.profiling.memory import PeakWindow

    timer = epoch_timer()
    # a Ctrl-C that a destructor swallowed mid-epoch ends the fit at the epoch's end
    check = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: raise_if_interrupted())
    window = PeakWindow(model)
    with default_batch(model, default_batch_size) as used:
        try:
            t0 = time.perf_counter_ns()
            history = hypermodel.fit(
                hp, model, *fit_args, epochs=epochs, verbose=0, **fit_kwargs,
                callbacks=[*(callbacks or []), timer, keras.callbacks.TerminateOnNaN(), check],
            )
            # the fit's wall time without its validation passes (see epoch_timer)
            train_time = (time.perf_counter_ns() - t0) / 1e9 - sum(timer.validation_s)
        except tf.errors.ResourceExhaustedError as exc:
            return Training(Status.OUT_OF_MEMORY, reason=str(exc).splitlines()[0],
                            batch_size=used.get("batch_size"))
    batch = used.get("batch_size")
    peak, peak_reason = window.read()
    logs = history.history if history is not None else {}
    nan = next((k for k, v in logs.items() if v and not math.isfinite(v[-1])), None)
    stopped_by = next((c for c in callbacks or () if getattr(c, "stopped_at", None)), None)
    if stopped_by is not None and not nan:
        return Training(
            Status.STOPPED, reason=stopped_by.stop_reason,
            metrics={k: float(v[-1]) for k, v in logs.items() if v},
            train_time_s=train_time, epoch_times_s=tuple(timer.times),
            peak_memory_bytes=peak, peak_memory_reason=peak_reason,
            peak_memory_method=window.method if peak is not None else None, batch_size=batch)
    if nan or len(timer.times) < epochs:
        return Training(Status.FAILED, reason=f"{nan or 'loss'} became NaN or inf during "
                        f"epoch {len(timer.times)}; training stopped",
                        train_time_s=train_time, epoch_times_s=tuple(timer.times),
                        batch_size=batch)
    return Training(
        Status.OK, metrics={k: float(v[-1]) for k, v in logs.items() if v},
        train_time_s=train_time, epoch_times_s=tuple(timer.times),
        peak_memory_bytes=peak, peak_memory_reason=peak_reason,
        peak_memory_method=window.method if peak is not None else None, batch_size=batch)


def evaluate(
    suite: Suite,
    dataset: Dataset,
    *,
    variant: str | None = None,
    values: dict[str, Any] | None = None,
    epochs: int | None = None,
    seed: int = 0,
    profile_modes: tuple[str, ...] = (),
) -> EvaluationRecord:
    """Train one configuration once under the profiler's clock; OOM and NaN become its state."""
    from mobench.models.common import fresh_model

    hypermodel = suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    hp = suite.hyperparameters(hypermodel, variant, values)
    model = fresh_model(hypermodel, hp, seed)
    return evaluate_model(suite, dataset, hypermodel, hp, model, variant=variant, epochs=epochs,
                          seed=seed, profile_modes=profile_modes)


def evaluate_model(suite: Suite, dataset: Dataset, hypermodel, hp, model, *,
                   variant: str | None = None, epochs: int | None = None, seed: int = 0,
                   profile_modes: tuple[str, ...] = (),
                   callbacks: list | None = None) -> EvaluationRecord:
    """Train `model` (fresh, built from `hp`) and measure it: the record `evaluate` returns.
    A callback with a true `stopped_at` that stopped training makes a STOPPED record (the last
    epoch's metrics, no quality or profile pass)."""
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint

    epochs = epochs or suite.epochs
    batch_size = suite.training_batch(hp.values)
    params, flops = cheap_objectives(model)
    run = train_measured(hypermodel, hp, model, dataset.x_train, dataset.y_train, epochs=epochs,
                         default_batch_size=batch_size, shuffle=True,
                         validation_data=(dataset.x_val, dataset.y_val), callbacks=callbacks)
    base = dict(suite=suite.name, suite_version=suite.version, variant=variant,
                hyperparameters=dict(hp.values), dataset=dataset.describe(), epochs=epochs,
                batch_size=run.batch_size or batch_size, seed=seed, params=params,
                flops=flops,
                provenance=provenance(fingerprint(), seed, suite_version=suite.version))
    if run.status is Status.STOPPED:
        return EvaluationRecord(
            status=run.status, reason=run.reason, metrics=dict(run.metrics),
            train_time_s=run.train_time_s, epoch_times_s=run.epoch_times_s,
            peak_memory_bytes=run.peak_memory_bytes, peak_memory_reason=run.peak_memory_reason,
            peak_memory_method=run.peak_memory_method, **base)
    if run.status is not Status.OK:
        return EvaluationRecord(status=run.status, reason=run.reason,
                                train_time_s=run.train_time_s,
                                epoch_times_s=run.epoch_times_s, **base)
    metrics = dict(run.metrics)
    quality = getattr(hypermodel, "quality_metrics", None)  # e.g. the GAN's fcd
    if quality is not None:
        # numbers are measurements; the rest (classifier_id, n, seed) says what they compare
        # against, so two fcd values are comparable only when it matches
        from mobench.models.quality import split_result

        measured, context = split_result(quality(model, dataset, seed=seed))
        metrics.update(measured)
        base["provenance"]["quality"] = context
    profile = None
    if profile_modes:
        from mobench.profiling.run import profile_suite

        profile = profile_suite(suite, dataset, variant=variant, values=dict(hp.values),
                                modes=profile_modes, seed=seed)
    return EvaluationRecord(
        status=Status.OK, metrics=metrics, train_time_s=run.train_time_s,
        epoch_times_s=run.epoch_times_s, peak_memory_bytes=run.peak_memory_bytes,
        peak_memory_reason=run.peak_memory_reason, peak_memory_method=run.peak_memory_method,
        profile=profile, **base)
