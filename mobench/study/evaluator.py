"""One configuration -> a TrialOutcome: the one trial-evaluation path of `tune` and of the
keras-tuner front end (`mobench.tuners`).

`ConfigEvaluator.__call__` is the template: a fresh seeded model of the trial's configuration,
cheap constraints (`params`, `flops`) checked before any training, the subclass's training,
then one judgement of the measured values against the objectives and constraints. A trial whose
objective was not measured raises `TrialFailed`, which the trial loop records as an infeasible
trial with the reason before it goes on; one that trained and lacks a metric the model itself
reports (a name it never logs) raises `UsageError`, which ends the study (exit 2).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from mobench.data import Dataset
from mobench.errors import TrialFailed, UsageError
from mobench.objectives import Constraint, Objective, model_metric, profile_modes
from mobench.study.outcome import TrialOutcome
from mobench.suites import Suite


@dataclass(frozen=True)
class Trained:
    """What a subclass's training produced: measured values, or why it produced none."""

    values: dict[str, float]
    failure: str | None = None
    record: dict[str, Any] | None = None
    stopped_at: int | None = None  # the epoch a multi-fidelity strategy stopped it after


class ConfigEvaluator(ABC):
    """Evaluates one configuration for `objectives` under `constraints` (template method)."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    seed: int

    def __call__(self, trial) -> TrialOutcome:
        from mobench.models.common import fresh_model
        from mobench.profiling.training import cheap_objectives

        hypermodel, hp = self.configure(trial)
        model = fresh_model(hypermodel, hp, self.seed, self.strategy())
        n_params, flops = cheap_objectives(model)
        known = {"params": n_params, "flops": flops["train_per_sample"]}
        broken = [c.text for c in self.constraints if c.cheap and not c.satisfied(known[c.name])]
        if broken:
            return TrialOutcome(known, self.violations(known),
                                infeasible_reason=f"violates {', '.join(broken)} "
                                                  "(checked before training)")
        trained = self.train(trial, hypermodel, hp, model, known)
        outcome = self.judge({**known, **trained.values}, trained.failure, trained.record)
        if trained.stopped_at is not None:
            outcome = dataclasses.replace(outcome, stopped_at=trained.stopped_at)
        return outcome

    @abstractmethod
    def configure(self, trial) -> tuple[Any, Any]:
        """(hypermodel, keras-tuner HyperParameters) of the trial's configuration."""

    @abstractmethod
    def train(self, trial, hypermodel, hp, model, known: dict[str, float]) -> Trained:
        """Train the fresh `model` and measure it (`known`: params and flops, measured)."""

    def strategy(self) -> Any:
        """The tf.distribute strategy to build under (None: the default device)."""
        return None

    def judge(self, values: dict[str, float], failure: str | None = None,
              record: dict[str, Any] | None = None) -> TrialOutcome:
        """The outcome of measured `values`: infeasible with a reason, or feasible."""
        violations = self.violations(values)
        if failure:
            return TrialOutcome(values, violations, infeasible_reason=failure, record=record)
        never = [o.name for o in self.objectives if o.name not in values and model_metric(o)]
        if never:  # it trained, and the model does not report it: no trial ever will
            raise UsageError(f"objective {never[0]!r} is not a metric the model reports; a "
                             f"trial that trained measured {', '.join(sorted(values))}: name "
                             "one of those (a metric of your own with :min or :max)")
        missing = [o.name for o in self.objectives if o.name not in values]
        if missing:
            raise TrialFailed(f"objective {missing[0]!r} was not measured; this trial measured "
                              f"{', '.join(sorted(values))}")
        bad = [o.name for o in self.objectives if not math.isfinite(values[o.name])]
        if bad:
            return TrialOutcome(values, violations, infeasible_reason=f"{bad[0]} is not finite",
                                record=record)
        return TrialOutcome(values, violations, record=record)

    def violations(self, values: dict[str, float]) -> tuple[float, ...]:
        # An unmeasured constrained quantity counts as violated (the trial failed before it).
        return tuple(c.violation(values[c.name]) if c.name in values else 1.0
                     for c in self.constraints)


@dataclass
class TrialEvaluator(ConfigEvaluator):
    """A suite's configuration trained on a dataset with `evaluate` (what `tune` runs)."""

    suite: Suite
    dataset: Dataset
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    epochs: int | None = None
    seed: int = 0
    distribute: str = "none"  # "mirrored": MirroredStrategy when more than one GPU is visible
    rungs: Any = None  # mobench.study.rungs.StudyRungs: judge each trial at its rung epochs
    _strategy: Any = field(default=None, init=False, repr=False)
    _distribution: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def distribution(self) -> dict[str, Any]:
        """How each trial trains: strategy, replicas, devices (decided once, on first use)."""
        if self._distribution is None:
            from mobench.profiling.distribute import choose

            self._strategy, self._distribution = choose(self.distribute)
        return self._distribution

    def strategy(self) -> Any:
        self.distribution  # noqa: B018 - decides the strategy once
        return self._strategy

    def configure(self, trial) -> tuple[Any, Any]:
        hypermodel = self.suite.hypermodel(tuple(self.dataset.x_train.shape[1:]),
                                           self.dataset.num_classes)
        return hypermodel, self.suite.hyperparameters(hypermodel, values=dict(trial.params))

    def train(self, trial, hypermodel, hp, model, known: dict[str, float]) -> Trained:
        from mobench.profiling.training import evaluate_model

        judge = self.rungs.callback(trial, known) if self.rungs is not None else None
        record = evaluate_model(self.suite, self.dataset, hypermodel, hp, model,
                                epochs=self.epochs, seed=self.seed,
                                profile_modes=profile_modes(self.objectives),
                                callbacks=[judge] if judge is not None else None)
        if judge is not None and judge.stopped_at is not None \
                and record.status.value == "stopped":
            return Trained(record.objectives(), None, record.to_dict(), judge.stopped_at)
        failure = None if record.status.value == "ok" else \
            f"{record.status.value}: {record.reason}"
        return Trained(record.objectives(), failure, record.to_dict())
