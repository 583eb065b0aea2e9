"""PESA-II as an Optuna sampler (Corne, Jerram, Knowles, Oates, GECCO 2001).

An external archive holds the non-dominated feasible COMPLETE trials. Objective space is cut
into a hypergrid spanning the archive; parents are picked by region-based selection (a binary
tournament between two occupied hyperboxes, the less crowded one wins, then a random member of
it), bred by SBX crossover and polynomial mutation in the normalised [0, 1] parameter space
(uniform crossover and random reset for categoricals). Steady state: each trial is one child.
Feasible means every value in ``trial.constraints`` (Optuna's ``Trial.set_constraint`` or the
``constraints`` system attribute) is <= 0; FAIL trials are ignored; until a feasible trial
exists, and for the first ``n_startup_trials``, sampling is random. The archive is rebuilt
from the study's trials at every ask, so resuming from storage and several workers on one
study need no sampler state.

Operators: the literature defaults of PlatEMO and jMetal (SBX probability 0.9 with
distribution index 20, polynomial mutation index 20 at rate 1/n), not tuned on any problem;
``nsga2``, ``nsga3`` and the other library strategies keep their libraries' defaults likewise.

Deviations from the paper: real-coded SBX and polynomial mutation instead of the paper's
binary strings with uniform crossover and bit-flip mutation; steady state (one child per
trial) instead of an internal population bred per generation; 10 random start-up trials;
categoricals use uniform crossover and random reset.

The normalised-space helpers and the sampler skeleton live in :mod:`.base`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from mobench.pareto import is_feasible, nondominated_mask
from mobench.strategies.base import RelativeSampler, decode, encode, external, minimisation_values

# --- archive, hypergrid and region-based selection -------------------------------------------


def hyperbox_indices(points: np.ndarray, divisions: int) -> np.ndarray:
    """Integer hyperbox coordinates of each point on a grid spanning the points' min..max."""
    points = np.asarray(points, dtype=float)
    lower, upper = points.min(axis=0), points.max(axis=0)
    width = np.where(upper > lower, upper - lower, 1.0)
    boxes = np.floor((points - lower) / width * divisions).astype(int)
    return np.clip(boxes, 0, divisions - 1)


def box_members(boxes: np.ndarray) -> dict[tuple[int, ...], list[int]]:
    """Occupied hyperbox -> indices of its members; len(members) is the squeeze factor."""
    members: dict[tuple[int, ...], list[int]] = {}
    for i, box in enumerate(np.asarray(boxes)):
        members.setdefault(tuple(int(b) for b in box), []).append(i)
    return members


def region_tournament(
    members: Mapping[tuple[int, ...], Sequence[int]], rng: np.random.Generator
) -> tuple[int, ...]:
    """Binary tournament between two occupied boxes drawn uniformly: lower squeeze factor wins."""
    keys = sorted(members)
    a, b = (keys[i] for i in rng.integers(len(keys), size=2))
    if len(members[a]) == len(members[b]):
        return a if rng.random() < 0.5 else b
    return a if len(members[a]) < len(members[b]) else b


def select_parent(boxes: np.ndarray, rng: np.random.Generator) -> int:
    """Region-based selection: tournament between hyperboxes, then a random member."""
    members = box_members(boxes)
    winner = members[region_tournament(members, rng)]
    return int(winner[rng.integers(len(winner))])


