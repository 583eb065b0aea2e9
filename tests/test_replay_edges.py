"""TabularProblem on a hand-made frame: messages, noise models, infeasible rows, costs, points."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import IntDistribution

from mobench.compare.replay import NOISE_MODELS, TabularProblem
from mobench.compare.tabular import config_key
from mobench.errors import UsageError
from mobench.objectives import parse_objectives

OBJ = parse_objectives("val_accuracy,train_time")
HEADER = {"grid": {"units": [8, 16], "lr": [0.1]}}


def frame() -> pd.DataFrame:
    rows = [
        {"config": config_key({"lr": 0.1, "units": 8}), "status": "ok", "reason": "",
         "val_accuracy": 0.8, "val_accuracy_repeats": json.dumps([0.7, 0.9]),
         "train_time": 2.0, "train_time_repeats": np.nan},
        {"config": config_key({"lr": 0.1, "units": 16}), "status": "oom", "reason": "too big",
         "val_accuracy": np.nan, "val_accuracy_repeats": np.nan, "train_time": np.nan,
         "train_time_repeats": np.nan},
    ]
    return pd.DataFrame(rows)


def trial(**params):
    return SimpleNamespace(params=params)


def test_noise_models_and_messages() -> None:
    assert NOISE_MODELS == ("median", "sample")
    with pytest.raises(UsageError, match=r"^unknown noise model 'mean'; valid: median, sample$"):
        TabularProblem(HEADER, frame(), OBJ, noise="mean")
    with pytest.raises(UsageError, match=r"does not hold objective 'fcd'; it holds: "
                                         r"train_time, val_accuracy$"):
        TabularProblem(HEADER, frame(), parse_objectives("val_accuracy,fcd"))
    problem = TabularProblem(HEADER, frame(), OBJ)
    problem.check_space({"units", "lr"})
    with pytest.raises(UsageError, match="grid key 'lr' appears only in the table's grid"):
        problem.check_space({"units"})
    with pytest.raises(UsageError, match="grid key 'zz' appears only in the strategy's space"):
        problem.check_space({"units", "lr", "zz"})
    with pytest.raises(UsageError, match=r"grid key 'units': 32 is not a grid value \[8, 16\]"):
        problem.row({"units": 32, "lr": 0.1})  # outside the axis: nothing to snap to
    assert problem.row({"units": 9, "lr": 0.1}) == problem.row({"units": 8, "lr": 0.1})
    assert set(problem.distributions) == {"units", "lr"}
    assert problem.distributions["units"] == IntDistribution(8, 16)  # a numeric axis: a range


def test_replayed_values_infeasible_rows_costs_and_points() -> None:
    median = TabularProblem(HEADER, frame(), OBJ)
    outcome = median(trial(units=8, lr=0.1))
    assert outcome.values == {"val_accuracy": 0.8, "train_time": 2.0} and outcome.feasible
    bad = median(trial(units=16, lr=0.1))
    assert not bad.feasible and bad.infeasible_reason == "oom: too big" and bad.values == {}
    assert median.cost(trial(units=8, lr=0.1)) == 2.0
    assert median.cost(trial(units=16, lr=0.1)) == 0.0  # unmeasured: free
    assert median.all_points().tolist() == [[-0.8, 2.0]]  # accuracy maximised: negated
    sample = TabularProblem(HEADER, frame(), OBJ, noise="sample", seed=3)
    draws = {sample(trial(units=8, lr=0.1)).values["val_accuracy"] for _ in range(40)}
    assert draws == {0.7, 0.9}
    # Without repeats the sample model replays the median.
    assert {sample(trial(units=8, lr=0.1)).values["train_time"] for _ in range(5)} == {2.0}
    default = TabularProblem(HEADER, frame(), OBJ, noise="sample")  # seed 0 by default
    zero = TabularProblem(HEADER, frame(), OBJ, noise="sample", seed=0)
    one = TabularProblem(HEADER, frame(), OBJ, noise="sample", seed=1)
    draw = [lambda p=p: p(trial(units=8, lr=0.1)).values["val_accuracy"] for p in (default,
                                                                                 zero, one)]
    runs = [[d() for _ in range(12)] for d in draw]
    assert runs[0] == runs[1] != runs[2]
    rows = frame()  # a measured config without a value would replay as NaN: refused
    rows.loc[1, ["status", "val_accuracy"]] = ["ok", 0.7]
    with pytest.raises(UsageError, match=r"^line 3, column 'train_time': empty in a row whose "
                       "status is ok$"):
        TabularProblem(HEADER, rows, OBJ)
    rows.loc[0, "train_time"] = None
    with pytest.raises(UsageError, match="does not hold objective 'train_time'"):
        TabularProblem(HEADER, rows, OBJ)
