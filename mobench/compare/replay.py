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
        missing = [o.name for o in objectives if o.name not in frame.columns]
        if missing:
            measured = sorted(c for c in frame.columns if f"{c}_repeats" in frame.columns)
            raise UsageError(f"the table does not hold objective {missing[0]!r}; it holds: "
                             f"{', '.join(measured)}")
        self.grid: dict[str, list[Any]] = header["grid"]
        self.objectives = objectives
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.rows = {row["config"]: row for row in frame.to_dict("records")}
        self.distributions = self._distributions()

    def _distributions(self) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution

        return {name: CategoricalDistribution(values) for name, values in self.grid.items()}

    def check_space(self, names: set[str]) -> None:
        """A strategy's space must be the table's grid: say which key differs."""
        for key in sorted(names ^ set(self.grid)):
            where = "the table's grid" if key in self.grid else "the strategy's space"
            raise UsageError(f"grid key {key!r} appears only in {where}")

    def row(self, params: dict[str, Any]) -> dict[str, Any]:
        for name, value in params.items():
            if name not in self.grid:
                raise UsageError(f"grid key {name!r} is not in the table's grid")
            if value not in self.grid[name]:
                raise UsageError(f"grid key {name!r}: {value!r} is not a grid value "
                                 f"{self.grid[name]}")
        return self.rows[config_key(params)]

    def value(self, row: dict[str, Any], name: str) -> float:
        if self.noise == "sample" and isinstance(row.get(f"{name}_repeats"), str):
            repeats = json.loads(row[f"{name}_repeats"])
            return float(repeats[self.rng.integers(len(repeats))])
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
