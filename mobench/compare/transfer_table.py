"""The reference table a transfer reads, and the transferred table it writes.

A transferred table is a curves table (`mobench.compare.curves_table`: the loader, `surrogate`
and `compare --problem surrogate` read it as any other) with one more column, `origin`:
`measured` rows were trained on this machine (the run with the reference's first seed);
`predicted` rows keep the reference run's quality columns and curves, and carry this
machine's costs as the calibration predicts them (the time curve scaled to the predicted
training seconds; wall_time empty). Measured rows are appended as they finish; the predicted
rows last, so a rerun with the same settings continues where it stopped. The header is the
reference's with this machine's hardware, and `transfer` (the reference, K, objectives,
calibration, rounds).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mobench.compare.curves_table import (
    GAN_QUALITY,
    KIND,
    RESUME_KEYS,
    csv_fields,
    header_path,
    load_curves,
)
from mobench.compare.surrogate import check_suite
from mobench.documents import read_json
from mobench.errors import UsageError

ORIGIN = "origin"
INTEGERS = ("config_id", "seed", "repeat", "epochs_done")  # pandas may read them as floats
COST_COLUMNS = ("train_time", "latency_p50", "peak_memory")
# settings a rerun must share with the stored transfer header
TRANSFER_KEYS = ("reference_sha256", "calibrate", "objectives", "configs", "rounds")


def transfer_fields(gan: bool) -> list[str]:
    return [*csv_fields(gan), ORIGIN]


@dataclass
class Reference:
    """The reference table's runs of its first `configs` configs: all of them (`rows`, with
    repeats) and per config the median of its ok runs (`configs`, indexed by config_id)."""

    path: Path
    header: dict[str, Any]
    rows: pd.DataFrame
    configs: pd.DataFrame
    sha256: str

    @property
    def gan(self) -> bool:
        return "fcd" in self.header["columns"]

    @property
    def hardware_id(self) -> str:
        return self.header["hardware_id"]


def load_reference(path: Path, suite, configs: int | None) -> Reference:
    """The reference table, checked: a curves table of `suite` (this version) with a
    hardware id and ok measured runs; one line (UsageError) otherwise."""
    if not Path(path).exists():
        raise UsageError(f"--table {path}: no such file")
    hpath = header_path(Path(path))
    if hpath.exists():
        stored = read_json(hpath)
        kind = stored.get("kind") if isinstance(stored, dict) else None
        if kind != KIND:
            raise UsageError(f"--table {path} is not a learning-curve table (its header "
                             f"{hpath.name} is of kind {kind!r}); build one with `mobench "
                             "table SUITE --sample N`")
    header, frame = load_curves(path)
    check_suite(header, suite, path)
    if not header.get("hardware_id"):
        raise UsageError(f"--table {path} names no hardware_id (imported curves?): its costs "
                         "were measured on no known machine, so there is nothing to transfer")
    ok = frame[frame["status"] == "ok"] if len(frame) else frame
    if ORIGIN in ok:
        ok = ok[ok[ORIGIN] != "predicted"]  # a transferred table: its measurements only
    if configs is not None:
        ok = ok[ok["config_id"] < configs]
    ok = ok.dropna(subset=["train_time"])
    if ok.empty:
        raise UsageError(f"--table {path}: hardware {header['hardware_id']} has no measured "
                         "ok runs" + (f" among its first {configs} configs" if configs else ""))
    per_config = ok.groupby("config_id").agg(
        {**{c: "median" for c in (*COST_COLUMNS, "params", "flops", *_quality(header))},
         "config": "first"})
    digest = hashlib.sha256(json.dumps(header.get("space"), sort_keys=True).encode())
    digest.update(ok.drop(columns=[ORIGIN], errors="ignore").to_csv(index=False).encode())
    return Reference(Path(path), header, ok.reset_index(drop=True), per_config,
                     digest.hexdigest())


def _quality(header: dict[str, Any]) -> tuple[str, ...]:
    return GAN_QUALITY if "fcd" in header["columns"] else ("val_accuracy",)


def transfer_header(ref: Reference, *, fingerprint: dict[str, Any], threads: dict[str, Any],
                    settings: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """The reference's header for this machine: its hardware, threads, the columns with
    `origin`, and the transfer's settings."""
    keep = ("schema_version", "kind", "suite", "suite_version", "dataset", "epochs",
            "batch_size", "method", "seed", "repeat_every", "extra_seeds", "fcd_epochs",
            "space")
    return {**{k: ref.header.get(k) for k in keep},
            "n": settings["configs"], "threads": threads,
            "hardware_id": fingerprint.get("hardware_id"),
            "columns": transfer_fields(ref.gan),
            "origin": "measured: trained on this machine (the reference's first seed); "
                      "predicted: the reference run's quality columns and curves, this "
                      "machine's costs as the calibration predicts them",
            "peak_memory": ref.header.get("peak_memory"),
            "transfer": {"reference": {"path": str(ref.path), "hardware_id": ref.hardware_id,
                                       "n": ref.header.get("n")},
                         "reference_sha256": ref.sha256, **settings},
            "provenance": provenance}


def check_resume(stored: dict[str, Any], header: dict[str, Any], path: Path) -> None:
    """A rerun must have the stored header's settings (one line naming the first that
    differs); a table of this machine written before ids carried threads and pinning
    counts as this machine's."""
    old_t, new_t = stored.get("transfer") or {}, header["transfer"]
    pairs = [(k, stored.get(k), header.get(k)) for k in RESUME_KEYS if k != "threads"]
    pairs += [(f"transfer.{k}", old_t.get(k), new_t.get(k)) for k in TRANSFER_KEYS]
    machine = ((header.get("provenance") or {}).get("hardware") or {}).get("machine_id")
    for key, old, new in pairs:
        if key == "hardware_id" and old == machine:
            continue
        if old != new:
            shown = "the reference table's rows changed" if key.endswith("sha256") \
                else f"{old!r} there, {new!r} now"
            raise UsageError(f"{path} was written by a transfer with other settings ({key}: "
                             f"{shown}); rerun with the same settings to continue, or pick "
                             "another --out")


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a loaded table (`load_curves`) as dicts to write again: empty cells None,
    integers as integers, the config as its JSON text."""
    rows = []
    for _, run in frame.iterrows():
        row = {k: (None if _missing(v) else v) for k, v in run.items()}
        row.update({k: int(row[k]) for k in INTEGERS if row.get(k) is not None})
        row["config"] = json.dumps(run["config"]) if isinstance(run["config"], dict) \
            else run["config"]
        rows.append(row)
    return rows


def predicted_rows(ref: Reference, predictions: dict[str, Any], skip: set[int]
                   ) -> list[dict[str, Any]]:
    """One predicted row per reference run of a config not measured here (`skip`): the
    reference's quality and curves, the predicted costs, the time curve scaled to them."""
    rows = []
    for i, (run, row) in enumerate(zip(ref.rows.to_dict("records"), frame_rows(ref.rows),
                                       strict=True)):
        if run["config_id"] in skip:
            continue
        row["wall_time"] = None
        for column in COST_COLUMNS:
            row[column] = float(predictions[column][i]) if column in predictions else None
        if row["train_time"] is not None and run["train_time"]:
            scale = row["train_time"] / float(run["train_time"])
            row["time_curve"] = [t * scale for t in run["time_curve"]]
        row[ORIGIN] = "predicted"
        rows.append(row)
    return rows


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
