"""Deliberately broken strategies for tests: a comparison must be able to tell them from a
working one (a metric or a budget under which they do not lose is what is wrong)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler


class UpperCornerSampler(BaseSampler):
    """Proposes the upper end of every distribution (the last category) on every trial: one
    configuration over and over, the worst one on ZDT and DTLZ (every variable at 1)."""

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        return {}

    def sample_independent(self, study, trial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if isinstance(param_distribution, CategoricalDistribution):
            return param_distribution.choices[-1]
        return param_distribution.high


def make_upper_corner(*, seed: int, directions: Sequence[str],
                      grid: Mapping[str, Sequence[Any]] | None = None) -> BaseSampler:
    """The registry factory of `UpperCornerSampler` (seed and directions are ignored)."""
    return UpperCornerSampler()
