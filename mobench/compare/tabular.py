"""Tabular benchmarks measured on your own hardware: every config of a finite grid evaluated
once (or `repeats` times), stored as CSV plus a JSON header with provenance.

The CSV has one row per config: `config_id`, `config` (hp values as JSON), `status`, and per
objective its median (`<name>`), interquartile range (`<name>_iqr`) and every repeat
(`<name>_repeats`, JSON). Rows are appended as they finish, so an interrupted build resumes
where it stopped; a build holds an exclusive lock on its table and repairs a row torn by a
crash (`mobench.compare.appendcsv`), and a reader refuses an unfinished or damaged table, or
a garbled cell (`mobench.compare.cells`), in one line naming it.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare import cells
from mobench.compare.appendcsv import Appender, disk_error, exclusive_lock, parse_rows, repair
from mobench.documents import read_json, write_json
from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION, check_document

TABLE_OBJECTIVES = ("val_accuracy", "val_loss", "train_time", "peak_memory", "params", "flops",
                    "fcd", "classifier_score")
FIELDS = ["config_id", "config", "status", "reason"] + [
    f"{n}{s}" for n in TABLE_OBJECTIVES for s in ("", "_iqr", "_repeats")]
CHECKS: dict[str, cells.Check] = {
    "config_id": cells.integer, "config": cells.config, "status": cells.status,
    **{f"{n}{s}": cells.number for n in TABLE_OBJECTIVES for s in ("", "_iqr")},
    **{f"{n}_repeats": cells.repeats for n in TABLE_OBJECTIVES}}


def config_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def grid_configs(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


def header_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".json")


def summarise_repeats(records: list) -> dict[str, Any]:
    """Median, IQR and the repeats of each objective over the OK repeats of one config."""
    ok = [r for r in records if r.status.value == "ok"]
    row: dict[str, Any] = {"status": "ok" if ok else records[0].status.value,
                           "reason": "" if ok else (records[0].reason or "")}
    for name in TABLE_OBJECTIVES:
        values = [r.objectives()[name] for r in ok if name in r.objectives()]
        if values:
            p25, med, p75 = np.percentile(values, [25, 50, 75])
            row[name] = float(med)
            row[f"{name}_iqr"] = float(p75 - p25)
            row[f"{name}_repeats"] = json.dumps(values)
    return row


def build_table(suite, dataset, grid: dict[str, list[Any]], out: Path, *, epochs: int,
                repeats: int = 1, seed: int = 0, provenance: dict[str, Any] | None = None,
                on_line: Callable[[str], None] = print) -> Path:
    """Evaluate every config of `grid` not yet in `out`, appending rows; returns `out`.

    Holds `out`'s lock throughout (a second build on it is refused), checks a stored header
    and the file's columns before anything is written, and repairs a torn last row."""
    header = {"schema_version": SCHEMA_VERSION, "kind": "table", "suite": suite.name,
              "suite_version": suite.version, "dataset": dataset.describe(), "epochs": epochs,
              "repeats": repeats, "seed": seed, "grid": grid, "provenance": provenance or {}}
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give the table's .csv file")
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out):
        _check_resume(out, header, dataset.name)
        parsed = repair(out, FIELDS, on_line, "grid")  # refuses a foreign or damaged file as is
        done = {config_key(row["config"]) for row in cells.checked_rows(parsed, CHECKS)}
        if not header_path(out).exists():
            try:
                write_json(header_path(out), header)
            except OSError as exc:
                raise disk_error(header_path(out), exc) from None
        configs = grid_configs(grid)
        todo = [c for c in configs if config_key(c) not in done]
        on_line(f"table {out}: {len(configs)} configs, {len(configs) - len(todo)} already done")
        _append_rows(suite, dataset, configs, todo, Appender(parsed, FIELDS), epochs, repeats,
                     seed, on_line)
    return out


def _check_resume(out: Path, header: dict[str, Any], dataset_name: str) -> None:
    """A stored header must have this build's settings; a CSV without a header is foreign."""
    hpath = header_path(out)
    if not hpath.exists():
        if out.exists() and out.stat().st_size:
            raise UsageError(f"{out} exists without its header {hpath}; pick another --out")
        return
    old = read_json(hpath)
    try:
        check_document(old, "table")
    except UsageError as exc:
        raise UsageError(f"{hpath}: {exc}") from None
    same = ("suite", "suite_version", "epochs", "repeats", "seed", "grid")
    if any(old.get(k) != header[k] for k in same) or \
            (old.get("dataset") or {}).get("name") != dataset_name:
        raise UsageError(f"{out} holds a table of another suite, grid, dataset, epochs or "
                         "repeats; pick another --out to keep both")


def _append_rows(suite, dataset, configs, todo, table: Appender, epochs: int, repeats: int,
                 seed: int, on_line: Callable[[str], None]) -> None:
    from mobench.console import Progress
    from mobench.display import objective_value
    from mobench.profiling.training import evaluate

    table.start()
    with Progress(len(todo), "configs", on_line=on_line) as progress:
        for params in todo:
            records = [evaluate(suite, dataset, values=params, epochs=epochs, seed=seed + r)
                       for r in range(repeats)]
            row = {"config_id": configs.index(params), "config": config_key(params),
                   **summarise_repeats(records)}
            table.append(row)
            shown = " ".join(f"{k}={objective_value(k, row[k])}"
                             for k in ("val_accuracy", "train_time") if k in row)
            progress.advance(status=f"config {row['config_id']}: {row['status']} {shown}")


def load_table(path: str | os.PathLike):
    """(header, DataFrame) of a finished table; a foreign, damaged or unfinished one (a torn
    last row, a line damaged mid-file, a garbled or non-finite cell, configs of its grid
    missing) is a one-line UsageError naming the file, the line and the column. Reading
    never writes. `frame.attrs` holds the path and each row's line in the file."""
    import pandas as pd

    path = Path(path)
    hpath = header_path(path)
    header = read_json(hpath)
    try:
        check_document(header, "table")
    except UsageError as exc:
        raise UsageError(f"{hpath}: {exc}") from None
    if not isinstance(header.get("suite"), str):
        raise UsageError(f"{hpath}: the header names no suite ('suite'); rebuild the table "
                         "with `mobench table`")
    grid = header.get("grid")
    if not isinstance(grid, dict) or not grid or not all(
            isinstance(v, list) and v for v in grid.values()):
        raise UsageError(f"{hpath}: the header has no grid (a dict of value lists); rebuild "
                         "the table with `mobench table`")
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    parsed = parse_rows(path)
    missing = {"config", "status"} - set(parsed.columns)
    if missing:
        raise UsageError(f"{path}: not a mobench table (missing columns {sorted(missing)})")
    if parsed.torn:
        raise UsageError(f"{path}: its last row is torn (an interrupted build); rerun `mobench "
                         "table` with the same settings to repair and finish it")
    cells.checked_rows(parsed, CHECKS)
    frame = pd.read_csv(io.StringIO(parsed.text()))
    frame.attrs.update(lines=list(parsed.lines), path=str(path))
    expected = {config_key(c) for c in grid_configs(grid)}
    held = expected & set(frame["config"])
    if len(held) < len(expected):
        raise UsageError(f"{path} holds {len(held)} of the {len(expected)} configs of its grid "
                         "(an interrupted build); rerun `mobench table` with the same settings "
                         "to finish it")
    return header, frame
