"""Surrogate problems over a suite's real search space, fitted to a learning-curve table.

A curves table (`mobench.compare.curves`) samples the suite's whole search space; a surrogate
fits one scikit-learn regressor per objective to it, with the epoch as an input for the
curves (`val_accuracy`, `val_loss`, `train_time` = cumulative training seconds at an epoch,
and a GAN's `fcd`, `classifier_score`, fitted at the header's `fcd_epochs`) and without for
the per-config measurements (`params`, `flops`, `peak_memory`, `latency_p50`, which answers
the catalogue's `latency`: both are the batch-1 inference p50). Features are the
hyperparameters as live tuning sees them: numbers (the log of a log distribution), one-hot
categoricals (a single-choice one is dropped). Positive cost targets and `val_loss` are
fitted in log space. The model family (extra trees) won on measured fidelity; see the
README's "Surrogate problems".

Fidelity is measured by k-fold cross-validation grouped by config (a config's epochs and seeds
never straddle train and test folds): Spearman rho and R^2 per objective, at the final epoch
and averaged over epochs, on out-of-fold predictions.

Nothing is pickled: the document (`results/surrogates/<suite>-<dataset>.json`) stores the
fidelity, the reference fronts and the table's content hash; loading refits deterministically
(fixed `random_state`, one thread), and a table whose hash differs is refitted and its
fidelity and fronts recomputed.

The problem a strategy runs on lives in `surrogate_problem`, the fidelity in
`surrogate_fidelity`, the reference front in `surrogate_front`, the document and the
comparison runs in `surrogate_store`.

Noise: `median` answers the model's prediction (deterministic); `sample` adds one residual
drawn with the run's seeded generator from the measured repeats (a config's seeds minus their
mean, on the fitted scale, scaled by sqrt(n/(n-1))), the same draw for every objective so
their correlation is kept.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mobench.errors import UsageError
from mobench.objectives import Objective

KIND = "surrogate"
FAMILIES = ("extra-trees", "random-forest", "hist-gb")
DEFAULT_FAMILY = "extra-trees"
AUTO = "auto"  # `--model auto`: the family chosen by best-quarter fidelity (surrogate_store)
RANDOM_STATE = 0
CURVE_TARGETS = {"val_accuracy": "val_accuracy_curve", "val_loss": "val_loss_curve",
                 "train_time": "time_curve", "fcd": "fcd_curve",
                 "classifier_score": "classifier_score_curve"}
CHECKPOINTED = {"fcd", "classifier_score"}  # a GAN's quality, measured at `fcd_epochs` only
CONFIG_TARGETS = ("params", "flops", "peak_memory", "latency_p50")
LOG_TARGETS = {"val_loss", "train_time", "params", "flops", "peak_memory", "latency_p50", "fcd"}
BOUNDED = {"val_accuracy": (0.0, 1.0)}
# catalogue objective -> table column (the table's batch-1 p50 is the catalogue's `latency`)
COLUMN = {"latency": "latency_p50"}
MIN_CONFIGS = 30  # ok configs needed to fit a surrogate
MIN_FAILURES = 20  # failed configs needed to fit a failure classifier
FRONT_EVALUATIONS = 20_000
NOISE_MODELS = ("median", "sample")


def column(objective: str) -> str:
    return COLUMN.get(objective, objective)


def distributions(header: dict[str, Any]) -> dict[str, Any]:
    """The Optuna distributions live tuning used, from the table header's `space`."""
    from optuna.distributions import json_to_distribution

    space = header.get("space")
    if not isinstance(space, dict) or not space:
        raise UsageError("the curves table's header holds no search space ('space')")
    return {name: json_to_distribution(json.dumps(d)) for name, d in space.items()}


class Encoder:
    """Configs -> feature rows: numbers (log where the distribution is log), one-hot
    categoricals; a single-choice categorical carries no information and is left out."""

    def __init__(self, space: dict[str, Any]) -> None:
        from optuna.distributions import CategoricalDistribution

        self.space = space
        self.columns: list[str] = []
        self.parts: list[tuple[str, str, Any]] = []  # (name, "num"|"log"|"onehot", choices)
        for name, dist in space.items():
            if isinstance(dist, CategoricalDistribution):
                if len(dist.choices) > 1:
                    self.parts.append((name, "onehot", list(dist.choices)))
                    self.columns += [f"{name}={c}" for c in dist.choices]
            else:
                kind = "log" if dist.log else "num"
                self.parts.append((name, kind, None))
                self.columns.append(f"log({name})" if dist.log else name)

    def __call__(self, configs: Sequence[dict[str, Any]]) -> np.ndarray:
        out = np.zeros((len(configs), len(self.columns)))
        for i, config in enumerate(configs):
            j = 0
            for name, kind, choices in self.parts:
                value = config[name]
                if kind == "onehot":
                    if value in choices:
                        out[i, j + choices.index(value)] = 1.0
                    j += len(choices)
                else:
                    out[i, j] = math.log(value) if kind == "log" else float(value)
                    j += 1
        return out


