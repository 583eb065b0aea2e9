"""The evidence a comparison across hardware reads: per workload and hardware id, one point
per measured (or predicted) run, from curves tables (`table SUITE --sample`, `transfer`), tune
run documents and surrogate documents (their stored fronts: predictions).

A workload is a suite trained on one dataset (name and training examples) for one number of
epochs, and its evidence: measured, or a surrogate's predictions (compared among themselves
only). Tables are read with `appendcsv` and `cells` only: the report imports this module, and
the report imports no optuna.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mobench.compare import cells
from mobench.compare.appendcsv import parse_rows
from mobench.errors import UsageError

# quality objectives and whether they are maximised; the first present in a source is used
QUALITIES = {"val_accuracy": True, "fcd": False}
# cost name -> its column in a curves table, its name in a tune document, its unit
COSTS = {"train_time": ("train_time", "train_time", "s"),
         "latency": ("latency_p50", "latency", "s"),
         "peak_memory": ("peak_memory", "peak_memory", "B")}
COLUMNS = ["hardware_id", "source", "config", "seed", "predicted", "quality", *COSTS]


@dataclass(frozen=True)
class Workload:
    """What makes fronts comparable: the suite, its data and epochs, and the evidence
    (measured, or a surrogate's predictions)."""

    suite: str
    dataset: str
    n_train: int | None
    epochs: int | None
    evidence: str
    quality: str

    def __str__(self) -> str:
        size = f", {self.n_train} training examples" if self.n_train else ""
        epochs = f", {self.epochs} epochs" if self.epochs else ""
        return f"{self.suite} on {self.dataset}{size}{epochs} ({self.evidence})"


def config_key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True)


def _quality_of(names: list[str] | set[str]) -> str | None:
    return next((q for q in QUALITIES if q in names), None)


# ---- evidence from each kind of document --------------------------------------------------

TABLE_CHECKS: dict[str, cells.Check] = {
    "config": cells.config, "seed": cells.integer, "origin": cells.origin,
    **{name: cells.number for name in (*QUALITIES, *(c for c, _, _ in COSTS.values()))}}


def table_points(csv_path: Path, header: dict[str, Any]) -> tuple[Workload, pd.DataFrame]:
    """The ok rows of a curves table: one point per run, `predicted` for a transferred
    table's predicted rows. A damaged cell is a UsageError naming line and column."""
    columns = header.get("columns") if isinstance(header.get("columns"), list) else None
    parsed = parse_rows(csv_path, columns)
    if parsed.columns and columns and parsed.columns != columns:
        raise UsageError(f"{csv_path}: its columns are not those its header lists")
    quality = _quality_of(parsed.columns)
    if quality is None:
        raise UsageError(f"{csv_path}: no quality column ({', '.join(QUALITIES)})")
    hardware = hardware_name(header.get("hardware_id"))
    rows = []
    for row in cells.checked_rows(parsed, TABLE_CHECKS):
        if row.get("status") != "ok" or hardware is None:
            continue
        rows.append({"hardware_id": hardware, "source": str(csv_path),
                     "config": config_key(row["config"]), "seed": row.get("seed"),
                     "predicted": row.get("origin") == "predicted", "quality": row.get(quality),
                     **{name: row.get(col) for name, (col, _, _) in COSTS.items()}})
    return _workload(header, header.get("epochs"), "measured", quality), \
        pd.DataFrame(rows, columns=COLUMNS)


def hardware_name(value: Any) -> str | None:
    """A document's hardware id when it is one (a non-empty string), else None: a document
    without one takes no part in comparisons across hardware."""
    return value if isinstance(value, str) and value else None


def tuning_points(doc: dict[str, Any], source: str) -> tuple[Workload, pd.DataFrame] | None:
    """The feasible complete trials of a tune run document, with the objectives measured;
    None when it measured no quality objective."""
    names = [o.get("name") for o in doc.get("objectives") or [] if isinstance(o, dict)]
    quality = _quality_of(names)
    if quality is None:
        return None
    hardware = hardware_name((doc.get("provenance") or {}).get("hardware_id"))
    if hardware is None:
        return None
    rows = []
    for t in doc.get("trials") or []:
        values = t.get("objectives") if isinstance(t.get("objectives"), dict) else {}
        if not t.get("feasible") or _number(values.get(quality)) is None:
            continue
        rows.append({"hardware_id": hardware, "source": source,
                     "config": config_key(t.get("params") or {}), "seed": None,
                     "predicted": False, "quality": _number(values.get(quality)),
                     **{name: _number(values.get(key)) for name, (_, key, _) in COSTS.items()}})
    return _workload(doc, doc.get("epochs"), "measured", quality), \
        pd.DataFrame(rows, columns=COLUMNS)


def surrogate_points(doc: dict[str, Any], source: str) -> tuple[Workload, pd.DataFrame] | None:
    """The stored reference fronts of a surrogate document (predictions), on the hardware
    that measured its table."""
    table = doc.get("table") if isinstance(doc.get("table"), dict) else {}
    measured_on = hardware_name((table.get("header_provenance") or {}).get("hardware_id"))
    if measured_on is None:
        return None
    rows, quality = [], None
    for front in (doc.get("fronts") or {}).values():
        names = list(front.get("objectives") or []) if isinstance(front, dict) else []
        q = _quality_of(names)
        if q is None or (quality is not None and q != quality):
            continue
        quality = q
        for point in front.get("points") or []:
            values = dict(zip(names, point, strict=False))
            sign = -1.0 if QUALITIES[q] else 1.0  # stored in minimisation space
            costs = {name: values.get(col, values.get(key)) for name, (col, key, _) in
                     COSTS.items()}
            rows.append({"hardware_id": measured_on, "source": source, "config": None,
                         "seed": None, "predicted": True, "quality": sign * values[q],
                         **{k: _number(v) for k, v in costs.items()}})
    if quality is None:
        return None
    return _workload(doc, table.get("epochs"), "surrogate", quality), \
        pd.DataFrame(rows, columns=COLUMNS)


def _workload(doc: dict[str, Any], epochs: Any, evidence: str, quality: str) -> Workload:
    dataset = doc.get("dataset") if isinstance(doc.get("dataset"), dict) else {}
    return Workload(str(doc.get("suite")), str(dataset.get("name")),
                    _int(dataset.get("n_train")), _int(epochs), evidence, quality)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def gather(documents: dict[str, dict[str, Any]],
           on_problem=None) -> dict[Workload, pd.DataFrame]:
    """Points per workload from report documents (curves table headers, with the CSV beside
    them; tune runs; surrogates). A table that cannot be read is passed to `on_problem`
    (source, reason) and left out."""
    found: dict[Workload, list[pd.DataFrame]] = {}
    for source, doc in documents.items():
        kind = doc.get("kind")
        try:
            if kind == "curves":
                got = table_points(Path(source).with_suffix(".csv"), doc)
            elif kind == "tuning":
                got = tuning_points(doc, source)
            elif kind == "surrogate":
                got = surrogate_points(doc, source)
            else:
                continue
        except (UsageError, OSError, KeyError, TypeError, ValueError) as exc:
            if on_problem is not None:
                on_problem(source, str(exc))
            continue
        if got is not None and len(got[1]):
            found.setdefault(got[0], []).append(got[1])
    return {w: pd.concat(frames, ignore_index=True) for w, frames in found.items()}
