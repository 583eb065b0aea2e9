"""`mobench table import SUITE CSV`: learning curves measured anywhere, written as a curves
table (`mobench.compare.curves_table`) that `surrogate` and `compare --problem surrogate` take.

The source (README, "Importing your own learning curves") has one row per training run:
the config as a JSON `config` column or one column per hyperparameter (one missing, or an
empty cell, takes the hyperparameter's default, said once), `time_curve` (cumulative training
seconds after each epoch) and `<metric>_curve` JSON lists of per-epoch values, and optionally
`seed` or `repeat` (several runs of one config: its measured noise), `status` and `reason`,
and per-config `params`, `flops`, `peak_memory`, `latency_p50`. With an `epoch` column it is
read in long form instead: one row per (run, epoch), metrics as plain numbers and
`epoch_seconds` per epoch. Every config must lie in the suite's search space, every number of
a run whose status is ok be finite and its curves share one length; an error names the source
line and column and nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare import cells
from mobench.compare.appendcsv import Appender, Rows, disk_error
from mobench.compare.curves_table import (
    CLASSIFIER_CURVES,
    GAN_CURVES,
    GAN_QUALITY,
    KIND,
    cell,
    config_problem,
    csv_fields,
    header_path,
    load_curves,
)
from mobench.documents import write_json
from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION

PER_CONFIG = ("params", "flops", "peak_memory", "latency_p50")
RUN_COLUMNS = ("seed", "repeat", "status", "reason", *PER_CONFIG)


class Source:
    """The source CSV's rows as text, each with its line number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path}: not readable: {exc.strerror or exc}") from None
        self.sha256 = hashlib.sha256(raw).hexdigest()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self.rows: list[dict[str, str]] = []
        self.lines: list[int] = []
        try:
            self.columns = [c.strip() for c in next(reader, [])]
            line = reader.line_num
            for values in reader:
                if len(values) != len(self.columns):
                    raise UsageError(f"{path}, line {line + 1}: {len(values)} fields where "
                                     f"the first line names {len(self.columns)} columns")
                self.rows.append(dict(zip(self.columns, (v.strip() for v in values),
                                          strict=True)))
                self.lines.append(line + 1)
                line = reader.line_num
        except csv.Error as exc:
            raise UsageError(f"{path}, line {reader.line_num}: not CSV ({exc})") from None
        if not self.rows:
            raise UsageError(f"{path}: no rows to import")

    def error(self, line: int, column: str, reason: str) -> UsageError:
        return cells.bad_cell(self.path, line, column, reason)


def import_curves(source_path: Path, out: Path, *, suite_name: str, suite_version: int,
                  space: dict[str, Any], defaults: dict[str, Any], gan: bool,
                  dataset: str | None, on_line: Callable[[str], None] = print) -> Path:
    """Check the whole source, then write `out` (and its header) as a curves table;
    `dataset` names the data the curves were measured on (None: not said)."""
    if out.exists() or header_path(out).exists():
        raise UsageError(f"--out {out} (or its header {header_path(out).name}) exists; "
                         "pick another --out")
    source = Source(source_path)
    fields = csv_fields(gan)
    curves = [c for c in fields if c.endswith("_curve")]
    long = "epoch" in source.columns
    hp_columns = _check_columns(source, space, curves, long)
    configs = _configs(source, space, defaults, hp_columns, on_line)
    runs = _long_runs(source, configs, curves) if long else _wide_runs(source, configs, curves)
    rows, epochs = _table_rows(source, runs, space)
    n = len({r["config_id"] for r in rows})
    quality = [f"{q}_curve" for q in GAN_QUALITY]
    header = {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "suite": suite_name,
        "suite_version": suite_version, "dataset": {"name": dataset, "limit": None},
        "epochs": epochs, "batch_size": "per config (hyperparameter batch_size)", "n": n,
        "method": "imported", "seed": None, "repeat_every": None, "extra_seeds": None,
        "fcd_epochs": list(range(1, epochs + 1)) if gan and any(
            r.get(q) for r in rows for q in quality) else None,
        "threads": {}, "hardware_id": None,
        "space": {k: json.loads(_distribution_json(d)) for k, d in space.items()},
        "columns": fields,
        "source": {"path": str(source_path), "sha256": source.sha256,
                   "format": "long (one row per epoch)" if long else "wide (one row per run)",
                   "rows": len(source.rows)},
        "provenance": _provenance(source_path, source.sha256, suite_version),
    }
    _write(out, header, fields, rows)
    try:
        load_curves(out)  # what surrogate reads: the table must load as written
    except UsageError:
        out.unlink(missing_ok=True)
        header_path(out).unlink(missing_ok=True)
        raise
    on_line(f"imported {len(rows)} runs of {n} configs x {epochs} epochs from {source_path}")
    return out


