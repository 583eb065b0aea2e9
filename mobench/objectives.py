"""The catalogue of named objectives: direction, unit, cheapness and where each comes from.

Objectives are vectors with a direction each, converted to minimisation once, at the boundary
(`to_minimization`). Users may name any metric their model logs with an explicit direction:
`my_metric:max`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mobench.errors import UsageError, unknown_name


class Direction(StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


@dataclass(frozen=True)
class Objective:
    """One optimisation target. `modes`: profiler modes it needs; `cheap`: known before training."""

    name: str
    direction: Direction
    unit: str = ""
    cheap: bool = False
    modes: tuple[str, ...] = ()
    description: str = ""

    def minimized(self, value: float) -> float:
        return value if self.direction is Direction.MINIMIZE else -value


MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE
CATALOGUE: dict[str, Objective] = {o.name: o for o in (
    Objective("val_accuracy", MAX, "", description="validation accuracy after training"),
    Objective("val_loss", MIN, "", description="validation loss after training"),
    Objective("train_time", MIN, "s", description="wall time of the whole training budget"),
    Objective("peak_memory", MIN, "B", description="allocator peak while training"),
    Objective("step_time", MIN, "s", modes=("graph",), description="median graph-mode step"),
    Objective("throughput", MAX, "samples/s", modes=("graph",),
              description="graph-mode training samples per second"),
    Objective("xla_throughput", MAX, "samples/s", modes=("xla",),
              description="XLA-compiled training samples per second"),
    Objective("xla_speedup", MAX, "x", modes=("graph", "xla"),
              description="graph step time / XLA step time"),
    Objective("compile_time", MIN, "s", modes=("graph",), description="graph trace time"),
    Objective("latency", MIN, "s", modes=("graph",), description="inference p50 at batch 1"),
    Objective("params", MIN, "", cheap=True, description="trainable + non-trainable weights"),
    Objective("flops", MIN, "FLOP", cheap=True, description="training FLOPs per sample"),
    Objective("energy", MIN, "J", modes=("graph",),
              description="GPU energy per training step (NVML; GPU only)"),
    Objective("fcd", MIN, "", description="Frechet classifier distance of GAN samples"),
    Objective("classifier_score", MAX, "", description="Inception-score analogue of samples"),
)}
DIRECTION_WORDS = {"min": MIN, "minimize": MIN, "max": MAX, "maximize": MAX}
USER_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def parse_objective(spec: str) -> Objective:
    """`name` from the catalogue, or `name:min|max` (a user metric, or a checked catalogue one)."""
    name, _, word = spec.strip().partition(":")
    name = name.strip()
    if word:
        direction = DIRECTION_WORDS.get(word.strip().lower())
        if direction is None:
            raise UsageError(f"objective {spec!r}: direction must be min or max, got {word!r}")
        known = CATALOGUE.get(name)
        if known is not None:
            if known.direction is not direction:
                raise UsageError(f"objective {spec!r}: {name} is always {known.direction.value}d;"
                                 f" write {name} or {name}:{known.direction.value[:3]}")
            return known
        if not USER_METRIC.fullmatch(name):
            raise UsageError(f"objective {spec!r}: a metric name is letters, digits and _")
        return Objective(name, direction, description="user metric from the training logs")
    if name not in CATALOGUE:
        raise UsageError(f"{unknown_name('objective', name, CATALOGUE)}; "
                         "or name a metric your model logs with a direction, e.g. my_metric:max")
    return CATALOGUE[name]


def parse_objectives(specs: str | Iterable[str]) -> tuple[Objective, ...]:
    """A comma-separated list (or iterable) of objective specs, without duplicates."""
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    objectives = tuple(parse_objective(s) for s in items if s.strip())
    if not objectives:
        raise UsageError("--objectives needs at least one objective name")
    names = [o.name for o in objectives]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"objective {dupes[0]!r} is listed twice")
    return objectives


def profile_modes(objectives: Iterable[Objective]) -> tuple[str, ...]:
    """The profiler modes the objectives need, in a stable order (empty: no profiling)."""
    wanted = {m for o in objectives for m in o.modes}
    return tuple(m for m in ("graph", "xla") if m in wanted)


def to_minimization(values: Mapping[str, float], objectives: Sequence[Objective]) -> list[float]:
    return [o.minimized(float(values[o.name])) for o in objectives]
