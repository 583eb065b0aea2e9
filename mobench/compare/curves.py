"""Sampled learning-curve tables: N configs drawn from a suite's full search space (the Optuna
distributions live tuning uses), each trained once for E epochs with the per-epoch curves read
from that one run; every K-th config is repeated with other seeds to measure the noise.

Storage (`mobench.compare.curves_table`): `<out>.csv`, one row per (config_id, seed), appended
and fsynced as it finishes, curves as JSON lists; `<out>.json`, the header (provenance,
hardware, suite, dataset, sampling, the distributions). A build holds an exclusive `flock` on
`<out>.csv.lock`; resuming needs the same header settings and repairs a torn last line. A
table grows: a larger `--sample N` keeps every row there, since the sampled configs and the
run plan are prefix-stable sequences (the first N are the same for any larger N).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare.appendcsv import Appender, disk_error, exclusive_lock, repair
from mobench.compare.curves_table import (
    CLASSIFIER_CURVES,
    GAN_CURVES,
    GAN_QUALITY,
    KIND,
    cell,
    check_header,
    check_rows,
    csv_fields,
    header_path,
)
from mobench.documents import read_json, write_json
from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION

METHODS = ("sobol", "random")
LATENCY_CALLS = 30  # batch-1 predict calls timed per config (the profiler's floor is 50)


# ---- the search space and sampling -------------------------------------------------------

def search_space(suite, hypermodel) -> dict[str, Any]:
    """The Optuna distributions live tuning sees: every hyperparameter, `[space]` honoured."""
    from mobench.study.space import kt_space, optuna_space
    from mobench.suites import check_values

    return optuna_space(kt_space(hypermodel), check_values(suite, hypermodel, "space"))


def _unit_points(n: int, d: int, method: str, seed: int) -> np.ndarray:
    """n points in [0, 1)^d; a prefix of the same sequence for any n (stable config ids)."""
    if method == "sobol":
        from scipy.stats import qmc

        m = max(0, math.ceil(math.log2(n)))
        return qmc.Sobol(d=d, scramble=True, seed=seed).random_base2(m)[:n]
    return np.random.default_rng(seed).random((n, d))


def _value(dist, u: float) -> Any:
    """Map u in [0, 1) to a value of an Optuna distribution (uniform, log where declared)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    u = min(max(float(u), 0.0), 1.0 - 1e-12)
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(u * len(dist.choices))]
    low, high = dist.low, dist.high
    if isinstance(dist, FloatDistribution):
        if dist.log:
            return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
        if dist.step:
            k = int(round((high - low) / dist.step)) + 1
            return float(round(low + int(u * k) * dist.step, 12))
        return float(low + u * (high - low))
    if dist.log:  # IntDistribution, log: uniform in log over [low, high + 1)
        v = int(math.exp(math.log(low) + u * (math.log(high + 1) - math.log(low))))
        return min(max(v, low), high)
    k = (high - low) // dist.step + 1
    return int(low + int(u * k) * dist.step)


def sample_configs(distributions: dict[str, Any], n: int, *, method: str = "sobol",
                   seed: int = 0) -> list[dict[str, Any]]:
    """`n` configs over every distribution, deterministic for (method, seed)."""
    if method not in METHODS:
        from mobench.errors import unknown_name

        raise unknown_name("sampling method", method, METHODS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"--sample must be a positive integer, got {n}")
    if not 0 <= seed < 2**32:
        raise UsageError(f"--seed must be 0..{2**32 - 1}, got {seed}")
    names = list(distributions)
    points = _unit_points(n, len(names), method, seed)
    return [{name: _value(distributions[name], u) for name, u in zip(names, row, strict=True)}
            for row in points]


def run_plan(n: int, repeat_every: int, extra_seeds: int, seed: int) -> list[tuple[int, int]]:
    """(config_id, training seed) in build order: each repeat right after its config."""
    plan = []
    for i in range(n):
        plan.append((i, seed))
        if repeat_every and i % repeat_every == 0:
            plan.extend((i, seed + r) for r in range(1, extra_seeds + 1))
    return plan


def shard_plan(plan: list[tuple[int, int]], shard: tuple[int, int]) -> list[tuple[int, int]]:
    """Runs k, k+N, k+2N, ... of `plan` for shard (k, N): N processes, one per core, build
    disjoint parts that together are the whole plan."""
    k, count = shard
    if not 0 <= k < count:
        raise UsageError(f"--shard must be K/N with 0 <= K < N, got {k}/{count}")
    return plan[k::count]


def fcd_checkpoints(epochs: int, count: int = 5) -> list[int]:
    """Epochs (1-based) after which the GAN's fcd is measured: evenly spaced, the last included."""
    count = min(count, epochs)
    return sorted({max(1, round(epochs * k / count)) for k in range(1, count + 1)})


# ---- one config --------------------------------------------------------------------------