def _distribution_json(dist) -> str:
    from optuna.distributions import distribution_to_json

    return distribution_to_json(dist)


def _provenance(path: Path, sha256: str, suite_version: int) -> dict[str, Any]:
    """This machine measured nothing: no hardware, the source named instead."""
    from mobench.documents import provenance

    return provenance({}, 0, suite_version=suite_version, source=f"imported from {path}",
                      source_sha256=sha256)


def _check_columns(source: Source, space: dict[str, Any], curves: list[str],
                   long: bool) -> list[str]:
    """The hyperparameter columns; an unknown column is refused, naming the known ones."""
    metrics = [c.removesuffix("_curve") for c in curves if c != "time_curve"]
    known = {"config", *space, *RUN_COLUMNS}
    known |= {"epoch", "epoch_seconds", *metrics} if long else set(curves)
    unknown = [c for c in source.columns if c not in known]
    if unknown or len(set(source.columns)) < len(source.columns):
        what = f"unknown column {unknown[0]!r}" if unknown else "a column named twice"
        raise UsageError(f"{source.path}: {what}; the columns are config (JSON) or the "
                         f"hyperparameters ({', '.join(space)}), "
                         + ("epoch, epoch_seconds, " + ", ".join(metrics) if long
                            else ", ".join(curves))
                         + ", and optionally " + ", ".join(RUN_COLUMNS))
    hp_columns = [c for c in source.columns if c in space]
    if "config" in source.columns and hp_columns:
        raise UsageError(f"{source.path}: give the config as one JSON column 'config' or as "
                         f"hyperparameter columns, not both ({hp_columns[0]!r} and 'config')")
    time_column = "epoch_seconds" if long else "time_curve"
    if time_column not in source.columns:
        raise UsageError(f"{source.path}: no column {time_column!r} (the training seconds "
                         + ("of each epoch)" if long else "after each epoch, cumulative)"))
    return hp_columns


def _configs(source: Source, space: dict[str, Any], defaults: dict[str, Any],
             hp_columns: list[str], on_line: Callable[[str], None]) -> list[dict[str, Any]]:
    """Each row's config, in the space's order; a value missing takes the default."""
    filled: dict[str, int] = {}
    out = []
    for line, row in zip(source.lines, source.rows, strict=True):
        if "config" in row:
            try:
                given = cells.config(row["config"], True)
            except ValueError as exc:
                raise source.error(line, "config", str(exc)) from None
        else:
            given = {}
            for name in hp_columns:
                if row[name] != "":
                    try:
                        given[name] = _hp_value(space[name], row[name])
                    except ValueError as exc:
                        raise source.error(line, name, str(exc)) from None
        config = {}
        for name in space:
            if name not in given and name in defaults:
                filled[name] = filled.get(name, 0) + 1
            config[name] = given.get(name, defaults.get(name))
        problem = config_problem(config, space)
        if problem:
            raise source.error(line, "config" if "config" in row else problem[0], problem[1])
        out.append(config)
    for name, count in filled.items():
        on_line(f"{name}: not in {count} row(s) of {source.path.name}; they take its "
                f"default {defaults[name]!r}")
    return out


