"""keras-tuner's own oracles (RandomSearch, BayesianOptimization) as Optuna samplers: baselines
"as users run them today", with keras-tuner's scalarisation of several objectives
(``MultiObjective``: the "min" objectives summed, the "max" ones subtracted).

- Space: Optuna's intersection search space, translated once (first trial that has one) into
  keras-tuner ``Int``/``Float``/``Choice``. Categoricals of one type among str/int/float/bool go
  as they are (bools as 0/1, as keras-tuner stores them); other choices (mixed types, None,
  numpy scalars) go as their indices 0..n-1 and are mapped back.
- Each trial asks the oracle (``create_trial``); every finished trial is told to it once
  (``update_trial`` + ``end_trial``) with the values it really ran. FAIL, PRUNED and infeasible
  (a constraint > 0) trials end as FAILED, which the Bayesian oracle skips. Trials the oracle did
  not propose (the first, enqueued ones, other workers', a resumed study's) are injected through
  ``populate_space``, so the oracle learns from the whole study.
- Fallback to a seeded ``RandomSampler``: before a space is known (nothing completed yet) and when
  the oracle answers STOPPED/IDLE (its random sampling found only duplicates: a small grid is
  exhausted), instead of ending the study.
- Departures from a plain keras-tuner run, so a study is never cut short: ``max_trials`` and
  ``max_consecutive_failed_trials`` (keras-tuner raises after 3 failures in a row) are 10**6.
  BayesianOptimization models after ``N_STARTUP_TRIALS`` (10) completed trials, like mobench's
  TPE and GP strategies (keras-tuner's default: 3 x the number of hyperparameters).

keras-tuner imports Keras, and Keras 3 here imports TensorFlow (~5 s; its numpy backend needs
JAX); even ``keras_tuner.src.engine.oracle`` runs ``keras_tuner/__init__.py``. So keras-tuner is
imported only when the first oracle is built (second trial): importing this module stays
TensorFlow-free, running these strategies does not.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from mobench.errors import UsageError
from mobench.strategies import N_STARTUP_TRIALS  # the random start of every model-based strategy

__all__ = ["KerasTunerOracleSampler", "kt_metrics", "kt_objective", "make_kt_bayes",
           "make_kt_random"]

MAX_TRIALS = 10**6
_KINDS = ("random", "bayes")
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
_NATIVE = (str, int, float, bool)


def kt_objective(directions: Sequence[str]) -> Any:
    """keras-tuner's objective for these directions: one ``Objective``, or a ``MultiObjective``
    built by keras-tuner's ``create_objective`` from a list, as ``objective=[...]`` does."""
    from keras_tuner.src.engine.objective import Objective, create_objective

    objectives = [Objective(f"objective_{i}", "min" if d == "minimize" else "max")
                  for i, d in enumerate(directions)]
    return create_objective(objectives[0] if len(objectives) == 1 else objectives)


def kt_metrics(values: Sequence[float], directions: Sequence[str]) -> dict[str, float]:
    """The metrics dict a keras-tuner Tuner reports for this objective vector, the scalar
    included under the objective's name ("multi_objective"), computed by keras-tuner itself."""
    objective = kt_objective(directions)
    metrics = {f"objective_{i}": float(v) for i, v in enumerate(values)}
    metrics[objective.name] = float(objective.get_value(metrics))
    return metrics


def _kt_choices(choices: Sequence[Any]) -> tuple[list[Any], bool]:
    """keras-tuner Choice values for Optuna choices, and whether they are the native values."""
    types = {type(c) for c in choices}
    if len(types) == 1 and types <= set(_NATIVE):
        return [int(c) if isinstance(c, bool) else c for c in choices], True
    return list(range(len(choices))), False


