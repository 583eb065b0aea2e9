"""Surrogate problems fitted to a hand-made curves table (no TensorFlow, small fits)."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mobench.cli import main
from mobench.compare import surrogate as sg
from mobench.compare.curves import sample_configs
from mobench.compare.curves_table import csv_fields, load_curves
from mobench.compare.surrogate_fidelity import fidelity, folds_of
from mobench.compare.surrogate_front import reference_front
from mobench.compare.surrogate_problem import SurrogateProblem
from mobench.documents import write_json
from mobench.errors import UsageError
from mobench.objectives import parse_objectives
from mobench.records import SCHEMA_VERSION

EPOCHS = 5
SPACE = {
    "num_layers": {"name": "IntDistribution",
                   "attributes": {"log": False, "step": 1, "low": 1, "high": 3}},
    "units_0": {"name": "IntDistribution",
                "attributes": {"log": False, "step": 32, "low": 32, "high": 512}},
    "activation": {"name": "CategoricalDistribution", "attributes": {"choices": ["relu", "tanh"]}},
    "learning_rate": {"name": "FloatDistribution",
                      "attributes": {"step": None, "low": 1e-4, "high": 1e-2, "log": True}},
    "batch_size": {"name": "CategoricalDistribution", "attributes": {"choices": [32, 64, 128]}},
    "precision": {"name": "CategoricalDistribution", "attributes": {"choices": ["float32"]}},
}
OBJ2 = parse_objectives("val_accuracy,train_time")
ROOT = Path(__file__).parents[1]


def truth(c: dict, epoch: int) -> tuple[float, float, float]:
    """(val_accuracy, val_loss, cumulative seconds) of a config after `epoch` epochs."""
    final = 0.55 + 0.1 * math.log2(c["units_0"] / 32) / 4 + 0.06 * c["num_layers"] \
        - 0.08 * abs(math.log10(c["learning_rate"]) + 2.5) + (0.03 if c["activation"] == "relu"
                                                               else 0.0)
    acc = final * (1 - 0.5 * math.exp(-epoch))
    per_epoch = c["units_0"] * c["num_layers"] / 200 + 64 / c["batch_size"]
    return acc, 1.5 - acc, 0.5 + per_epoch * epoch


def write_table(path, n: int = 60, suite_version: int = 1, failing: int = 0, seed: int = 0):
    """A curves table of `n` configs in the real format; every 5th repeated with seed+1."""
    from optuna.distributions import json_to_distribution

    space = {k: json_to_distribution(json.dumps(v)) for k, v in SPACE.items()}
    configs = sample_configs(space, n + failing, method="random", seed=seed)
    rng = np.random.default_rng(seed)
    fields = csv_fields(False)
    write_json(path.with_suffix(".json"), {
        "schema_version": SCHEMA_VERSION, "kind": "curves", "suite": "mnist-mlp",
        "suite_version": suite_version, "dataset": {"name": "digits"}, "epochs": EPOCHS,
        "n": n, "space": SPACE, "columns": fields, "fcd_epochs": None,
        "provenance": {"command": "hand-made test table"}})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        for i, c in enumerate(configs):
            for s in (0, 1) if i % 5 == 0 else (0,):
                row = {"config_id": i, "seed": s, "repeat": s, "config": json.dumps(c)}
                if i >= n:  # the failing region: the largest learning rates
                    c["learning_rate"] = 0.009 + 0.001 * rng.random()
                    row.update(config=json.dumps(c), status="failed", reason="loss became NaN")
                    w.writerow(row)
                    continue
                noise_a, noise_t = rng.normal(0, 0.01), rng.normal(0, 0.03)
                acc, loss, time = zip(*(truth(c, e) for e in range(1, EPOCHS + 1)),
                                      strict=True)
                acc = [a + noise_a for a in acc]
                time = [t * math.exp(noise_t) for t in time]
                params = 784 * c["units_0"] + (c["num_layers"] - 1) * c["units_0"] ** 2
                row.update(status="ok", reason="", epochs_done=EPOCHS, val_accuracy=acc[-1],
                           val_loss=loss[-1], train_time=time[-1], params=params,
                           flops=6 * params, latency_p50=1e-4 + params * 1e-10,
                           wall_time=time[-1] + 1, time_curve=json.dumps(time),
                           val_accuracy_curve=json.dumps(acc), val_loss_curve=json.dumps(loss),
                           accuracy_curve=json.dumps(acc), loss_curve=json.dumps(loss))
                w.writerow(row)
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("sg") / "mnist-mlp-digits-curves.csv")


@pytest.fixture(scope="module")
def data(table):
    return sg.Data(*load_curves(table))


@pytest.fixture(scope="module")
def surrogate(data):
    return sg.Surrogate(data)


def files(root) -> dict:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_folds_are_grouped_by_config(data):
    splits = folds_of(data, 4)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested) == list(range(len(data.x)))  # every row tested once
    for train, test in splits:
        assert not set(data.groups[train]) & set(data.groups[test])
    repeated = [g for g in set(data.groups) if (data.groups == g).sum() > 1]
    assert repeated  # the repeats (two seeds) really share a fold
    with pytest.raises(UsageError, match="--folds must be 2"):
        folds_of(data, 1000)


def test_fidelity_is_high_on_a_known_function(data):
    fid = fidelity(data, folds=3, targets=["val_accuracy", "train_time", "params"])
    scores = fid["objectives"]
    assert fid["configs"] == 60 and fid["grouped_by"] == "config_id"
    assert scores["val_accuracy"]["rho_final"] >= 0.85
    assert scores["train_time"]["rho_final"] >= 0.9
    assert scores["params"]["rho_final"] == scores["params"]["rho_mean"] >= 0.9
    for s in scores.values():
        assert s["r2_mean"] is not None and s["rows"] == 72  # 60 configs + 12 repeats
    # within the best quarter the ranking is harder than overall, and still measured
    assert -1 <= scores["val_accuracy"]["rho_best_quarter"] < scores["val_accuracy"]["rho_final"]


def test_the_best_quarter_follows_each_objectives_direction():
    from mobench.compare.surrogate_fidelity import best_quarter

    values = np.arange(1.0, 9.0)
    assert values[best_quarter("val_accuracy", values)].tolist() == [7.0, 8.0]
    assert values[best_quarter("train_time", values)].tolist() == [1.0, 2.0]
    assert values[best_quarter("fcd", values)].tolist() == [1.0, 2.0]
    with_nan = np.array([np.nan, *values])
    assert with_nan[best_quarter("val_accuracy", with_nan)].tolist() == [7.0, 8.0]


def test_predictions_are_deterministic_and_fast_path_matches_sklearn(data, surrogate):
    configs = sample_configs(surrogate.space, 20, method="random", seed=5)
    again = sg.Surrogate(data)  # a refit gives the same model
    a = surrogate.predict(configs, ["val_accuracy", "train_time"])
    b = again.predict(configs, ["val_accuracy", "train_time"])
    assert all(np.array_equal(a[t], b[t]) for t in a)
    x = np.column_stack([surrogate.encoder(configs), np.full(20, EPOCHS)])
    assert np.allclose(sg.fast_predict(surrogate.model("train_time"), x),
                       surrogate.model("train_time").predict(x))
    # a later epoch has a higher predicted cumulative training time on average
    assert np.mean(surrogate.predict(configs, ["train_time"], epoch=1)["train_time"]) < \
        np.mean(a["train_time"])


class FakeTrial:
    def __init__(self, params):
        self.params = params


def test_median_noise_is_deterministic_and_sample_noise_draws_measured_residuals(surrogate):
    config = sample_configs(surrogate.space, 1, method="random", seed=9)[0]
    trial = FakeTrial(config)
    median = [SurrogateProblem(surrogate, OBJ2, seed=s)(trial).values for s in (0, 1)]
    assert median[0] == median[1]
    draws = [SurrogateProblem(surrogate, OBJ2, noise="sample", seed=3) for _ in range(2)]
    first = [draws[0](trial).values for _ in range(40)]
    assert first == [draws[1](trial).values for _ in range(40)]  # same seed, same draws
    base = draws[0].predicted(config)
    pool = surrogate.residuals["val_accuracy"][:, -1]
    residuals = {round(v["val_accuracy"] - base["val_accuracy"], 9) for v in first}
    assert residuals <= {round(r, 9) for r in pool} and len(residuals) > 5
    assert 0 < np.std(pool) < 0.05  # the measured seeds' spread (0.01 per seed)
    time_pool = surrogate.residuals["train_time"][:, -1]  # log scale: about 3 % per seed
    assert 0.005 < np.std(time_pool) < 0.1


def test_problem_exposes_the_headers_distributions_and_final_epoch_cost(table, surrogate):
    from optuna.distributions import json_to_distribution

    problem = SurrogateProblem(surrogate, OBJ2)
    header = json.loads(table.with_suffix(".json").read_text())
    assert problem.distributions == {k: json_to_distribution(json.dumps(v))
                                     for k, v in header["space"].items()}
    trial = FakeTrial(sample_configs(surrogate.space, 1, method="random", seed=2)[0])
    assert problem.cost(trial) == pytest.approx(problem(trial).values["train_time"])
    with pytest.raises(UsageError, match="outside the table's curves"):
        SurrogateProblem(surrogate, OBJ2, epoch=EPOCHS + 1)
    with pytest.raises(UsageError, match="outside the table's curves"):
        surrogate.predict([trial.params], ["val_accuracy"], epoch=0)


def test_reference_front_is_nondominated_and_dominates_random_samples(surrogate):
    front = reference_front(surrogate, OBJ2, evaluations=2000)
    points = np.array(front["points"])
    assert front["evaluations"] == 2000 and len(points) >= 3

    def dominated(p, by):
        return bool(np.any(np.all(by <= p, axis=1) & np.any(by < p, axis=1)))

    assert not any(dominated(p, points) for p in points)
    configs = sample_configs(surrogate.space, 300, method="random", seed=11)
    pred = surrogate.predict(configs, ["val_accuracy", "train_time"])
    samples = np.column_stack([-pred["val_accuracy"], pred["train_time"]])
    covered = [dominated(p, points) or np.any(np.all(np.isclose(points, p), axis=1))
               for p in samples]
    assert np.mean(covered) >= 0.98
    assert np.all(np.array(front["low"]) <= points.min(axis=0))


def test_enough_failures_fit_a_failure_classifier(tmp_path):
    path = write_table(tmp_path / "f.csv", n=40, failing=sg.MIN_FAILURES + 5)
    fitted = sg.Surrogate(sg.Data(*load_curves(path)))
    assert fitted.failure is not None
    risky = dict(sample_configs(fitted.space, 1, method="random", seed=1)[0],
                 learning_rate=0.0095)
    assert "predicted to fail" in SurrogateProblem(fitted, OBJ2)(FakeTrial(risky)) \
        .infeasible_reason
    assert SurrogateProblem(fitted, OBJ2)(FakeTrial(dict(risky, learning_rate=2e-4))).feasible
    assert sg.Surrogate(sg.Data(*load_curves(write_table(tmp_path / "g.csv", n=40)))) \
        .failure is None  # no failures: ignored


def test_compare_on_a_surrogate_end_to_end(table, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 1000)
    args = ["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(table),
            "--strategies", "random,nsga2", "--seeds", "2", "--budget", "6",
            "--objectives", "val_accuracy,train_time,latency", "--out", "cmp"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "no surrogate document" in err
    stored = json.loads((tmp_path / "results/surrogates/mnist-mlp-digits.json").read_text())
    assert stored["kind"] == "surrogate" and stored["fronts"]["val_accuracy,train_time,latency"]
    assert stored["table"]["ok_configs"] == 60 and stored["fidelity"]["folds"] == 5
    assert "ignored: 0 failed configs" in stored["infeasible"]["model"]
    from mobench.report.load import collect

    assert not collect([tmp_path / "results"]).problems  # the report knows the kind
    [doc] = list((tmp_path / "cmp").glob("compare-surrogate-*.json"))
    result = json.loads(doc.read_text())
    assert result["problem"]["kind"] == "surrogate" and result["seeds"] == 2
    assert result["problem"]["surrogate"].endswith("mnist-mlp-digits.json")
    assert result["problem"]["fidelity"]["objectives"]["val_accuracy"]["rho_final"] > 0.8
    assert result["normalisation"]["hypervolume_normalised_by_true_front"]
    assert len(result["runs"]) == 4 and all(0 <= r["hypervolume"][-1] <= 1.2
                                            for r in result["runs"])
    # a second run reuses the document (same table content): refit, no new fidelity
    doc.unlink()
    assert main([*args, "--noise", "sample"]) == 0
    assert "table content unchanged" in capsys.readouterr().err


def test_surrogate_verb_shows_fidelity_and_refits_a_changed_table(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 1000)
    path = write_table(tmp_path / "t.csv", n=40)
    assert main(["surrogate", "mnist-mlp", "--table", str(path), "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "40 ok configs, 3-fold CV grouped by config" in out
    assert all(name in out for name in ("val_accuracy", "train_time", "latency_p50"))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # the table changed
    assert main(["surrogate", "mnist-mlp", "--table", str(path), "--folds", "3"]) == 0
    assert "fitted to other content" in capsys.readouterr().err
    # a document measured before the best-quarter fidelity existed is measured again
    document = next((tmp_path / "results" / "surrogates").glob("*.json"))
    stored = json.loads(document.read_text())
    for scores in stored["fidelity"]["objectives"].values():
        del scores["rho_best_quarter"]
    document.write_text(json.dumps(stored))
    assert main(["surrogate", "mnist-mlp", "--table", str(path), "--folds", "3"]) == 0
    assert "before the best quarter was" in capsys.readouterr().err
    assert "rho_best_quarter" in json.loads(document.read_text())["fidelity"]["objectives"][
        "val_accuracy"]


@pytest.mark.parametrize("case", ["objective", "small", "version", "grid"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, monkeypatch,
                                                         capsys):
    monkeypatch.chdir(tmp_path)
    n, version = (20, 1) if case == "small" else (40, 2) if case == "version" else (40, 1)
    path = write_table(tmp_path / "t.csv", n=n, suite_version=version)
    extra = {"objective": ["--strategies", "random", "--objectives", "val_accuracy,fcd"],
             "grid": ["--strategies", "grid,random"]}.get(case, ["--strategies", "random"])
    before = files(tmp_path)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(path),
                 "--seeds", "1", "--budget", "3", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mobench: error:")
    assert {"objective": "does not hold objective 'fcd'", "small": "at least 30",
            "version": "version 2 of suite", "grid": "needs a finite grid"}[case] in err
    assert files(tmp_path) == before


def test_live_and_surrogate_exclude_each_other(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--live",
                 "--strategies", "random"]) == 2
    assert capsys.readouterr().err == ("mobench: error: --live and --problem surrogate exclude "
                                       "each other\n")
    assert not list(tmp_path.iterdir())


def test_gan_quality_measured_at_checkpoints_is_fitted_there(tmp_path):
    from optuna.distributions import json_to_distribution

    path = tmp_path / "gan.csv"
    space = {k: json_to_distribution(json.dumps(v)) for k, v in SPACE.items()}
    fields = csv_fields(True)
    write_json(path.with_suffix(".json"), {
        "schema_version": SCHEMA_VERSION, "kind": "curves", "suite": "mnist-gan",
        "suite_version": 1, "dataset": {"name": "digits"}, "epochs": EPOCHS, "n": 40,
        "space": SPACE, "columns": fields, "fcd_epochs": [2, EPOCHS]})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        for i, c in enumerate(sample_configs(space, 40, method="random", seed=4)):
            fcd = [100 / c["units_0"] * e for e in (1, 0.5)]
            time = [0.5 + e * c["units_0"] / 100 for e in range(1, EPOCHS + 1)]
            w.writerow({"config_id": i, "seed": 0, "repeat": 0, "config": json.dumps(c),
                        "status": "ok", "epochs_done": EPOCHS, "fcd": fcd[-1],
                        "train_time": time[-1], "time_curve": json.dumps(time),
                        "fcd_curve": json.dumps(fcd), "classifier_score_curve": "[]"})
    data = sg.Data(*load_curves(path))
    fcd = data.curves["fcd"]
    assert np.isnan(fcd[:, [0, 2, 3]]).all() and np.isfinite(fcd[:, [1, 4]]).all()
    problem = SurrogateProblem(sg.Surrogate(data), parse_objectives("fcd,train_time"))
    small, large = (FakeTrial(dict(sample_configs(space, 1, seed=1)[0], units_0=u))
                    for u in (32, 512))
    assert problem(small).values["fcd"] > problem(large).values["fcd"]


def test_multi_fidelity_strategies_on_a_surrogate_at_equal_training_seconds(table, tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 1000)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(table),
                 "--strategies", "random,mo-asha,mo-hyperband:motpe", "--seeds", "2",
                 "--budget", "40", "--budget-seconds", "400", "--out", "cmp"]) == 0
    [doc] = list((tmp_path / "cmp").glob("compare-surrogate-*.json"))
    result = json.loads(doc.read_text())
    assert result["problem"]["budget_seconds"] == 400
    runs = {s: [r for r in result["runs"] if r["strategy"] == s] for s in result["strategies"]}
    for strategy_runs in runs.values():
        assert all(0 < r["cumulative_cost_s"][-1] <= 400 for r in strategy_runs)
    asha = runs["mo-asha"]
    assert all(set(r["epochs"]) <= {1, 3, EPOCHS} and r["rungs"]["1"] > r["rungs"]["3"]
               for r in asha)
    # stopping early buys more configurations for the same training seconds (once a rung
    # holds a few vectors: the first at a rung, and a more accurate second, always go on)
    started = [len(r["epochs"]) for r in asha]
    full = [len(r["cumulative_cost_s"]) for r in runs["random"]]
    assert min(started) > max(full), (started, full)
    # the report shows what the comparison ran on: the fidelity, and the rungs reached
    from mobench.report.build import build_report

    build_report([tmp_path / "cmp"], tmp_path / "report", formats=["md"])
    page = (tmp_path / "report" / "report.md").read_text()
    assert "Surrogate fidelity: extra-trees regressors, 5-fold" in page
    assert "a surrogate of" in page and "at most 400 training seconds each" in page
    rung_header = next(line for line in page.splitlines() if "reached epoch 1" in line)
    assert "reached epoch 3" in rung_header and f"trained to epoch {EPOCHS}" in rung_header
    lines = page.splitlines()
    after = lines[lines.index(rung_header):]  # the rung table's own row, not a rank row
    asha_row = next(line for line in after if line.startswith("| mo-asha |"))
    started, at_1, at_3, done = (float(c) for c in asha_row.strip("| ").split(" | ")[1:5])
    assert started == at_1 > at_3 >= done


def test_each_table_has_its_own_document_and_out_chooses_one(tmp_path, monkeypatch, capsys):
    from mobench.compare.surrogate_store import default_document_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 300)
    first = write_table(tmp_path / "first-curves.csv", n=32)
    second = write_table(tmp_path / "second.csv", n=32, seed=1)

    def fit(table, *extra: str) -> int:
        return main(["surrogate", "mnist-mlp", "--table", str(table), "--folds", "2", *extra])

    assert fit(first) == 0 and fit(second) == 0
    docs = tmp_path / "results" / "surrogates"
    assert sorted(p.name for p in docs.iterdir()) == ["first.json", "second.json"]
    kept = (docs / "first.json").read_bytes()
    assert json.loads(kept)["table"]["path"] == str(first)
    assert fit(second, "--out", "mine/second.json") == 0
    assert json.loads((tmp_path / "mine/second.json").read_text())["table"]["path"] == str(
        second)
    # another table file of the same name would take first.json: refused, not overwritten
    (tmp_path / "elsewhere").mkdir()
    other = write_table(tmp_path / "elsewhere" / "first-curves.csv", n=32, seed=2)
    capsys.readouterr()
    assert fit(other) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the surrogate of another table" in err
    assert (docs / "first.json").read_bytes() == kept
    assert fit(other, "--out", "mine") == 2  # a folder
    assert "is a folder" in capsys.readouterr().err
    # (compare --problem surrogate finds the same default: test_curves_import)
    # the committed tables keep their committed documents
    for suite in ("mnist-mlp", "mnist-cnn", "mnist-rnn", "mnist-gan"):
        table = Path(f"results/tables/{suite}-digits-curves.csv")
        assert default_document_path(table) == Path(f"results/surrogates/{suite}-digits.json")
        committed = json.loads((ROOT / default_document_path(table)).read_text())
        assert committed["table"]["path"] == str(table)


def test_model_auto_picks_the_family_with_the_best_quarter_fidelity(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 1000)
    path = write_table(tmp_path / "t.csv", n=40)
    argv = ["surrogate", "mnist-mlp", "--table", str(path), "--folds", "3",
            "--objectives", "val_accuracy,train_time", "--model", "auto"]
    assert main(argv) == 0
    document = json.loads(next((tmp_path / "results" / "surrogates").glob("*.json"))
                          .read_text())
    scores = document["model"]["selection"]["scores"]
    assert set(scores) == set(sg.FAMILIES)
    assert document["model"]["family"] == max(scores, key=scores.get)
    fid = document["fidelity"]["objectives"]
    chosen = np.mean([fid[n]["rho_best_quarter"] for n in ("val_accuracy", "train_time")])
    assert chosen == pytest.approx(scores[document["model"]["family"]])
    capsys.readouterr()
    assert main(argv) == 0  # chosen once per table content, then reused
    assert "--model auto:" not in capsys.readouterr().err