def truncate_archive(points: np.ndarray, capacity: int, divisions: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Indices kept when the archive exceeds ``capacity``: drop members of the most crowded box."""
    keep = list(range(len(points)))
    while len(keep) > capacity:
        members = box_members(hyperbox_indices(points[keep], divisions))
        crowded = max(sorted(members), key=lambda k: len(members[k]))
        victim = members[crowded][rng.integers(len(members[crowded]))]
        keep.pop(victim)
    return np.asarray(keep, dtype=int)


# --- variation in the normalised space -------------------------------------------------------


def sbx(x1: float, x2: float, eta: float, rng: np.random.Generator) -> float:
    """One child of bounded simulated binary crossover on [0, 1] (Deb and Agrawal 1995)."""
    if abs(x1 - x2) < 1e-14:
        return x1
    y1, y2 = min(x1, x2), max(x1, x2)
    u = rng.random()
    children = []
    for beta in (1.0 + 2.0 * y1 / (y2 - y1), 1.0 + 2.0 * (1.0 - y2) / (y2 - y1)):
        alpha = 2.0 - beta ** -(eta + 1.0)
        if u <= 1.0 / alpha:
            betaq = (u * alpha) ** (1.0 / (eta + 1.0))
        else:
            betaq = (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
        children.append(betaq)
    c1 = 0.5 * ((y1 + y2) - children[0] * (y2 - y1))
    c2 = 0.5 * ((y1 + y2) + children[1] * (y2 - y1))
    return float(np.clip(c1 if rng.random() < 0.5 else c2, 0.0, 1.0))


def polynomial_mutation(x: float, eta: float, rng: np.random.Generator) -> float:
    """Bounded polynomial mutation on [0, 1] (Deb and Goyal 1996)."""
    u = rng.random()
    power = 1.0 / (eta + 1.0)
    if u < 0.5:
        val = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - x) ** (eta + 1.0)
        delta = val**power - 1.0
    else:
        val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x ** (eta + 1.0)
        delta = 1.0 - val**power
    return float(np.clip(x + delta, 0.0, 1.0))


class PESA2Sampler(RelativeSampler):
    """PESA-II: region-based selection from a hypergrid archive of non-dominated trials.

    Variation uses the literature defaults of PlatEMO and jMetal, untuned here: SBX with
    probability 0.9 and distribution index 20, polynomial mutation with distribution index 20
    at a rate of 1/n per parameter (n = parameters in the joint space). Every other strategy
    keeps its library defaults too, so no strategy was tuned on the problems that judge them.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        divisions: int = 10,
        archive_size: int = 100,
        crossover_prob: float = 0.9,
        crossover_eta: float = 20.0,
        mutation_eta: float = 20.0,
        mutation_prob: float | None = None,
    ) -> None:
        if divisions < 1 or archive_size < 1:
            raise ValueError("divisions and archive_size must be >= 1")
        super().__init__(seed=seed, n_startup_trials=n_startup_trials)
        self._divisions = divisions
        self._archive_size = archive_size
        self._crossover_prob = crossover_prob
        self._crossover_eta = crossover_eta
        self._mutation_eta = mutation_eta
        self._mutation_prob = mutation_prob

    def archive(self, study: Study) -> list[FrozenTrial]:
        """The non-dominated feasible COMPLETE trials, truncated to ``archive_size``."""
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        candidates = [t for t in done if is_feasible(t) and np.all(np.isfinite(t.values))]
        if not candidates:
            return []
        values = minimisation_values(study, candidates)
        front = np.flatnonzero(nondominated_mask(values))
        if len(front) > self._archive_size:
            front = front[truncate_archive(values[front], self._archive_size,
                                           self._divisions, self._rng)]
        return [candidates[i] for i in front]

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        n_done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if n_done < self._n_startup_trials:
            return {}
        archive = self.archive(study)
        if not archive:  # nothing feasible yet: keep exploring at random
            return {}
        boxes = hyperbox_indices(minimisation_values(study, archive), self._divisions)
        first = archive[select_parent(boxes, self._rng)]
        second = archive[select_parent(boxes, self._rng)]
        return self._child(first, second, search_space)

    def _child(
        self, first: FrozenTrial, second: FrozenTrial, space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        cross = self._rng.random() < self._crossover_prob
        p_mut = self._mutation_prob
        if p_mut is None:
            p_mut = 1.0 / len(space)
        child: dict[str, Any] = {}
        for name, dist in space.items():
            if isinstance(dist, CategoricalDistribution):
                index = dist.to_internal_repr(first.params[name])
                if cross and self._rng.random() < 0.5:
                    index = dist.to_internal_repr(second.params[name])
                if self._rng.random() < p_mut and len(dist.choices) > 1:
                    others = [i for i in range(len(dist.choices)) if i != int(index)]
                    index = others[self._rng.integers(len(others))]
                child[name] = external(dist, index)
                continue
            assert isinstance(dist, FloatDistribution | IntDistribution)
            x = float(encode(dist, first.params[name]))
            if cross and self._rng.random() < 0.5:
                x = sbx(x, float(encode(dist, second.params[name])), self._crossover_eta, self._rng)
            if self._rng.random() < p_mut:
                x = polynomial_mutation(x, self._mutation_eta, self._rng)
            child[name] = external(dist, float(decode(dist, x)))
        return child


def make_pesa2(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Registry factory: PESA-II with 10 random start-up trials and a 10-division hypergrid."""
    return PESA2Sampler(seed=seed)
