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

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mobench.compare.appendcsv import Appender, Rows, disk_error
from mobench.compare.curves_source import PER_CONFIG, Source, read_runs
from mobench.compare.curves_table import (
    CLASSIFIER_CURVES,
    GAN_CURVES,
    GAN_QUALITY,
    KIND,
    cell,
    csv_fields,
    header_path,
    load_curves,
)
from mobench.documents import write_json
from mobench.errors import UsageError
from mobench.records import SCHEMA_VERSION


def import_curves(source_path: Path, out: Path, *, suite_name: str, suite_version: int,
                  space: dict[str, Any], defaults: dict[str, Any], gan: bool,
                  dataset: str | None, on_line: Callable[[str], None] = print) -> Path:
    """Check the whole source, then write `out` (and its header) as a curves table;
    `dataset` names the data the curves were measured on (None: not said)."""
    if out.exists() or header_path(out).exists():
        raise UsageError(f"--out {out} (or its header {header_path(out).name}) exists; "
                         "pick another --out")
    fields = csv_fields(gan)
    source, runs, long = read_runs(source_path, space, defaults,
                                   [c for c in fields if c.endswith("_curve")], on_line)
    rows, epochs = _table_rows(source, runs)
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


def _table_rows(source: Source, runs: list[dict[str, Any]]
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
        table.extend([{name: cell(row.get(name)) for name in fields} for row in rows])
        write_json(header_path(out), header)
        wrote_header = True
        os.replace(tmp, out)
    except OSError as exc:
        if wrote_header:
            header_path(out).unlink(missing_ok=True)
        raise disk_error(out, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