def _curve_recorder(hypermodel, dataset, fcd_epochs: list[int], seed: int):
    """A Keras callback keeping every epoch's logs, and the GAN's quality at `fcd_epochs`;
    the seconds quality measurement takes are kept so the time curve can leave them out."""
    import keras

    class CurveRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.logs: list[dict[str, float]] = []
            self.quality: dict[str, list[float]] = {k: [] for k in GAN_QUALITY}
            self.excluded: list[float] = []

        def on_epoch_end(self, epoch, logs=None):
            self.logs.append({k: float(v) for k, v in (logs or {}).items()})
            t0 = time.perf_counter()
            if epoch + 1 in fcd_epochs:
                from mobench.models.quality import split_result

                measured, _ = split_result(hypermodel.quality_metrics(self.model, dataset,
                                                                      seed=seed))
                for k in GAN_QUALITY:
                    self.quality[k].append(measured[k])
            self.excluded.append(time.perf_counter() - t0)

    return CurveRecorder()


def _latency_p50(model, x) -> float:
    """Median batch-1 inference latency with the profiler's timing helpers."""
    from mobench.profiling.timing import percentile, time_steps, timed_call

    model.make_predict_function(force=True)
    one = x[:1]
    predict_one = lambda: model.predict_function([(one,)])  # noqa: E731
    for _ in range(3):
        timed_call(predict_one)
    return percentile(time_steps(predict_one, LATENCY_CALLS), 50)


def measure_config(suite, hypermodel, dataset, values: dict[str, Any], *, epochs: int,
                   seed: int, fcd_epochs: list[int]) -> dict[str, Any]:
    """Train one config once for `epochs`; its curves, cost and status as a table row."""
    import tensorflow as tf

    from mobench.console import raise_if_interrupted
    from mobench.models.common import fresh_model
    from mobench.profiling.training import cheap_objectives, train_measured

    gan = hasattr(hypermodel, "quality_metrics")
    row: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        hp = suite.hyperparameters(hypermodel, values=values)
        model = fresh_model(hypermodel, hp, seed)
        params, flops = cheap_objectives(model)
        row.update(params=params, flops=flops.get("train_per_sample"))
        recorder = _curve_recorder(hypermodel, dataset, fcd_epochs if gan else [], seed)
        run = train_measured(hypermodel, hp, model, dataset.x_train, dataset.y_train,
                             epochs=epochs, default_batch_size=suite.training_batch(hp.values),
                             callbacks=[recorder], shuffle=True,
                             validation_data=(dataset.x_val, dataset.y_val))
        row.update(status=run.status.value, reason=run.reason or "")
        epoch_s = np.asarray(run.epoch_times_s, dtype=float)
        times = np.cumsum(epoch_s - recorder.excluded[:len(epoch_s)])  # without fcd time
        row["time_curve"] = [float(t) for t in times]
        row["epochs_done"] = len(times)
        row["train_time"] = row["time_curve"][-1] if len(times) else None
        row["peak_memory"] = run.peak_memory_bytes  # allocator peak while training (bytes)
        for name in GAN_CURVES if gan else CLASSIFIER_CURVES:  # a metric never logged: empty
            if any(name in e for e in recorder.logs):
                row[f"{name}_curve"] = [e.get(name, math.nan) for e in recorder.logs]
        for name in GAN_QUALITY if gan else ():
            row[f"{name}_curve"] = recorder.quality[name]
        finals = GAN_QUALITY if gan else ("val_accuracy", "val_loss")
        for name in finals:
            curve = row.get(f"{name}_curve") or []
            row[name] = curve[-1] if run.status.value == "ok" and curve else None
        if run.status.value == "ok":
            row["latency_p50"] = _latency_p50(model, tf.constant(dataset.x_train[:1]))
    except tf.errors.ResourceExhaustedError as exc:
        row.update(status="out_of_memory", reason=_one_line(exc))
    except Exception as exc:  # one broken config must not stop an unattended build
        raise_if_interrupted()  # ... but Ctrl-C, which TensorFlow may turn into an error, does
        row.update(status="failed", reason=f"{type(exc).__name__}: {_one_line(exc)}")
    row["wall_time"] = time.perf_counter() - t0
    return row


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


# ---- building ----------------------------------------------------------------------------

