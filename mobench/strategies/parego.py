"""ParEGO as an Optuna sampler (Knowles, IEEE TEC 10(1), 2006).

At every ask a weight vector is drawn from the simplex lattice of the paper (s = 10 for two
objectives, 4 for three), the objectives (minimisation form) are normalised to [0, 1] by their
observed min/max and scalarised with the augmented Tchebycheff function
``max_i(w_i f_i) + rho * sum_i(w_i f_i)``, a Gaussian process (Matern 5/2 + white noise) is fitted
to the scalarised values of a training subset, and the next configuration is the candidate with
the highest expected improvement among random points of the mixed space and mutations of the
best points. Numeric parameters are encoded in [0, 1] (log-scaled where the distribution is
log), categoricals one-hot.

Training subset and incumbent, as in Knowles's code and PlatEMO: when more than ``max_points``
trials are usable, the GP trains on the ``max_points`` best under the current weights, so the
best trial is never dropped; EI's incumbent is the best scalarised value over all trials.

Infeasible COMPLETE trials and FAIL trials (when they carry every parameter) score strictly
worse than every feasible trial: the worst feasible scalar + ``INFEASIBLE_MARGIN`` x (1 + the
trial's total constraint violation relative to the largest one; 1 for a FAIL trial), so the
model learns to stay away from them, farther from the worse ones. Until a feasible trial
exists the sampler samples at random.

Deviations from the paper: 10 random start-up trials instead of an 11d-1 Latin hypercube; the
GP is scikit-learn's (Matern 5/2 with automatic relevance determination + white noise, fitted
by maximum likelihood) instead of the paper's DACE-style kriging; EI is maximised over random
and mutated candidates instead of by the paper's evolutionary algorithm; mixed spaces
(categoricals one-hot) and constraints are mobench's additions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState
from scipy.special import ndtr

from mobench.pareto import bounds, is_feasible, normalise
from mobench.strategies.base import RelativeSampler, decode, encode, external, minimisation_values

#: Lattice resolution s per number of objectives, as in Knowles (2006); 3 beyond.
LATTICE_SIZE = {1: 1, 2: 10, 3: 4}
#: How far below the worst feasible scalar an infeasible trial scores (plus up to as much
#: again for the largest violation); the scalars span about [0, 1].
INFEASIBLE_MARGIN = 0.1


def simplex_lattice(n_objectives: int, s: int) -> np.ndarray:
    """Every weight vector with components in {0, 1/s, ..., 1} that sum to 1."""
    rows = []
    for bars in combinations(range(s + n_objectives - 1), n_objectives - 1):
        edges = (-1, *bars, s + n_objectives - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_objectives)])
    return np.asarray(rows, dtype=float) / s


def augmented_tchebycheff(values: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """``max_i(w_i f_i) + rho * sum_i(w_i f_i)`` per row of normalised objective ``values``."""
    weighted = np.atleast_2d(values) * weights
    return weighted.max(axis=1) + rho * weighted.sum(axis=1)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """EI of a minimisation below ``best`` for a Gaussian prediction N(mean, std^2)."""
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    gain = best - mean
    safe = np.maximum(std, 1e-12)
    z = gain / safe
    ei = gain * ndtr(z) + safe * np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    return np.where(std > 1e-12, ei, np.maximum(gain, 0.0))


def violation(trial: FrozenTrial) -> float:
    """Total constraint violation of a trial: the sum of its positive constraint values
    (inf for a FAIL trial, 0 for a feasible one)."""
    if trial.state != TrialState.COMPLETE:
        return math.inf
    return float(sum(max(0.0, float(v)) for v in trial.constraints.values()))


def infeasible_scores(feasible: np.ndarray, violations: Sequence[float]) -> np.ndarray:
    """Scalars of infeasible trials: strictly worse than every ``feasible`` scalar, and worse
    the larger the violation (relative to the largest finite one; inf counts as the largest)."""
    v = np.asarray(violations, dtype=float)
    finite = v[np.isfinite(v)]
    top = finite.max() if finite.size else 0.0
    relative = np.where(np.isfinite(v), v / top if top > 0 else 1.0, 1.0)
    return float(np.max(feasible)) + INFEASIBLE_MARGIN * (1.0 + np.minimum(relative, 1.0))


def training_subset(y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the ``max_points`` best scalars (every index when there are no more), in
    trial order: the best trial under the current weights is always kept."""
    y = np.asarray(y, dtype=float)
    if len(y) <= max_points:
        return np.arange(len(y))
    return np.sort(np.argsort(y, kind="stable")[:max_points])


