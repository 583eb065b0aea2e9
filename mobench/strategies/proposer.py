"""The sampler that proposes configurations to MO-ASHA / MO-Hyperband, shown finished trials
only.

A trial stopped at a rung ends PRUNED. Optuna's TPE splits COMPLETE and PRUNED trials into
its "good" and "bad" groups and, when fewer trials are complete than the good group holds,
fills the rest of the good group with pruned ones (`optuna.samplers._tpe.sampler.
_split_trials`: complete first, then pruned ranked by their last intermediate value, then
infeasible): with 5 complete and 95 pruned trials, 5 of its 10 "good" trials are configs
MO-ASHA judged bad. The proposer here sees the study without its pruned trials, so every
sampler models finished configurations alone (TPE's startup count too); the stopped trials
stay in the storage for the rungs, the documents and the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optuna.samplers import BaseSampler
from optuna.trial import TrialState


class _WithoutPruned:
    """A study as a sampler reads it, less its PRUNED trials; everything else is the study."""

    def __init__(self, study) -> None:
        self._study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False):
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return [t for t in trials if t.state != TrialState.PRUNED]

    def get_trials(self, deepcopy: bool = True, states=None):
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.state != TrialState.PRUNED]

    @property
    def trials(self):
        return self.get_trials()


class FinishedOnly(BaseSampler):
    """`sampler`, handed a view of the study without its pruned (stopped early) trials."""

    def __init__(self, sampler: BaseSampler) -> None:
        self.sampler = sampler

    def infer_relative_search_space(self, study, trial):
        return self.sampler.infer_relative_search_space(_WithoutPruned(study), trial)

    def sample_relative(self, study, trial, search_space):
        return self.sampler.sample_relative(_WithoutPruned(study), trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.sampler.sample_independent(_WithoutPruned(study), trial, param_name,
                                               param_distribution)

    def before_trial(self, study, trial) -> None:
        self.sampler.before_trial(_WithoutPruned(study), trial)

    def after_trial(self, study, trial, state, values) -> None:
        self.sampler.after_trial(_WithoutPruned(study), trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()


def make_proposer(name: str, *, seed: int, directions: Sequence[str]) -> BaseSampler:
    """The registered sampler `name`, proposing to a multi-fidelity strategy."""
    from mobench.strategies import make_sampler

    return FinishedOnly(make_sampler(name, seed=seed, directions=directions))
