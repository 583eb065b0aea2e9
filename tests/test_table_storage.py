"""Grid and curves tables on disk: one parser, writer and repair (any line ending, a last row
cut at any offset dropped, damage mid-file refused with its line, a full disk one line and
repairable), the lock file gone when a build ends, and readers naming a bad cell."""

from __future__ import annotations

import csv
import errno
import fcntl
import json
import os
import sys
import types
from pathlib import Path

import pytest

from mobench.cli import main
from mobench.compare import appendcsv
from mobench.compare.appendcsv import exclusive_lock, parse_rows, repair
from mobench.compare.curves_table import csv_fields, load_curves
from mobench.compare.tabular import FIELDS, build_table, config_key, grid_configs, load_table
from mobench.documents import write_json
from mobench.errors import FatalError, UsageError
from mobench.records import SCHEMA_VERSION

GRID = {"units": [32, 64], "num_layers": [1], "learning_rate": [0.001, 0.003]}
SUITE = types.SimpleNamespace(name="mnist-mlp", version=1)
DATA = types.SimpleNamespace(name="digits", describe=lambda: {"name": "digits"})
REASON = "loss became NaN — naïve ✓"  # multi-byte characters: cuts land inside them too


class Record:
    def __init__(self, values: dict) -> None:
        self.ok = values["learning_rate"] < 0.002
        self.status = types.SimpleNamespace(value="ok" if self.ok else "failed")
        self.reason = None if self.ok else REASON
        self.values = values

    def objectives(self) -> dict:
        return {"val_accuracy": self.values["units"] / 256, "train_time": 1.5} if self.ok else {}


@pytest.fixture
def trained(monkeypatch):
    """`profiling.training.evaluate` replaced: no TensorFlow; the configs trained, in order."""
    calls: list[dict] = []

    def evaluate(suite, dataset, *, values, epochs, seed):
        calls.append(dict(values))
        return Record(values)

    monkeypatch.setitem(sys.modules, "mobench.profiling.training",
                        types.SimpleNamespace(evaluate=evaluate))
    return calls


def build(out: Path, lines: list[str] | None = None) -> Path:
    return build_table(SUITE, DATA, GRID, out, epochs=1,
                       on_line=(lines if lines is not None else []).append)


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def crlf_table(tmp_path: Path, trained) -> Path:
    """A complete grid table as the code before this change wrote it: `\\r\\n` line ends."""
    out = tmp_path / "t" / "t.csv"
    build(out)
    out.write_bytes(out.read_bytes().replace(b"\n", b"\r\n"))
    trained.clear()
    return out


# ---- the reported bug and the repair -----------------------------------------------------

def test_the_reported_crlf_cut_is_repaired_without_touching_good_rows(tmp_path, trained):
    out = crlf_table(tmp_path, trained)
    whole = out.read_bytes()
    os.truncate(out, len(whole) - 25)  # `truncate -s -25 t/t.csv`
    lines: list[str] = []
    build(out, lines)
    build(out, lines)  # the same `table` twice
    assert [len(r) for r in rows_of(out)] == [len(FIELDS)] * 5  # was 28, 28, 54, 28
    assert out.read_bytes() == whole  # the same rows, in the file's own line ending
    assert trained == [grid_configs(GRID)[-1]]  # only the torn config ran again
    assert sum("dropped a torn last line" in line for line in lines) == 1
    assert load_table(out)[1]["config"].is_unique


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("kind", ["grid", "curves"])
def test_a_last_row_cut_at_every_offset_is_dropped_and_the_rows_before_kept(tmp_path, newline,
                                                                           kind):
    fields = FIELDS if kind == "grid" else csv_fields(False)
    rows = [[f"{i}"] + [f"{REASON} {i}, \"{j}\"" for j in range(len(fields) - 1)]
            for i in range(3)]
    encode = appendcsv.encode_row
    good = encode(fields, newline) + b"".join(encode(r, newline) for r in rows[:2])
    last = encode(rows[2], newline)
    path = tmp_path / "t.csv"
    for cut in range(len(last)):
        path.write_bytes(good + last[:cut])
        said: list[str] = []
        parsed = repair(path, fields, said.append, kind)
        assert path.read_bytes() == good, cut
        assert len(said) == (1 if cut else 0) and parsed.rows == rows[:2]
    path.write_bytes(good + last)  # the whole row: nothing to repair
    assert repair(path, fields, [].append, kind).rows == rows


