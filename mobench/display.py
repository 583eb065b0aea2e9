"""Plain-text tables and human units for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mobench.records import ModeProfile, ProfileRecord


def seconds(value: float | None) -> str:
    """A duration: 1.5 us, 2.3 ms, 4.56 s, then 12 min 5 s and 3 h 20 min (no 1.2e+03 s)."""
    if value is None:
        return "-"
    if abs(value) >= 3600:
        hours, rest = divmod(round(abs(value)), 3600)
        return f"{'-' if value < 0 else ''}{hours} h {rest // 60} min"
    if abs(value) >= 600:
        minutes, rest = divmod(round(abs(value)), 60)
        return f"{'-' if value < 0 else ''}{minutes} min {rest} s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def si(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def nbytes(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} TiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [headers, ["-" * w for w in widths], *rows]]
    return "\n".join(lines)


def mode_row(m: ModeProfile) -> list[str]:
    if not m.ok:
        return [m.mode, f"{m.status.value}: {m.reason}"] + ["-"] * 7
    inf = m.inference
    frac = f"{m.peak_fraction:.1%}" if m.peak_fraction is not None else "-"
    return [
        m.mode,
        f"{seconds(m.step_time.median_s)} ± {seconds(m.step_time.iqr_s)}",
        seconds(m.compile_time_s),
        si(m.throughput, "samples/s"),
        nbytes(m.peak_memory_bytes),
        f"{seconds(inf.latency_p50_s)} / {seconds(inf.latency_p99_s)}" if inf else "-",
        si(inf.throughput, "samples/s") if inf else "-",
        si(m.achieved_flops_per_s, "FLOP/s"),
        frac,
    ]


def profile_table(record: ProfileRecord) -> str:
    headers = ["mode", "step (median ± IQR)", "compile", "train samples", "peak mem",
               "latency p50/p99", "infer samples", "achieved", "of peak"]
    return table(headers, [mode_row(m) for m in record.modes])


def profile_summary(record: ProfileRecord) -> str:
    """The table plus the one-line facts that frame it."""
    flops = record.flops
    peak = record.matmul_peak or {}
    lines = [
        f"{record.suite} ({record.variant or 'custom'}) on {record.dataset.get('name')}: "
        f"batch {record.batch_size}, {record.steps} timed steps after {record.warmup} warm-up, "
        f"params {record.params:,}, train FLOPs/sample {si(flops.get('train_per_sample'))}",
        profile_table(record),
    ]
    if peak:
        lines.append(f"measured dense-matmul peak: {si(peak.get('flops_per_s_best'), 'FLOP/s')}"
                     f" (n={peak.get('n')}, {peak.get('dtype')})")
    for m in record.modes:
        if m.ok and m.peak_memory_bytes is None and m.peak_memory_reason:
            lines.append(f"{m.mode}: peak memory unavailable ({m.peak_memory_reason})")
    xla = record.objectives().get("xla_speedup")
    if xla is not None:
        lines.append(f"XLA speedup over graph: {xla:.2f}x")
    return "\n".join(lines)


def objective_value(name: str, value: float | int) -> str:
    if name in ("train_time", "step_time", "compile_time", "latency"):
        return seconds(value)
    if name == "peak_memory":
        return nbytes(int(value))
    if name == "flops":
        return si(value, "FLOP")
    if name == "params":
        return f"{value:,}"
    return f"{value:.4g}"


def evaluation_summary(record) -> str:
    """State, objectives and per-epoch times of an EvaluationRecord."""
    head = (f"{record.suite} ({record.variant or 'custom'}) on {record.dataset.get('name')}: "
            f"{record.epochs} epoch(s), batch {record.batch_size}, seed {record.seed} -> "
            f"{record.status.value}" + (f" ({record.reason})" if record.reason else ""))
    rows = [[k, objective_value(k, v)] for k, v in sorted(record.objectives().items())]
    lines = [head, table(["objective", "value"], rows)]
    if record.epoch_times_s:
        lines.append("epoch times: " + ", ".join(seconds(t) for t in record.epoch_times_s))
    if record.peak_memory_reason:
        lines.append(f"peak memory unavailable ({record.peak_memory_reason})")
    return "\n".join(lines)


# --- conditional hyperparameters -------------------------------------------------------------
#
# A static search space declares every hyperparameter whatever the others are (the MLP's
# `units_2` exists when `num_layers` is 1, and is ignored). A suite's `[conditions]` table says
# which ones depend on another, in keras-tuner's terms (`conditional_scope(parent_name,
# parent_values)`): `units_2 = { num_layers = [3] }`. Displays (tune's front, the report) leave
# inactive values out; stored documents keep every sampled value and the conditions beside them.

Conditions = Mapping[str, Mapping[str, list[Any]]]  # child -> {parent: values it is used for}


def is_active(name: str, params: Mapping[str, Any], conditions: Conditions) -> bool:
    """Whether `name` is used in this config: every parent it depends on takes one of the
    listed values and is itself active (a missing parent leaves it shown)."""
    parents = conditions.get(name) or {}
    for parent, values in parents.items():
        if parent not in params:
            continue
        if params[parent] not in values or not is_active(parent, params, {
                k: v for k, v in conditions.items() if k != name}):
            return False
    return True


def active_params(params: Mapping[str, Any] | None, conditions: Conditions | None
                  ) -> dict[str, Any]:
    """The config without its inactive hyperparameters."""
    params = dict(params or {})
    if not conditions:
        return params
    return {k: v for k, v in params.items() if is_active(k, params, conditions)}
