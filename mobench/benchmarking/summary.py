"""The terminal summary of `pytest --benchmark`: figures, timing agreement, gate, hardware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mobench.benchmarking.runner import AGREEMENT, BenchState
from mobench.benchmarking.storage import latest_rows
from mobench.display import nbytes, seconds, si, table

Write = Callable[[str], None]


def _num(row: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    value = row.get(key)
    return fmt(value) if isinstance(value, int | float) else "-"


def figures_table(state: BenchState) -> str:
    """The non-timing figures of every benchmark (the profiler's, from extra_info)."""
    headers = ["benchmark", "throughput", "peak memory", "compile", "FLOPs/sample",
               "achieved", "of peak", "XLA speedup", "latency p50", "energy/step"]
    rows = []
    for r in state.results:
        e = r.extra_info
        rows.append([
            r.label,
            _num(e, "throughput", lambda v: si(v, "samples/s")),
            _num(e, "peak_memory_bytes", nbytes),
            _num(e, "compile_time_s", seconds),
            _num(e, "train_flops_per_sample", lambda v: si(v, "FLOP")),
            _num(e, "achieved_flops_per_s", lambda v: si(v, "FLOP/s")),
            _num(e, "peak_fraction", lambda v: f"{v:.1%}"),
            _num(e, "xla_speedup", lambda v: f"{v:.2f}x"),
            _num(e, "latency_p50_s", seconds),
            _num(e, "energy_j_per_step", lambda v: f"{v:.3g} J"),
        ])
    return table(headers, rows)


def agreement_table(state: BenchState) -> str:
    """pytest-benchmark's median step time next to mobench's: its clock on the same rounds
    (interleaved), and its profiler's own timed window (earlier, on another fresh model)."""
    headers = ["benchmark", "pytest-benchmark median", "mobench clock (interleaved)", "ratio",
               f"within {AGREEMENT:.0%}", "mobench profile median", "ratio"]
    rows = []
    for r in state.results:
        e = r.extra_info
        ratio = e.get("timing_ratio")
        ok = "-" if ratio is None else ("yes" if abs(ratio - 1) <= AGREEMENT else "NO")
        rows.append([r.label, seconds(r.benchmark_median_s),
                     _num(e, "mobench_clock_median_s", seconds),
                     _num(e, "timing_ratio", lambda v: f"{v:.3f}"), ok,
                     _num(e, "step_time_s", seconds),
                     _num(e, "profile_timing_ratio", lambda v: f"{v:.3f}")])
    return table(headers, rows)


def _figure(value: float | None, figure: str) -> str:
    if value is None:
        return "-"
    if figure == "peak_memory":
        return nbytes(int(value))
    if figure in ("step_time", "compile_time", "latency", "latency_p99"):
        return seconds(value)
    return f"{value:.4g}"


def gate_table(state: BenchState) -> str:
    headers = ["benchmark", "figure", "baseline", "now", "limit", "status", "baseline run"]
    rows = [[g.label, g.spec, _figure(g.baseline, g.figure), _figure(g.current, g.figure),
             _figure(g.limit, g.figure), g.status, g.source]
            for r in state.results for g in r.gate]
    return table(headers, rows)


def hardware_table(state: BenchState) -> str | None:
    """This run's median step next to the latest saved run of every other hardware id."""
    if not state.others or not state.results:
        return None
    others = {hw: latest_rows(runs) for hw, runs in sorted(state.others.items())}
    headers = ["benchmark", state.hardware_id + " (now)", *others]
    rows = []
    for r in state.results:
        cells = [r.label, seconds(r.benchmark_median_s)]
        for latest in others.values():
            row = latest.get(r.key, ({}, None))[0]
            median = row.get("median_s")
            cells.append("-" if not median else
                         f"{seconds(median)} ({median / r.benchmark_median_s:.2f}x)")
        rows.append(cells)
    if all(c == "-" for row in rows for c in row[2:]):
        return None
    return table(headers, rows)


def summary(state: BenchState, write: Write, section: Callable[[str], None]) -> None:
    """Write the mobench sections of the terminal summary."""
    if not state.results:
        return
    where = f"saved under {state.folder}" if state.folder is not None else "storage keyed"
    section("mobench: profiler figures")
    write(f"hardware {state.hardware_id}, dataset {state.dataset}, {state.rounds} rounds after "
          f"{state.warmup} warm-up (compile excluded); runs {where}")
    write(figures_table(state))
    section("mobench: timing agreement (same step, pytest-benchmark vs mobench profiler)")
    write(agreement_table(state))
    if state.checks:
        regressed = sum(g.status == "REGRESSED" for r in state.results for g in r.gate)
        section(f"mobench: regression gate ({'FAILED' if regressed else 'passed'})")
        if not state.baseline:
            write(f"no saved run of {state.hardware_id} yet: nothing to compare against "
                  "(this run becomes the baseline)")
        write(gate_table(state))
    comparison = hardware_table(state)
    if comparison is not None:
        section("mobench: hardware comparison (median step; ratio = that machine / this one)")
        write(comparison)
    for note in state.notes:
        write(f"mobench: {note}")
