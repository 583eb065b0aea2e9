"""How faithful a surrogate is: k-fold cross-validation grouped by config (a config's epochs
and seeds never straddle train and test folds), Spearman rho and R^2 per objective at the final
epoch and averaged over epochs, the same rho within the best quarter of configs (where the
fronts are, and where a surrogate ranking configs matters most), and how well two seeds of one
config agree, overall and within that quarter (the ceiling measurement noise sets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mobench.compare.surrogate import DEFAULT_FAMILY, Data, backward, make_model
from mobench.errors import UsageError


def fidelity(data: Data, folds: int = 5, family: str = DEFAULT_FAMILY,
             targets: Sequence[str] | None = None) -> dict[str, Any]:
    """Grouped k-fold CV: Spearman rho and R^2 per target, final epoch and mean over epochs."""
    make_model(family)  # an unknown family fails before any work
    n_configs = len(np.unique(data.groups))
    splits = folds_of(data, folds)
    out: dict[str, Any] = {}
    for target in targets or data.targets:
        _, y_all, rows_all, epoch_all = data.rows(target)
        oof = np.full(len(y_all), np.nan)
        position = {(r, e): i for i, (r, e) in enumerate(zip(rows_all, epoch_all, strict=True))}
        for train, test in splits:
            x, y, _, _ = data.rows(target, train)
            model = make_model(family).fit(x, y)
            xt, _, rt, et = data.rows(target, test)
            if len(xt):
                idx = [position[(r, e)] for r, e in zip(rt, et, strict=True)]
                oof[idx] = model.predict(xt)
        truth, pred = backward(target, y_all), backward(target, oof)
        per_epoch = [_scores(truth[epoch_all == e], pred[epoch_all == e])
                     for e in sorted(set(epoch_all.tolist()))]
        last = epoch_all == data.epochs
        final = _scores(truth[last], pred[last])
        best = best_quarter(target, truth[last])
        out[target] = {
            "rho_final": final[0], "r2_final": final[1],
            "rho_mean": _mean([s[0] for s in per_epoch]),
            "r2_mean": _mean([s[1] for s in per_epoch]),
            "repeat_rho": repeat_rho(data, target),
            "rho_best_quarter": _scores(truth[last][best], pred[last][best])[0],
            "repeat_rho_best_quarter": repeat_rho(data, target, best_only=True),
            "rows": int(np.sum(last)),
        }
    return {"folds": folds, "grouped_by": "config_id", "family": family,
            "configs": n_configs, "objectives": out}


def best_quarter(target: str, values: np.ndarray) -> np.ndarray:
    """Mask of the quarter of `values` best by the target's direction (the catalogue's; an
    unknown target is maximised, as quality metrics are)."""
    from mobench.objectives import CATALOGUE, Direction

    known = CATALOGUE.get(target)
    maximise = known is None or known.direction is Direction.MAXIMIZE
    signed = np.where(np.isfinite(values), values if maximise else -values, -np.inf)
    return signed >= np.quantile(signed[np.isfinite(signed)], 0.75)


def folds_of(data: Data, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices of grouped k-fold CV: a config's rows (every seed) are all
    in one test fold, never in that fold's training rows."""
    from sklearn.model_selection import GroupKFold

    n_configs = len(np.unique(data.groups))
    if not 2 <= folds <= n_configs:
        raise UsageError(f"--folds must be 2..{n_configs} (the ok configs), got {folds}")
    return list(GroupKFold(n_splits=folds).split(data.x, groups=data.groups))

def _scores(truth: np.ndarray, pred: np.ndarray) -> tuple[float | None, float | None]:
    from scipy.stats import spearmanr
    from sklearn.metrics import r2_score

    if len(truth) < 3 or np.all(truth == truth[0]):
        return None, None
    return float(spearmanr(truth, pred).statistic), float(r2_score(truth, pred))

def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None

def repeat_rho(data: Data, target: str, best_only: bool = False) -> float | None:
    """Spearman rho between two seeds of the repeated configs at the final epoch: the ceiling
    the measurement noise sets on any model's rho (None below 5 repeated configs); with
    `best_only`, among the repeated configs with a seed in the best quarter of all rows."""
    from scipy.stats import spearmanr

    final = data.curves[target][:, -1] if target in data.curves else data.values[target]
    threshold_mask = best_quarter(target, final)
    pairs = []
    for g in np.unique(data.groups):
        idx = np.flatnonzero(data.groups == g)
        if len(idx) >= 2 and np.all(np.isfinite(final[idx[:2]])):
            if best_only and not threshold_mask[idx[:2]].any():
                continue
            pairs.append(final[idx[:2]])
    if len(pairs) < 5:
        return None
    a, b = np.array(pairs).T
    if np.all(a == a[0]) or np.all(b == b[0]):
        return None
    return float(spearmanr(a, b).statistic)
