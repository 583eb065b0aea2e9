"""The study engine: space mapping, infeasible trials, resume, refusal of mismatched studies."""

import json

import keras_tuner as kt
import optuna
import pytest

from mobench.cli import main
from mobench.errors import TrialFailed, UsageError
from mobench.objectives import parse_objectives
from mobench.pareto import is_feasible
from mobench.strategies import make_sampler
from mobench.study.loop import run_trials
from mobench.study.outcome import TrialOutcome, told_values
from mobench.study.space import complete_grid, optuna_space
from mobench.study.studies import open_study

OBJECTIVES = parse_objectives("val_accuracy,train_time")


def test_keras_tuner_space_maps_to_optuna_distributions():
    hp = kt.HyperParameters()
    hp.Int("units", 32, 512, step=32)
    hp.Int("layers", 1, 3)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Choice("act", ["relu", "tanh"])
    hp.Boolean("bn")
    hp.Fixed("classes", 10)
    hp.Choice("precision", ["float32", "mixed_float16"])
    d = optuna_space(hp, restrict={"precision": ["float32"]})
    assert d["units"] == optuna.distributions.IntDistribution(32, 512, step=32)
    assert d["layers"] == optuna.distributions.IntDistribution(1, 3)
    assert d["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert d["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5, step=0.1)
    assert d["act"].choices == ("relu", "tanh") and d["bn"].choices == (False, True)
    assert d["classes"].choices == (10,) and d["precision"].choices == ("float32",)


def test_complete_grid_keeps_defaults_for_unlisted_parameters():
    assert complete_grid({"a": [1, 2]}, {"a": 1, "b": "x"}) == {"a": [1, 2], "b": ["x"]}


def test_placeholders_for_unmeasured_objectives_of_infeasible_trials():
    oom = TrialOutcome({"params": 10}, infeasible_reason="out_of_memory: OOM")
    values, placeholders = told_values(oom, OBJECTIVES, [[0.7, 3.0], [0.9, 5.0]])
    assert values == [0.7, 5.0]  # the worst seen: ranks with the worst, invents no optimum
    assert placeholders == ["val_accuracy", "train_time"]
    ok = TrialOutcome({"val_accuracy": 0.8, "train_time": 1.0})
    assert told_values(ok, OBJECTIVES, []) == ([0.8, 1.0], [])


def toy_evaluator(trial):
    """No TensorFlow: accuracy grows with units, time too; units > 400 'run out of memory'."""
    units = trial.params["units"]
    if units > 400:
        return TrialOutcome({"params": units}, infeasible_reason="out_of_memory: OOM")
    return TrialOutcome({"val_accuracy": units / 512, "train_time": units / 100})


def toy_study(tmp_path, strategy="nsga2", seed=0, name="toy"):
    sampler = make_sampler(strategy, seed=seed, directions=["maximize", "minimize"])
    return open_study(f"sqlite:///{tmp_path}/s.db", name, OBJECTIVES, sampler, "toy")


