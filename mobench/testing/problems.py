"""Cheap multi-objective test problems with known fronts, in mixed encodings (numpy only).

ZDT1 and ZDT2 (Zitzler, Deb, Thiele 2000; two objectives) and DTLZ2 (Deb, Thiele, Laumanns,
Zitzler 2002; three objectives), each with a few decision variables exposed to the sampler as
Float, stepped Float, Int with a step, log-scaled Float and a Categorical, so that every strategy
meets every kind of distribution. Every encoding can reach the true optimum exactly:

- ``float``: x itself on [0, 1];
- ``step``: Float on [0, 1] with step 0.05;
- ``int``: Int on 0..20 with step 2, x = v / 20;
- ``log``: Float on [1e-3, 1] with log=True, x = (v - 1e-3) / (1 - 1e-3);
- ``cat``: Categorical over labels mapped to x values (the optimum's value among them).

All objectives are minimised. The hypervolume reference point is fixed at 1.1 per objective on
the natural scale of the problem (the true fronts span [0, 1] per objective), so normalised
hypervolume = HV(found front) / HV(true front), both against that point, with the true front
sampled at ``N_FRONT`` points. Points beyond the reference point contribute nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mobench.errors import unknown_name

N_FRONT = 500
_LOG_LOW = 1e-3


@dataclass(frozen=True)
class Variable:
    """One decision variable in [0, 1] and how the sampler sees it."""

    name: str
    kind: str  # "float" | "step" | "int" | "log" | "cat"
    labels: dict[str, float] = field(default_factory=dict)  # for "cat": label -> x

    def suggest(self, trial: Any) -> float:
        """Ask ``trial`` for this variable and return its x in [0, 1]."""
        if self.kind == "float":
            return trial.suggest_float(self.name, 0.0, 1.0)
        if self.kind == "step":
            return trial.suggest_float(self.name, 0.0, 1.0, step=0.05)
        if self.kind == "int":
            return trial.suggest_int(self.name, 0, 20, step=2) / 20.0
        if self.kind == "log":
            v = trial.suggest_float(self.name, _LOG_LOW, 1.0, log=True)
            return (v - _LOG_LOW) / (1.0 - _LOG_LOW)
        if self.kind == "cat":
            return self.labels[trial.suggest_categorical(self.name, list(self.labels))]
        raise ValueError(f"unknown variable kind {self.kind!r}")


@dataclass(frozen=True)
class Problem:
    """A test problem: variables, a vectorised evaluator, its reference point and true front."""

    name: str
    variables: tuple[Variable, ...]
    evaluate: Callable[[np.ndarray], np.ndarray]  # (n, n_var) in [0, 1] -> (n, n_obj)
    front: Callable[[int], np.ndarray]  # n -> (n, n_obj) points on the true front
    n_objectives: int

    @property
    def directions(self) -> list[str]:
        """Optuna directions: every objective is minimised."""
        return ["minimize"] * self.n_objectives

    @property
    def reference_point(self) -> np.ndarray:
        """Fixed hypervolume reference point: 1.1 per objective."""
        return np.full(self.n_objectives, 1.1)

    def objective(self, trial: Any) -> tuple[float, ...]:
        """An Optuna objective: suggest every variable, return the objective vector."""
        x = np.array([[v.suggest(trial) for v in self.variables]])
        return tuple(float(f) for f in self.evaluate(x)[0])

    def true_front(self, n: int = N_FRONT) -> np.ndarray:
        """About ``n`` points (at least ``n``) sampled on the true Pareto front."""
        return self.front(n)

    def normalised_hypervolume(self, values: Sequence[Sequence[float]]) -> float:
        """HV of ``values`` (minimised objectives) over HV of the sampled true front."""
        import moocore

        points = np.asarray(values, dtype=float).reshape(-1, self.n_objectives)
        ref = self.reference_point
        points = points[np.all(points < ref, axis=1)]
        if len(points) == 0:
            return 0.0
        return float(moocore.hypervolume(points, ref=ref) /
                     moocore.hypervolume(self.true_front(), ref=ref))


def _zdt_g(x: np.ndarray) -> np.ndarray:
    return 1.0 + 9.0 * x[:, 1:].sum(axis=1) / (x.shape[1] - 1)


def _zdt1(x: np.ndarray) -> np.ndarray:
    g = _zdt_g(x)
    return np.column_stack([x[:, 0], g * (1.0 - np.sqrt(x[:, 0] / g))])


def _zdt2(x: np.ndarray) -> np.ndarray:
    g = _zdt_g(x)
    return np.column_stack([x[:, 0], g * (1.0 - (x[:, 0] / g) ** 2)])


def _dtlz2(x: np.ndarray, n_obj: int = 3) -> np.ndarray:
    g = ((x[:, n_obj - 1 :] - 0.5) ** 2).sum(axis=1)
    angles = x[:, : n_obj - 1] * np.pi / 2.0
    f = np.ones((len(x), n_obj)) * (1.0 + g)[:, None]
    for i in range(n_obj):
        f[:, i] *= np.prod(np.cos(angles[:, : n_obj - 1 - i]), axis=1)
        if i > 0:
            f[:, i] *= np.sin(angles[:, n_obj - 1 - i])
    return f


def _dtlz2_front(n: int) -> np.ndarray:
    # Simplex-lattice directions (at least n of them) projected onto the unit-sphere octant.
    s = 1
    while (s + 1) * (s + 2) // 2 < n:
        s += 1
    w = np.array([(i, j, s - i - j) for i in range(s + 1) for j in range(s + 1 - i)], float)
    return w / np.linalg.norm(w, axis=1, keepdims=True)


_ZDT_VARS = (
    Variable("x0", "float"),
    Variable("x1", "step"),
    Variable("x2", "int"),
    Variable("x3", "log"),
    Variable("x4", "cat", {"a": 0.0, "b": 1 / 3, "c": 2 / 3, "d": 1.0}),
    Variable("x5", "float"),
)
_DTLZ_VARS = (
    Variable("x0", "float"),
    Variable("x1", "float"),
    Variable("x2", "step"),
    Variable("x3", "int"),
    Variable("x4", "log"),
    Variable("x5", "cat", {"a": 0.0, "b": 0.25, "c": 0.5, "d": 1.0}),
    Variable("x6", "float"),
)

PROBLEMS: dict[str, Problem] = {
    "zdt1": Problem(
        "zdt1", _ZDT_VARS, _zdt1,
        lambda n: np.column_stack([np.linspace(0, 1, n), 1 - np.sqrt(np.linspace(0, 1, n))]), 2,
    ),
    "zdt2": Problem(
        "zdt2", _ZDT_VARS, _zdt2,
        lambda n: np.column_stack([np.linspace(0, 1, n), 1 - np.linspace(0, 1, n) ** 2]), 2,
    ),
    "dtlz2": Problem("dtlz2", _DTLZ_VARS, _dtlz2, _dtlz2_front, 3),
}


def get_problem(name: str) -> Problem:
    """The test problem called ``name`` (zdt1, zdt2, dtlz2)."""
    if name not in PROBLEMS:
        raise unknown_name("problem", name, PROBLEMS)
    return PROBLEMS[name]
