"""The source CSV of `mobench table import` read into training runs, wide form (one row per
run, curves as JSON lists) or long form (one row per run and epoch, with an `epoch` column),
every cell checked and every config placed in the suite's search space; an error names the
source's line and column (see `mobench.compare.curves_import`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare import cells
from mobench.compare.curves_table import config_problem
from mobench.errors import UsageError

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
        head = source.lines[members[0]]
        _check_epochs(source, members, epochs, first)
        members.sort(key=epochs.__getitem__)
        for i in members:
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


def _check_epochs(source: Source, members: list[int], epochs: dict[int, int],
                  first: int) -> None:
    """A run's rows hold each of its epochs first, first + 1, ... exactly once."""
    head = source.lines[members[0]]
    seen: dict[int, int] = {}
    for i in members:
        if epochs[i] in seen:
            lines = f"lines {source.lines[seen[epochs[i]]]} and {source.lines[i]}"
            raise source.error(source.lines[seen[epochs[i]]], "epoch", f"epoch {epochs[i]} "
                               f"twice in the run that starts at line {head} ({lines})")
        seen[epochs[i]] = i
    last = first + len(members) - 1
    missing = next((e for e in range(first, last + 1) if e not in seen), None)
    if missing is not None:
        raise source.error(head, "epoch", f"the run that starts here has no epoch {missing} "
                           f"(epochs {first}..{last}, each once)")


def read_runs(path: Path, space: dict[str, Any], defaults: dict[str, Any], curves: list[str],
              on_line: Callable[[str], None]) -> tuple[Source, list[dict[str, Any]], bool]:
    """(the source, its runs in order of appearance, whether it is in long form)."""
    source = Source(path)
    long = "epoch" in source.columns
    hp_columns = _check_columns(source, space, curves, long)
    configs = _configs(source, space, defaults, hp_columns, on_line)
    runs = _long_runs(source, configs, curves) if long else _wide_runs(source, configs, curves)
    return source, runs, long
