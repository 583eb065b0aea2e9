"""The plugin's inputs: suite selection, modes, the regression-gate spec, one benchmark case."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mobench.errors import UsageError, unknown_name
from mobench.objectives import CATALOGUE, Direction
from mobench.suites import Suite

DEFAULT_MODES = ("graph", "xla")
DEFAULT_DATASET = "digits"
DEFAULT_VARIANT = "small"



@dataclass(frozen=True)
class Figure:
    """A gateable extra_info figure: its key there and which way is better."""

    key: str
    direction: Direction


def _catalogue(name: str, key: str) -> Figure:
    return Figure(key, CATALOGUE[name].direction)


# extra_info keys follow the record fields (unit suffixes, as ModeProfile and the report use).
# Gate names are objective-catalogue names where one exists (direction from the catalogue);
# the other profiler figures are not tuning objectives and carry their direction here.
GATE_FIGURES: dict[str, Figure] = {
    "step_time": _catalogue("step_time", "step_time_s"),
    "throughput": _catalogue("throughput", "throughput"),
    "peak_memory": _catalogue("peak_memory", "peak_memory_bytes"),
    "compile_time": _catalogue("compile_time", "compile_time_s"),
    "latency": _catalogue("latency", "latency_p50_s"),
    "flops": _catalogue("flops", "train_flops_per_sample"),
    "params": _catalogue("params", "model_params"),
    "xla_speedup": _catalogue("xla_speedup", "xla_speedup"),
    "energy": _catalogue("energy", "energy_j_per_step"),
    "achieved_flops_per_s": Figure("achieved_flops_per_s", Direction.MAXIMIZE),
    "peak_fraction": Figure("peak_fraction", Direction.MAXIMIZE),
    "inference_throughput": Figure("inference_throughput", Direction.MAXIMIZE),
    "latency_p99": Figure("latency_p99_s", Direction.MINIMIZE),
    "power": Figure("power_w_mean", Direction.MINIMIZE),
}
_BY_KEY = {f.key: name for name, f in GATE_FIGURES.items()}


def gate_figure(name: str) -> str:
    """The gate name of `name`, which may also be the figure's extra_info key."""
    if name in GATE_FIGURES:
        return name
    if name in _BY_KEY:
        return _BY_KEY[name]
    raise unknown_name("figure", name, GATE_FIGURES)


_TOLERANCE = re.compile(r"(?P<value>\d+(\.\d*)?|\.\d+)(?P<pct>%?)")


def default_variant(suite: Suite) -> str | None:
    """`small` when the suite has it, else its first variant (None: the model's defaults)."""
    if DEFAULT_VARIANT in suite.variants:
        return DEFAULT_VARIANT
    return next(iter(suite.variants), None)


def parse_suite_selection(text: str | None) -> dict[str, tuple[str | None, ...]] | None:
    """`SUITE[:VARIANT][,...]` -> {suite: (variant, ...)}; a bare SUITE means its default
    variant (None here). None or blank text selects every suite's default variant."""
    if text is None or not text.strip():
        return None
    chosen: dict[str, list[str | None]] = {}
    for item in text.split(","):
        name, sep, variant = item.strip().partition(":")
        name, variant = name.strip(), variant.strip()
        if not name or (sep and not variant):
            raise UsageError(f"--mobench-suites: {item.strip()!r} is not SUITE or SUITE:VARIANT "
                             "(e.g. mnist-mlp:small,mnist-cnn)")
        variants = chosen.setdefault(name, [])
        if (variant or None) not in variants:
            variants.append(variant or None)
    return {name: tuple(variants) for name, variants in chosen.items()}


def resolve_selection(selection: dict[str, tuple[str | None, ...]] | None,
                      suites: dict[str, Suite]) -> dict[str, tuple[str | None, ...]]:
    """The suites and variants to run, checked against the suites found (UsageError lists them)."""
    if selection is None:
        return {name: (default_variant(suite),) for name, suite in suites.items()}
    resolved = {}
    for name, variants in selection.items():
        if name not in suites:
            raise unknown_name("suite", name, suites)
        suite = suites[name]
        for variant in variants:
            if variant is not None and variant not in suite.variants:
                raise UsageError(f"{unknown_name('variant', variant, suite.variants)} "
                                 f"(suite {name})")
        picked = [v if v is not None else default_variant(suite) for v in variants]
        resolved[name] = tuple(dict.fromkeys(picked))
    return resolved


