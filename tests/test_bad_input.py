"""Bad-input catalogue: every user-facing entry point (CLI verbs, suite files, results files,
storage URLs, constraints, objective specs) fed malformed input - empty, wrong type, huge,
unicode, path traversal, HTML/script - must answer with a clear error (exit status 2 and one
line for usage errors, no traceback) and leave every stored result exactly as it was.

Results and suite files are read as data only (JSON, TOML, CSV; never pickle or eval), and the
models mobench saves load with Keras `safe_mode=True`.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution

from mobench.cli import main
from mobench.objectives import parse_objectives
from mobench.strategies import make_sampler
from mobench.study.loop import run_trials
from mobench.study.outcome import TrialOutcome
from mobench.study.studies import DEFAULT_STORAGE, open_study

OBJECTIVES = parse_objectives("val_accuracy,train_time")
STUDY = "stored"
SCRIPT = "<script>alert(1)</script>"


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A working directory whose results/ holds a stored study and a run document."""
    monkeypatch.chdir(tmp_path)
    Path("results/runs").mkdir(parents=True)
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    study = open_study(None, STUDY, OBJECTIVES, sampler, "mnist-mlp")
    run_trials(study, lambda t: TrialOutcome({"val_accuracy": 0.5, "train_time": 1.0}),
               {"units": IntDistribution(32, 512)}, OBJECTIVES, 3, on_line=lambda _: None)
    Path("results/runs/tune-mnist-mlp-random-x.json").write_text(json.dumps({"kind": "tuning"}))
    optuna.storages.RDBStorage  # noqa: B018 - the engine is released with the study
    del study
    before = digest(tmp_path / "results")
    yield tmp_path
    assert digest(tmp_path / "results") == before, "a bad input changed stored results"


def one_line_error(capsys, message: str) -> str:
    err = capsys.readouterr().err.strip()
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


TUNE = ["tune", "mnist-mlp", "--strategy", "random"]

USAGE_ERRORS = [
    # suites: empty, unknown, unicode, path traversal, HTML
    (["tune", ""], "unknown suite ''"),
    (["tune", "nope"], "unknown suite 'nope'"),
    (["tune", "süite✓"], "unknown suite 'süite✓'"),
    (["tune", "../../etc/passwd"], "unknown suite '../../etc/passwd'"),
    (["tune", SCRIPT], "unknown suite"),
    (["evaluate", "../../etc/passwd"], "unknown suite"),
    (["profile", SCRIPT], "unknown suite"),
    (["table", "nope"], "unknown suite 'nope'"),
    (["compare", "../../x"], "unknown suite"),
    # study names (they name database rows, files and report headings)
    ([*TUNE, "--study", "../../etc"], "study name '../../etc'"),
    ([*TUNE, "--study", SCRIPT], "study name '<script>"),
    ([*TUNE, "--study", ""], "study name ''"),
    ([*TUNE, "--study", "ünïcode"], "study name 'ünïcode'"),
    ([*TUNE, "--study", "x" * 101], "study name"),
    ([*TUNE, "--study", ".hidden"], "study name '.hidden'"),
    # an existing study with other objectives is refused, untouched
    ([*TUNE, "--study", STUDY, "--objectives", "val_accuracy,peak_memory"],
     "exists for suite 'mnist-mlp' with objectives val_accuracy,train_time"),
    # storage URLs
    ([*TUNE, "--storage", ""], "storage URL '' cannot be opened"),
    ([*TUNE, "--storage", "nosuchdb://x"], "unknown form"),
    ([*TUNE, "--storage", "http://example.com/db"], "unknown form"),
    ([*TUNE, "--storage", "journal://"], "journal storage needs a file"),
    ([*TUNE, "--storage", "journal:///nonexistent-dir/x.log"], "does not exist"),
    ([*TUNE, "--storage", "sqlite:////nonexistent-dir/x/y.db"], "cannot be opened"),
    ([*TUNE, "--storage", "sqlite:///x.db\n--study=x"], "empty or malformed"),
    ([*TUNE, "--storage", "postgresql://me:s3cret@127.0.0.1:1/db"], "me:***@127.0.0.1:1"),
    # constraints
    ([*TUNE, "--constraint", ""], "does not parse"),
    ([*TUNE, "--constraint", "peak_memory"], "does not parse"),
    ([*TUNE, "--constraint", "peak_memory<="], "does not parse"),
    ([*TUNE, "--constraint", "peak_memory<=2XB"], "unknown unit 'XB'"),
    ([*TUNE, "--constraint", "peak_memory<=nan"], "does not parse"),
    ([*TUNE, "--constraint", "peak_memory<=1e999"], "not a finite number"),
    ([*TUNE, "--constraint", "params<=" + "9" * 400], "not a finite number"),
    ([*TUNE, "--constraint", f"{SCRIPT}<=1"], "does not parse"),
    ([*TUNE, "--constraint", "pëak<=1"], "unknown measurement"),
    # objective specs
    ([*TUNE, "--objectives", ""], "at least one objective"),
    ([*TUNE, "--objectives", ","], "at least one objective"),
    ([*TUNE, "--objectives", "val_accuracy,val_accuracy"], "listed twice"),
    ([*TUNE, "--objectives", "x:sideways"], "direction must be min or max"),
    ([*TUNE, "--objectives", "train_time:max"], "always minimized"),
    ([*TUNE, "--objectives", f"{SCRIPT}:max"], "a metric name is letters, digits and _"),
    ([*TUNE, "--objectives", "ü:max"], "a metric name is letters, digits and _"),
    ([*TUNE, "--objectives", "a" * 1000 + ":max"], "a metric name is letters, digits and _"),
    ([*TUNE, "--objectives", "speed"], "unknown objective 'speed'"),
    # strategies and fault-tolerance settings
    ([*TUNE[:2], "--strategy", ""], "unknown strategy ''"),
    ([*TUNE[:2], "--strategy", SCRIPT], "unknown strategy"),
    ([*TUNE, "--heartbeat-interval", "10", "--grace-period", "5"], "must exceed"),
    # other verbs
    (["profile", "mnist-mlp", "--modes", SCRIPT], "unknown mode"),
    (["profile", "mnist-mlp", "--variant", "../../x"], "unknown variant '../../x'"),
    (["evaluate", "mnist-mlp", "--dataset", "../../etc"], "unknown dataset"),
    (["data", "fetch", SCRIPT], "unknown dataset"),
    (["compare", "mnist-mlp", "--strategies", SCRIPT], "unknown strategy"),
    (["compare", "mnist-mlp", "--table", "missing.csv"], "no such file"),
    (["report", "no/such/results"], "no such file or folder"),
    # numbers outside their domain, duplicates, silent oddities
    (["evaluate", "mnist-mlp", "--params", "units_0=64.5"], "units_0: 64.5 is not an integer"),
    (["compare", "mnist-mlp", "--strategies", "random,nsga2,random"], "'random' is listed twice"),
    (["compare", "mnist-mlp", "--budget", "10", "--checkpoints", "5,20"],
     "--checkpoints 20 is beyond --budget 10"),
    ([*TUNE, "--suites-dir", "nowhere"], "--suites-dir nowhere: no such folder"),
    (["compare", "mnist-mlp", "--suites-dir", "nowhere"], "no such folder"),
]


