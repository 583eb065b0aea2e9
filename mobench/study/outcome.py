"""What one trial produced and how it is told to Optuna.

Infeasible trials (a cheap constraint violated before training, out of memory, NaN, a measured
constraint violated, an objective that could not be measured) are COMPLETE trials with Optuna
constraint values > 0, so constrained samplers rank them below every feasible trial and learn to
avoid the region. Objectives that were not measured for such a trial are told as placeholders
(the worst value seen so far, or a bound) and listed in the trial's `placeholders` attribute;
reports never show them as data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mobench.objectives import Direction, Objective

FALLBACK_WORST = 1e12


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial produced: objective values (or a reason it is infeasible)."""

    values: dict[str, float]
    violations: tuple[float, ...] = ()
    infeasible_reason: str | None = None
    record: dict[str, Any] | None = None
    stopped_at: int | None = None  # epoch a multi-fidelity strategy stopped it after (PRUNED)

    @property
    def feasible(self) -> bool:
        return self.infeasible_reason is None and all(v <= 0 for v in self.violations)


def told_values(outcome: TrialOutcome, objectives: tuple[Objective, ...],
                completed: list[list[float]]) -> tuple[list[float], list[str]]:
    """The vector to tell Optuna and the names that are placeholders, not measurements."""
    values, placeholders = [], []
    for i, o in enumerate(objectives):
        value = outcome.values.get(o.name)
        if outcome.feasible or (value is not None and math.isfinite(value)):
            values.append(float(value))
            continue
        seen = [row[i] for row in completed if math.isfinite(row[i])]
        if o.direction is Direction.MAXIMIZE:
            values.append(min(seen) if seen else 0.0)
        else:
            values.append(max(seen) if seen else FALLBACK_WORST)
        placeholders.append(o.name)
    return values, placeholders


def tell(study, trial, values: list[float]) -> bool:
    """study.tell; False when the sampler asks the study to stop (Optuna's grid, exhausted).

    Optuna's GridSampler calls `study.stop()`, which only works inside `optimize`; in ask/tell
    the trial is already stored when it raises, so this only turns the request into a result.
    """
    try:
        study.tell(trial, values)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise
        return False
    return True


def constraint_values(outcome: TrialOutcome, constraints: tuple) -> dict[str, float]:
    """Optuna constraint values by name (<= 0 feasible); OOM/NaN add a violated `failed`."""
    values = dict(zip((c.text for c in constraints), outcome.violations, strict=True))
    if outcome.infeasible_reason and all(v <= 0 for v in values.values()):
        values["failed"] = 1.0
    return values
