"""Quality indicators and statistics for comparing strategies (moocore, scipy).

Everything works in minimisation space. Normalisation per problem: each objective is scaled
to [0, 1] by the minimum and maximum over the whole problem (for a table, every config in it),
and the reference point is 1.1 in every objective, so a front's hypervolume is comparable
across strategies, seeds and budgets of the same problem. The normalised hypervolume of a
front is its hypervolume divided by that of the true front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mobench.pareto import bounds, nondominated, normalise  # noqa: F401  (the indicators' API)

REFERENCE = 1.1


def hypervolume(points: np.ndarray) -> float:
    """Hypervolume of normalised minimisation points against the reference 1.1 (0 if empty)."""
    import moocore

    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return 0.0
    return float(moocore.hypervolume(points, ref=np.full(points.shape[1], REFERENCE)))


def igd_plus(points: np.ndarray, true_front: np.ndarray) -> float:
    """IGD+ of normalised points to the normalised true front (inf if no point)."""
    import moocore

    points = np.asarray(points, dtype=float)
    if points.size == 0:
        return float("inf")
    return float(moocore.igd_plus(points, ref=np.asarray(true_front, dtype=float)))


def anytime_hypervolume(points: np.ndarray, feasible: Sequence[bool]) -> np.ndarray:
    """Hypervolume of the feasible points seen after each trial (normalised space)."""
    out = np.zeros(len(points))
    front = np.empty((0, np.asarray(points).shape[1] if len(points) else 0))
    for i, (p, ok) in enumerate(zip(np.asarray(points, dtype=float), feasible, strict=True)):
        if ok:
            front = nondominated(np.vstack([front, p]))
        out[i] = hypervolume(front)
    return out


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    scipy offers Benjamini-Hochberg but not Holm, which controls the family-wise error rate
    that pairwise claims of "better" need; it is six lines.
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (1.0 when both samples are constant and equal)."""
    from scipy.stats import mannwhitneyu

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(a == a[0]) and np.all(b == a[0]):
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def average_ranks(scores: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Mean rank per strategy over problems (1 = best = highest score; ties share ranks)."""
    from scipy.stats import rankdata

    names = list(scores)
    matrix = np.array([scores[n] for n in names], dtype=float)  # strategies x problems
    ranks = np.vstack([rankdata(-matrix[:, j]) for j in range(matrix.shape[1])]).T
    return {n: float(r.mean()) for n, r in zip(names, ranks, strict=True)}
