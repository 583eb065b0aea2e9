"""The last tracebacks and silences as one-line errors: a table header without its suite, a
corrupt repeats cell, an objective the model never logs (the study stops after its first
trial, exit 2), duplicate objectives; and the Python API as quiet as the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobench.cli import main
from mobench.compare.tabular import FIELDS, config_key, grid_configs
from mobench.documents import write_json
from mobench.errors import TrialFailed, UsageError
from mobench.objectives import parse_objectives
from mobench.records import SCHEMA_VERSION
from mobench.study.evaluator import ConfigEvaluator

ROOT = Path(__file__).resolve().parents[1]
GRID = {"units": [32, 64, 128], "num_layers": [1, 2]}


def one_line(capsys, message: str) -> str:
    err = capsys.readouterr().err.strip()
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def write_table(folder: Path, *, header: dict | None = None,
                repeats: dict[int, str] | None = None) -> Path:
    """A finished grid table of mnist-mlp; `repeats`: val_accuracy_repeats cells by row."""
    path = folder / "t.csv"
    write_json(path.with_suffix(".json"), header or {
        "schema_version": SCHEMA_VERSION, "kind": "table", "suite": "mnist-mlp",
        "suite_version": 1, "grid": GRID})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for i, c in enumerate(grid_configs(GRID)):
            accuracy = c["units"] / 256 + c["num_layers"] / 10
            writer.writerow({"config_id": i, "config": config_key(c), "status": "ok",
                             "val_accuracy": accuracy, "train_time": c["units"] / 100,
                             "val_accuracy_repeats": (repeats or {}).get(
                                 i, json.dumps([accuracy, accuracy + 0.01])),
                             "train_time_repeats": json.dumps([c["units"] / 100])})
    return path


def compare(table: Path, tmp_path: Path, *extra: str) -> int:
    return main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random",
                 "--budget", "3", "--seeds", "2", "--out", str(tmp_path / "cmp"), *extra])


def test_a_table_header_without_its_suite_is_one_line(tmp_path, capsys):
    header = {"schema_version": SCHEMA_VERSION, "kind": "table", "suite_version": 1,
              "grid": GRID}
    table = write_table(tmp_path, header=header)
    assert compare(table, tmp_path) == 2
    one_line(capsys, "the header names no suite ('suite')")
    assert not (tmp_path / "cmp").exists() or not list((tmp_path / "cmp").iterdir())


@pytest.mark.parametrize("cell", ['[0.5, "fast"]', "not json", "[]", "{}", '[NaN]', "[true]"])
def test_a_corrupt_repeats_cell_is_one_line_with_noise_sample(cell, tmp_path, capsys):
    table = write_table(tmp_path, repeats={4: cell})
    assert compare(table, tmp_path, "--noise", "sample") == 2
    one_line(capsys, "line 6, column 'val_accuracy_repeats'")
    assert compare(table, tmp_path) == 2  # a damaged table is refused whatever the noise
    one_line(capsys, "line 6, column 'val_accuracy_repeats'")


def test_sampled_noise_draws_the_measured_repeats(tmp_path):
    from mobench.compare.replay import TabularProblem
    from mobench.compare.tabular import load_table

    header, frame = load_table(write_table(tmp_path, repeats={0: "[0.25, 0.75]"}))
    problem = TabularProblem(header, frame, parse_objectives("val_accuracy,train_time"),
                             noise="sample", seed=3)
    row = problem.rows[config_key(grid_configs(GRID)[0])]
    assert {problem.value(row, "val_accuracy") for _ in range(50)} == {0.25, 0.75}


class Judge(ConfigEvaluator):
    """Only the judgement of measured values (no model)."""

    def __init__(self, objectives: str) -> None:
        self.objectives, self.constraints, self.seed = parse_objectives(objectives), (), 0

    def configure(self, trial):
        raise NotImplementedError

    def train(self, trial, hypermodel, hp, model, known):
        raise NotImplementedError


TRAINED = {"val_accuracy": 0.9, "val_loss": 0.3, "train_time": 1.0, "params": 10}


def test_an_objective_the_model_never_logs_is_a_usage_error():
    with pytest.raises(UsageError, match="objective 'foo_metric' is not a metric the model "
                                         "reports; a trial that trained measured params, "
                                         "train_time, val_accuracy, val_loss"):
        Judge("val_accuracy,foo_metric:max").judge(dict(TRAINED))
    with pytest.raises(UsageError, match="'fcd'"):
        Judge("fcd,train_time").judge(dict(TRAINED))  # a classifier has no GAN quality
    # a measurement mobench takes that failed on one trial is that trial's failure
    with pytest.raises(TrialFailed, match="objective 'peak_memory' was not measured"):
        Judge("val_accuracy,peak_memory").judge(dict(TRAINED))
    # a trial that failed to train says so, whatever it lacks
    outcome = Judge("val_accuracy,foo_metric:max").judge({"params": 10}, "failed: NaN loss")
    assert outcome.infeasible_reason == "failed: NaN loss"


@pytest.mark.slow
def test_tune_with_an_objective_never_logged_stops_after_the_first_trial(tmp_path, capsys,
                                                                         monkeypatch):
    import optuna

    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path}/s.db"
    assert main(["tune", "mnist-mlp", "--strategy", "random", "--dataset", "digits",
                 "--limit", "64", "--trials", "4", "--objectives",
                 "val_accuracy,foo_metric:max", "--storage", storage, "--study", "s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mobench: error: objective 'foo_metric' is not a metric")
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["FAIL"]  # one trial, not the whole budget
    assert trials[0].user_attrs["fail_reason"] == "usage error"


def test_duplicate_objectives_are_refused(tmp_path, capsys, monkeypatch):
    from mobench.tuners import RandomSearch

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="objective 'val_accuracy' is listed twice"):
        RandomSearch(lambda hp: None, objective=["val_accuracy", "val_accuracy"],
                     directory=tmp_path)
    assert not (tmp_path / "untitled_project").exists()
    for argv in (["tune", "mnist-mlp", "--objectives", "val_accuracy,val_accuracy:max"],
                 ["compare", "mnist-mlp", "--objectives", "train_time,train_time"]):
        assert main(argv) == 2
        one_line(capsys, "is listed twice")


@pytest.mark.slow
def test_the_python_api_prints_no_tensorflow_start_up_lines(tmp_path):
    code = "import mobench.tuners, tensorflow; print(tensorflow.__version__)"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MOBENCH_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    quiet = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert quiet.returncode == 0 and quiet.stdout.strip(), quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, env={**env, "PYTHONPATH": str(ROOT),
                                          "MOBENCH_VERBOSE": "1"}, timeout=300)
    assert "absl::InitializeLog" in loud.stderr  # what the hook keeps off stderr