def table_hash(header: dict[str, Any], frame) -> str:
    """sha256 of the header's space and of the rows as loaded (a torn tail left out)."""
    h = hashlib.sha256(json.dumps(header.get("space"), sort_keys=True).encode())
    h.update(frame.to_csv(index=False).encode())
    return h.hexdigest()


def check_table(header: dict[str, Any], frame, suite, path) -> None:
    """The table must be of `suite` at its current version and big enough to fit."""
    check_suite(header, suite, path)
    ok = frame[frame["status"] == "ok"] if len(frame) else frame
    n = ok["config_id"].nunique() if len(ok) else 0
    if n < MIN_CONFIGS:
        raise UsageError(f"{path} holds {n} ok configs; a surrogate needs at least "
                         f"{MIN_CONFIGS} (let the table build grow)")


def check_suite(header: dict[str, Any], suite, path) -> None:
    """The table must be of `suite` at its current version."""
    if header.get("suite") != suite.name:
        raise UsageError(f"{path} is a table of suite {header.get('suite')!r}, "
                         f"not {suite.name!r}")
    if header.get("suite_version") != suite.version:
        raise UsageError(f"{path} was measured with version {header.get('suite_version')!r} of "
                         f"suite {suite.name!r}, which is now version {suite.version}: rebuild "
                         "it with `mobench table --sample`, or use the suite file it was built on")


class Data:
    """The table's ok rows as arrays: configs, groups (config ids), targets per objective."""

    def __init__(self, header: dict[str, Any], frame) -> None:
        self.header = header
        self.space = distributions(header)
        self.encoder = Encoder(self.space)
        self.epochs = int(header["epochs"])
        ok = frame[frame["status"] == "ok"]
        self.configs = [json.loads(c) for c in ok["config"]]
        self.groups = ok["config_id"].to_numpy(dtype=int)
        self.seeds = ok["seed"].to_numpy(dtype=int)
        self.x = self.encoder(self.configs)
        at = header.get("fcd_epochs") or None
        self.curves = {name: _curve_matrix(ok[col], self.epochs,
                                           at if name in CHECKPOINTED else None)
                       for name, col in CURVE_TARGETS.items() if col in ok.columns}
        self.values = {name: ok[name].to_numpy(dtype=float) for name in CONFIG_TARGETS
                       if name in ok.columns and ok[name].notna().any()}
        self.failed = frame[frame["status"] != "ok"]

    @property
    def targets(self) -> list[str]:
        return [*self.curves, *self.values]

    def check_targets(self, objectives: Sequence[Objective]) -> None:
        """Every objective must be a column the table measured (`latency`: latency_p50)."""
        back = {v: k for k, v in COLUMN.items()}
        names = [back.get(t, t) for t in self.targets]
        for o in objectives:
            if column(o.name) not in self.targets:
                raise UsageError(f"the curves table does not hold objective {o.name!r}; a "
                                 f"surrogate of it predicts: {', '.join(names)}")

    def rows(self, target: str, index: np.ndarray | None = None):
        """(X, y on the fitted scale, row index, epoch) of one target; non-finite left out."""
        index = np.arange(len(self.x)) if index is None else index
        if target in self.curves:
            e = self.epochs
            rows = np.repeat(index, e)
            epoch = np.tile(np.arange(1, e + 1), len(index))
            y = self.curves[target][index].ravel()
            x = np.column_stack([self.x[rows], epoch])
        else:
            rows, epoch = index, np.full(len(index), self.epochs)
            y, x = self.values[target][index], self.x[index]
        y = forward(target, y)
        keep = np.isfinite(y)
        return x[keep], y[keep], rows[keep], epoch[keep]


def _curve_matrix(cells, epochs: int, at: Sequence[int] | None = None) -> np.ndarray:
    """Rows x epochs; a curve measured at checkpoint epochs `at` (1-based) fills those only."""
    out = np.full((len(cells), epochs), np.nan)
    columns = np.asarray(at, dtype=int) - 1 if at else np.arange(epochs)
    for i, curve in enumerate(cells):
        values = np.asarray([np.nan if v is None else v for v in curve], dtype=float)
        n = min(len(values), len(columns))
        out[i, columns[:n]] = values[:n]
    return out


def forward(target: str, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if target in LOG_TARGETS:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
    return y


def backward(target: str, y: np.ndarray) -> np.ndarray:
    y = np.exp(y) if target in LOG_TARGETS else np.asarray(y, dtype=float)
    low, high = BOUNDED.get(target, (-np.inf, np.inf))
    return np.clip(y, low, high)


def make_model(family: str):
    """A deterministic regressor of `family` (one thread, fixed random_state)."""
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )

    if family == "extra-trees":
        return ExtraTreesRegressor(n_estimators=100, min_samples_leaf=2, n_jobs=1,
                                   random_state=RANDOM_STATE)
    if family == "random-forest":
        return RandomForestRegressor(n_estimators=100, min_samples_leaf=2, max_features=0.5,
                                     n_jobs=1, random_state=RANDOM_STATE)
    if family == "hist-gb":
        return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05,
                                             random_state=RANDOM_STATE)
    from mobench.errors import unknown_name

    raise unknown_name("surrogate model family", family, FAMILIES)


