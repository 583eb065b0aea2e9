"""Row builders: one stored document -> rows of measured units (one function per kind).

Values are read as data: a measurement is a JSON number or null (NaN and inf read as absent);
text, a list or a number past the float range where a number belongs is a `BadValue`, and
the report skips that document naming the field. Parameter values that are not scalars are
kept as their JSON text.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION

OBJ, PARAM, FINAL = "obj.", "param.", "final."  # prefixes of the open-ended column families
# Per-unit measurement columns; a pytest-benchmark `extra_info` may carry any of them directly.
MEASURES = ("step_time_s", "step_time_iqr_s", "step_time_p25_s", "step_time_p75_s",
            "compile_time_s", "throughput",
            "peak_memory_bytes", "latency_p50_s", "latency_p99_s", "inference_throughput",
            "achieved_flops_per_s", "peak_fraction", "matmul_peak_flops_per_s",
            "energy_j_per_step", "power_w_mean", "bench_median_s", "bench_iqr_s")


class BadValue(ValueError):
    """A value of the wrong type or past any sane range, where a number belongs."""

    def __init__(self, value: Any, why: str, field: str | None = None) -> None:
        super().__init__(f"{shown(value)} {why}")
        self.value, self.field = value, field


def shown(value: Any) -> str:
    """`repr(value)`, cut short (a 400-digit number must not flood a message)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} characters)"


