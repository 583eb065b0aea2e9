"""Trustworthy numbers and safe studies: no secret in any output, files as the umask says,
torn journal and table writes repaired, one writer per table, phantom RUNNING trials failed,
outputs checked before the work, and SIGTERM stopping child processes. No TensorFlow."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from mobench.cli import main
from mobench.compare.appendcsv import exclusive_lock
from mobench.compare.tabular import FIELDS, build_table, config_key, grid_configs, load_table
from mobench.documents import hide_password, hide_passwords, provenance, write_json
from mobench.errors import UsageError
from mobench.objectives import parse_objectives
from mobench.records import SCHEMA_VERSION
from mobench.strategies import make_sampler
from mobench.study.loop import Worker, run_trials
from mobench.study.outcome import TrialOutcome
from mobench.study.storages import StorageSettings, redact
from mobench.study.studies import open_study

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES = parse_objectives("val_accuracy,train_time")
SPACE = {"units": IntDistribution(32, 256, step=32)}
SECRET = "TAILSECRET"
# passwords with a '/', a raw '@' (whose tail SQLAlchemy would read as the host), ':' and '%'
HOSTILE = [f"p/a@{SECRET}", f"{SECRET}/x", f"a:b@c/{SECRET}", f"{SECRET}%40@z", f"x@{SECRET}@y"]


def toy_evaluator(trial) -> TrialOutcome:
    units = trial.params["units"]
    return TrialOutcome({"val_accuracy": units / 512, "train_time": units / 100})


def one_line(err: str, message: str) -> str:
    err = err.strip()
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- 1. no secret in any output ---------------------------------------------------------------


@pytest.mark.parametrize("password", HOSTILE)
def test_urls_show_no_part_of_a_hostile_password(password):
    url = f"postgresql://me:{password}@db.example:5432/studies"
    for shown in (redact(url), hide_password(url), hide_passwords(f"x --storage={url} y")):
        assert SECRET not in shown and password not in shown, shown
        assert "db.example" in shown and "me:***@" in shown
    # journal URLs and file paths are no secret
    for plain in ("journal:///shared/s.log", "sqlite:///results/x.db", "results/a@b/x.json"):
        assert redact(plain) == plain and hide_passwords(f"--storage {plain}") == \
            f"--storage {plain}"


@pytest.mark.parametrize("password", HOSTILE)
def test_provenance_command_hides_storage_passwords(monkeypatch, password):
    url = f"postgresql://me:{password}@h/db"
    monkeypatch.setattr(sys, "argv", ["mobench", "tune", "s", "--storage", url,
                                      f"--storage={url}", "--json", "out@x/run.json"])
    command = provenance({}, 0)["command"]
    assert SECRET not in command and "out@x/run.json" in command
    # workers pass the command line in explicitly: hidden too
    assert SECRET not in provenance({}, 0, command=" ".join(sys.argv))["command"]


@pytest.mark.parametrize("password", HOSTILE)
def test_cli_messages_and_documents_hold_no_password(tmp_path, monkeypatch, capsys, password):
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://me:{password}@127.0.0.1:1/db"
    assert main(["tune", "mnist-mlp", "--strategy", "random", "--storage", url]) == 2
    captured = capsys.readouterr()
    one_line(captured.err, "me:***@127.0.0.1:1")
    assert SECRET not in captured.out + captured.err
    # a document written by a command whose command line holds the URL
    table = fixture_table(tmp_path)
    monkeypatch.setattr(sys, "argv", ["mobench", "compare", "--storage", url])
    assert main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random",
                 "--budget", "4", "--seeds", "2", "--out", str(tmp_path / "cmp")]) == 0
    captured = capsys.readouterr()
    (doc,) = (tmp_path / "cmp").glob("*.json")
    assert SECRET not in doc.read_text() + captured.out + captured.err


# --- 2. files follow the umask ----------------------------------------------------------------


def test_documents_follow_the_process_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    os.umask(0o022)
    try:
        assert write_json(tmp_path / "b.json", {}).stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


# --- 3. journal storage survives torn writes --------------------------------------------------


def journal_study(url: str):
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    return open_study(url, "toy", OBJECTIVES, sampler, "toy")


def test_torn_journal_tail_is_repaired_and_the_study_goes_on(tmp_path, capsys):
    path = tmp_path / "j.log"
    url = f"journal://{path}"
    run_trials(journal_study(url), toy_evaluator, SPACE, OBJECTIVES, 3, on_line=lambda _: None)
    intact = path.read_bytes()
    torn = b'{"op_code":6,"worker_id":"x","trial_id":3,"va'
    path.write_bytes(intact + torn)
    capsys.readouterr()
    study = journal_study(url)
    err = capsys.readouterr().err
    assert f"dropped a torn last record ({len(torn)} bytes)" in err and str(path) in err
    after = path.read_bytes()  # opening the study may append records: after the cut
    assert after.startswith(intact) and torn not in after
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 3
    run_trials(study, toy_evaluator, SPACE, OBJECTIVES, 5, on_line=lambda _: None)
    again = journal_study(url)  # the file stays readable for every worker
    assert len(again.get_trials(states=(TrialState.COMPLETE,))) == 5
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("text", ['{"a": 1}\n{"b": 2}\n', "hello world\n", "plain text",
                                  '{"op_code": 0}\nnot json\n{"op_code": 1}\n'])
def test_a_journal_of_another_shape_is_one_line(tmp_path, capsys, text):
    path = tmp_path / "other.log"
    path.write_text(text)
    with pytest.raises(UsageError, match="not an Optuna journal") as info:
        journal_study(f"journal://{path}")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == text
    assert main(["tune", "mnist-mlp", "--strategy", "random", "--storage",
                 f"journal://{path}", "--json", str(tmp_path / "r.json")]) == 2
    one_line(capsys.readouterr().err, "not an Optuna journal")
    assert path.read_text() == text


# --- 4. grid tables: torn rows, one writer, damaged tables ------------------------------------

GRID = {"units": [32, 64, 128], "num_layers": [1, 2]}


def fixture_table(tmp_path: Path, rows: int | None = None, *, torn: str = "",
                  header: dict | None = None) -> Path:
    path = tmp_path / "tables" / "t.csv"
    path.parent.mkdir(exist_ok=True)
    write_json(path.with_suffix(".json"), header or {
        "schema_version": SCHEMA_VERSION, "kind": "table", "suite": "mnist-mlp", "suite_version": 1,
        "grid": GRID})
    configs = grid_configs(GRID)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        w.writeheader()
        for i, c in enumerate(configs[:rows]):
            w.writerow({"config_id": i, "config": config_key(c), "status": "ok",
                        "val_accuracy": c["units"] / 256 + c["num_layers"] / 10,
                        "train_time": c["units"] * c["num_layers"] / 100})
        f.write(torn)
    return path


class FakeRecord:
    status = types.SimpleNamespace(value="ok")
    reason = None

    def __init__(self, values: dict) -> None:
        self.values = values

    def objectives(self) -> dict:
        return {"val_accuracy": self.values["units"] / 256, "train_time": 1.0}


@pytest.fixture
def fake_training(monkeypatch):
    """`mobench.profiling.training.evaluate` replaced: no TensorFlow, and calls counted."""
    calls: list[dict] = []

    def evaluate(suite, dataset, *, values, epochs, seed):
        calls.append(dict(values))
        return FakeRecord(values)

    monkeypatch.setitem(sys.modules, "mobench.profiling.training",
                        types.SimpleNamespace(evaluate=evaluate))
    return calls


SUITE = types.SimpleNamespace(name="mnist-mlp", version=1)
DATA = types.SimpleNamespace(name="digits", describe=lambda: {"name": "digits"})


def build(out: Path, lines: list[str]) -> Path:
    return build_table(SUITE, DATA, GRID, out, epochs=1, on_line=lines.append)


def test_a_torn_table_row_is_repaired_on_resume_and_no_config_runs_twice(tmp_path,
                                                                         fake_training):
    out = tmp_path / "t.csv"
    lines: list[str] = []
    build(out, lines)
    assert len(fake_training) == 6
    text = out.read_text(encoding="utf-8")
    rows = text.splitlines(keepends=True)
    out.write_text("".join(rows[:5]) + rows[5][:20], encoding="utf-8")  # 4 rows + a torn one
    fake_training.clear()
    build(out, lines)
    assert any("dropped a torn last line" in line and "bytes" in line for line in lines)
    assert len(fake_training) == 2  # the torn config and the missing one, nothing else
    header, frame = load_table(out)
    assert len(frame) == 6 and frame["config"].is_unique
    fake_training.clear()
    build(out, lines)  # complete: nothing more
    assert fake_training == [] and out.read_text(encoding="utf-8") == text


def test_a_second_table_writer_is_refused(tmp_path, fake_training):
    out = tmp_path / "t.csv"
    with exclusive_lock(out):
        with pytest.raises(UsageError, match="being written by another process"):
            build(out, [])
    assert fake_training == [] and not out.exists()


def test_table_out_naming_a_foreign_file_is_refused_untouched(tmp_path, fake_training):
    out = tmp_path / "notes.csv"
    out.write_text("my,own\nnotes,here\n")
    with pytest.raises(UsageError, match="without its header"):
        build(out, [])
    out.with_suffix(".json").write_text(json.dumps({
        "schema_version": SCHEMA_VERSION, "kind": "table", "suite": "mnist-mlp",
        "suite_version": 1, "dataset": {"name": "digits"}, "epochs": 1, "repeats": 1,
        "seed": 0, "grid": GRID}))
    with pytest.raises(UsageError, match="columns are not those of a grid table"):
        build(out, [])
    assert out.read_text() == "my,own\nnotes,here\n" and fake_training == []
    with pytest.raises(UsageError, match="is a folder"):
        build(tmp_path, [])


DAMAGED = [
    (dict(rows=4), "holds 4 of the 6 configs"),
    (dict(torn='0,"{\\"num_la'), "last row is torn"),
    (dict(header={"schema_version": SCHEMA_VERSION, "kind": "table", "suite": "mnist-mlp"}),
     "has no grid"),
]


@pytest.mark.parametrize("kwargs, message", DAMAGED)
def test_damaged_tables_are_one_line_in_load_table_and_compare(tmp_path, capsys, kwargs,
                                                               message):
    path = fixture_table(tmp_path, **kwargs)
    with pytest.raises(UsageError, match=message) as info:
        load_table(path)
    assert "t.csv" in str(info.value) or "t.json" in str(info.value)
    assert main(["compare", "mnist-mlp", "--table", str(path), "--out",
                 str(tmp_path / "cmp")]) == 2
    one_line(capsys.readouterr().err, message)
    assert not (tmp_path / "cmp").exists()


def test_a_non_numeric_objective_cell_is_named(tmp_path, capsys):
    path = fixture_table(tmp_path)
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = next(csv.reader([text[3]]))
    cells[FIELDS.index("train_time")] = "fast"
    text[3] = ",".join(f'"{c}"' if "," in c or '"' in c else c for c in
                       [c.replace('"', '""') for c in cells]) + "\r\n"
    path.write_text("".join(text), encoding="utf-8")
    with pytest.raises(UsageError, match=r"column 'train_time', row 3: 'fast' is not a number"):
        load_table(path)
    assert main(["compare", "mnist-mlp", "--table", str(path), "--out",
                 str(tmp_path / "cmp")]) == 2
    one_line(capsys.readouterr().err, "is not a number")


# --- 5. phantom RUNNING trials ----------------------------------------------------------------


def test_a_storage_outage_leaves_no_phantom_running_trial(tmp_path, monkeypatch):
    sampler = make_sampler("random", seed=0, directions=["maximize", "minimize"])
    study = open_study(f"sqlite:///{tmp_path}/s.db", "toy", OBJECTIVES, sampler, "toy")
    phantom = study.ask(SPACE)  # told during an outage whose answer was lost: still RUNNING
    phantom.set_user_attr("worker", "w")
    other = study.ask(SPACE)  # another worker's: left alone
    other.set_user_attr("worker", "someone-else")
    storage = study._storage
    real = storage.set_trial_user_attr
    failures = {"left": 2}

    def flaky(trial_id, key, value):  # the claim of this worker's next trial meets an outage
        if key == "worker" and value == "w" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        return real(trial_id, key, value)

    monkeypatch.setattr(storage, "set_trial_user_attr", flaky)
    seen: list = []

    def evaluator(trial) -> TrialOutcome:
        if trial.number == 3:  # the other worker finishes its trial, untouched by this one
            seen.append(study.get_trials()[other.number].state)
            study.tell(other.number, [0.5, 1.0])
        return toy_evaluator(trial)

    def stuck(signum, frame):
        raise AssertionError("the worker waits forever on its own phantom RUNNING trial")

    lines: list[str] = []
    worker = Worker(name="w", settings=StorageSettings(heartbeat_interval=None, retry_s=30))
    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(120)
    try:
        run_trials(study, evaluator, SPACE, OBJECTIVES, 3, on_line=lines.append, worker=worker)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    trials = study.get_trials()
    assert failures["left"] == 0 and seen == [TrialState.RUNNING]
    assert trials[phantom.number].state == TrialState.FAIL
    assert "storage outage" in trials[phantom.number].user_attrs["fail_reason"]
    # the trial running when the storage came back was not failed: it finished
    mine = [t for t in trials[2:] if t.user_attrs.get("worker") == "w"]
    assert [t.state for t in mine] == [TrialState.COMPLETE] * 2
    assert any("left RUNNING by the storage outage" in line for line in lines)


# --- 6. outputs checked before the work -------------------------------------------------------


def unwritable_dir(tmp_path: Path) -> Path:
    """A folder this process cannot write into: chmod 0500, or, as root (whom chmod does not
    stop), a path under a regular file."""
    if os.geteuid() == 0:
        blocker = tmp_path / "some_file.txt"
        blocker.write_text("x")
        return blocker
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


OUTPUT_ERRORS = [
    (["profile", "mnist-mlp", "--json", "{ro}/out.json"], "--json"),
    (["profile", "mnist-mlp", "--json", "."], "is a folder"),
    (["profile", "mnist-mlp", "--trace", "{ro}/trace"], "--trace"),
    (["evaluate", "mnist-mlp", "--json", "{ro}/out.json"], "--json"),
    (["tune", "mnist-mlp", "--strategy", "random", "--json", "{ro}/out.json"], "--json"),
    (["tune", "mnist-mlp", "--strategy", "random", "--json", "."], "is a folder"),
    (["compare", "mnist-mlp", "--out", "{ro}/cmp"], "--out"),
    (["table", "mnist-mlp", "--out", "{ro}/t.csv"], "--out"),
]


@pytest.mark.parametrize("argv, message", OUTPUT_ERRORS)
def test_unwritable_outputs_are_refused_before_any_work(tmp_path, monkeypatch, capsys, argv,
                                                        message):
    monkeypatch.chdir(tmp_path)
    ro = unwritable_dir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    argv = [a.replace("{ro}", str(ro)) for a in argv]
    assert main(argv) == 2
    one_line(capsys.readouterr().err, message)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_a_failed_write_after_the_work_keeps_the_result(tmp_path, monkeypatch, capsys):
    import mobench.cli.output as commands

    table = fixture_table(tmp_path)
    real = commands.write_json

    def disk_full(path, document):
        if str(path).startswith(str(tmp_path / "cmp")):
            raise OSError(28, "No space left on device")
        return real(path, document)

    monkeypatch.setattr(commands, "write_json", disk_full)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random",
                 "--budget", "4", "--seeds", "2", "--out", str(tmp_path / "cmp")]) == 1
    err = one_line(capsys.readouterr().err.splitlines()[-1], "No space left on device")
    kept = Path(err.rsplit("kept in ", 1)[1])
    assert json.loads(kept.read_text())["kind"] == "comparison"


# --- 7. SIGTERM stops the child processes -----------------------------------------------------


def test_sigterm_stops_compare_jobs_and_leaves_no_child(tmp_path):
    psutil = pytest.importorskip("psutil")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mobench", "compare", "mnist-mlp", "--table",
         str(ROOT / "results/tables/mnist-mlp-digits.csv"), "--strategies", "random,nsga2",
         "--jobs", "2", "--seeds", "500", "--budget", "60", "--out", str(tmp_path / "cmp")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    children: list = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2 and proc.poll() is None:
        time.sleep(0.5)
        children = [c for c in parent.children(recursive=True) if c.is_running()]
    assert len(children) >= 2, "compare started no worker processes"
    time.sleep(3)
    assert proc.poll() is None, "compare finished before SIGTERM: make it longer"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive
    assert not (tmp_path / "cmp").exists() or not list((tmp_path / "cmp").iterdir())