def fast_predict(model, x: np.ndarray) -> np.ndarray:
    """A forest's mean over its trees without sklearn's per-call checks and thread pool
    (about 50x faster for the one-config calls a strategy makes); other models' `predict`."""
    trees = getattr(model, "estimators_", None)
    if trees is None or not hasattr(trees[0], "tree_"):
        return model.predict(x)
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(len(x32))
    for tree in trees:
        out += tree.tree_.predict(x32)[:, 0]
    return out / len(trees)


class Surrogate:
    """One regressor per target, fitted on first use; batch predictions at any epoch."""

    def __init__(self, data: Data, family: str = DEFAULT_FAMILY) -> None:
        make_model(family)
        self.data = data
        self.family = family
        self.epochs = data.epochs
        self.encoder = data.encoder
        self.models: dict[str, Any] = {}
        self.residuals = residual_pool(data)
        self.failure = failure_model(data)

    @property
    def space(self) -> dict[str, Any]:
        return self.data.space

    def check_targets(self, objectives: Sequence[Objective]) -> None:
        self.data.check_targets(objectives)

    def model(self, target: str):
        if target not in self.models:
            x, y, _, _ = self.data.rows(target)
            self.models[target] = make_model(self.family).fit(x, y)
        return self.models[target]

    def check_epoch(self, epoch: int | None) -> int:
        if epoch is None:
            return self.epochs
        if isinstance(epoch, bool) or not isinstance(epoch, int) or \
                not 1 <= epoch <= self.epochs:
            raise UsageError(f"epoch {epoch!r} is outside the table's curves (1..{self.epochs})")
        return epoch

    def predict_scaled(self, configs: Sequence[dict[str, Any]], targets: Sequence[str],
                       epoch: int | None = None) -> dict[str, np.ndarray]:
        """Predictions on the fitted scale (log for cost targets) per target."""
        epoch = self.check_epoch(epoch)
        x = self.encoder(configs)
        out = {}
        for target in targets:
            features = np.column_stack([x, np.full(len(x), epoch)]) \
                if target in self.data.curves else x
            out[target] = fast_predict(self.model(target), features)
        return out

    def predict(self, configs: Sequence[dict[str, Any]], targets: Sequence[str],
                epoch: int | None = None) -> dict[str, np.ndarray]:
        """The median predictions in the table's units per target (column names)."""
        scaled = self.predict_scaled(configs, targets, epoch)
        return {t: backward(t, v) for t, v in scaled.items()}

    def failing(self, configs: Sequence[dict[str, Any]]) -> np.ndarray:
        """Mask of configs predicted to fail (all False without a failure classifier)."""
        if self.failure is None:
            return np.zeros(len(configs), dtype=bool)
        return self.failure.predict_proba(self.encoder(configs))[:, 1] > 0.5


def residual_pool(data: Data) -> dict[str, np.ndarray]:
    """Per target, residual rows (repeated config, seed) x epoch on the fitted scale: a seed's
    value minus its config's mean, times sqrt(n/(n-1)) so a draw has the seeds' spread."""
    pools: dict[str, list[np.ndarray]] = {t: [] for t in data.targets}
    for g in np.unique(data.groups):
        idx = np.flatnonzero(data.groups == g)
        if len(idx) < 2:
            continue
        scale = math.sqrt(len(idx) / (len(idx) - 1))
        for t in data.targets:
            values = forward(t, data.curves[t][idx] if t in data.curves
                             else data.values[t][idx][:, None])
            pools[t].extend((values - values.mean(axis=0)) * scale)
    return {t: np.nan_to_num(np.array(rows), nan=0.0) if rows else np.zeros((0, 1))
            for t, rows in pools.items()}


def failure_model(data: Data):
    """A classifier of failed configs (status != ok) when the table holds enough, else None."""
    failed = data.failed.drop_duplicates("config_id")
    failed = failed[~failed["config_id"].isin(data.groups)]  # failed with every seed
    if len(failed) < MIN_FAILURES:
        return None
    from sklearn.ensemble import RandomForestClassifier

    ok_x = data.x[np.unique(data.groups, return_index=True)[1]]
    bad_x = data.encoder([json.loads(c) for c in failed["config"]])
    x = np.vstack([ok_x, bad_x])
    y = np.r_[np.zeros(len(ok_x)), np.ones(len(bad_x))]
    return RandomForestClassifier(n_estimators=100, min_samples_leaf=2, n_jobs=1,
                                random_state=RANDOM_STATE).fit(x, y)


def infeasible_summary(data: Data) -> dict[str, Any]:
    failed = data.failed.drop_duplicates("config_id")
    n = int((~failed["config_id"].isin(data.groups)).sum()) if len(failed) else 0
    reasons = sorted({str(s) for s in data.failed.get("status", [])})
    if n >= MIN_FAILURES:
        how = "a random-forest classifier of failed configs; P(fail) > 0.5 answers infeasible"
    else:
        how = (f"ignored: {n} failed configs, fewer than the {MIN_FAILURES} a failure "
               "classifier needs; every config is predicted feasible")
    return {"failed_configs": n, "statuses": reasons, "model": how}
