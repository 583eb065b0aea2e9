"""Quality indicators for comparing strategies (moocore): hypervolume, IGD+, and the
normalisations they are measured in.

Everything works in minimisation space. A `Scale` maps each objective to [0, 1] by a low and
a high; the hypervolume reference point is 1 + margin in every objective (1.1 by default), so
points beyond it add nothing. Two scales per problem:

- ``front`` (primary by default): low and high are the ideal and nadir of the reference front,
  the non-dominated set of the problem's true front (when known) together with every point
  any run of the comparison found. The box of all evaluations is mostly dominated space, so
  a front that fills it saturates near 1 whatever a strategy does; the front's own box does
  not.
- ``box`` (the earlier normalisation): low and high over all evaluations of the problem (a
  table's every config, a surrogate's reference run), or over the found points when live.

Either way a front's hypervolume is divided by the reference front's in the same scale. The
reference front weakly dominates every found point, so no normalised hypervolume exceeds 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mobench.compare.statistics import (  # noqa: F401  (the indicators' API)
    average_ranks,
    holm,
    mann_whitney,
)
from mobench.pareto import bounds, nondominated, normalise  # noqa: F401  (the indicators' API)

MARGIN = 0.1
REFERENCE = 1.0 + MARGIN
NORMALISATIONS = ("front", "box")


def hypervolume(points: np.ndarray, reference: float = REFERENCE) -> float:
    """Hypervolume of normalised minimisation points against `reference` in every objective
    (0 if empty)."""
    import moocore

    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return 0.0
    return float(moocore.hypervolume(points, ref=np.full(points.shape[1], reference)))


def igd_plus(points: np.ndarray, true_front: np.ndarray) -> float:
    """IGD+ of normalised points to the normalised true front (inf if no point)."""
    import moocore

    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return float("inf")
    return float(moocore.igd_plus(points, ref=np.asarray(true_front, dtype=float)))


def anytime_hypervolume(points: np.ndarray, feasible: Sequence[bool],
                        reference: float = REFERENCE) -> np.ndarray:
    """Hypervolume of the feasible points seen after each trial (normalised space)."""
    out = np.zeros(len(points))
    front = np.empty((0, np.asarray(points).shape[1] if len(points) else 0))
    for i, (p, ok) in enumerate(zip(np.asarray(points, dtype=float), feasible, strict=True)):
        if ok:
            front = nondominated(np.vstack([front, p]))
        out[i] = hypervolume(front, reference)
    return out


def reference_front(found: np.ndarray, true_front: np.ndarray | None = None) -> np.ndarray:
    """The non-dominated set of the true front (if any) and every found point (both rows of
    minimisation points, `found` possibly with none)."""
    found = np.asarray(found, dtype=float)
    parts = [p for p in (true_front, found) if p is not None and len(p)]
    return nondominated(np.vstack(parts)) if parts else found


@dataclass(frozen=True)
class Scale:
    """One normalisation of a problem: `low` -> 0, `high` -> 1 per objective, reference point
    1 + `margin`, hypervolume relative to the reference front's in this scale."""

    name: str
    low: np.ndarray
    high: np.ndarray
    margin: float
    front: np.ndarray  # the reference front, normalised

    @property
    def reference(self) -> float:
        return 1.0 + self.margin

    @property
    def front_hypervolume(self) -> float:
        return hypervolume(self.front, self.reference)

    def normalise(self, points: np.ndarray) -> np.ndarray:
        return normalise(points, self.low, self.high)

    def anytime(self, points: np.ndarray, found: Sequence[bool]) -> np.ndarray:
        """Anytime hypervolume of a run's found points as a fraction of the reference front's
        (0 throughout when the reference front is empty)."""
        norm = np.nan_to_num(self.normalise(np.asarray(points, dtype=float)), nan=np.inf)
        whole = self.front_hypervolume
        hv = anytime_hypervolume(norm, found, self.reference)
        return hv / whole if whole > 0 else np.zeros_like(hv)


def make_scale(name: str, front: np.ndarray, box: np.ndarray,
               margin: float = MARGIN) -> Scale:
    """The `front` scale (ideal to nadir of `front`) or the `box` scale (bounds of `box`). An
    objective in which the reference front is flat is scaled by the box's span instead."""
    front = np.asarray(front, dtype=float)
    box = np.asarray(box, dtype=float)
    if len(box) == 0:  # nothing evaluated, nothing found: a unit box
        box = np.vstack([np.zeros(front.shape[1]), np.ones(front.shape[1])])
    box_low, box_high = bounds(box)
    if name == "box":
        low, high = box_low, box_high
    elif name == "front":
        low, high = bounds(front) if len(front) else (box_low, box_high)
        flat = high <= low
        high = np.where(flat, low + np.where(box_high > box_low, box_high - box_low, 1.0), high)
    else:
        raise ValueError(f"unknown normalisation {name!r}; valid: {', '.join(NORMALISATIONS)}")
    return Scale(name, low, high, margin, normalise(front, low, high))
