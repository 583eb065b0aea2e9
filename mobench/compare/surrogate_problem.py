"""A surrogate as an objective function with the same interface as a table's
(`mobench.compare.replay.TabularProblem`): the suite's live distributions, one trial -> its
predicted objectives at the final epoch (with the chosen noise), its predicted cost."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from mobench.compare.surrogate import CHECKPOINTED, NOISE_MODELS, Surrogate, backward, column
from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.study.outcome import TrialOutcome


class SurrogateProblem:
    """A surrogate as an objective function over the suite's real Optuna distributions, with
    `TabularProblem`'s interface, so `protocol.run_strategy` and `analyse` work unchanged."""

    constraints = ()

    def __init__(self, surrogate: Surrogate, objectives: tuple[Objective, ...],
                 noise: str = "median", seed: int = 0, epoch: int | None = None,
                 front: dict[str, Any] | None = None) -> None:
        if noise not in NOISE_MODELS:
            raise UsageError(f"unknown noise model {noise!r}; valid: {', '.join(NOISE_MODELS)}")
        surrogate.check_targets(objectives)
        self.surrogate = surrogate
        self.objectives = objectives
        self.noise = noise
        self.epoch = surrogate.check_epoch(epoch)
        self.rng = np.random.default_rng(seed)
        self.distributions = dict(surrogate.space)
        self.front = front
        self.targets = [column(o.name) for o in objectives]
        self._cache: dict[str, dict[str, float]] = {}
        self._draws: dict[str, int] = {}  # config -> its residual curve (multi-fidelity)

    def predicted(self, params: dict[str, Any]) -> dict[str, float]:
        """Median predictions on the fitted scale for one config (cached), cost included."""
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in self._cache:
            targets = list(dict.fromkeys([*self.targets, "train_time"]))
            scaled = self.surrogate.predict_scaled([params], targets, self.epoch)
            self._cache[key] = {t: float(v[0]) for t, v in scaled.items()}
        return self._cache[key]

    def values(self, params: dict[str, Any]) -> dict[str, float]:
        scaled = dict(self.predicted(params))
        if self.noise == "sample":
            pools = self.surrogate.residuals
            n = min(len(pools[t]) for t in self.targets)
            if n:
                j = int(self.rng.integers(n))
                for t in self.targets:
                    pool = pools[t]
                    scaled[t] += pool[j, min(self.epoch, pool.shape[1]) - 1]
        return {o.name: float(backward(t, scaled[t]))
                for o, t in zip(self.objectives, self.targets, strict=True)}

    def __call__(self, trial) -> TrialOutcome:
        params = dict(trial.params)
        if self.surrogate.failure is not None and self.surrogate.failing([params])[0]:
            return TrialOutcome({}, infeasible_reason="predicted to fail (the table's failed "
                                                      "configs)")
        return TrialOutcome(self.values(params))

    def cost(self, trial) -> float:
        """Predicted training seconds of this config at the final epoch."""
        params = dict(trial.params)
        if self.epoch == self.surrogate.epochs:
            return float(backward("train_time", self.predicted(params)["train_time"]))
        scaled = self.surrogate.predict_scaled([params], ["train_time"])["train_time"]
        return float(backward("train_time", scaled[0]))

    # ---- multi-fidelity: the same config at any epoch of its learning curve ---------------

    @property
    def epochs(self) -> int:
        return self.surrogate.epochs

    @property
    def first_epoch(self) -> int:
        """The first epoch every objective was measured at (a GAN's first fcd checkpoint)."""
        at = self.surrogate.data.header.get("fcd_epochs") or [1]
        return min(at) if any(t in CHECKPOINTED for t in self.targets) else 1

    def observe(self, params: dict[str, Any], epoch: int) -> tuple[TrialOutcome, float]:
        """(outcome, cumulative training seconds) of `params` after `epoch` epochs. Under
        `--noise sample` one measured repeat's residual curve is drawn per config, so a
        config's epochs stay one consistent learning curve."""
        if self.surrogate.failure is not None and self.surrogate.failing([params])[0]:
            return (TrialOutcome({}, infeasible_reason="predicted to fail (the table's failed "
                                                       "configs)"), self._seconds(params, epoch))
        key = json.dumps(params, sort_keys=True, default=str)
        targets = list(dict.fromkeys([*self.targets, "train_time"]))
        scaled = {t: float(v[0]) for t, v in
                  self.surrogate.predict_scaled([params], targets, epoch).items()}
        if self.noise == "sample":
            pools = self.surrogate.residuals
            n = min(len(pools[t]) for t in self.targets)
            if n:
                if key not in self._draws:
                    self._draws[key] = int(self.rng.integers(n))
                for t in self.targets:
                    pool = pools[t]
                    scaled[t] += pool[self._draws[key], min(epoch, pool.shape[1]) - 1]
        values = {o.name: float(backward(t, scaled[t]))
                  for o, t in zip(self.objectives, self.targets, strict=True)}
        return TrialOutcome(values), float(backward("train_time", scaled["train_time"]))

    def _seconds(self, params: dict[str, Any], epoch: int) -> float:
        scaled = self.surrogate.predict_scaled([params], ["train_time"], epoch)["train_time"]
        return float(backward("train_time", scaled[0]))

    def all_points(self) -> np.ndarray:
        """The reference front's points (minimisation space)."""
        return np.asarray(self.front["points"], dtype=float) if self.front else np.empty((0, 0))

    def reference_points(self) -> np.ndarray:
        """Points whose bounds are the whole problem's (the front plus the bounds of every
        evaluation of the reference run): the normalisation a table's every config gives."""
        if not self.front:
            return np.empty((0, 0))
        return np.vstack([self.all_points(), self.front["low"], self.front["high"]])
