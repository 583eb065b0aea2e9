"""`mobench table import SUITE CSV`: learning curves from elsewhere (here a slice of the
committed mnist-mlp curves table, rewritten as an external tool would write it) become a
curves table that `surrogate` and `compare --problem surrogate` take; bad sources are one
line naming the line and column, and nothing is written."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from mobench.cli import main
from mobench.compare import surrogate as sg
from mobench.compare.curves_import import import_curves
from mobench.compare.curves_table import distributions, header_path, load_curves
from mobench.errors import UsageError

COMMITTED = Path(__file__).parents[1] / "results" / "tables" / "mnist-mlp-digits-curves.csv"
CONFIGS = 40  # more than the 30 a surrogate needs
METRICS = ("val_accuracy", "val_loss")


def committed_runs() -> list[dict]:
    with COMMITTED.open(newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["config_id"]) < CONFIGS]


def space_and_defaults():
    header = json.loads(COMMITTED.with_suffix(".json").read_text())
    space = distributions(header["space"], COMMITTED)
    return space, {"precision": "float32", "units_2": 32}


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def wide_source(path: Path) -> Path:
    """One row per run, a column per hyperparameter (precision and units_2 left out: they
    take their defaults), curves as JSON lists, the seed of each run."""
    rows = []
    for run in committed_runs():
        config = json.loads(run["config"])
        row = {k: v for k, v in config.items() if k not in ("precision", "units_2")}
        row.update(seed=run["seed"], time_curve=run["time_curve"],
                   params=run["params"], latency_p50=run["latency_p50"])
        row.update({f"{m}_curve": run[f"{m}_curve"] for m in METRICS})
        rows.append(row)
    return write_csv(path, rows)


def long_source(path: Path) -> Path:
    """The same runs, one row per (run, epoch) from epoch 0 as Keras' CSVLogger counts."""
    rows = []
    for run in committed_runs():
        config = {k: v for k, v in json.loads(run["config"]).items()
                  if k not in ("precision", "units_2")}
        time = json.loads(run["time_curve"])
        curves = {m: json.loads(run[f"{m}_curve"]) for m in METRICS}
        for e in range(len(time)):
            rows.append({"config": json.dumps(config), "seed": run["seed"], "epoch": e,
                         "epoch_seconds": time[e] - (time[e - 1] if e else 0.0),
                         "params": run["params"], "latency_p50": run["latency_p50"],
                         **{m: curves[m][e] for m in METRICS}})
    return write_csv(path, rows)


def test_an_imported_table_fits_a_surrogate_and_runs_a_comparison(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 1000)
    source = wide_source(tmp_path / "lab-runs.csv")
    assert main(["table", "import", "mnist-mlp", str(source), "--dataset", "digits"]) == 0
    out = Path("results/tables/mnist-mlp-lab-runs-curves.csv")
    err = capsys.readouterr().err
    assert "precision: not in 48 row(s)" in err and "units_2: not in 48 row(s)" in err
    assert "imported 48 runs of 40 configs" in err
    header, frame = load_curves(out)
    assert header["provenance"]["source"] == f"imported from {source}"
    assert header["source"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert header["n"] == CONFIGS and header["epochs"] == 10 and header["hardware_id"] is None
    runs = committed_runs()
    assert len(frame) == len(runs) and list(frame.seed) == [int(r["seed"]) for r in runs]
    assert [json.loads(c) for c in frame.config] == [  # units_2 left out: its default
        dict(json.loads(r["config"]), units_2=32) for r in runs]
    assert list(frame.val_accuracy) == [float(r["val_accuracy"]) for r in runs]
    assert list(frame.train_time) == [float(r["train_time"]) for r in runs]
    assert frame.wall_time.isna().all()  # not measured here: absent, not invented
    assert main(["surrogate", "mnist-mlp", "--table", str(out), "--folds", "3"]) == 0
    assert "40 ok configs, 3-fold CV" in capsys.readouterr().out
    document = json.loads(Path("results/surrogates/mnist-mlp-lab-runs.json").read_text())
    assert document["table"]["path"] == str(out) and document["table"]["ok_configs"] == 40
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(out),
                 "--strategies", "random", "--seeds", "1", "--budget", "4",
                 "--out", "cmp"]) == 0
    assert "table content unchanged" in capsys.readouterr().err  # the same default document
    # importing onto an existing table is refused, and it stays as it was
    before = out.read_bytes()
    assert main(["table", "import", "mnist-mlp", str(source), "--dataset", "digits"]) == 2
    assert "exists; pick another --out" in capsys.readouterr().err
    assert out.read_bytes() == before