def parse_modes(text: str) -> tuple[str, ...]:
    """`xla,graph` -> ("graph", "xla"): checked, in the profiler's order (graph runs before
    xla, so the xla benchmark can report its speedup over graph)."""
    from mobench.profiling.profiler import MODES, check_modes

    modes = check_modes([m.strip() for m in text.split(",") if m.strip()])
    return tuple(m for m in MODES if m in modes)


@dataclass(frozen=True)
class GateCheck:
    """One `--mobench-compare-fail` item: how much worse `figure` may get than the baseline."""

    figure: str  # gate name (see GATE_FIGURES)
    tolerance: float
    relative: bool  # a fraction of the baseline (10% -> 0.10), else in the figure's unit
    direction: Direction

    @property
    def key(self) -> str:
        """Where the figure sits in extra_info."""
        return GATE_FIGURES[self.figure].key

    @property
    def spec(self) -> str:
        if self.relative:
            return f"{self.figure}:{self.tolerance * 100:g}%"
        return f"{self.figure}:{self.tolerance:g}"

    def limit(self, baseline: float) -> float:
        """The worst value that still passes."""
        slack = abs(baseline) * self.tolerance if self.relative else self.tolerance
        return baseline + slack if self.direction is Direction.MINIMIZE else baseline - slack

    def regressed(self, baseline: float, current: float) -> bool:
        limit = self.limit(baseline)
        return current > limit if self.direction is Direction.MINIMIZE else current < limit


def parse_compare_fail(text: str) -> tuple[GateCheck, ...]:
    """`peak_memory:10%,throughput:5%` (relative) or `step_time:0.002` (absolute, in the unit of
    the extra_info figure: s, B, samples/s, ...)."""
    checks: list[GateCheck] = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        figure, sep, amount = item.partition(":")
        figure, amount = figure.strip(), amount.strip()
        if not sep or not figure or not amount:
            raise UsageError(f"--mobench-compare-fail: {item!r} is not FIGURE:TOLERANCE "
                             "(e.g. peak_memory:10%,throughput:5%)")
        figure = gate_figure(figure)
        match = _TOLERANCE.fullmatch(amount)
        if match is None:
            raise UsageError(f"--mobench-compare-fail: {item!r}: the tolerance must be a "
                             "non-negative number, a percentage (10%) or a value in the "
                             "figure's unit (0.002)")
        value = float(match["value"])
        relative = bool(match["pct"])
        if any(c.figure == figure for c in checks):
            raise UsageError(f"--mobench-compare-fail: {figure!r} is listed twice")
        checks.append(GateCheck(figure, value / 100 if relative else value, relative,
                                GATE_FIGURES[figure].direction))
    if not checks:
        raise UsageError("--mobench-compare-fail needs at least one FIGURE:TOLERANCE")
    return tuple(checks)


@dataclass(frozen=True)
class Case:
    """One benchmark: a suite variant in one execution mode, with the measurement settings."""

    suite: Suite
    variant: str | None
    mode: str
    dataset: str = DEFAULT_DATASET
    rounds: int = 50
    warmup: int = 3
    seed: int = 0
    profile: bool = True  # False under --benchmark-disable: run the step once, measure nothing

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.suite.name, self.variant, self.mode)

    @property
    def label(self) -> str:
        return f"{self.suite.name}:{self.variant} {self.mode}" if self.variant else \
            f"{self.suite.name} {self.mode}"


@dataclass
class Prepared:
    """What `pytest_mobench_prepare` hands back: the profiler's figures and the step to time.

    `train_step` runs one training step (it may return before the device is done), `sync`
    waits for the device; pytest-benchmark times `step` (both), mobench's own clock times
    `train_step` with a sync before and after. `figures` are flat extra_info values named as
    the record fields (step_time_s, peak_memory_bytes, throughput in samples/s, ... see
    GATE_FIGURES); `close` frees the model afterwards.
    """

    train_step: Callable[[], Any]
    sync: Callable[[], None]
    figures: dict[str, Any]
    close: Callable[[], None] | None = None

    def step(self) -> None:
        """One training step until the device is idle: the function pytest-benchmark times."""
        self.train_step()
        self.sync()
