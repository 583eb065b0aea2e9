"""The catalogue of named objectives: direction, unit, cheapness and where each comes from.

Objectives are vectors with a direction each, converted to minimisation once, at the boundary
(`to_minimization`). Users may name any metric their model logs with an explicit direction:
`my_metric:max`.
"""

from __future__ import annotations

import math
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
    needs_gpu: bool = False  # measured by NVML on NVIDIA GPUs only

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
    Objective("energy", MIN, "J", modes=("graph",), needs_gpu=True,
              description="GPU energy per training step (NVML; GPU only)"),
    Objective("fcd", MIN, "", description="Frechet classifier distance of GAN samples"),
    Objective("classifier_score", MAX, "", description="Inception-score analogue of samples"),
)}
# What the model itself reports (its training logs, the GAN's quality pass), not what mobench
# measures around it: a trial that trained and lacks one names an objective the model never
# logs, a mistake in the command, not a one-off failed measurement.
MODEL_METRICS = frozenset({"val_accuracy", "val_loss", "fcd", "classifier_score"})
DIRECTION_WORDS = {"min": MIN, "minimize": MIN, "max": MAX, "maximize": MAX}


def model_metric(objective: Objective) -> bool:
    """Whether the model reports `objective` (a user metric, or one of MODEL_METRICS)."""
    return objective.name in MODEL_METRICS or objective.name not in CATALOGUE
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
    return distinct(objectives)


def distinct(objectives: tuple[Objective, ...]) -> tuple[Objective, ...]:
    """`objectives`, refused with a UsageError when one is listed twice."""
    names = [o.name for o in objectives]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"objective {dupes[0]!r} is listed twice")
    return objectives


def check_measurable(names: Iterable[str], gpus: int, why_none: str | None = None) -> None:
    """Refuse, before any training, objectives or constraints this machine cannot measure."""
    for name in names:
        known = CATALOGUE.get(name)
        if known is not None and known.needs_gpu and gpus == 0:
            raise UsageError(f"{name} is measured by NVML on NVIDIA GPUs, and this machine has "
                             f"none ({why_none or 'no GPU found'}): drop {name} from the "
                             "objectives and constraints, or run on a GPU")


def profile_modes(objectives: Iterable[Objective]) -> tuple[str, ...]:
    """The profiler modes the objectives need, in a stable order (empty: no profiling)."""
    wanted = {m for o in objectives for m in o.modes}
    return tuple(m for m in ("graph", "xla") if m in wanted)


def to_minimization(values: Mapping[str, float], objectives: Sequence[Objective]) -> list[float]:
    return [o.minimized(float(values[o.name])) for o in objectives]


# --- constraints: `peak_memory<=2GiB`, `params<=1e6`, parsed with units ---------------
#
# A constraint becomes an Optuna constraint value (<= 0 feasible), scaled by the limit so that
# constraints in bytes and in seconds weigh alike. Cheap ones (`params`, `flops`) are checked
# before training, so an infeasible config costs nothing.

UNITS = {
    "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
    "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40,
    "s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "J": 1.0, "kJ": 1e3,
}
# What each unit measures; a constraint's unit must measure what its objective does.
UNIT_DIMENSION = {**{u: "count" for u in ("", "k", "M", "G", "T")},
                  **{u: "bytes" for u in ("B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB",
                                           "TiB")},
                  **{u: "time" for u in ("s", "ms", "us", "min", "h")},
                  **{u: "energy" for u in ("J", "kJ")}}
OBJECTIVE_DIMENSION = {"B": "bytes", "s": "time", "J": "energy"}  # any other unit: a count
PATTERN = re.compile(
    r"^\s*(?P<name>[A-Za-z_]\w*)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$"
)


@dataclass(frozen=True)
class Constraint:
    name: str
    op: str
    limit: float
    text: str

    @property
    def cheap(self) -> bool:
        return self.name in CATALOGUE and CATALOGUE[self.name].cheap

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 when satisfied; relative to the limit."""
        scale = abs(self.limit) or 1.0
        excess = value - self.limit if self.op in ("<=", "<") else self.limit - value
        if self.op in ("<", ">") and excess == 0:
            excess = 1e-12
        return excess / scale

    def satisfied(self, value: float) -> bool:
        return self.violation(value) <= 0


def parse_constraint(text: str) -> Constraint:
    m = PATTERN.match(text or "")
    if m is None:
        raise UsageError(f"constraint {text!r} does not parse; write NAME<=VALUE[UNIT], "
                         "e.g. peak_memory<=2GiB, params<=1e6, train_time<30s")
    unit = m["unit"]
    if unit not in UNITS:
        raise UsageError(f"constraint {text!r}: unknown unit {unit!r}; "
                         f"known units: {', '.join(u for u in UNITS if u)}")
    if m["name"] not in CATALOGUE:
        raise UsageError(f"constraint {text!r}: unknown measurement {m['name']!r}; "
                         f"constrain one of: {', '.join(sorted(CATALOGUE))}")
    objective = CATALOGUE[m["name"]]
    wanted = OBJECTIVE_DIMENSION.get(objective.unit, "count")
    if unit and UNIT_DIMENSION[unit] != wanted:
        units = ", ".join(u for u, d in UNIT_DIMENSION.items() if d == wanted and u)
        raise UsageError(f"constraint {text!r}: {objective.name} is measured in "
                         f"{objective.unit or 'plain numbers'}, so {unit!r} "
                         f"({UNIT_DIMENSION[unit]}) cannot bound it; use {units} or no unit")
    limit = float(m["number"]) * UNITS[unit]
    if not math.isfinite(limit):
        raise UsageError(f"constraint {text!r}: the limit is not a finite number; "
                         "give one like, e.g. params<=1e9")
    return Constraint(m["name"], m["op"], limit, text.strip())
