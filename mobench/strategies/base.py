"""What the hand-written samplers (PESA-II, ParEGO) share: the normalised [0, 1] parameter
space, Optuna's feasibility rule, objectives in minimisation form, and a sampler skeleton that
samples the intersection search space jointly and anything else at random."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial

from mobench.pareto import minimisation

# --- the normalised parameter space ----------------------------------------------------------


def _interval(dist: FloatDistribution | IntDistribution) -> tuple[float, float]:
    """The continuous interval that [0, 1] maps onto; discrete values own equal-width cells."""
    if isinstance(dist, IntDistribution):
        if dist.log:
            return math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        return dist.low - 0.5 * dist.step, dist.high + 0.5 * dist.step
    if dist.log:
        return math.log(dist.low), math.log(dist.high)
    if dist.step is not None:
        return dist.low - 0.5 * dist.step, dist.high + 0.5 * dist.step
    return dist.low, dist.high


def encode(dist: FloatDistribution | IntDistribution, values: Any) -> np.ndarray:
    """Parameter values -> positions in [0, 1] (log-transformed where the distribution is log)."""
    x = np.asarray(values, dtype=float)
    lo, hi = _interval(dist)
    if dist.log:
        x = np.log(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def decode(dist: FloatDistribution | IntDistribution, units: Any) -> np.ndarray:
    """Positions in [0, 1] -> valid parameter values (snapped to the step, within bounds)."""
    lo, hi = _interval(dist)
    x = lo + np.clip(np.asarray(units, dtype=float), 0.0, 1.0) * (hi - lo)
    if dist.log:
        x = np.exp(x)
    if dist.step is not None:  # log IntDistributions have step 1
        x = dist.low + np.round((x - dist.low) / dist.step) * dist.step
    return np.clip(x, dist.low, dist.high)


def external(dist: BaseDistribution, value: float) -> Any:
    """A decoded number -> the value Optuna expects (int, float or the categorical choice)."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(value)]
    if isinstance(dist, IntDistribution):
        return int(round(value))
    return float(value)


def minimisation_values(study: Study, trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Objective matrix of ``trials`` with maximised objectives negated."""
    return minimisation([t.values for t in trials], [d.name for d in study.directions])



class RelativeSampler(BaseSampler):
    """A sampler that proposes the non-single parameters of the intersection search space
    together (``sample_relative``, left to subclasses) and samples any other at random."""

    def __init__(self, *, seed: int | None = None, n_startup_trials: int = 10) -> None:
        self._rng = np.random.default_rng(seed)
        self._random = RandomSampler(seed=seed)
        self._search_space = IntersectionSearchSpace()
        self._n_startup_trials = n_startup_trials

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self._search_space.calculate(study)
        return {name: dist for name, dist in space.items() if not dist.single()}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)
