"""Pareto dominance, normalisation and feasibility: the one implementation every layer uses
(strategies, the study, comparisons, the report, the keras-tuner front end).

Points are rows of objective values in minimisation form: maximised objectives are negated
once, at the boundary (`minimisation`, or `Objective.minimized`). Dominance comes from moocore
(C speed). A point is on the front when no other point dominates it, so two equal points are
both members (`nondominated_mask`); a front as a set of points holds each point once
(`nondominated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def minimisation(values: Any, directions: Sequence[str]) -> np.ndarray:
    """Rows of objective values with the 'maximize' columns negated."""
    signs = np.array([-1.0 if str(d).lower().endswith("maximize") else 1.0 for d in directions])
    return np.asarray(values, dtype=float).reshape(-1, len(signs)) * signs


def nondominated_mask(points: Any, *, duplicates: bool = True) -> np.ndarray:
    """Mask of the rows (minimisation) that no other row dominates; with `duplicates=False`
    only the first of equal rows is marked."""
    import moocore

    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(points, keep_weakly=duplicates), dtype=bool)


def nondominated(points: Any) -> np.ndarray:
    """The Pareto front of `points` (minimisation) as a set: each point once."""
    points = np.asarray(points, dtype=float)
    return points[nondominated_mask(points, duplicates=False)] if len(points) else points


def pareto_ranks(points: Any) -> np.ndarray:
    """Non-dominated sorting rank of each row (1 = on the front)."""
    import moocore

    points = np.asarray(points, dtype=float)
    return np.asarray(moocore.pareto_rank(points)) + 1 if len(points) else np.zeros(0, int)


def bounds(points: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-objective minimum and maximum over the rows."""
    points = np.asarray(points, dtype=float)
    return points.min(axis=0), points.max(axis=0)


def normalise(points: Any, low: Any, high: Any) -> np.ndarray:
    """Scale each objective to [0, 1] by `low`..`high`; a constant objective maps to 0."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    span = np.where(high > low, high - low, 1.0)
    return (np.asarray(points, dtype=float) - low) / span


def feasible(constraint_values: Iterable[float]) -> bool:
    """Optuna's rule: feasible when every constraint value is <= 0 (none: feasible)."""
    return all(v <= 0.0 for v in constraint_values)


def is_feasible(trial: Any) -> bool:
    """`feasible` for an Optuna trial's constraint values."""
    return feasible(trial.constraints.values())