@pytest.mark.parametrize("argv, message", USAGE_ERRORS)
def test_usage_errors_exit_2_with_one_line_and_change_nothing(workspace, capsys, argv, message):
    assert main(argv) == 2
    err = one_line_error(capsys, message)
    assert "s3cret" not in err  # passwords never reach messages


ARGUMENT_ERRORS = [
    [*TUNE, "--trials", "0"], [*TUNE, "--trials", "-1"], [*TUNE, "--trials", "abc"],
    [*TUNE, "--trials", "99999999999"], [*TUNE, "--trials", "1e3"],
    [*TUNE, "--workers", "0"], [*TUNE, "--workers", "100000"], [*TUNE, "--workers", "two"],
    [*TUNE, "--trial-timeout", "0"], [*TUNE, "--trial-timeout", "-5"],
    [*TUNE, "--trial-timeout", "nan"], [*TUNE, "--trial-timeout", "inf"],
    [*TUNE, "--trial-timeout", "1e99"], [*TUNE, "--seed", "-1"], [*TUNE, "--seed", "1.5"],
    [*TUNE, "--seed", str(2**64)], [*TUNE, "--heartbeat-interval", "0"],
    [*TUNE, "--max-retry", "-1"], [*TUNE, "--storage-retry", "0"],
    [*TUNE, "--distribute", "ring"], [*TUNE, "--epochs", str(10**9)],
    ["profile", "mnist-mlp", "--steps", "0"], ["compare", "mnist-mlp", "--budget", "-3"],
    ["table", "mnist-mlp", "--grid", "units_0="], ["evaluate", "mnist-mlp", "--params", "x"],
    ["profile", "mnist-mlp", "--seed", "-1"], ["evaluate", "mnist-mlp", "--seed", "-1"],
    ["table", "mnist-mlp", "--seed", "-1"], ["compare", "mnist-mlp", "--jobs", "100000"],
    ["evaluate", "mnist-mlp", "--params", "units_0=NaN"],
    ["evaluate", "mnist-mlp", "--params", "units_0=Infinity"],
    ["profile", "mnist-mlp", "--params", "units_0=1e400"],
    ["evaluate", "mnist-mlp", "--params", "units_0=64,units_0=128"],
    ["frobnicate"], [],
]