def test_run_trials_records_infeasible_and_reaches_the_requested_count(tmp_path):
    space = {"units": optuna.distributions.IntDistribution(32, 512, step=32)}
    study = toy_study(tmp_path)
    lines = []
    run_trials(study, toy_evaluator, space, OBJECTIVES, 25, on_line=lines.append)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 25 and len(lines) == 25
    assert lines[-1].startswith("[25/25]") and "ETA" in lines[-1]
    infeasible = [t for t in done if not is_feasible(t)]
    assert infeasible and all(t.params["units"] > 400 for t in infeasible)
    assert all(t.user_attrs["infeasible_reason"].startswith("out_of_memory") for t in infeasible)
    front = study.best_trials
    assert front and all(is_feasible(t) for t in front)
    import re

    # no fixed bound for train_time (no constraint): front size and best values, no HV
    assert not any("HV" in line for line in lines)
    best = [re.search(r"front (\d+) \| best val_accuracy (\S+), train_time", line)
            for line in lines]
    assert all(best[1:]) and max(float(m.group(2)) for m in best if m) == max(
        t.values[0] for t in front)
    # resume: a new sampler and the same study continue to the new count, nothing lost
    again = toy_study(tmp_path)
    run_trials(again, toy_evaluator, space, OBJECTIVES, 30, on_line=lines.append)
    numbers = [t.number for t in again.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert len(numbers) == 30 and numbers[:25] == [t.number for t in done]


def test_ctrl_c_marks_the_running_trial_failed_and_keeps_the_finished(tmp_path):
    space = {"units": optuna.distributions.IntDistribution(32, 256, step=32)}
    calls = []

    def interrupted_on_third(trial):
        calls.append(trial.params)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return toy_evaluator(trial)

    study = toy_study(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_trials(study, interrupted_on_third, space, OBJECTIVES, 5, on_line=lambda _: None)
    states = [t.state for t in study.get_trials()]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2 + [optuna.trial.TrialState.FAIL]
    assert study.get_trials()[2].user_attrs["fail_reason"] == "interrupted"


def test_a_failed_trial_is_recorded_infeasible_and_the_study_goes_on(tmp_path):
    space = {"units": optuna.distributions.IntDistribution(32, 256, step=32)}

    def unmeasured_on_second(trial):
        if trial.number == 1:
            raise TrialFailed("objective 'peak_memory' was not measured", {"params": 7})
        return toy_evaluator(trial)

    study = toy_study(tmp_path)
    assert run_trials(study, unmeasured_on_second, space, OBJECTIVES, 4,
                      on_line=lambda _: None) == 4
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    failed = trials[1]
    assert not is_feasible(failed) and failed.user_attrs["measured.params"] == 7
    assert "measured" not in failed.user_attrs  # flat attributes, no dict blob
    assert failed.user_attrs["infeasible_reason"] == "objective 'peak_memory' was not measured"
    assert all(is_feasible(t) for t in trials if t.number != 1)


def test_a_study_with_other_objectives_is_refused(tmp_path):
    toy_study(tmp_path)
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    with pytest.raises(UsageError, match="exists for suite 'toy' with objectives "
                                         "val_accuracy,train_time"):
        open_study(f"sqlite:///{tmp_path}/s.db", "toy",
                   parse_objectives("val_accuracy,peak_memory"), sampler, "toy")


@pytest.mark.parametrize("url", ["nosuchdb://x", "sqlite:////nonexistent-dir/x/y.db"])
def test_a_storage_that_cannot_be_opened_is_a_usage_error(url):
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    with pytest.raises(UsageError, match="cannot be opened"):
        open_study(url, "toy", OBJECTIVES, sampler, "toy")


@pytest.mark.parametrize("name", ["../../etc", "a b", "", "x" * 101])
def test_bad_study_names(tmp_path, name):
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    with pytest.raises(UsageError, match="study name"):
        open_study(f"sqlite:///{tmp_path}/s.db", name, OBJECTIVES, sampler, "toy")


@pytest.mark.slow
def test_tune_cli_on_digits_produces_a_front_and_resumes(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path}/studies.db"
    out = tmp_path / "run.json"
    argv = ["tune", "mnist-mlp", "--strategy", "nsga2", "--dataset", "digits",
            "--limit", "200", "--storage", storage, "--json", str(out)]
    assert main([*argv, "--trials", "4"]) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "tuning" and len(doc["trials"]) == 4
    assert doc["pareto_front"] and doc["provenance"]["hardware_id"]
    front = [t for t in doc["trials"] if t["number"] in doc["pareto_front"]]
    assert all(set(t["objectives"]) == {"val_accuracy", "train_time"} for t in front)
    assert all(t["params"]["precision"] == "float32" for t in doc["trials"])  # [space]
    assert "Pareto front" in capsys.readouterr().out
    assert main([*argv, "--trials", "5"]) == 0  # resume: one more trial, the 4 kept
    assert "resuming study 'mnist-mlp-nsga2-s0-val_accuracy-train_time': 4 of 5 trials " \
        "finished" in capsys.readouterr().err
    again = json.loads(out.read_text())
    assert len(again["trials"]) == 5
    assert again["trials"][:4] == doc["trials"]
    study = optuna.load_study(study_name=doc["study_name"], storage=storage)
    settings = study.user_attrs["settings"]
    assert settings["epochs"] == 1 and settings["limit"] == 200 and settings["strategy"] == "nsga2"
    assert all(t.user_attrs["settings"] == settings for t in study.get_trials())


@pytest.mark.parametrize(("change", "setting"), [
    (["--epochs", "2"], "epochs"), (["--limit", "300"], "limit"),
    (["--dataset", "synthetic"], "dataset"), (["--seed", "1", "--study", "x"], "seed"),
])
def test_resume_with_other_settings_is_refused_before_any_write(tmp_path, capsys, change,
                                                                 setting):
    import sqlite3

    from mobench.study.studies import check_settings

    db = tmp_path / "s.db"
    storage = f"sqlite:///{db}"
    base = ["tune", "mnist-mlp", "--strategy", "random", "--dataset", "digits", "--limit", "200",
            "--storage", storage, "--study", "x"]
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    study = open_study(storage, "x", OBJECTIVES, sampler, "mnist-mlp")
    from mobench.cli.parser import build_parser
    from mobench.study.workers import tune_spec
    from mobench.suites import get_suite

    spec = tune_spec(build_parser().parse_args(base))
    check_settings(study, spec.study_settings(get_suite("mnist-mlp")), storage)
    run_trials(study, toy_evaluator, {"units": optuna.distributions.IntDistribution(32, 64)},
               OBJECTIVES, 1, on_line=lambda _: None)
    before = sqlite3.connect(db).execute("select count(*) from trial_user_attributes").fetchone()
    capsys.readouterr()
    assert main([*base, *change]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"was run with {setting} = " in err
    assert "--study NEW_NAME" in err
    after = sqlite3.connect(db).execute("select count(*) from trial_user_attributes").fetchone()
    assert after == before and len(optuna.load_study(study_name="x", storage=storage).trials) == 1


@pytest.mark.slow
def test_cheap_constraint_skips_training(tmp_path, monkeypatch):
    import mobench.profiling.training

    def no_training(*args, **kwargs):
        raise AssertionError("a config that violates a cheap constraint was trained")

    monkeypatch.setattr(mobench.profiling.training, "evaluate_model", no_training)
    out = tmp_path / "run.json"
    assert main(["tune", "mnist-mlp", "--strategy", "random", "--dataset", "digits",
                 "--limit", "200", "--trials", "3", "--constraint", "params<=1000",
                 "--storage", f"sqlite:///{tmp_path}/s.db", "--json", str(out)]) == 0
    trials = json.loads(out.read_text())["trials"]
    assert all(not t["feasible"] and "checked before training" in t["infeasible_reason"]
               for t in trials)
    assert all(t["objectives"] == {} for t in trials)  # nothing invented


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "simulated-annealing"], "unknown strategy 'simulated-annealing'"),
    (["--objectives", "val_accuracy,speed"], "unknown objective 'speed'"),
    (["--objectives", "train_time:max"], "train_time is always minimized"),
    (["--constraint", "peak_memory=2GiB"], "does not parse"),
    (["--study", "../../etc"], "study name '../../etc'"),
    (["--constraint", "energy<=1J"], "energy is measured by NVML on NVIDIA GPUs"),
    (["--objectives", "val_accuracy,energy"], "energy is measured by NVML on NVIDIA GPUs"),
    (["--constraint", "peak_memory<=30s"], "cannot bound it"),
    (["--constraint", "params<=1e6", "--constraint", "params<=1e6"], "given twice"),
])
def test_tune_usage_errors(tmp_path, capsys, argv, message):
    if "NVML" in message:
        from mobench.profiling.nvml import gpu_inventory

        if gpu_inventory()[0]:
            pytest.skip("this machine has an NVIDIA GPU: energy can be measured here")
    storage = ["--storage", f"sqlite:///{tmp_path}/s.db"]
    assert main(["tune", "mnist-mlp", *storage, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_studies_name_their_objectives_and_trials_hold_flat_measurements(tmp_path):
    """optuna-dashboard shows val_accuracy/train_time (not "Objective 0") and each
    measurement as its own user attribute; the run document reads both layouts."""
    from mobench.study.document import measured_values, trial_entry

    space = {"units": optuna.distributions.IntDistribution(32, 256, step=32)}
    study = toy_study(tmp_path)
    run_trials(study, toy_evaluator, space, OBJECTIVES, 2, on_line=lambda _: None)
    assert study.metric_names == ["val_accuracy", "train_time"]
    reloaded = optuna.load_study(study_name="toy", storage=f"sqlite:///{tmp_path}/s.db")
    assert reloaded.metric_names == ["val_accuracy", "train_time"]
    trial = reloaded.get_trials()[0]
    assert {"measured.val_accuracy", "measured.train_time"} <= set(trial.user_attrs)
    assert trial_entry(trial, OBJECTIVES)["measured"] == {
        "val_accuracy": trial.user_attrs["measured.val_accuracy"],
        "train_time": trial.user_attrs["measured.train_time"]}
    assert measured_values({"measured": {"params": 7}}) == {"params": 7}  # older studies