def test_a_torn_column_line_is_started_afresh_and_a_foreign_line_refused(tmp_path):
    fields = csv_fields(False)
    path = tmp_path / "t.csv"
    path.write_bytes(b"config_id,seed,rep")
    repair(path, fields, [].append, "curves")
    assert path.read_bytes() == b""
    path.write_bytes(b"my own notes")
    with pytest.raises(UsageError, match="not a table"):
        repair(path, fields, [].append, "curves")
    assert path.read_bytes() == b"my own notes"


def damage(text: bytes, how: str) -> bytes:
    """The table's third line (its second row) damaged in one way."""
    lines = text.split(b"\n")
    row = lines[2]
    lines[2] = {"cut short": row[:len(row) // 2],
                "glued": row + lines[3],
                "junk bytes": row[:30] + b"\xff\xfe\x00junk" + row[30:],
                "stray quote": row.replace(b",", b',"x"y', 1),
                "blank": b""}[how]
    if how == "glued":
        del lines[3]
    return b"\n".join(lines)


HOW = ["cut short", "glued", "junk bytes", "stray quote", "blank"]


@pytest.mark.parametrize("how", HOW)
def test_damage_mid_file_is_refused_with_its_line_and_nothing_changes(tmp_path, trained, how,
                                                                      capsys):
    out = tmp_path / "t" / "t.csv"
    build(out)
    out.write_bytes(damage(out.read_bytes(), how))
    before = out.read_bytes()
    trained.clear()
    for read in (lambda: build(out), lambda: load_table(out)):
        with pytest.raises(UsageError, match=r"t\.csv, line 3: .*damaged there") as info:
            read()
        assert "\n" not in str(info.value)
    assert out.read_bytes() == before and trained == []
    assert main(["compare", "mnist-mlp", "--table", str(out), "--out",
                 str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and not (tmp_path / "cmp").exists()


# ---- a full disk --------------------------------------------------------------------------

@pytest.mark.parametrize("truncate_fails", [False, True])
def test_a_full_disk_is_one_line_and_leaves_the_table_repairable(tmp_path, trained,
                                                                 monkeypatch, truncate_fails):
    out = tmp_path / "t" / "t.csv"
    write, calls = os.write, []

    def full_disk(fd, data):  # the header line and one row fit; the next row half does
        calls.append(len(data))
        if len(calls) == 3:
            write(fd, bytes(data[:len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(fd, data)

    def truncate_fails_too(fd, size):
        raise OSError(errno.EIO, "Input/output error")

    ftruncate = os.ftruncate
    monkeypatch.setattr(os, "write", full_disk)
    if truncate_fails:
        monkeypatch.setattr(os, "ftruncate", truncate_fails_too)
    with pytest.raises(FatalError) as info:
        build(out)
    message = str(info.value)
    assert "No space left on device" in message and "rerun the same command" in message
    assert "\n" not in message and not out.with_name("t.csv.lock").exists()
    parsed = parse_rows(out)
    assert len(parsed.rows) == 1 and bool(parsed.torn) is truncate_fails
    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "ftruncate", ftruncate)
    trained.clear()
    lines: list[str] = []
    build(out, lines)  # the rerun repairs what is left and finishes
    assert len(trained) == 3 and len(load_table(out)[1]) == 4
    assert any("dropped a torn last line" in line for line in lines) is truncate_fails


# ---- the lock -----------------------------------------------------------------------------

def test_the_lock_file_goes_when_the_build_ends_however_it_ends(tmp_path, trained,
                                                                monkeypatch):
    out = tmp_path / "t.csv"
    lock = out.with_name("t.csv.lock")
    build(out)
    assert out.exists() and not lock.exists()
    out.unlink()

    def interrupted(*args, **kwargs):
        assert lock.exists()  # held while the build runs
        raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "mobench.profiling.training",
                        types.SimpleNamespace(evaluate=interrupted))
    with pytest.raises(KeyboardInterrupt):
        build(out)
    assert not lock.exists()
    with exclusive_lock(out), pytest.raises(UsageError, match="another process"):
        build(out)
    assert not lock.exists()


def test_a_writer_that_locked_a_removed_lock_file_tries_again(tmp_path, monkeypatch):
    """A ends while B is between opening the lock file and locking it: B must not hold the
    removed file while C locks a new one."""
    out = tmp_path / "t.csv"
    first = exclusive_lock(out)
    first.__enter__()
    flock, ended = fcntl.flock, []

    def flock_after_first_ends(fd, op):
        if op & fcntl.LOCK_EX and not ended:
            ended.append(True)
            first.__exit__(None, None, None)
        return flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock_after_first_ends)
    with exclusive_lock(out):
        assert out.with_name("t.csv.lock").exists()
        with pytest.raises(UsageError, match="another process"):
            with exclusive_lock(out):
                pass


# ---- readers: garbled cells, a header without suite ---------------------------------------

def grid_table(tmp_path: Path, trained) -> Path:
    out = tmp_path / "t" / "t.csv"
    build(out)
    return out


def edit_cell(path: Path, line: int, column: str, value: str) -> None:
    rows = rows_of(path)
    rows[line - 1][rows[0].index(column)] = value
    path.write_bytes(b"".join(appendcsv.encode_row(r, "\n") for r in rows))


@pytest.mark.parametrize("column, value, reason", [
    ("val_accuracy_repeats", "[0.1, 0.2", "is not valid JSON"),
    ("val_accuracy_repeats", "[NaN]", r"nan in '\[NaN\]' is not a finite number"),
    ("val_accuracy", "inf", "inf is not a finite number"),
    ("config", "{'units': 32}", "is not valid JSON"),
    ("status", "okay", "'okay' is not a status"),
])
def test_a_garbled_grid_cell_is_named_by_line_and_column(tmp_path, trained, capsys, column,
                                                         value, reason):
    out = grid_table(tmp_path, trained)
    edit_cell(out, 2, column, value)
    with pytest.raises(UsageError, match=rf"line 2, column '{column}': .*{reason}"):
        load_table(out)
    assert main(["compare", "mnist-mlp", "--table", str(out), "--noise", "sample",
                 "--strategies", "random", "--seeds", "1", "--budget", "2", "--out",
                 str(tmp_path / "cmp")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_grid_header_without_suite_is_one_line(tmp_path, trained, capsys):
    out = grid_table(tmp_path, trained)
    header = json.loads(out.with_suffix(".json").read_text())
    del header["suite"]
    write_json(out.with_suffix(".json"), header)
    with pytest.raises(UsageError, match="names no suite"):
        load_table(out)
    assert main(["compare", "mnist-mlp", "--table", str(out), "--out",
                 str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "names no suite" in err


def curves_table(tmp_path: Path, n: int = 3, epochs: int = 2) -> Path:
    space = {"units": {"name": "IntDistribution",
                       "attributes": {"log": False, "step": 32, "low": 32, "high": 128}}}
    fields = csv_fields(False)
    path = tmp_path / "c.csv"
    write_json(path.with_suffix(".json"), {
        "schema_version": SCHEMA_VERSION, "kind": "curves", "suite": "mnist-mlp",
        "suite_version": 1, "dataset": {"name": "digits"}, "epochs": epochs, "n": n,
        "space": space, "columns": fields, "fcd_epochs": None})
    rows = [fields]
    for i in range(n):
        acc = [0.5 + 0.1 * e for e in range(epochs)]
        row = {"config_id": i, "seed": 0, "repeat": 0, "config": json.dumps({"units": 32}),
               "status": "ok", "epochs_done": epochs, "val_accuracy": acc[-1],
               "val_loss": 1.0, "train_time": 2.0, "time_curve": json.dumps([1.0, 2.0]),
               "val_accuracy_curve": json.dumps(acc), "val_loss_curve": "[1.5, 1.0]"}
        rows.append([row.get(f, "") for f in fields])
    path.write_bytes(b"".join(appendcsv.encode_row(r, "\n") for r in rows))
    return path


@pytest.mark.parametrize("column, value, reason", [
    ("val_accuracy_curve", "[0.5, NaN]", "nan in '\\[0.5, NaN\\]' is not a finite number"),
    ("val_accuracy_curve", "[0.5]", "1 values where the table has 2"),
    ("val_accuracy_curve", "[0.5, \"x\"]", "'x' in .* is not a number"),
    ("time_curve", "", "an ok row without its training seconds"),
    ("config", json.dumps({"units": 33}), "units=33 is outside the search space"),
    ("config", json.dumps({}), "no value for hyperparameter 'units'"),
    ("seed", "0.5", "'0.5' is not an integer"),
    ("train_time", "2.0.1", "'2.0.1' is not a number"),
])
def test_a_garbled_curves_cell_is_named_and_surrogate_refuses_it(tmp_path, capsys, column,
                                                                 value, reason, monkeypatch):
    path = curves_table(tmp_path)
    assert len(load_curves(path)[1]) == 3
    edit_cell(path, 3, column, value)
    with pytest.raises(UsageError, match=rf"c\.csv, line 3, column '{column}': {reason}"):
        load_curves(path)
    monkeypatch.chdir(tmp_path)
    assert main(["surrogate", "mnist-mlp", "--table", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and not (tmp_path / "results").exists()


def test_a_failed_curves_row_may_hold_nan_but_not_junk(tmp_path):
    path = curves_table(tmp_path)
    edit_cell(path, 3, "status", "failed")
    edit_cell(path, 3, "val_accuracy_curve", "[0.5, NaN]")
    assert len(load_curves(path)[1]) == 3
    edit_cell(path, 3, "val_accuracy_curve", "[0.5, \"NaN\"]")
    with pytest.raises(UsageError, match="line 3, column 'val_accuracy_curve'"):
        load_curves(path)


@pytest.mark.parametrize("how", HOW)
def test_damaged_curves_tables_are_refused_by_the_loader(tmp_path, how):
    path = curves_table(tmp_path)
    path.write_bytes(damage(path.read_bytes(), how))
    with pytest.raises(UsageError, match=r"c\.csv, line 3: "):
        load_curves(path)


def test_a_torn_last_curves_row_is_left_out_by_the_loader(tmp_path):
    path = curves_table(tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    assert list(load_curves(path)[1]["config_id"]) == [0, 1]


def test_rows_keep_one_line_and_their_text(tmp_path):
    path = tmp_path / "t.csv"
    fields = ["config_id", "reason"]
    table = appendcsv.Appender(parse_rows(path), fields)
    table.start()
    table.append({"config_id": 0, "reason": 'a "quoted", multi\nline\r\nreason'})
    parsed = parse_rows(path)
    assert parsed.rows == [["0", 'a "quoted", multi line  reason']] and parsed.newline == "\n"
    with pytest.raises(ValueError, match="not in the table"):
        table.append({"config_id": 1, "other": 2})
    assert config_key({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_a_measured_grid_config_without_the_objective_is_refused_by_the_replay(
        tmp_path, trained, capsys):
    out = grid_table(tmp_path, trained)
    edit_cell(out, 3, "train_time", "")  # config 1: ok, its train_time gone
    assert len(load_table(out)[1]) == 4  # an empty cell is a valid table (a failed config's)
    assert main(["compare", "mnist-mlp", "--table", str(out), "--strategies", "random",
                 "--seeds", "1", "--budget", "2", "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "t.csv, line 3, column 'train_time': empty" in err