@pytest.mark.parametrize("argv", ARGUMENT_ERRORS)
def test_malformed_arguments_exit_2(workspace, capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


# --- suite files ------------------------------------------------------------------------------

MODEL = 'model = "mobench.models.mlp:MLP"\n'
GOOD = 'name = "mine"\nversion = 1\n' + MODEL
SUITE_FILES = [
    ("", "name: required key is missing"),
    ("name = \n", "malformed TOML"),
    ('name = "mine"\nversion = 1\nmodel = [1, 2]\n', "model: expected str"),
    ('name = "mine"\nversion = "1"\n' + MODEL, "version: expected int"),
    ('name = "mine"\nversion = -1\n' + MODEL, "version: must be positive"),
    ('name = "mine"\nversion = 1\nmodel = "../../etc:x"\n', "model: '../../etc:x' is not"),
    (GOOD.replace("mobench.models.mlp:MLP", "os:system"), "model: 'os:system' is neither"),
    (GOOD.replace("mobench.models.mlp:MLP", "shutil:rmtree"), "model: 'shutil:rmtree' is nei"),
    (GOOD.replace("mobench.models.mlp:MLP", "no_such_pkg.x:y"), "model: cannot import"),
    (GOOD + "epochs = 0\n", "epochs: must be positive"),
    (GOOD + "surprise = 1\n", "surprise: unknown key"),
    (GOOD + "[variants]\nsmall = 3\n", "variants.small: expected a table"),
    (GOOD + "[grid]\nunits_0 = []\n", "grid.units_0: expected a non-empty list"),
    (GOOD + "[space]\nunits_0 = [99999999]\n", "is outside"),
    (GOOD + '[space]\n"<script>" = [1]\n', "<script>"),
    (GOOD + '[space]\nunits_0 = ["ünï"]\n', "units_0"),
    (GOOD + 'dataset = "../../etc"\n', "unknown dataset"),
]


@pytest.mark.parametrize("text, message", SUITE_FILES)
def test_malformed_suite_files_are_named_with_the_key(workspace, capsys, text, message):
    Path("bad").mkdir()
    Path("bad/mine.toml").write_text(text, encoding="utf-8")
    assert main(["tune", "mine", "--suites-dir", "bad", "--strategy", "random",
                 "--trials", "1", "--storage", f"sqlite:///{workspace}/other.db"]) == 2
    err = one_line_error(capsys, message)
    assert "bad/mine.toml" in err or "mine" in err


@pytest.mark.parametrize("name", ["../../etc", SCRIPT, "a/b", "ünï"])
def test_suite_names_that_would_reach_paths_or_html_are_refused(workspace, capsys, name):
    Path("bad").mkdir()
    Path("bad/mine.toml").write_text(f"name = {json.dumps(name)}\nversion = 1\n{MODEL}",
                                     encoding="utf-8")
    assert main(["tune", name, "--suites-dir", "bad", "--study", "fine",
                 "--storage", f"sqlite:///{workspace}/other.db"]) == 2
    one_line_error(capsys, "suite name")


# --- results files ----------------------------------------------------------------------------


class Payload:
    """Unpickling this creates a file: proof that a results file was unpickled."""

    def __reduce__(self):
        return (Path.touch, (Path("results/UNPICKLED"),))


RESULT_FILES = {
    "truncated.json": '{"schema_version": 1, "kind": "tuning", "trials": [',
    "a-list.json": "[1, 2, 3]",
    "wrong-types.json": json.dumps({"schema_version": "one", "kind": 7, "trials": "many"}),
    "nan.json": '{"schema_version": 1, "kind": "profile", "x": NaN}',
    "huge.json": json.dumps({"schema_version": 10**30, "kind": "tuning"}),
    "script.json": json.dumps({"schema_version": 1, "kind": SCRIPT, "suite": SCRIPT}),
    "binary.json": b"\x80\x04\x95" + pickle.dumps(Payload()),
    "utf16.json": "{}".encode("utf-16"),
    "deep.json": '{"schema_version": 1, "kind": "profile", "x": ' + '{"x": ' * 100_000 + "1"
                 + "}" * 100_001,
}


FIXTURES = Path(__file__).parent / "fixtures" / "results" / "runs"


@pytest.mark.parametrize("strict", [False, True])
def test_corrupt_results_files_are_named_and_never_unpickled(workspace, capsys, strict):
    bad = workspace / "incoming"
    bad.mkdir()
    for name, content in RESULT_FILES.items():
        (bad / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    tune = json.loads((FIXTURES / "tune-mnist-mlp-3obj.json").read_text())
    tune.update(study_name=SCRIPT, strategy=SCRIPT)  # a tune document naming markup
    (bad / "tune-ok.json").write_text(json.dumps(tune))
    out = workspace / "report-out"
    status = main(["report", str(bad), "--out", str(out), *(["--strict"] if strict else [])])
    err = capsys.readouterr().err
    assert status == (2 if strict else 1) and "Traceback" not in err
    for name in ("truncated.json", "a-list.json", "binary.json", "utf16.json", "deep.json"):
        assert name in err, err
    assert not (workspace / "results" / "UNPICKLED").exists()
    if strict:
        assert not out.exists() or not any(out.iterdir())  # nothing written
    else:
        html = (out / "report.html").read_text(encoding="utf-8")
        assert SCRIPT not in html  # names from files are escaped, never markup


def test_a_corrupt_table_is_a_usage_error(workspace, capsys):
    Path("tables").mkdir()
    Path("tables/t.csv").write_text("units_0,val_accuracy\n32,\x00garbage\n")
    Path("tables/t.json").write_text("{not json")
    assert main(["compare", "mnist-mlp", "--table", "tables/t.csv"]) == 2
    one_line_error(capsys, "t.json")


# --- saved models -----------------------------------------------------------------------------


@pytest.mark.slow
def test_saved_models_load_in_safe_mode_only(tmp_path, capsys):
    """A classifier cache file holding a Lambda layer (arbitrary code) is refused, not run."""
    import keras

    from mobench.data import load_dataset
    from mobench.models.quality import _load_cached

    dataset = load_dataset("digits", limit=50)
    marker = tmp_path / "ran"
    inputs = keras.Input(dataset.x_train.shape[1:])
    code = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    outputs = keras.layers.Lambda(code)(inputs)  # runs once here, while the model is built
    path = tmp_path / "classifier.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()
    assert _load_cached(path, dataset) is None
    assert "unreadable" in capsys.readouterr().err
    assert not marker.exists()
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(path, safe_mode=True)


def test_default_storage_is_where_the_catalogue_looked():
    assert DEFAULT_STORAGE == "sqlite:///results/studies.sqlite3"


def test_a_broken_file_in_the_working_suites_folder_blocks_no_verb(workspace, capsys):
    """A malformed TOML and a FIFO named *.toml in ./suites are skipped with a warning that
    names them; the shipped suites still work, and asking for the broken one says why."""
    import os

    from mobench.suites import discover, get_suite

    Path("suites").mkdir()
    Path("suites/broken.toml").write_text("name = \n", encoding="utf-8")
    os.mkfifo("suites/fifo.toml")  # reading it would hang
    assert get_suite("mnist-mlp").name == "mnist-mlp"
    err = capsys.readouterr().err
    assert "skipped suites/broken.toml: malformed TOML" in err.replace(str(workspace) + "/", "")
    assert "fifo.toml: not a regular file" in err
    assert "mnist-mlp" in discover()
    assert main(["tune", "broken", "--strategy", "random"]) == 2
    assert "broken.toml: malformed TOML" in capsys.readouterr().err


def test_an_integral_float_is_taken_as_the_integer_it_names():
    from mobench.suites import get_suite

    suite = get_suite("mnist-mlp")
    hp = suite.hyperparameters(suite.hypermodel(), values={"units_0": 64.0})
    assert hp.values["units_0"] == 64 and isinstance(hp.values["units_0"], int)


def test_a_huge_grid_is_refused_with_its_size_before_it_is_built(workspace, capsys):
    values = ", ".join(str(v) for v in range(32, 132))  # 100 values
    Path("big").mkdir()
    Path("big/huge.toml").write_text(
        GOOD.replace('"mine"', '"huge"') + "[grid]\n"
        + "".join(f"{k} = [{values}]\n" for k in ("units_0", "units_1", "units_2", "units_3")),
        encoding="utf-8")
    assert main(["table", "huge", "--suites-dir", "big"]) == 2
    one_line_error(capsys, "grid: 100,000,000 configs, more than 1,000,000")


def test_a_table_of_another_suite_version_is_refused(workspace, capsys):
    from mobench.documents import read_json, write_json

    src = Path(__file__).resolve().parents[1] / "results" / "tables" / "mnist-mlp-digits"
    header = read_json(src.with_suffix(".json"))
    header["suite_version"] = 99
    write_json("old.json", header)
    Path("old.csv").write_bytes(src.with_suffix(".csv").read_bytes())
    assert main(["compare", "mnist-mlp", "--table", "old.csv", "--strategies", "random",
                 "--budget", "5", "--seeds", "1"]) == 2
    one_line_error(capsys, "was measured with version 99 of suite 'mnist-mlp'")