def number(value: Any) -> float | None:
    """A finite float from a JSON number; null, NaN and inf (an absent measurement) are None;
    text, a bool, a list or a number past the float range raise BadValue."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(value, "is not a number")
    try:
        result = float(value)
    except OverflowError:
        raise BadValue(value, "is out of range") from None
    return result if math.isfinite(result) else None


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def param_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def commit_text(commit: Any) -> str | None:
    """pytest-benchmark `commit_info` as mobench writes commits: sha, '+dirty' when modified."""
    if not isinstance(commit, dict) or not commit.get("id"):
        return None
    return str(commit["id"]) + ("+dirty" if commit.get("dirty") else "")


def config_label(variant: Any, hyperparameters: Any) -> str:
    """The variant name, or `custom-<hash of the values>` so that different configs differ."""
    if variant:
        return str(variant)
    blob = json.dumps(hyperparameters or {}, sort_keys=True, default=str).encode()
    return "custom-" + hashlib.sha1(blob).hexdigest()[:8]


def provenance_columns(document: dict[str, Any]) -> dict[str, Any]:
    prov = document.get("provenance") or {}
    hardware = prov.get("hardware") if isinstance(prov.get("hardware"), dict) else {}
    versions = hardware.get("versions") if isinstance(hardware.get("versions"), dict) else {}
    dataset = document.get("dataset")
    return {
        "suite": text(document.get("suite")),
        "suite_version": number(document.get("suite_version")),
        "hardware_id": text(prov.get("hardware_id") or hardware.get("hardware_id")),
        "created_at": text(prov.get("created_at")),
        "mobench_version": text(prov.get("mobench_version")),
        "tf_version": text(versions.get("tensorflow")),
        "keras_version": text(versions.get("keras")),
        "git_commit": text(prov.get("git_commit")),
        "seed": number(document.get("seed", prov.get("seed"))),
        "dataset": text(dataset.get("name") if isinstance(dataset, dict) else dataset),
    }


def prefixed(prefix: str, values: Any, convert: Callable[[Any], Any]) -> dict[str, Any]:
    if not isinstance(values, dict):
        return {}
    return {f"{prefix}{k}": convert(v) for k, v in values.items()}


def profile_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    """One row per profiled mode (failed modes too, with their status and reason)."""
    from mobench.records import ProfileRecord

    record = ProfileRecord.from_dict(document)
    peak = (record.matmul_peak or {}).get("flops_per_s_best")
    base = {**provenance_columns(document), "variant": text(record.variant),
            "config": config_label(record.variant, record.hyperparameters),
            "batch_size": number(record.batch_size), "model_params": number(record.params),
            "train_flops_per_sample": number(record.flops.get("train_per_sample")),
            "matmul_peak_flops_per_s": number(peak),
            **prefixed(PARAM, record.hyperparameters, param_value)}
    rows = []
    for m in record.modes:
        row = {**base, "mode": m.mode, "status": m.status.value, "reason": text(m.reason),
               "schema_version": number(document.get("schema_version")),
               "peak_memory_method": text(m.peak_memory_method)}
        if m.ok:
            energy = (m.nvml or {}).get("energy_j")
            inference = m.inference
            row.update(
                step_time_s=m.step_time.median_s, step_time_iqr_s=m.step_time.iqr_s,
                step_time_p25_s=m.step_time.p25_s, step_time_p75_s=m.step_time.p75_s,
                compile_time_s=number(m.compile_time_s), throughput=number(m.throughput),
                peak_memory_bytes=number(m.peak_memory_bytes),
                achieved_flops_per_s=number(m.achieved_flops_per_s),
                peak_fraction=number(m.peak_fraction),
                latency_p50_s=number(inference.latency_p50_s) if inference else None,
                latency_p99_s=number(inference.latency_p99_s) if inference else None,
                inference_throughput=number(inference.throughput) if inference else None,
                energy_j_per_step=number(energy) / record.steps if number(energy) else None,
                power_w_mean=number((m.nvml or {}).get("power_w_mean")))
        rows.append(row)
    return rows


def evaluation_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    """One row for the training run, plus one per mode of an embedded profile."""
    from mobench.records import EvaluationRecord

    record = EvaluationRecord.from_dict(document)
    row = {**provenance_columns(document), "variant": text(record.variant),
           "config": config_label(record.variant, record.hyperparameters),
           "status": record.status.value, "reason": text(record.reason),
           "batch_size": number(record.batch_size), "model_params": number(record.params),
           "duration_s": number(record.train_time_s),
           "peak_memory_bytes": number(record.peak_memory_bytes),
           **prefixed(PARAM, record.hyperparameters, param_value),
           **prefixed(OBJ, record.objectives(), number)}
    embedded = profile_rows(document["profile"], file) if document.get("profile") else []
    return [row, *({**r, "kind": "profile"} for r in embedded)]


def objective_spec(document: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    spec = []
    for o in document["objectives"]:
        if o.get("direction") not in ("minimize", "maximize"):
            raise ValueError(f"objective {o.get('name')!r}: direction must be minimize or "
                             f"maximize, got {o.get('direction')!r}")
        spec.append((str(o["name"]), o["direction"], str(o.get("unit") or "")))
    return tuple(spec)


def tuning_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    """One row per trial: measured objective values only (placeholders never stored); a trial
    stopped early carries the values it had at `stopped_at_epoch`; hyperparameters the config
    does not use (the document's `conditions`) are left out."""
    from mobench.display import active_params

    spec = objective_spec(document)
    front = set(document.get("pareto_front") or ())
    conditions = document.get("conditions") if isinstance(document.get("conditions"),
                                                          dict) else None
    base = {**provenance_columns(document), "strategy": text(document.get("strategy")),
            "study": text(document.get("study_name")), "objective_spec": spec,
            "epochs": number(document.get("epochs"))}
    rows = []
    for t in document["trials"]:
        stopped = number(t.get("stopped_at_epoch"))
        values = t.get("objectives") or (t.get("stopped_values") if stopped else None)
        params = t.get("params") if isinstance(t.get("params"), dict) else {}
        rows.append({**base, "trial": number(t["number"]), "status": text(t.get("state")),
                     "feasible": bool(t.get("feasible")),
                     "reason": text(t.get("infeasible_reason") or t.get("fail_reason")),
                     "on_front": t["number"] in front, "duration_s": number(t.get("duration_s")),
                     "stopped_at_epoch": stopped,
                     **prefixed(OBJ, values, number),
                     **prefixed(PARAM, active_params(params, conditions), param_value)})
    return rows


def benchmark_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    """A saved `pytest --benchmark` run (mobench.benchmarking.plugin): one row per benchmark.

    The file is pytest-benchmark's JSON plus a top-level `mobench` block (schema_version,
    kind "benchmark", hardware_id); each benchmark's `extra_info` carries suite, variant, mode,
    hardware_id and the profiler's figures under the MEASURES names, and `objectives`.
    hardware_id: extra_info, else the block, else machine_info, else the folder under
    `benchmarks/` (results/benchmarks/<hardware_id>/...).
    """
    block = document.get("mobench")
    if not isinstance(block, dict) or block.get("kind") != "benchmark":
        raise UsageError("pytest-benchmark JSON without a mobench block of kind 'benchmark' "
                         "(not saved by `pytest --benchmark` with mobench's plugin)")
    if block.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"unsupported mobench schema_version {block.get('schema_version')!r} "
                         f"(this mobench reads {SCHEMA_VERSION})")
    machine = document["machine_info"]
    info = machine.get("mobench") if isinstance(machine.get("mobench"), dict) else {}
    parts = file.parent.parts
    folder = parts[parts.index("benchmarks") + 1] if "benchmarks" in parts[:-1] else None
    versions = info.get("versions") if isinstance(info.get("versions"), dict) else {}
    rows = []
    for bench in document["benchmarks"]:
        extra = bench.get("extra_info") or {}
        stats = bench.get("stats") or {}
        hw = extra.get("hardware_id") or block.get("hardware_id") \
            or machine.get("hardware_id") or info.get("hardware_id") or folder
        hyperparameters = extra.get("hyperparameters")
        rows.append({
            "suite": text(extra.get("suite") or bench.get("group") or bench.get("name")),
            "suite_version": number(extra.get("suite_version")),
            "variant": text(extra.get("variant")),
            "config": config_label(extra.get("variant"), hyperparameters),
            "mode": text(extra.get("mode")), "status": "ok", "hardware_id": text(hw),
            "benchmark": text(bench.get("fullname") or bench.get("name")),
            "batch_size": number(extra.get("batch_size")), "dataset": text(extra.get("dataset")),
            "model_params": number(extra.get("model_params")),
            "train_flops_per_sample": number(extra.get("train_flops_per_sample")),
            "created_at": text(document.get("datetime")),
            "mobench_version": text(block.get("mobench_version") or info.get("mobench_version")),
            "tf_version": text(info.get("tensorflow") or versions.get("tensorflow")),
            "keras_version": text(versions.get("keras")),
            "git_commit": commit_text(document.get("commit_info")),
            "bench_median_s": number(stats.get("median")), "bench_iqr_s": number(stats.get("iqr")),
            "schema_version": number(block.get("schema_version")),
            "peak_memory_method": text(extra.get("peak_memory_method")),
            **{k: number(extra[k]) for k in MEASURES if k in extra},
            **prefixed(OBJ, extra.get("objectives"), number),
            **prefixed(PARAM, bench.get("params"), param_value),
            **prefixed(PARAM, hyperparameters, param_value)})
    return rows