def _kt_hp(name: str, dist: BaseDistribution) -> Any:
    """The keras-tuner hyperparameter for an Optuna distribution (None if there is none)."""
    from keras_tuner.engine.hyperparameters import Choice, Float, Int

    if isinstance(dist, IntDistribution):
        if dist.log:  # keras-tuner's log step is a factor: Optuna's log ints have step 1
            return Int(name, int(dist.low), int(dist.high), sampling="log")
        return Int(name, int(dist.low), int(dist.high), step=int(dist.step))
    if isinstance(dist, FloatDistribution):
        sampling = "log" if dist.log else "linear"
        return Float(name, dist.low, dist.high, step=dist.step, sampling=sampling)
    if isinstance(dist, CategoricalDistribution):
        values, native = _kt_choices(dist.choices)
        return Choice(name, values, ordered=None if native else False)
    return None


def _snap(dist: IntDistribution | FloatDistribution, value: float) -> float:
    """Onto the step grid and into [low, high], so Optuna accepts the value."""
    if dist.step is not None and not dist.log:
        value = dist.low + round((value - dist.low) / dist.step) * dist.step
    return min(max(value, dist.low), dist.high)


class KerasTunerOracleSampler(optuna.samplers.BaseSampler):
    """A keras-tuner oracle ("random" or "bayes") proposing Optuna trials; see the module doc."""

    def __init__(self, kind: str, *, seed: int, directions: Sequence[str],
                 num_initial_points: int = N_STARTUP_TRIALS) -> None:
        if kind not in _KINDS:
            raise UsageError(f"unknown keras-tuner oracle {kind!r}; valid: {', '.join(_KINDS)}")
        self._kind = kind
        self._directions = tuple(str(d).lower() for d in directions)
        bad = [d for d in self._directions if d not in ("minimize", "maximize")]
        if bad or not self._directions:
            raise UsageError(f"directions must be 'minimize'/'maximize', got {directions!r}")
        self._num_initial_points = num_initial_points
        self._kt_seed = seed % (2**31 - 1) + 1  # keras-tuner treats seed 0 as "no seed"
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._search_space = IntersectionSearchSpace()
        self._lock = threading.RLock()
        self._tmp = tempfile.TemporaryDirectory(prefix="mobench-kt-", ignore_cleanup_errors=True)
        self._oracle: Any = None
        self._space: dict[str, BaseDistribution] = {}
        self._choices: dict[str, list[Any]] = {}
        self._kt_ids: dict[int, str] = {}  # Optuna trial number -> keras-tuner trial id
        self._told: set[int] = set()  # Optuna trial numbers already ended in the oracle

    @property
    def oracle(self) -> Any:
        """The keras-tuner oracle (None until the first trial with a known space)."""
        return self._oracle

    def kt_trial_id(self, number: int) -> str | None:
        """The keras-tuner trial id of Optuna trial ``number`` (None if not in the oracle)."""
        return self._kt_ids.get(number)

    def reseed_rng(self) -> None:
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        study_dirs = tuple(d.name.lower() for d in study.directions)
        if study_dirs != self._directions:
            raise UsageError(f"sampler built for directions {self._directions}, "
                             f"study has {study_dirs}")
        space = self._search_space.calculate(study)
        return {n: d for n, d in sorted(space.items()) if not d.single()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        from keras_tuner.engine.trial import TrialStatus

        with self._lock:
            if self._oracle is None:
                self._oracle = self._build_oracle(search_space)
            for done in study.get_trials(deepcopy=False, states=_FINISHED):
                if done.number not in self._told:
                    self._tell(done, done.state, done.values)
            kt_trial = self._oracle.create_trial(f"optuna-{trial.number}")
            if kt_trial.status != TrialStatus.RUNNING:  # STOPPED/IDLE: space exhausted
                return {}
            self._kt_ids[trial.number] = kt_trial.trial_id
            values = kt_trial.hyperparameters.values
            return {n: self._from_kt(n, values[n]) for n, d in search_space.items()
                    if n in values and self._space.get(n) == d}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            if self._oracle is not None and trial.number not in self._told:
                self._tell(trial, state, values)

    # --- keras-tuner side ------------------------------------------------------------------

    def _build_oracle(self, space: Mapping[str, BaseDistribution]) -> Any:
        from keras_tuner.engine.hyperparameters import HyperParameters
        from keras_tuner.oracles import BayesianOptimizationOracle, RandomSearchOracle

        hps = HyperParameters()
        for name, dist in space.items():
            hp = _kt_hp(name, dist)
            if hp is not None:
                hps.merge([hp])
                self._space[name] = dist
                if isinstance(dist, CategoricalDistribution):
                    self._choices[name] = list(hp.values)
        common = dict(objective=kt_objective(self._directions), max_trials=MAX_TRIALS,
                      seed=self._kt_seed, hyperparameters=hps,
                      max_consecutive_failed_trials=MAX_TRIALS)
        if self._kind == "random":
            oracle = RandomSearchOracle(**common)
        else:
            oracle = BayesianOptimizationOracle(num_initial_points=self._num_initial_points,
                                                **common)
        oracle._set_project_dir(self._tmp.name, "oracle")  # what a Tuner does for it
        oracle.verbose = 0
        return oracle

    def _from_kt(self, name: str, value: Any) -> Any:
        dist = self._space[name]
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[self._choices[name].index(value)]
        if isinstance(dist, IntDistribution):
            return int(_snap(dist, int(round(value))))
        return float(_snap(dist, float(value)))

    def _to_kt(self, name: str, value: Any) -> Any:
        dist = self._space[name]
        if isinstance(dist, CategoricalDistribution):
            return self._choices[name][dist.choices.index(value)]
        return value

    def _tell(self, trial: FrozenTrial, state: TrialState,
              values: Sequence[float] | None) -> None:
        """End ``trial`` in the oracle with the values it ran and its outcome (once)."""
        from keras_tuner.engine.trial import TrialStatus

        self._told.add(trial.number)
        ran = {n: self._to_kt(n, trial.params[n]) for n, d in self._space.items()
               if n in trial.params and trial.distributions[n] == d}
        kt_id = self._kt_ids.get(trial.number)
        if kt_id is None:
            if len(ran) < len(self._space):
                return  # ran outside the oracle's space: nothing it could learn from
            kt_id = self._inject(ran)
            self._kt_ids[trial.number] = kt_id
        kt_trial = self._oracle.get_trial(kt_id)
        kt_trial.hyperparameters.values.update(ran)
        feasible = all(c <= 0 for c in trial.constraints.values())
        if state == TrialState.COMPLETE and values is not None and feasible:
            self._oracle.update_trial(kt_id, kt_metrics(values, self._directions))
            kt_trial.status = TrialStatus.COMPLETED
        else:
            kt_trial.status = TrialStatus.FAILED
            kt_trial.message = f"optuna {state.name}" + ("" if feasible else " (infeasible)")
        self._oracle.end_trial(kt_trial)

    def _inject(self, values: dict[str, Any]) -> str:
        """Open an oracle trial with given values through keras-tuner's ``populate_space``."""
        from keras_tuner.engine.trial import TrialStatus

        oracle = self._oracle
        oracle.populate_space = lambda trial_id: {"status": TrialStatus.RUNNING,
                                                  "values": dict(values)}
        try:
            return oracle.create_trial("mobench-replay").trial_id
        finally:
            del oracle.populate_space


def make_kt_random(*, seed: int, directions: Sequence[str],
                   grid: Mapping[str, Sequence[Any]] | None = None) -> optuna.samplers.BaseSampler:
    """keras-tuner's RandomSearchOracle (``grid`` is ignored)."""
    return KerasTunerOracleSampler("random", seed=seed, directions=directions)


def make_kt_bayes(*, seed: int, directions: Sequence[str],
                  grid: Mapping[str, Sequence[Any]] | None = None) -> optuna.samplers.BaseSampler:
    """keras-tuner's BayesianOptimizationOracle (GP + UCB on the scalarised objectives)."""
    return KerasTunerOracleSampler("bayes", seed=seed, directions=directions)
