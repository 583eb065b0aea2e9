"""The study engine: a suite's keras-tuner space as Optuna distributions, one trial = one
`evaluate`, objective vectors told to an Optuna study with any sampler (strategy) and storage.

Infeasible trials (a cheap constraint violated before training, out of memory, NaN, a measured
constraint violated) are COMPLETE trials with Optuna constraint values > 0, so constrained
samplers rank them below every feasible trial and learn to avoid the region. Objectives that
were not measured for such a trial are told as placeholders (the worst value seen so far, or a
bound) and listed in the trial's `placeholders` attribute; reports never show them as data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobench.constraints import Constraint
from mobench.data import Dataset
from mobench.errors import UsageError
from mobench.objectives import Direction, Objective, profile_modes
from mobench.suites import SAFE_NAME, Suite

FALLBACK_WORST = 1e12


def kt_space(hypermodel):
    """The keras-tuner HyperParameters a model declares (values hold the defaults)."""
    import keras_tuner as kt

    space = kt.HyperParameters()
    hypermodel.build(space)
    return space


def optuna_space(space, restrict: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """keras-tuner hyperparameters -> Optuna distributions (Int step/log, Float, Choice...).

    `restrict` (a suite's `[space]` table) limits a hyperparameter to listed values.
    """
    import keras_tuner as kt
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    hps = kt.engine.hyperparameters
    out: dict[str, Any] = {}
    for hp in space.space:
        if restrict and hp.name in restrict:
            out[hp.name] = CategoricalDistribution(list(restrict[hp.name]))
        elif isinstance(hp, hps.Boolean):
            out[hp.name] = CategoricalDistribution([False, True])
        elif isinstance(hp, hps.Fixed):
            out[hp.name] = CategoricalDistribution([hp.value])
        elif isinstance(hp, hps.Choice):
            out[hp.name] = CategoricalDistribution(list(hp.values))
        elif isinstance(hp, hps.Int):
            log = hp.sampling == "log"
            out[hp.name] = IntDistribution(hp.min_value, hp.max_value, log=log,
                                           step=1 if log else (hp.step or 1))
        elif isinstance(hp, hps.Float):
            log = hp.sampling == "log"
            step = None if log or not hp.step else hp.step
            out[hp.name] = FloatDistribution(hp.min_value, hp.max_value, log=log, step=step)
        else:
            raise UsageError(f"hyperparameter {hp.name!r}: unsupported type {type(hp).__name__}")
    return out


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial produced: objective values (or a reason it is infeasible)."""

    values: dict[str, float]
    violations: tuple[float, ...] = ()
    infeasible_reason: str | None = None
    record: dict[str, Any] | None = None

    @property
    def feasible(self) -> bool:
        return self.infeasible_reason is None and all(v <= 0 for v in self.violations)


@dataclass
class TrialEvaluator:
    """Evaluates one configuration of a suite for the study's objectives and constraints."""

    suite: Suite
    dataset: Dataset
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    epochs: int | None = None
    seed: int = 0
    distribute: str = "none"  # "mirrored": MirroredStrategy when more than one GPU is visible
    _hypermodel: Any = field(default=None, init=False, repr=False)
    _strategy: Any = field(default=None, init=False, repr=False)
    _distribution: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def distribution(self) -> dict[str, Any]:
        """How each trial trains: strategy, replicas, devices (decided once, on first use)."""
        if self._distribution is None:
            from mobench.distribute import choose

            self._strategy, self._distribution = choose(self.distribute)
        return self._distribution

    def __call__(self, trial) -> TrialOutcome:
        from mobench.distribute import strategy_scope
        from mobench.evaluate import cheap_objectives, evaluate

        params = dict(trial.params)
        cheap = [c for c in self.constraints if c.cheap]
        if cheap:
            import keras

            hypermodel = self.suite.hypermodel(tuple(self.dataset.x_train.shape[1:]),
                                               self.dataset.num_classes)
            keras.backend.clear_session()
            n_params, flops = cheap_objectives(
                hypermodel.build(self.suite.hyperparameters(hypermodel, values=params)))
            known = {"params": n_params, "flops": flops["train_per_sample"]}
            broken = [c.text for c in cheap if not c.satisfied(known[c.name])]
            if broken:
                return TrialOutcome(known, self._violations(known), record=None,
                                    infeasible_reason=f"violates {', '.join(broken)} "
                                                      "(checked before training)")
        self.distribution  # noqa: B018 - decides the strategy once
        with strategy_scope(self._strategy):
            record = evaluate(self.suite, self.dataset, values=params, epochs=self.epochs,
                              seed=self.seed, profile_modes=profile_modes(self.objectives))
        values = record.objectives()
        doc = record.to_dict()
        if record.status.value != "ok":
            return TrialOutcome(values, self._violations(values), record=doc,
                                infeasible_reason=f"{record.status.value}: {record.reason}")
        missing = [o.name for o in self.objectives if o.name not in values]
        if missing:
            raise UsageError(f"objective {missing[0]!r} was not measured for suite "
                             f"{self.suite.name!r}; it logs: {', '.join(sorted(values))}")
        bad = [o.name for o in self.objectives if not math.isfinite(values[o.name])]
        if bad:
            return TrialOutcome(values, self._violations(values), record=doc,
                                infeasible_reason=f"{bad[0]} is not finite")
        return TrialOutcome(values, self._violations(values), record=doc)

    def _violations(self, values: dict[str, float]) -> tuple[float, ...]:
        # An unmeasured constrained quantity counts as violated (the trial failed before it).
        return tuple(c.violation(values[c.name]) if c.name in values else 1.0
                     for c in self.constraints)


def told_values(outcome: TrialOutcome, objectives: tuple[Objective, ...],
                completed: list[list[float]]) -> tuple[list[float], list[str]]:
    """The vector to tell Optuna and the names that are placeholders, not measurements."""
    values, placeholders = [], []
    for i, o in enumerate(objectives):
        value = outcome.values.get(o.name)
        if outcome.feasible or (value is not None and math.isfinite(value)):
            values.append(float(value))
            continue
        seen = [row[i] for row in completed if math.isfinite(row[i])]
        if o.direction is Direction.MAXIMIZE:
            values.append(min(seen) if seen else 0.0)
        else:
            values.append(max(seen) if seen else FALLBACK_WORST)
        placeholders.append(o.name)
    return values, placeholders


@dataclass(frozen=True)
class Progress:
    """One line per finished trial: k/N (the study's count, every worker's), outcome, front
    size, elapsed, ETA."""

    total: int
    start: int = 0  # COMPLETE trials when this worker started
    started: float = field(default_factory=time.monotonic)

    def line(self, done: int, number: int, outcome: TrialOutcome, front: int,
             objectives: tuple[Objective, ...]) -> str:
        elapsed = time.monotonic() - self.started
        new = done - self.start
        eta = elapsed / new * (self.total - done) if new > 0 else 0.0
        if outcome.feasible:
            state = " ".join(f"{o.name}={outcome.values[o.name]:.4g}" for o in objectives)
        else:
            state = f"infeasible ({outcome.infeasible_reason or 'constraint violated'})"
        return (f"[{done}/{self.total}] trial #{number}: {state} | front {front} | "
                f"elapsed {elapsed:.0f}s | ETA {eta:.0f}s")


def run_trials(
    study,
    evaluator: Callable[[Any], TrialOutcome],
    distributions: dict[str, Any],
    objectives: tuple[Objective, ...],
    n_trials: int,
    on_line: Callable[[str], None] = print,
    worker=None,
) -> int:
    """Ask/evaluate/tell until the study holds exactly `n_trials` COMPLETE trials, counting
    every worker's; returns how many this call ran.

    `evaluator` gets the Optuna trial: its params when `distributions` were given, or it
    suggests them itself (define-by-run, as the keras-tuner front end does). `worker`
    (`mobench.trialloop.Worker`) adds heartbeats, stale-trial retry and a seed label when
    several processes share the study; see `mobench.trialloop` for how counts stay exact.

    Ctrl-C marks the running trial FAIL (reason 'interrupted') and re-raises: nothing that
    finished is lost.
    """
    from mobench.trialloop import Worker, run_loop

    return run_loop(study, evaluator, distributions, objectives, n_trials, on_line,
                    worker or Worker())


def tell(study, trial, values: list[float]) -> bool:
    """study.tell; False when the sampler asks the study to stop (Optuna's grid, exhausted).

    Optuna's GridSampler calls `study.stop()`, which only works inside `optimize`; in ask/tell
    the trial is already stored when it raises, so this only turns the request into a result.
    """
    try:
        study.tell(trial, values)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise
        return False
    return True


def constraint_values(outcome: TrialOutcome, evaluator) -> dict[str, float]:
    """Optuna constraint values by name (<= 0 feasible); OOM/NaN add a violated `failed`."""
    texts = [c.text for c in getattr(evaluator, "constraints", ())]
    values = dict(zip(texts, outcome.violations, strict=True))
    if outcome.infeasible_reason and all(v <= 0 for v in values.values()):
        values["failed"] = 1.0
    return values


def is_feasible(trial) -> bool:
    return all(v <= 0 for v in trial.constraints.values())


DEFAULT_STORAGE = "sqlite:///results/studies.sqlite3"


def check_study_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name or ""):
        raise UsageError(f"study name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def open_study(storage, name: str, objectives: tuple[Objective, ...], sampler, suite: str):
    """Create or resume a study; a study of the same name with other objectives is refused.

    `storage` is a URL (see `mobench.storages`), None for DEFAULT_STORAGE, or an Optuna
    storage object made by `mobench.storages.make_storage`.
    """
    import optuna

    from mobench.storages import make_storage, normalize_url, redact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_study_name(name)
    url = getattr(storage, "url", None)
    if storage is None or isinstance(storage, str):
        url = normalize_url(storage, DEFAULT_STORAGE)
        if url == DEFAULT_STORAGE:
            Path("results").mkdir(exist_ok=True)
        storage = make_storage(url)
    url = redact(url or type(storage).__name__)
    try:
        study = optuna.create_study(storage=storage, study_name=name,
                                    sampler=sampler, load_if_exists=True,
                                    directions=[o.direction.value for o in objectives])
    except (ValueError, ImportError, RuntimeError) as exc:
        raise UsageError(f"storage {url!r} cannot be opened: {exc}") from None
    except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, ...
        raise UsageError(f"storage {url!r} cannot be opened: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    names = [o.name for o in objectives]
    stored = study.user_attrs.get("objectives")
    if stored is None:  # "suite" first: a worker that sees "objectives" sees both
        study.set_user_attr("suite", suite)
        study.set_user_attr("objectives", names)
    elif stored != names or study.user_attrs.get("suite") != suite:
        raise UsageError(
            f"study {name!r} in {url} exists for suite {study.user_attrs.get('suite')!r} with "
            f"objectives {','.join(stored)}; rerun with those, or pick another --study")
    return study


def complete_grid(grid: dict[str, list[Any]], defaults: dict[str, Any]) -> dict[str, list]:
    """Optuna's GridSampler needs every parameter: those the grid omits keep their default."""
    return {name: list(grid.get(name, [default])) for name, default in defaults.items()}
