"""keras-tuner compatible tuners that measure resources and return a true Pareto front.

    from mobench.tuners import RandomSearch  # instead of: from keras_tuner import RandomSearch
    tuner = RandomSearch(build_model, objective=["val_accuracy", "train_time"], max_trials=10,
                         executions_per_trial=1, directory="my_dir", project_name="helloworld")
    tuner.search(x_train, y_train, epochs=5, validation_split=0.2)
    tuner.results_summary()          # the Pareto front as a table

keras-tuner would reject `train_time` and scalarise the rest (seconds minus accuracy); here each
objective keeps its direction and unit, resources are measured, and Optuna runs the search.
The space is define-by-run: every `hp.Int/Float/Choice/Boolean` a build function declares is
suggested by the Optuna trial, so conditional hyperparameters work as in keras-tuner.

Ordering rule of `get_best_*`: Pareto rank first (non-dominated sorting); within the front, by
exclusive hypervolume contribution (moocore) in minimisation space normalised to [0, 1] over
the completed trials, reference point 1.1 in every objective; ties by trial number.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

from mobench.errors import UsageError
from mobench.objectives import Objective, distinct, parse_objective
from mobench.study.evaluator import ConfigEvaluator, Trained


def as_objectives(objective: Any) -> tuple[Objective, ...]:
    """Names, `keras_tuner.Objective`s, or a list of either -> catalogue objectives."""
    items = objective if isinstance(objective, (list, tuple)) else [objective]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(parse_objective(item))
        elif hasattr(item, "name") and hasattr(item, "direction"):  # keras_tuner.Objective
            out.append(parse_objective(f"{item.name}:{item.direction}"))
        else:
            raise UsageError(f"objective {item!r}: give a name or a keras_tuner.Objective")
    if not out:
        raise UsageError("objective needs at least one name")
    return distinct(tuple(out))


class ParetoSearch:
    """keras-tuner's Tuner call shape over an Optuna study with a mobench strategy."""

    strategy = "nsga2"

    def __init__(self, hypermodel=None, objective=None, max_trials: int = 10, *,
                 strategy: str | None = None, executions_per_trial: int = 1,
                 directory: str | Path | None = None, project_name: str | None = None,
                 overwrite: bool = False, seed: int | None = None,
                 constraints: list[str] | tuple[str, ...] = (), hyperparameters=None,
                 **kwargs: Any) -> None:
        import keras_tuner as kt
        from keras_tuner.src.engine.hypermodel import DefaultHyperModel

        from mobench.objectives import parse_constraint
        from mobench.strategies import make_sampler
        from mobench.study.studies import open_study

        unknown = sorted(set(kwargs) - KERAS_TUNER_KWARGS)
        if unknown:  # as keras-tuner (and Python) do: a typo is not silently ignored
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument {unknown[0]!r}")
        if hypermodel is None or objective is None:
            raise TypeError(f"{type(self).__name__}() needs a hypermodel (a build_model(hp) "
                            "function or a keras_tuner.HyperModel) and an objective")
        if hyperparameters is not None:
            raise UsageError("hyperparameters= (overriding the search space) is not supported;"
                             " declare the space in build_model")
        if max_trials < 1 or executions_per_trial < 1:
            raise UsageError("max_trials and executions_per_trial must be positive")
        self.hypermodel = (hypermodel if isinstance(hypermodel, kt.HyperModel)
                           else DefaultHyperModel(hypermodel))
        self.objectives = as_objectives(objective)
        self.constraints = tuple(parse_constraint(c) for c in constraints)
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.seed = 0 if seed is None else seed
        self.project_dir = Path(directory or ".") / (project_name or "untitled_project")
        if overwrite and self.project_dir.exists():
            shutil.rmtree(self.project_dir)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        name = strategy or self.strategy
        sampler = make_sampler(name, seed=self.seed, grid=self._sampler_grid(),
                               directions=[o.direction.value for o in self.objectives])
        self.study = open_study(f"sqlite:///{self.project_dir.resolve() / 'study.db'}",
                                "mobench", self.objectives, sampler, "keras-tuner")

    def _sampler_grid(self) -> dict[str, list[Any]] | None:
        return None

    # -- search ---------------------------------------------------------------------------
    def search(self, *fit_args: Any, epochs: int = 1, verbose: int = 1,
               **fit_kwargs: Any) -> None:
        """Run trials until `max_trials` are complete, as `keras_tuner.Tuner.search`;
        `verbose=0` prints nothing (training itself is always silent)."""
        from mobench.study.loop import run_trials

        evaluator = SearchEvaluator(self, fit_args, epochs, fit_kwargs)
        run_trials(self.study, evaluator, {}, self.objectives, self.max_trials,
                   on_line=print if verbose else _silent)

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the hyperparameters `build_model` declares, as keras-tuner does."""
        import keras_tuner as kt

        hp = kt.HyperParameters()
        self.hypermodel.build(hp)
        print("Search space summary")
        print(f"Default search space size: {len(hp.space)}")
        for p in hp.space:
            config = {k: v for k, v in p.get_config().items() if k != "name"}
            print(f"{p.name} ({type(p).__name__})")
            print(config)

    # -- results --------------------------------------------------------------------------
    def ranked_trials(self) -> list:
        """Complete feasible trials in the documented order (see the module docstring)."""
        import moocore
        import numpy as np
        from optuna.trial import TrialState

        from mobench.pareto import bounds, is_feasible, minimisation, normalise, pareto_ranks

        trials = [t for t in self.study.get_trials(states=(TrialState.COMPLETE,))
                  if is_feasible(t)]
        if not trials:
            return []
        points = minimisation([t.values for t in trials],
                              [o.direction.value for o in self.objectives])
        if points.shape[1] == 1:  # one objective: by its value, ties by trial number
            order = sorted(range(len(trials)), key=lambda i: (points[i, 0], trials[i].number))
            return [trials[i] for i in order]
        scaled = normalise(points, *bounds(points))
        ranks = pareto_ranks(scaled)
        contribution = np.zeros(len(trials))
        front = ranks == ranks.min()
        contribution[front] = moocore.hv_contributions(scaled[front], ref=np.full(
            scaled.shape[1], 1.1))
        order = sorted(range(len(trials)),
                       key=lambda i: (ranks[i], -contribution[i], trials[i].number))
        return [trials[i] for i in order]

    def get_pareto_front(self) -> list[dict[str, Any]]:
        """Front members: trial number, hyperparameters and objective values."""
        front = {t.number for t in self.study.best_trials}
        return self._entries([t for t in self.ranked_trials() if t.number in front])

    def _entries(self, trials: list) -> list[dict[str, Any]]:
        return [{"trial": t.number, "hyperparameters": dict(t.params),
                 "objectives": dict(zip((o.name for o in self.objectives), t.values,
                                        strict=True))} for t in trials]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list:
        import keras_tuner as kt

        out = []
        for t in self.ranked_trials()[:num_trials]:
            hp = kt.HyperParameters()
            hp.values.update(t.params)
            out.append(hp)
        return out

    def get_best_models(self, num_models: int = 1) -> list:
        import keras

        return [keras.models.load_model(self.project_dir / f"trial_{t.number}.keras",
                                        safe_mode=True)
                for t in self.ranked_trials()[:num_models]]

    def trials_dataframe(self):
        return self.study.trials_dataframe()

    def results_summary(self, num_trials: int | None = None) -> None:
        from mobench.display import objective_value, table

        names = [o.name for o in self.objectives]
        if len(names) > 1:
            front, what = self.get_pareto_front()[:num_trials], "Pareto front"
        else:  # keras-tuner's summary: the best trials, 10 by default
            front = self._entries(self.ranked_trials()[:num_trials or 10])
            what = f"best trials by {names[0]} ({self.objectives[0].direction.value})"
        keys = sorted({k for m in front for k in m["hyperparameters"]})
        print(f"Results summary: {what} of {len(front)} trial(s) in {self.project_dir}")
        print(table(["trial", *names, *keys],
                    [[str(m["trial"])] + [objective_value(n, m["objectives"][n]) for n in names]
                     + [str(m["hyperparameters"].get(k, "-")) for k in keys] for m in front]))


def _silent(_: str) -> None:
    pass


# keras-tuner's own keyword arguments (Tuner, BaseTuner, the oracles): accepted, so code
# written for keras-tuner runs, and without effect here (Optuna runs the trials; a failed
# trial is an infeasible one, not a retry).
KERAS_TUNER_KWARGS = frozenset({
    "tune_new_entries", "allow_new_entries", "max_retries_per_trial",
    "max_consecutive_failed_trials", "tuner_id", "logger", "distribution_strategy",
    "max_model_size", "optimizer", "loss", "metrics", "oracle",
    "num_initial_points", "alpha", "beta",  # BayesianOptimization
})


class RandomSearch(ParetoSearch):
    strategy = "random"


class BayesianOptimization(ParetoSearch):
    """ParEGO: a Gaussian-process surrogate over random scalarisations, Pareto aware."""

    strategy = "parego"


class GridSearch(ParetoSearch):
    """Every combination of a finite space (discrete hyperparameters only), in a seeded order.

    The grid is discovered by building the model once per value of each hyperparameter, so
    hyperparameters that only appear for some values (units_2 when num_layers == 3) are found.
    """

    strategy = "grid"

    def _sampler_grid(self) -> dict[str, list[Any]]:
        from mobench.study.space import discover_grid

        return discover_grid(self.hypermodel)


class SearchEvaluator(ConfigEvaluator):
    """A trial of a `ParetoSearch`: the user's build function, trained on the user's `fit`
    arguments `executions_per_trial` times; metrics and times averaged as keras-tuner does."""

    def __init__(self, tuner: ParetoSearch, fit_args: tuple, epochs: int,
                 fit_kwargs: dict[str, Any]) -> None:
        self.tuner, self.fit_args, self.epochs = tuner, fit_args, epochs
        self.fit_kwargs = fit_kwargs
        self.objectives, self.constraints = tuner.objectives, tuner.constraints
        self.seed = tuner.seed

    def configure(self, trial) -> tuple[Any, Any]:
        from mobench.study.space import trial_hyperparameters

        x = self.fit_args[0] if self.fit_args else self.fit_kwargs.get("x")
        hypermodel = self.tuner.hypermodel
        if getattr(x, "shape", None) is not None:  # models without an Input build on data
            hypermodel = _BuiltOnData(hypermodel, tuple(x.shape[1:]), x[:1])
        return hypermodel, trial_hyperparameters(trial)

    def train(self, trial, hypermodel, hp, model, known: dict[str, float]) -> Trained:
        import numpy as np

        from mobench.models.common import fresh_model
        from mobench.profiling.training import train_measured

        runs = []
        for execution in range(self.tuner.executions_per_trial):
            if execution:
                model = fresh_model(hypermodel, hp, self.seed + execution)
            run = train_measured(hypermodel, hp, model, *self.fit_args, epochs=self.epochs,
                                 default_batch_size=hp.values.get("batch_size"),
                                 **dict(self.fit_kwargs))
            if run.status.value != "ok":
                return Trained({}, failure=f"{run.status.value}: {run.reason}")
            runs.append(run)
        model.save(self.tuner.project_dir / f"trial_{trial.number}.keras")
        values = {key: float(np.mean([r.metrics[key] for r in runs])) for key in runs[0].metrics}
        values["train_time"] = float(np.mean([r.train_time_s for r in runs]))
        peaks = [r.peak_memory_bytes for r in runs if r.peak_memory_bytes is not None]
        if peaks:
            values["peak_memory"] = max(peaks)
        return Trained(values)


@functools.cache
def _built_on_data():
    import keras_tuner as kt

    class BuiltOnData(kt.HyperModel):
        """The user's hypermodel, its models built for the data's shape when `build_model`
        declares no input (keras-tuner's guide: `Flatten()` first); parameters and FLOPs are
        counted before training."""

        def __init__(self, inner, shape: tuple[int, ...], example) -> None:
            super().__init__()
            self.inner, self.shape, self.example = inner, shape, example

        def build(self, hp):
            model = self.inner.build(hp)
            if not model.built:
                try:
                    model.build((None, *self.shape))
                except Exception:  # a subclassed model: one forward pass builds it
                    model(self.example)
            return model

        def fit(self, hp, model, *args, **kwargs):
            return self.inner.fit(hp, model, *args, **kwargs)

    return BuiltOnData


def _BuiltOnData(inner, shape, example):  # noqa: N802 - a class made on first use
    return _built_on_data()(inner, shape, example)
