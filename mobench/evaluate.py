"""Train one configuration of a suite once and record quality, cost and (optionally) a profile.

`cheap_objectives` gives `params` and `flops` from the built model without training, so a
strategy can use them before paying for a trial.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mobench.data import Dataset
from mobench.records import SCHEMA_VERSION, ProfileRecord, Status, check_document
from mobench.suites import Suite


@dataclass(frozen=True)
class EvaluationRecord:
    """One training run of one configuration."""

    suite: str
    suite_version: int
    variant: str | None
    hyperparameters: dict[str, Any]
    dataset: dict[str, Any]
    epochs: int
    batch_size: int
    seed: int
    status: Status
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # last-epoch logs, fcd, ...
    train_time_s: float | None = None  # the whole training budget
    epoch_times_s: tuple[float, ...] = ()
    peak_memory_bytes: int | None = None
    peak_memory_reason: str | None = None
    params: int | None = None
    flops: dict[str, Any] = field(default_factory=dict)
    profile: ProfileRecord | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def objectives(self) -> dict[str, float | int]:
        """Canonical objective values; measurements that were not taken are absent."""
        out: dict[str, float | int] = {}
        if self.profile is not None:
            out.update(self.profile.objectives())
        if self.params is not None:
            out["params"] = self.params
        if self.flops.get("train_per_sample") is not None:
            out["flops"] = self.flops["train_per_sample"]
        if self.status is Status.OK:
            out.update(self.metrics)
            out["train_time"] = self.train_time_s
            if self.peak_memory_bytes is not None:
                out["peak_memory"] = self.peak_memory_bytes
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["epoch_times_s"] = list(self.epoch_times_s)
        d["profile"] = self.profile.to_dict() if self.profile else None
        return {"schema_version": SCHEMA_VERSION, "kind": "evaluation", **d,
                "objectives": self.objectives()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvaluationRecord:
        check_document(d, "evaluation")
        kw = {f.name: d.get(f.name) for f in fields(cls)}
        kw["status"] = Status(d["status"])
        kw["epoch_times_s"] = tuple(d.get("epoch_times_s") or ())
        kw["profile"] = ProfileRecord.from_dict(d["profile"]) if d.get("profile") else None
        kw["metrics"] = d.get("metrics") or {}
        kw["flops"] = d.get("flops") or {}
        kw["provenance"] = d.get("provenance") or {}
        return cls(**kw)


def cheap_objectives(model) -> tuple[int, dict[str, Any]]:
    """(params, FLOP counts) of a built model, without training it."""
    from mobench.profiling.flops import model_flops

    return int(model.count_params()), model_flops(model)


def epoch_timer():
    """A Keras callback that records wall time per epoch, device synced at each boundary."""
    import keras

    from mobench.profiling.timing import sync_devices

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            sync_devices()
            self._t0 = time.perf_counter_ns()

        def on_epoch_end(self, epoch, logs=None):
            sync_devices()
            self.times.append((time.perf_counter_ns() - self._t0) / 1e9)

    return EpochTimer()


@dataclass(frozen=True)
class Training:
    """What one timed `fit` produced."""

    status: Status
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    train_time_s: float | None = None
    epoch_times_s: tuple[float, ...] = ()
    peak_memory_bytes: int | None = None
    peak_memory_reason: str | None = None


def train_measured(hypermodel, hp, model, *fit_args: Any, epochs: int,
                   callbacks: list | None = None, **fit_kwargs: Any) -> Training:
    """`hypermodel.fit` under the clock and the allocator's peak; OOM and NaN become states."""
    import keras
    import tensorflow as tf

    from mobench.profiling.memory import memory_device, read_peak, reset_peak

    timer = epoch_timer()
    device = memory_device()
    memory_reason = reset_peak(device)
    try:
        t0 = time.perf_counter_ns()
        history = hypermodel.fit(
            hp, model, *fit_args, epochs=epochs, verbose=0, **fit_kwargs,
            callbacks=[*(callbacks or []), timer, keras.callbacks.TerminateOnNaN()],
        )
        train_time = (time.perf_counter_ns() - t0) / 1e9
    except tf.errors.ResourceExhaustedError as exc:
        return Training(Status.OUT_OF_MEMORY, reason=str(exc).splitlines()[0])
    peak, peak_reason = read_peak(device) if memory_reason is None else (None, memory_reason)
    logs = history.history if history is not None else {}
    nan = next((k for k, v in logs.items() if v and not math.isfinite(v[-1])), None)
    if nan or len(timer.times) < epochs:
        return Training(Status.FAILED, reason=f"{nan or 'loss'} became NaN or inf during "
                        f"epoch {len(timer.times)}; training stopped",
                        train_time_s=train_time, epoch_times_s=tuple(timer.times))
    return Training(
        Status.OK, metrics={k: float(v[-1]) for k, v in logs.items() if v},
        train_time_s=train_time, epoch_times_s=tuple(timer.times),
        peak_memory_bytes=peak, peak_memory_reason=peak_reason)


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
    """Train once under the profiler's clock; OOM and NaN become the record's state."""
    import keras

    from mobench.profiling.hardware import fingerprint
    from mobench.provenance import provenance

    epochs = epochs or suite.epochs
    hypermodel = suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    hp = suite.hyperparameters(hypermodel, variant, values)
    batch_size = int(hp.values.get("batch_size") or suite.batch_size)
    keras.backend.clear_session()
    gc.collect()
    keras.utils.set_random_seed(seed)
    model = hypermodel.build(hp)
    params, flops = cheap_objectives(model)
    base = dict(suite=suite.name, suite_version=suite.version, variant=variant,
                hyperparameters=dict(hp.values), dataset=dataset.describe(), epochs=epochs,
                batch_size=batch_size, seed=seed, params=params, flops=flops,
                provenance=provenance(fingerprint(), seed, suite_version=suite.version))
    run = train_measured(hypermodel, hp, model, dataset.x_train, dataset.y_train, epochs=epochs,
                         shuffle=True, validation_data=(dataset.x_val, dataset.y_val))
    if run.status is not Status.OK:
        return EvaluationRecord(status=run.status, reason=run.reason,
                                train_time_s=run.train_time_s,
                                epoch_times_s=run.epoch_times_s, **base)
    metrics = dict(run.metrics)
    quality = getattr(hypermodel, "quality_metrics", None)  # e.g. the GAN's fcd
    if quality is not None:
        # numbers are measurements; the rest (classifier_id, n, seed) says what they compare
        # against, so two fcd values are comparable only when it matches
        from mobench.quality import split_result

        measured, context = split_result(quality(model, dataset, seed=seed))
        metrics.update(measured)
        base["provenance"]["quality"] = context
    profile = None
    if profile_modes:
        from mobench.profiling.run import profile_suite

        profile = profile_suite(suite, dataset, variant=variant, values=values,
                                modes=profile_modes, seed=seed)
    return EvaluationRecord(
        status=Status.OK, metrics=metrics, train_time_s=run.train_time_s,
        epoch_times_s=run.epoch_times_s, peak_memory_bytes=run.peak_memory_bytes,
        peak_memory_reason=run.peak_memory_reason, profile=profile, **base)