def imported(tmp_path: Path, source: Path, name: str = "t.csv") -> Path:
    space, defaults = space_and_defaults()
    return import_curves(source, tmp_path / name, suite_name="mnist-mlp", suite_version=1,
                         space=space, defaults=defaults, gan=False, dataset="digits",
                         on_line=[].append)


def test_the_long_form_gives_the_same_table(tmp_path):
    wide = imported(tmp_path, wide_source(tmp_path / "wide.csv"), "a.csv")
    long = imported(tmp_path, long_source(tmp_path / "long.csv"), "b.csv")
    a, b = load_curves(wide)[1], load_curves(long)[1]
    assert list(a.config) == list(b.config) and list(a.seed) == list(b.seed)
    for column in ("val_accuracy", "params", "latency_p50"):
        assert list(a[column]) == list(b[column])
    for x, y in zip(a.time_curve, b.time_curve, strict=True):  # per-epoch seconds summed
        assert x == pytest.approx(y, rel=1e-9)
    assert list(a.val_loss_curve) == list(b.val_loss_curve)


def edited(tmp_path: Path, form: str, line: int, column: str, value: str) -> Path:
    source = (wide_source if form == "wide" else long_source)(tmp_path / "src.csv")
    with source.open(newline="") as f:
        rows = list(csv.reader(f))
    if column == "+column":  # a new column
        rows = [r + [value if i else "unit_0"] for i, r in enumerate(rows)]
    else:
        rows[line - 1][rows[0].index(column)] = value
    with source.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return source


def curve(values) -> str:
    return json.dumps(values)


BAD = [
    ("wide", 3, "units_0", "100", r"line 3, column 'units_0': units_0=100 is outside the "
     r"search space \(32..512 step 32\)"),
    ("wide", 3, "activation", "swish", r"line 3, column 'activation': 'swish' is not one of"),
    ("wide", 4, "learning_rate", "fast", r"line 4, column 'learning_rate': 'fast' is not a "
     "number"),
    ("wide", 5, "val_accuracy_curve", curve([0.5] * 9 + [float("nan")]),
     r"line 5, column 'val_accuracy_curve': nan in .* is not a finite number"),
    ("wide", 5, "val_loss_curve", curve([0.5] * 9),
     r"line 5, column 'val_loss_curve': 9 epochs where the first ok run has 10"),
    ("wide", 6, "time_curve", curve(list(range(10, 0, -1))),
     r"line 6, column 'time_curve': negative, or decreasing"),
    ("wide", 3, "seed", "0", r"line 3, column 'seed': a second run of this config with seed 0"),
    ("wide", 0, "+column", "1", r"unknown column 'unit_0'"),
    ("long", 5, "epoch", "7", r"line 5, column 'epoch': epoch 7 twice in the run that "
     r"starts at line 2 \(lines 5 and 9\)"),
    ("long", 11, "epoch", "10", r"line 2, column 'epoch': the run that starts here has no "
     r"epoch 9 \(epochs 0..9, each once\)"),
    ("long", 6, "val_accuracy", "inf", r"line 6, column 'val_accuracy': inf is not a finite "
     "number"),
    ("long", 7, "params", "1", r"line 7, column 'params': differs from the run's first row"),
]


@pytest.mark.parametrize("form, line, column, value, message", BAD)
def test_a_bad_source_is_named_by_line_and_column_and_nothing_is_written(
        tmp_path, form, line, column, value, message):
    source = edited(tmp_path, form, line, column, value)
    with pytest.raises(UsageError, match=message) as info:
        imported(tmp_path, source)
    assert str(info.value).startswith(str(source)) and "\n" not in str(info.value)
    assert not (tmp_path / "t.csv").exists() and not header_path(tmp_path / "t.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.csv"]


def test_config_as_json_and_as_columns_are_one_or_the_other(tmp_path):
    source = edited(tmp_path, "wide", 0, "+column", "1")
    with source.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[0][-1] = "config"
    with source.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(UsageError, match="not both"):
        imported(tmp_path, source)


def test_import_takes_only_its_options(capsys):
    assert main(["table", "import", "mnist-mlp", str(COMMITTED), "--sample", "3"]) == 2
    assert "takes --out and --dataset only, not --sample" in capsys.readouterr().err
    assert main(["table", "import", "mnist-mlp"]) == 2
    assert "takes a suite and a CSV file" in capsys.readouterr().err
    assert main(["table", "mnist-mlp", "extra.csv"]) == 2
    assert "unexpected argument 'extra.csv'" in capsys.readouterr().err