def build_curves(suite, dataset, out: Path, *, n: int, epochs: int, method: str = "sobol",
                 seed: int = 0, repeat_every: int = 5, extra_seeds: int = 1,
                 limit: int | None = None, threads: dict[str, Any] | None = None,
                 max_runs: int | None = None, shard: tuple[int, int] = (0, 1),
                 on_line: Callable[[str], None] = print) -> Path:
    """Train every sampled (config, seed) of this `shard` not yet in `out` (at most `max_runs`
    of them), appending rows; returns `out`."""
    from optuna.distributions import distribution_to_json

    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint

    if epochs < 1:
        raise UsageError(f"--epochs must be a positive integer, got {epochs}")
    if repeat_every < 0 or extra_seeds < 0:
        raise UsageError(f"--repeat-every must be >= 0, got {repeat_every}")
    hypermodel = suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    gan = hasattr(hypermodel, "quality_metrics")
    space = search_space(suite, hypermodel)
    configs = sample_configs(space, n, method=method, seed=seed)
    plan = run_plan(n, repeat_every, extra_seeds, seed)
    runs = len(plan)
    plan = shard_plan(plan, shard)
    fp = fingerprint()
    header = {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "suite": suite.name,
        "suite_version": suite.version, "dataset": {**dataset.describe(), "limit": limit},
        "epochs": epochs, "batch_size": "per config (hyperparameter batch_size)",
        "n": n, "method": method, "seed": seed, "repeat_every": repeat_every,
        "extra_seeds": extra_seeds, "fcd_epochs": fcd_checkpoints(epochs) if gan else None,
        "threads": threads or {}, "hardware_id": fp.get("hardware_id"),
        "space": {k: json.loads(distribution_to_json(d)) for k, d in space.items()},
        "columns": csv_fields(gan),
        "peak_memory": "the allocator's peak while training, bytes (profiling.memory)",
        "provenance": provenance(fp, seed, suite_version=suite.version),
    }
    fields = csv_fields(gan)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out):
        stored, changed = _stored_header(out, header)
        parsed = repair(out, fields, on_line, KIND)
        rows = check_rows(parsed, stored, space)
        _check_configs(out, parsed.lines, rows, configs)
        if stored.get("grown") and changed:
            on_line(f"growing {out} from {stored['grown'][-1]['from_n']} to {n} sampled "
                    "configs: the rows there stay (the first configs of the sequence are the "
                    "same for any N)")
        if changed:
            try:
                write_json(header_path(out), stored)
            except OSError as exc:
                raise disk_error(header_path(out), exc) from None
        done = {(row["config_id"], row["seed"]) for row in rows}
        todo = [(i, s) for i, s in plan if (i, s) not in done]
        part = f", shard {shard[0]}/{shard[1]}: {len(plan)} of them" if shard[1] > 1 else ""
        on_line(f"curves {out}: {n} configs x {epochs} epochs, {runs} runs "
                f"({runs - n} repeats){part}, {len(plan) - len(todo)} already done"
                + (f", {min(max_runs, len(todo))} in this call" if max_runs else ""))
        todo = todo[:max_runs] if max_runs else todo
        if gan and todo:
            from mobench.models.quality import feature_classifier

            feature_classifier(dataset)  # train or load the fcd network before the clock
        _run(suite, hypermodel, dataset, configs, todo, Appender(parsed, fields), epochs,
             header, seed, on_line)
    return out


def _stored_header(out: Path, header: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the header the table keeps, whether it must be written): the stored one checked
    against this build's settings, with `n` raised when this build grows the table; this
    build's own for a new table."""
    hpath = header_path(out)
    if hpath.exists():
        stored = read_json(hpath)
        if not check_header(stored, header, hpath):
            return stored, False
        return {**stored, "n": header["n"], "grown": [
            *stored.get("grown", []), {"from_n": stored["n"], "to_n": header["n"],
                                       "provenance": header["provenance"]}]}, True
    if out.exists() and out.stat().st_size:
        raise UsageError(f"{out} exists without its header {hpath}; pick another --out")
    return header, True


def _check_configs(out: Path, lines: list[int], rows: list[dict[str, Any]],
                   configs: list[dict[str, Any]]) -> None:
    """Every row there holds the config its id samples to now (else the sampling changed,
    and neither resuming nor growing would give one table)."""
    for line, row in zip(lines, rows, strict=True):
        i = row["config_id"]
        if not 0 <= i < len(configs) or row["config"] != configs[i]:
            raise UsageError(f"{out}, line {line}: config_id {i} is not the config sampled "
                             "now with these settings (was the table built by another "
                             "sampler version?); pick another --out")


def _run(suite, hypermodel, dataset, configs, todo, table: Appender, epochs, header, seed,
         on_line) -> None:
    from mobench.console import Progress
    from mobench.display import seconds

    table.start()
    with Progress(len(todo), "runs", on_line=on_line) as progress:
        for i, s in todo:
            row = measure_config(suite, hypermodel, dataset, configs[i], epochs=epochs,
                                 seed=s, fcd_epochs=header["fcd_epochs"] or [])
            row.update(config_id=i, seed=s, repeat=s - seed, config=json.dumps(configs[i]))
            table.append({name: cell(row.get(name)) for name in table.fields})
            score = next((f"{m}={row[m]:.4g}" for m in ("val_accuracy", "fcd")
                          if row.get(m) is not None), "")
            status = f"config {i} seed {s}: {row['status']} {score}"
            progress.advance(status=status, line=f"{status} train "
                             f"{seconds(row.get('train_time') or 0)} wall "
                             f"{seconds(row['wall_time'])}")
