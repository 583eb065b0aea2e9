"""keras-tuner's oracles as Optuna samplers (kt-random, kt-bayes) on a cheap numpy problem."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from mobench.errors import UsageError
from mobench.strategies.keras_tuner import (
    KerasTunerOracleSampler,
    kt_metrics,
    make_kt_bayes,
    make_kt_random,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
# keras-tuner's oracle lock calls threading.currentThread().getName() on every call
pytestmark = pytest.mark.filterwarnings("ignore:(currentThread|getName):DeprecationWarning")

DIRECTIONS = ("minimize", "maximize")  # train_time (min), val_accuracy (max)
ACTS = ("relu", "tanh", "gelu")
MIXED = (None, 1, "two")  # mixed types: keras-tuner's Choice refuses them, mapped to indices


def problem(trial: optuna.Trial) -> tuple[float, float]:
    """Mixed space: log float, stepped int, categoricals; accuracy peaks at lr = 1e-2."""
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    units = trial.suggest_int("units", 8, 64, step=8)
    act = trial.suggest_categorical("act", ACTS)
    train_time = units / 64 + {"relu": 0.0, "tanh": 0.1, "gelu": 0.2}[act]
    return train_time, math.exp(-((math.log10(lr) + 2.0) ** 2))


def problem_more(trial: optuna.Trial) -> tuple[float, float]:
    """`problem` plus a bool and a mixed-type categorical; raises for some configs."""
    flag = trial.suggest_categorical("flag", [True, False])
    mixed = trial.suggest_categorical("mixed", list(MIXED))
    t, acc = problem(trial)
    if trial.params["units"] >= 48:
        raise ValueError("out of memory (simulated)")
    return t + 0.05 * flag, acc + (0.1 if mixed == "two" else 0.0)


def run(sampler: optuna.samplers.BaseSampler, objective, n: int) -> optuna.Study:
    study = optuna.create_study(directions=DIRECTIONS, sampler=sampler)
    study.optimize(objective, n_trials=n, catch=(ValueError,))
    return study


def configs(study: optuna.Study) -> list[dict]:
    return [t.params for t in study.trials]


@pytest.fixture(scope="module")
def single_thread_blas():
    """keras-tuner's GP is many tiny BLAS calls: one thread is ~2x faster on small machines."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def random_study() -> tuple[optuna.Study, KerasTunerOracleSampler]:
    sampler = make_kt_random(seed=0, directions=DIRECTIONS)
    return run(sampler, problem_more, 18), sampler


@pytest.fixture(scope="module")
def bayes_studies(single_thread_blas) -> tuple[optuna.Study, optuna.Study, optuna.Study]:
    """kt-bayes (13 trials: 3 past the 10 initial points), again (11), kt-random (13); seed 0."""
    bayes = [run(make_kt_bayes(seed=0, directions=DIRECTIONS), problem, n) for n in (13, 11)]
    return bayes[0], bayes[1], run(make_kt_random(seed=0, directions=DIRECTIONS), problem, 13)


def test_scalarisation_is_keras_tuners_multi_objective():
    from keras_tuner.src.engine.objective import MultiObjective, Objective

    kt = MultiObjective([Objective("val_accuracy", "max"), Objective("train_time", "min")])
    expected = kt.get_value({"val_accuracy": 0.9, "train_time": 2.5})
    metrics = kt_metrics([2.5, 0.9], DIRECTIONS)
    assert metrics["multi_objective"] == pytest.approx(expected) == pytest.approx(2.5 - 0.9)
    assert kt_metrics([0.7], ["maximize"]) == {"objective_0": 0.7}  # one objective: no scalar


def test_kt_random_runs_within_the_space_and_reports_to_the_oracle(random_study):
    study, sampler = random_study
    assert len(study.trials) == 18
    for t in study.trials:
        p = t.params
        assert 1e-4 <= p["lr"] <= 1.0 and p["units"] in range(8, 65, 8)
        assert p["act"] in ACTS and p["mixed"] in MIXED and isinstance(p["flag"], bool)
        kt_trial = sampler.oracle.get_trial(sampler.kt_trial_id(t.number))
        assert kt_trial.hyperparameters.values["lr"] == p["lr"]  # what ran, not the proposal
        if t.state == TrialState.COMPLETE:
            assert kt_trial.status == "COMPLETED"
            assert kt_trial.score == pytest.approx(t.values[0] - t.values[1])
        else:
            assert kt_trial.status == "FAILED"
    assert len({(p["lr"], p["units"]) for p in configs(study)}) == 18


