"""Tabular benchmarks measured on your own hardware: every config of a finite grid evaluated
once (or `repeats` times), stored as CSV plus a JSON header with provenance.

The CSV has one row per config: `config_id`, `config` (hp values as JSON), `status`, and per
objective its median (`<name>`), interquartile range (`<name>_iqr`) and every repeat
(`<name>_repeats`, JSON). Rows are appended as they finish, so an interrupted build resumes
where it stopped.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mobench.documents import read_json, write_json
from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION, check_document

TABLE_OBJECTIVES = ("val_accuracy", "val_loss", "train_time", "peak_memory", "params", "flops",
                    "fcd", "classifier_score")


def config_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def grid_configs(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


def header_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".json")


def done_configs(csv_path: Path) -> set[str]:
    if not csv_path.exists():
        return set()
    with csv_path.open(newline="", encoding="utf-8") as f:
        return {row["config"] for row in csv.DictReader(f) if row.get("status")}


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
    """Evaluate every config of `grid` not yet in `out`, appending rows; returns `out`."""
    from mobench.profiling.training import evaluate

    header = {"schema_version": SCHEMA_VERSION, "kind": "table", "suite": suite.name,
              "suite_version": suite.version, "dataset": dataset.describe(), "epochs": epochs,
              "repeats": repeats, "seed": seed, "grid": grid, "provenance": provenance or {}}
    hpath = header_path(out)
    if hpath.exists():
        old = read_json(hpath)
        same = ("suite", "suite_version", "epochs", "repeats", "seed", "grid")
        if any(old.get(k) != header[k] for k in same) or \
                old.get("dataset", {}).get("name") != dataset.name:
            raise UsageError(f"{out} holds a table of another suite, grid, dataset, epochs or "
                             "repeats; pick another --out to keep both")
    else:
        write_json(hpath, header)
    configs = grid_configs(grid)
    todo = [c for c in configs if config_key(c) not in done_configs(out)]
    on_line(f"table {out}: {len(configs)} configs, {len(configs) - len(todo)} already done")
    fields = ["config_id", "config", "status", "reason"] + [
        f"{n}{s}" for n in TABLE_OBJECTIVES for s in ("", "_iqr", "_repeats")]
    from mobench.console import Progress
    from mobench.display import objective_value

    new_file = not out.exists()
    with out.open("a", newline="", encoding="utf-8") as f, \
            Progress(len(todo), "configs", on_line=on_line) as progress:
        writer = csv.DictWriter(f, fieldnames=fields)
        if new_file:
            writer.writeheader()
        for params in todo:
            records = [evaluate(suite, dataset, values=params, epochs=epochs, seed=seed + r)
                       for r in range(repeats)]
            row = {"config_id": configs.index(params), "config": config_key(params),
                   **summarise_repeats(records)}
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())
            shown = " ".join(f"{k}={objective_value(k, row[k])}"
                             for k in ("val_accuracy", "train_time") if k in row)
            progress.advance(status=f"config {row['config_id']}: {row['status']} {shown}")
    return out


def load_table(path: str | os.PathLike):
    """(header, DataFrame) of a stored table; a foreign or corrupt file is a UsageError."""
    import pandas as pd

    path = Path(path)
    header = read_json(header_path(path))
    try:
        check_document(header, "table")
    except UsageError as exc:
        raise UsageError(f"{header_path(path)}: {exc}") from None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise UsageError(f"{path}: not a readable table: {exc}") from None
    missing = {"config", "status"} - set(frame.columns)
    if missing:
        raise UsageError(f"{path}: not a mobench table (missing columns {sorted(missing)})")
    return header, frame
