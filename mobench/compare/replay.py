"""A stored table as an objective function over exactly the grid's values.

Any strategy runs on it in milliseconds and the true Pareto front is known. Noise model:
`median` replays each config's median over its repeats (deterministic); `sample` replays one
of its measured repeats, drawn with the run's seeded generator (the measured noise, nothing
synthetic). A config outside the grid is an error that names the key.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from mobench.compare.tabular import config_key
from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.study.outcome import TrialOutcome

NOISE_MODELS = ("median", "sample")


class TabularProblem:
    """Looks configs up in a table instead of training them."""

    def __init__(self, header: dict[str, Any], frame, objectives: tuple[Objective, ...],
                 noise: str = "median", seed: int = 0) -> None:
        if noise not in NOISE_MODELS:
            raise UsageError(f"unknown noise model {noise!r}; valid: {', '.join(NOISE_MODELS)}")
        ok = frame["status"] == "ok"
        missing = [o.name for o in objectives
                   if o.name not in frame.columns or frame.loc[ok, o.name].isna().all()]
        if missing:
            measured = sorted(c for c in frame.columns if f"{c}_repeats" in frame.columns
                              and frame.loc[ok, c].notna().any())
            raise UsageError(f"the table does not hold objective {missing[0]!r}; it holds: "
                             f"{', '.join(measured)}")
        for o in objectives:  # a measured config without a value would replay as NaN
            empty = (ok & frame[o.name].isna()).to_numpy().nonzero()[0]
            if len(empty):
                line = frame.attrs.get("lines", range(2, len(frame) + 2))[empty[0]]
                where = f"{frame.attrs['path']}, " if "path" in frame.attrs else ""
                raise UsageError(f"{where}line {line}, column {o.name!r}: empty in a row "
                                 "whose status is ok")
        self.grid: dict[str, list[Any]] = header["grid"]
        self.objectives = objectives
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.rows = {row["config"]: row for row in frame.to_dict("records")}
        # `sample` draws from each config's measured repeats: every cell checked here, once
        self.repeats = {(config, o.name): measured_repeats(row, o.name)
                        for config, row in self.rows.items() for o in objectives
                        if noise == "sample" and row["status"] == "ok"
                        and isinstance(row.get(f"{o.name}_repeats"), str)}
        self.distributions = self._distributions()

    def _distributions(self) -> dict[str, Any]:
        """What the samplers see: a numeric axis as the Int/Float range it spans (log-scaled
        when its values are spread geometrically), as in live tuning, so crossover, Parzen
        estimators and GPs keep its order and scale; other axes as categoricals. Proposals are
        snapped to the nearest grid value (`snap`)."""
        from optuna.distributions import CategoricalDistribution

        return {name: numeric_distribution(values) or CategoricalDistribution(values)
                for name, values in self.grid.items()}

    def snap(self, name: str, value: Any) -> Any:
        """The grid value of axis `name` nearest to a proposed `value` (log scale for a
        log-scaled axis); a categorical value must be one of the grid's."""
        values = self.grid[name]
        dist = self.distributions[name]
        if not hasattr(dist, "log") or isinstance(value, bool) or \
                not isinstance(value, (int, float)) or not dist.low <= value <= dist.high:
            return value  # not a numeric axis, or outside it: `row` names the problem
        scale = np.log if dist.log else (lambda x: np.asarray(x, dtype=float))
        return values[int(np.argmin(np.abs(scale(np.asarray(values, dtype=float))
                                           - scale(float(value)))))]

    def check_space(self, names: set[str]) -> None:
        """A strategy's space must be the table's grid: say which key differs."""
        for key in sorted(names ^ set(self.grid)):
            where = "the table's grid" if key in self.grid else "the strategy's space"
            raise UsageError(f"grid key {key!r} appears only in {where}")

    def row(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {name: self.snap(name, value) if name in self.grid else value
                  for name, value in params.items()}
        for name, value in params.items():
            if name not in self.grid:
                raise UsageError(f"grid key {name!r} is not in the table's grid")
            if value not in self.grid[name]:
                raise UsageError(f"grid key {name!r}: {value!r} is not a grid value "
                                 f"{self.grid[name]}")
        return self.rows[config_key(params)]

    def value(self, row: dict[str, Any], name: str) -> float:
        repeats = self.repeats.get((row["config"], name))
        if repeats:
            return repeats[self.rng.integers(len(repeats))]
        return float(row[name])

    def __call__(self, trial) -> TrialOutcome:
        row = self.row(dict(trial.params))
        if row["status"] != "ok":
            return TrialOutcome({}, infeasible_reason=f"{row['status']}: {row.get('reason')}")
        return TrialOutcome({o.name: self.value(row, o.name) for o in self.objectives})

    def cost(self, trial) -> float:
        """Seconds this config cost to train when the table was measured."""
        value = self.row(dict(trial.params)).get("train_time")
        return float(value) if value == value and value is not None else 0.0

    def all_points(self) -> np.ndarray:
        """Minimisation-space objective vectors of every feasible config (medians)."""
        rows = [r for r in self.rows.values() if r["status"] == "ok"]
        return np.array([[o.minimized(float(r[o.name])) for o in self.objectives]
                         for r in rows])


def measured_repeats(row: dict[str, Any], name: str) -> list[float]:
    """The `<name>_repeats` cell of a table row: a JSON list of finite numbers, else a
    UsageError naming the row and the column."""
    cell = row[f"{name}_repeats"]
    try:
        values = json.loads(cell)
    except ValueError:
        values = None
    if not isinstance(values, list) or not values or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
            for v in values):
        raise UsageError(f"table row of config_id {row.get('config_id')}: column "
                         f"{name}_repeats holds {cell[:40]!r}, not a list of measured numbers;"
                         " rebuild the table (or replay medians: --noise median)")
    return [float(v) for v in values]


def numeric_distribution(values: list[Any]):
    """IntDistribution / FloatDistribution spanning a numeric grid axis of 2+ values (log when
    its values are closer to even spacing in log space than in linear space), else None."""
    from optuna.distributions import FloatDistribution, IntDistribution

    if len(values) < 2 or any(isinstance(v, bool) or not isinstance(v, (int, float))
                              for v in values):
        return None
    ordered = np.sort(np.asarray(values, dtype=float))
    log = bool(ordered[0] > 0 and len(ordered) > 2
               and np.std(np.diff(np.log(ordered))) / np.mean(np.diff(np.log(ordered)))
               < np.std(np.diff(ordered)) / np.mean(np.diff(ordered)))
    if all(isinstance(v, int) for v in values):
        return IntDistribution(int(ordered[0]), int(ordered[-1]), log=log)
    return FloatDistribution(float(ordered[0]), float(ordered[-1]), log=log)