def _hp_value(dist, text: str) -> Any:
    """A hyperparameter cell as its distribution's type (a choice matched by its text)."""
    if hasattr(dist, "choices"):
        for choice in dist.choices:
            if text == str(choice) or text == json.dumps(choice):
                return choice
        raise ValueError(f"{text!r} is not one of {', '.join(map(repr, dist.choices))}")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if type(dist).__name__ == "IntDistribution":
        if not value.is_integer():
            raise ValueError(f"{text!r} is not an integer")
        return int(value)
    return value


def _run_cells(source: Source, line: int, row: dict[str, str]) -> dict[str, Any]:
    """A run's status, reason, seed/repeat and per-config numbers, checked."""
    run: dict[str, Any] = {"status": row.get("status") or "ok", "reason": row.get("reason", "")}
    checks = {"status": cells.status, "seed": cells.optional_integer,
              "repeat": cells.optional_integer, **dict.fromkeys(PER_CONFIG, cells.number)}
    ok = run["status"] == "ok"
    for column, check in checks.items():
        try:
            value = check(run["status"] if column == "status" else row.get(column, ""), ok)
        except ValueError as exc:
            raise source.error(line, column, str(exc)) from None
        run[column] = value
    return run


def _wide_runs(source: Source, configs: list[dict[str, Any]], curves: list[str]
               ) -> list[dict[str, Any]]:
    runs = []
    for line, row, config in zip(source.lines, source.rows, configs, strict=True):
        run = dict(_run_cells(source, line, row), config=config, line=line)
        for column in curves:
            try:
                run[column] = cells.number_list(row.get(column, ""), run["status"] == "ok")
            except ValueError as exc:
                raise source.error(line, column, str(exc)) from None
        runs.append(run)
    return runs


