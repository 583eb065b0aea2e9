"""A surrogate problem's reference front, computed once: random configs plus a vectorised
NSGA-II over the surrogate's predictions in batches (about 20k evaluations in seconds; Optuna's
sampler asks one trial at a time, which would take minutes here)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mobench.compare.surrogate import FRONT_EVALUATIONS, Surrogate, column
from mobench.objectives import Objective


def _decode(space: dict[str, Any], units: np.ndarray) -> list[dict[str, Any]]:
    from mobench.compare.curves import _value  # the mapping the table's sampling used

    names = list(space)
    return [{n: _value(space[n], u) for n, u in zip(names, row, strict=True)} for row in units]

def reference_front(surrogate: Surrogate, objectives: tuple[Objective, ...],
                    evaluations: int | None = None, seed: int = 0) -> dict[str, Any]:
    """The median front of a large mixed run: half uniform random configs, half an NSGA-II
    (rank and crowding selection, uniform crossover, Gaussian mutation in the unit cube)
    seeded with the random half's best; predictions in batches."""
    from mobench.pareto import nondominated

    surrogate.check_targets(objectives)
    evaluations = evaluations or FRONT_EVALUATIONS
    targets = [column(o.name) for o in objectives]
    space = surrogate.space
    rng = np.random.default_rng(seed)
    d = len(space)

    def evaluate(units: np.ndarray) -> np.ndarray:
        configs = _decode(space, units)
        pred = surrogate.predict(configs, targets)
        points = np.column_stack([[o.minimized(v) for v in pred[t]]
                                  for o, t in zip(objectives, targets, strict=True)])
        points[surrogate.failing(configs)] = np.nan
        return points

    half = evaluations // 2
    units = rng.random((half, d))
    points = evaluate(units)
    seen_u, seen_p = [units], [points]
    pop_size = 100
    pop_u, pop_p = _select(units, points, pop_size)
    for _ in range(max(0, (evaluations - half) // pop_size)):
        children = _offspring(pop_u, pop_p, pop_size, rng)
        child_p = evaluate(children)
        seen_u.append(children)
        seen_p.append(child_p)
        pop_u, pop_p = _select(np.vstack([pop_u, children]), np.vstack([pop_p, child_p]),
                               pop_size)
    allp = np.vstack(seen_p)
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    front = nondominated(allp)
    front = front[np.lexsort(front.T[::-1])]
    return {"objectives": [o.name for o in objectives], "evaluations": int(len(np.vstack(seen_u))),
            "feasible": int(len(allp)), "method": "random + NSGA-II, median predictions",
            "seed": seed, "space": "minimisation (maximised objectives negated)",
            "points": front.tolist(), "low": allp.min(axis=0).tolist(),
            "high": allp.max(axis=0).tolist()}

def _rank_crowding(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from mobench.pareto import pareto_ranks

    finite = np.all(np.isfinite(points), axis=1)
    ranks = np.full(len(points), np.iinfo(np.int32).max, dtype=np.int64)
    if finite.any():
        ranks[finite] = pareto_ranks(points[finite])
    crowd = np.zeros(len(points))
    for r in np.unique(ranks[finite]):
        idx = np.flatnonzero(ranks == r)
        for k in range(points.shape[1]):
            order = idx[np.argsort(points[idx, k])]
            span = points[order[-1], k] - points[order[0], k] or 1.0
            crowd[order[0]] = crowd[order[-1]] = np.inf
            crowd[order[1:-1]] += (points[order[2:], k] - points[order[:-2], k]) / span
    return ranks, crowd

def _select(units, points, size):
    ranks, crowd = _rank_crowding(points)
    order = np.lexsort((-crowd, ranks))[:size]
    return units[order], points[order]

def _offspring(units, points, size, rng):
    ranks, crowd = _rank_crowding(points)
    a, b = rng.integers(len(units), size=(2, 2 * size))
    better = (ranks[a] < ranks[b]) | ((ranks[a] == ranks[b]) & (crowd[a] >= crowd[b]))
    parents = np.where(better, a, b).reshape(2, size)
    mask = rng.random((size, units.shape[1])) < 0.5
    children = np.where(mask, units[parents[0]], units[parents[1]])
    mutate = rng.random(children.shape) < max(1.0 / units.shape[1], 0.1)
    children = children + mutate * rng.normal(0.0, 0.1, children.shape)
    return np.clip(children, 0.0, 1.0 - 1e-12)