def test_failing_trials_are_recorded_not_fatal(random_study):
    study, _ = random_study
    assert any(t.state == TrialState.FAIL for t in study.trials)
    # keras-tuner stops a search after 3 failures in a row; a study must go on
    sampler = make_kt_random(seed=1, directions=DIRECTIONS)

    def fails_after_first(trial):
        values = problem(trial)  # the first completes, so the oracle knows the space
        if trial.number:
            raise ValueError("boom")
        return values

    study = run(sampler, fails_after_first, 7)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] + [TrialState.FAIL] * 6
    status = [sampler.oracle.get_trial(sampler.kt_trial_id(n)).status for n in range(7)]
    assert status == ["COMPLETED"] + ["FAILED"] * 6


def test_infeasible_and_enqueued_trials_reach_the_oracle():
    sampler = make_kt_random(seed=3, directions=DIRECTIONS)
    study = optuna.create_study(directions=DIRECTIONS, sampler=sampler)
    study.enqueue_trial({"lr": 0.5, "units": 16, "act": "tanh"})
    for _ in range(4):
        trial = study.ask()
        values = problem(trial)
        trial.set_constraint("memory", 1.0 if trial.number == 3 else -1.0)
        study.tell(trial, values)
    status = {n: sampler.oracle.get_trial(sampler.kt_trial_id(n)).status for n in range(4)}
    assert status == {0: "COMPLETED", 1: "COMPLETED", 2: "COMPLETED", 3: "FAILED"}
    enqueued = sampler.oracle.get_trial(sampler.kt_trial_id(0)).hyperparameters.values
    assert enqueued == {"lr": 0.5, "units": 16, "act": "tanh"}


def test_deterministic_under_seed(random_study):
    study, _ = random_study
    again = run(make_kt_random(seed=0, directions=DIRECTIONS), problem_more, 18)
    other = run(make_kt_random(seed=1, directions=DIRECTIONS), problem_more, 18)
    assert configs(again) == configs(study)
    assert configs(other) != configs(study)


def test_exhausted_space_falls_back_to_random():
    def tiny(trial):
        b = trial.suggest_categorical("b", ["x", "y"])
        return trial.suggest_int("a", 0, 1), float(b == "x")

    sampler = make_kt_random(seed=0, directions=DIRECTIONS)
    randomly, independent = [], sampler.sample_independent
    sampler.sample_independent = lambda s, t, *a: randomly.append(t.number) or independent(s, t, *a)
    study = run(sampler, tiny, 10)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    first = {(p["a"], p["b"]) for p in configs(study)[:4]}
    assert first == {(0, "x"), (0, "y"), (1, "x"), (1, "y")}  # the oracle avoided duplicates
    assert sorted(set(randomly)) == [0, 4, 5, 6, 7, 8, 9]  # no space yet, then exhausted


def test_kt_bayes_runs_and_is_deterministic(bayes_studies):
    bayes, again, _ = bayes_studies
    assert all(t.state == TrialState.COMPLETE for t in bayes.trials)
    for p in configs(bayes):
        assert 1e-4 <= p["lr"] <= 1.0 and p["units"] in range(8, 65, 8) and p["act"] in ACTS
    assert configs(again) == configs(bayes)[:11]  # 10 initial points + 1 GP proposal


def test_kt_bayes_learns(bayes_studies):
    """Same seed: the initial design is keras-tuner's random stream, shared with kt-random;
    after it the GP's proposals score better (keras-tuner's scalar) than random ones."""
    bayes, _, random = bayes_studies
    assert configs(bayes)[:10] == configs(random)[:10]
    assert configs(bayes)[10:] != configs(random)[10:]

    def scalar(study):
        return np.mean([t.values[0] - t.values[1] for t in study.trials[10:]])

    assert scalar(bayes) < scalar(random)


def test_bad_directions_are_usage_errors():
    with pytest.raises(UsageError):
        make_kt_random(seed=0, directions=["up"])
    sampler = make_kt_random(seed=0, directions=["minimize"])
    with pytest.raises(UsageError):
        run(sampler, problem, 2)


def test_importing_the_module_does_not_import_tensorflow():
    code = ("import sys, mobench.strategies.keras_tuner; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