def _long_runs(source: Source, configs: list[dict[str, Any]], curves: list[str]
               ) -> list[dict[str, Any]]:
    """Rows of one (config, seed or repeat) gathered into one run, epochs in order."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (row, config) in enumerate(zip(source.rows, configs, strict=True)):
        key = (json.dumps(config), row.get("seed", "") + "/" + row.get("repeat", ""))
        groups.setdefault(key, []).append(i)
    epochs = {}
    for i, line in enumerate(source.lines):
        try:
            epochs[i] = cells.integer(source.rows[i]["epoch"], True)
        except ValueError as exc:
            raise source.error(line, "epoch", str(exc)) from None
    first = min(epochs.values())
    if first not in (0, 1):
        raise source.error(source.lines[0], "epoch", f"epochs count from 0 or 1, not {first}")
    runs = []
    for members in groups.values():
        members.sort(key=epochs.__getitem__)
        head = source.lines[members[0]]
        for k, i in enumerate(members):
            if epochs[i] != first + k:
                raise source.error(source.lines[i], "epoch", f"epoch {epochs[i]} where this "
                                   f"run (first at line {head}) needs epoch {first + k}")
            for column in RUN_COLUMNS:
                if source.rows[i].get(column) != source.rows[members[0]].get(column):
                    raise source.error(source.lines[i], column, "differs from the run's "
                                       f"first row (line {head})")
        run = dict(_run_cells(source, head, source.rows[members[0]]),
                   config=configs[members[0]], line=head, long=True)
        ok = run["status"] == "ok"
        for column in curves:
            name = "epoch_seconds" if column == "time_curve" else column.removesuffix("_curve")
            if name not in source.columns:
                continue
            values = []
            for i in members:
                try:
                    value = cells.number(source.rows[i][name], ok)
                    if value is None and ok:
                        raise ValueError("empty in a run whose status is ok")
                except ValueError as exc:
                    raise source.error(source.lines[i], name, str(exc)) from None
                if value is not None:
                    values.append(value)
            if column == "time_curve" and values:
                values = [float(t) for t in np.cumsum(values)]
            run[column] = values or None
        runs.append(run)
    return runs


def _table_rows(source: Source, runs: list[dict[str, Any]], space: dict[str, Any]
                ) -> tuple[list[dict[str, Any]], int]:
    """Runs as table rows: config ids by first appearance, seeds, finals, one epoch count."""
    ok_runs = [r for r in runs if r["status"] == "ok"]
    if not ok_runs:
        raise UsageError(f"{source.path}: no run with status ok to import")
    epochs = len(ok_runs[0]["time_curve"] or [])
    ids: dict[str, int] = {}
    count: dict[int, int] = {}
    seen: set[tuple[int, int]] = set()
    rows = []
    for run in runs:
        key = json.dumps(run["config"])
        config_id = ids.setdefault(key, len(ids))
        repeat = count[config_id] = count.get(config_id, -1) + 1
        seed = next((run[k] for k in ("seed", "repeat") if run[k] is not None), repeat)
        if (config_id, seed) in seen:
            raise source.error(run["line"], "seed", f"a second run of this config with seed "
                               f"{seed}; give each run of a config its own seed or repeat")
        seen.add((config_id, seed))
        if run["status"] == "ok":
            _check_ok_run(source, run, epochs)
        time = run.get("time_curve") or []
        row = {"config_id": config_id, "seed": seed, "repeat": repeat, "config": key,
               "status": run["status"], "reason": run["reason"],
               "epochs_done": len(time) if time else None,
               "train_time": time[-1] if time and run["status"] == "ok" else None,
               **{k: run[k] for k in PER_CONFIG},
               **{c: run.get(c) for c in run if c.endswith("_curve")}}
        for name in ("val_accuracy", "val_loss", *GAN_QUALITY):
            curve = run.get(f"{name}_curve")
            row[name] = curve[-1] if curve and run["status"] == "ok" else None
        rows.append(row)
    return rows, epochs


def _check_ok_run(source: Source, run: dict[str, Any], epochs: int) -> None:
    """One length for every curve of an ok run, and cumulative (non-decreasing) seconds."""
    def column_of(curve: str) -> str:  # the source's name for it
        if not run.get("long"):
            return curve
        return "epoch_seconds" if curve == "time_curve" else curve.removesuffix("_curve")

    time = run.get("time_curve")
    if not time:
        raise source.error(run["line"], column_of("time_curve"), "an ok run without its "
                           "training seconds")
    if any(b < a for a, b in zip(time, time[1:], strict=False)) or time[0] < 0:
        raise source.error(run["line"], column_of("time_curve"), "negative, or decreasing: "
                           "time_curve is cumulative seconds after each epoch (per-epoch "
                           "seconds: the long form's epoch_seconds)")
    for column, curve in run.items():
        if column.endswith("_curve") and curve and len(curve) != epochs:
            raise source.error(run["line"], column_of(column), f"{len(curve)} epochs where "
                               f"the first ok run has {epochs}")
    named = [c for c in (*CLASSIFIER_CURVES, *GAN_CURVES, *GAN_QUALITY) if run.get(f"{c}_curve")]
    if not named:
        raise UsageError(f"{source.path}, line {run['line']}: an ok run without any metric "
                         "curve")


def _write(out: Path, header: dict[str, Any], fields: list[str],
           rows: list[dict[str, Any]]) -> None:
    """The table through the one CSV writer into a temporary file, renamed into place after
    its header is written; on a failure neither is left behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.importing")
    wrote_header = False
    try:
        tmp.unlink(missing_ok=True)
        table = Appender(Rows(tmp), fields)
        table.start()
        for row in rows:
            table.append({name: cell(row.get(name)) for name in fields})
        write_json(header_path(out), header)
        wrote_header = True
        os.replace(tmp, out)
    except OSError as exc:
        if wrote_header:
            header_path(out).unlink(missing_ok=True)
        raise disk_error(out, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