RUN_FIGURES = ("igd_plus", "front_size", "infeasible_share", "overhead_s_mean")


def comparison_rows(document: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (strategy, seed) run: trials reached and the run's final figures. The
    figures the comparison section reads are checked here too (BadValue, ValueError)."""
    objective_spec(document)
    for value in (document.get("strategy_time_s") or {}).values():
        number(value)
    for entry in document.get("final") or []:
        for key in ("budget", "median", "iqr", "rank"):
            number(entry.get(key))
        for test in entry.get("tests") or []:
            number(test.get("p")), number(test.get("p_holm"))
    problem = document.get("problem") if isinstance(document.get("problem"), dict) else {}
    dataset = problem.get("dataset")
    base = {**base, "dataset": text(dataset.get("name") if isinstance(dataset, dict)
                                    else dataset)}
    rows = []
    for run in document["runs"]:
        hv = run["hypervolume"]
        cost = run.get("cumulative_cost_s") or []
        if not isinstance(hv, list) or not isinstance(cost, list):
            raise ValueError(f"run {run.get('strategy')!r}/{run.get('seed')!r}: hypervolume "
                             "and cumulative_cost_s must be lists")
        for value in (*hv, *cost, *(v for point in run.get("front") or [] for v in point)):
            number(value)
        rows.append({**base, "strategy": text(run["strategy"]), "seed": number(run.get("seed")),
                     "trial": float(len(hv)), "status": "ok",
                     f"{FINAL}hypervolume": number(hv[-1]) if hv else None,
                     f"{FINAL}cost_s": number(cost[-1]) if cost else None,
                     **{f"{FINAL}{k}": number(run.get(k)) for k in RUN_FIGURES}})
    return rows
