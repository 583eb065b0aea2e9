"""A suite's search space: keras-tuner hyperparameters as Optuna distributions (fixed, for
samplers that need them up front), as define-by-run suggestions (conditional spaces), and as
finite grids."""

from __future__ import annotations

from typing import Any

from mobench.errors import UsageError


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


def complete_grid(grid: dict[str, list[Any]], defaults: dict[str, Any]) -> dict[str, list]:
    """Optuna's GridSampler needs every parameter: those the grid omits keep their default."""
    return {name: list(grid.get(name, [default])) for name, default in defaults.items()}


def suggest(trial, hp) -> Any:
    """The Optuna trial's value for one keras-tuner hyperparameter."""
    import keras_tuner as kt

    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Fixed):
        return hp.value
    if isinstance(hp, hps.Boolean):
        return trial.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, hps.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    log = hp.sampling == "log"
    if isinstance(hp, hps.Int):
        step = 1 if log else (hp.step or 1)
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=step, log=log)
    if isinstance(hp, hps.Float):
        step = None if log or not hp.step else hp.step
        return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=step, log=log)
    raise UsageError(f"hyperparameter {hp.name!r}: unsupported type {type(hp).__name__}")


def trial_hyperparameters(trial):
    """keras-tuner HyperParameters whose every new hyperparameter is asked of `trial`."""
    import keras_tuner as kt

    class TrialHyperParameters(kt.HyperParameters):
        def _retrieve(self, hp):
            if hp.name not in self.values and not hp.conditions:
                self.values[hp.name] = suggest(trial, hp)
            return super()._retrieve(hp)

    return TrialHyperParameters()


def grid_values(hp) -> list[Any]:
    import keras_tuner as kt
    import numpy as np

    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Fixed):
        return [hp.value]
    if isinstance(hp, hps.Boolean):
        return [False, True]
    if isinstance(hp, hps.Choice):
        return list(hp.values)
    if isinstance(hp, (hps.Int, hps.Float)) and hp.sampling in (None, "linear"):
        step = hp.step or (1 if isinstance(hp, hps.Int) else None)
        if step:
            n = int(round((hp.max_value - hp.min_value) / step)) + 1
            values = [hp.min_value + i * step for i in range(n)]
            return [int(v) for v in values] if isinstance(hp, hps.Int) else \
                [float(np.round(v, 12)) for v in values]
    raise UsageError(f"GridSearch needs discrete hyperparameters; {hp.name!r} is continuous "
                     "(give it a step or use Choice)")


def discover_grid(hypermodel) -> dict[str, list[Any]]:
    """Every hyperparameter a build function can declare, with all its values."""
    import keras_tuner as kt

    grid: dict[str, list[Any]] = {}
    pending: list[dict[str, Any]] = [{}]
    while pending:
        values = pending.pop()
        hp = kt.HyperParameters()
        hp.values.update(values)
        hypermodel.build(hp)
        for h in hp.space:
            if h.name not in grid:
                grid[h.name] = grid_values(h)
                pending.extend({**values, h.name: v} for v in grid[h.name])
    return grid
