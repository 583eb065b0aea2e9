"""A calibration from one machine's costs to another's, fitted on K configs measured on both.

Features (per run of the reference table): the reference machine's costs (train_time,
latency_p50, peak_memory) and the config's params, FLOPs per sample and batch size, all as
logarithms; targets: the same three costs on this machine, as logarithms. Costs scale
multiplicatively between machines (a core twice as fast halves every time), so a linear
model in log space is the natural baseline; with K = 10 configs and six correlated features
(params and FLOPs nearly collinear) ordinary least squares is unstable, so each target gets a
ridge regression on standardised features with its penalty chosen by leave-one-out
cross-validation (scikit-learn's RidgeCV): with little data the penalty shrinks it towards the
reference cost's own slope, with more it may use what the other features add.

A feature missing from any reference run is left out; a target not measured here on every
calibration config is not predicted (absent, never invented).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TARGETS = ("train_time", "latency_p50", "peak_memory")
FEATURES = (*TARGETS, "params", "flops", "batch_size")
ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))
DESCRIPTION = ("per cost: ridge regression of log(cost here) on standardised log features "
               "(the reference machine's train_time, latency_p50, peak_memory; params, flops, "
               "batch size), penalty by leave-one-out CV over 1e-3..1e3")


def _log_column(rows: list[dict[str, Any]], name: str) -> np.ndarray | None:
    """log of a positive number in every row, else None (the column is left out)."""
    values = []
    for row in rows:
        value = row.get(name)
        if name == "batch_size":
            value = (row.get("config") or {}).get("batch_size")
        # numbers.Real, not int | float: a pandas row holds integer columns (params, flops,
        # peak_memory) as numpy integers, which are not Python ints
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
                or not np.isfinite(value):
            return None
        values.append(float(value))
    return np.log(np.asarray(values, dtype=float))


@dataclass
class Calibration:
    """Fitted per target; `predict` answers the targets it fitted."""

    features: list[str]
    models: dict[str, Any] = field(default_factory=dict)
    alphas: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, reference: list[dict[str, Any]], here: list[dict[str, Any]],
            predict_for: list[dict[str, Any]] | None = None) -> Calibration:
        """`reference[i]` and `here[i]`: one config on the two machines. Features are those
        present in every reference run and in `predict_for` (the runs to predict)."""
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if len(reference) != len(here) or len(reference) < 2:
            raise ValueError("a calibration needs the same two or more configs on both")
        wanted = predict_for if predict_for is not None else reference
        features = [f for f in FEATURES if _log_column(reference, f) is not None
                    and _log_column(wanted, f) is not None]
        if not features:
            raise ValueError("no cost or size feature is measured in every reference run")
        x = np.column_stack([_log_column(reference, f) for f in features])
        calibration = cls(features)
        for target in TARGETS:
            y = _log_column(here, target)
            if y is None:
                continue
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))
            model.fit(x, y)
            calibration.models[target] = model
            calibration.alphas[target] = float(model[-1].alpha_)
        return calibration

    def predict(self, runs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        """Per fitted target, this machine's cost for every reference run."""
        if not runs:
            return {t: np.zeros(0) for t in self.models}
        x = np.column_stack([_log_column(runs, f) for f in self.features])
        return {t: np.exp(m.predict(x)) for t, m in self.models.items()}

    def describe(self) -> dict[str, Any]:
        return {"model": DESCRIPTION, "features": list(self.features),
                "targets": list(self.models), "alpha": dict(self.alphas)}