class ParEGOSampler(RelativeSampler):
    """ParEGO: random augmented-Tchebycheff scalarisation + GP expected improvement."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        max_points: int = 100,
        rho: float = 0.05,
        lattice_size: int | None = None,
        n_candidates: int = 1000,
        n_mutants: int = 100,
    ) -> None:
        super().__init__(seed=seed, n_startup_trials=n_startup_trials)
        self._max_points = max_points
        self._rho = rho
        self._lattice_size = lattice_size
        self._n_candidates = n_candidates
        self._n_mutants = n_mutants

    def weights(self, n_objectives: int) -> np.ndarray:
        """A weight vector drawn uniformly from the simplex lattice."""
        s = self._lattice_size or LATTICE_SIZE.get(n_objectives, 3)
        lattice = simplex_lattice(n_objectives, s)
        return lattice[self._rng.integers(len(lattice))]

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        if sum(t.state == TrialState.COMPLETE for t in finished) < self._n_startup_trials:
            return {}
        usable = [
            t for t in finished
            if all(t.distributions.get(n) == d for n, d in search_space.items())
        ]
        good = np.array([
            t.state == TrialState.COMPLETE and is_feasible(t) and np.all(np.isfinite(t.values))
            for t in usable
        ])
        if not good.any():
            return {}
        values = minimisation_values(study, [t for t, g in zip(usable, good, strict=True) if g])
        normalised = normalise(values, *bounds(values))
        scalar = augmented_tchebycheff(normalised, self.weights(len(study.directions)), self._rho)
        y = np.empty(len(usable))
        y[good] = scalar
        if not good.all():
            bad = [t for t, g in zip(usable, good, strict=True) if not g]
            y[~good] = infeasible_scores(scalar, [violation(t) for t in bad])
        units = np.array([_to_units(search_space, t.params) for t in usable])
        keep = training_subset(y, self._max_points)
        best_units = self._maximise_ei(search_space, units[keep], y[keep], float(scalar.min()))
        return {
            name: external(dist, value)
            for (name, dist), value in zip(
                search_space.items(), _from_units(search_space, best_units), strict=True
            )
        }

    def _fit(self, features: np.ndarray, y: np.ndarray) -> Any:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(features.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-4, (1e-8, 1.0))
        gp = GaussianProcessRegressor(
            kernel, normalize_y=True, random_state=int(self._rng.integers(2**31 - 1))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(features, y)
        return gp

    def _maximise_ei(
        self, space: dict[str, BaseDistribution], units: np.ndarray, y: np.ndarray, best: float
    ) -> np.ndarray:
        """The candidate of highest EI below ``best`` (the incumbent over all trials)."""
        gp = self._fit(_features(space, units), y)

        def score(candidates: np.ndarray) -> np.ndarray:
            mean, std = gp.predict(_features(space, candidates), return_std=True)
            return expected_improvement(mean, std, best)

        elite = units[np.argsort(y, kind="stable")[:5]]
        pool = np.vstack([
            _random_units(space, self._n_candidates, self._rng),
            _mutate(space, np.repeat(elite, self._n_mutants, axis=0), 0.1, self._rng),
        ])
        ei = score(pool)
        # A finer local search around the three most promising candidates.
        top = pool[np.argsort(-ei, kind="stable")[:3]]
        local = _mutate(space, np.repeat(top, self._n_mutants, axis=0), 0.02, self._rng)
        pool, ei = np.vstack([pool, local]), np.concatenate([ei, score(local)])
        return pool[int(np.argmax(ei))]


# --- mixed-space helpers: a "units" row holds a [0, 1] position per numeric parameter and a
# --- choice index per categorical one, always snapped to a valid value.


def _to_units(space: dict[str, BaseDistribution], params: Mapping[str, Any]) -> list[float]:
    return [
        float(d.to_internal_repr(params[n])) if isinstance(d, CategoricalDistribution)
        else float(encode(d, params[n]))
        for n, d in space.items()
    ]


def _from_units(space: dict[str, BaseDistribution], units: np.ndarray) -> list[float]:
    return [
        float(u) if isinstance(d, CategoricalDistribution) else float(decode(d, u))
        for d, u in zip(space.values(), units, strict=True)
    ]


def _snap(space: dict[str, BaseDistribution], units: np.ndarray) -> np.ndarray:
    out = units.copy()
    for j, d in enumerate(space.values()):
        if not isinstance(d, CategoricalDistribution):
            out[:, j] = encode(d, decode(d, units[:, j]))
    return out


def _random_units(space: dict[str, BaseDistribution], n: int, rng: np.random.Generator
                  ) -> np.ndarray:
    cols = [
        rng.integers(len(d.choices), size=n).astype(float)
        if isinstance(d, CategoricalDistribution) else rng.random(n)
        for d in space.values()
    ]
    return _snap(space, np.column_stack(cols))


def _mutate(space: dict[str, BaseDistribution], units: np.ndarray, sigma: float,
            rng: np.random.Generator) -> np.ndarray:
    out = units.copy()
    n, p_reset = len(units), 1.0 / len(space)
    for j, d in enumerate(space.values()):
        if isinstance(d, CategoricalDistribution):
            reset = rng.random(n) < p_reset
            out[reset, j] = rng.integers(len(d.choices), size=int(reset.sum()))
        else:
            out[:, j] = np.clip(units[:, j] + rng.normal(0.0, sigma, size=n), 0.0, 1.0)
    return _snap(space, out)


def _features(space: dict[str, BaseDistribution], units: np.ndarray) -> np.ndarray:
    cols = []
    for j, d in enumerate(space.values()):
        if isinstance(d, CategoricalDistribution):
            cols.append(np.eye(len(d.choices))[units[:, j].astype(int)])
        else:
            cols.append(units[:, j : j + 1])
    return np.hstack(cols)


def make_parego(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Registry factory: ParEGO with 10 random start-up trials and a GP on the 100 best."""
    return ParEGOSampler(seed=seed)
