"""The learning-curve table's storage: its columns, the cells' types, the header a resumed or
grown build must match, and the loader that `surrogate` and `compare --problem surrogate`
read (every cell checked: a damaged table is named by line and column, never fitted).

Format: `<out>.csv`, one row per (config_id, seed), curves as JSON lists, one row per line
(`mobench.compare.appendcsv`); `<out>.json`, the header (suite, dataset, epochs, sampling,
`space`: the Optuna distributions, `columns`, provenance).
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

from mobench.compare import cells
from mobench.compare.appendcsv import Rows, parse_rows
from mobench.errors import UsageError
from mobench.records import check_document

KIND = "curves"
CLASSIFIER_CURVES = ("val_accuracy", "val_loss", "accuracy", "loss")
GAN_CURVES = ("d_loss", "g_loss", "val_d_loss", "val_g_loss")
GAN_QUALITY = ("fcd", "classifier_score")
# settings a resumed build must share with the stored header (`n` may grow)
RESUME_KEYS = ("suite", "suite_version", "seed", "method", "epochs", "repeat_every",
               "extra_seeds", "fcd_epochs", "threads", "space", "hardware_id")
DATASET_KEYS = ("name", "n_train", "n_val", "limit")
NUMBERS = ("val_accuracy", "val_loss", *GAN_QUALITY, "train_time", "params", "flops",
           "peak_memory", "latency_p50", "wall_time")
CHECKS: dict[str, cells.Check] = {
    "config_id": cells.integer, "seed": cells.integer, "repeat": cells.integer,
    "config": cells.config, "status": cells.status, "epochs_done": cells.optional_integer,
    "origin": cells.origin, **{name: cells.number for name in NUMBERS}}


def csv_fields(gan: bool) -> list[str]:
    curves = [*GAN_CURVES, *GAN_QUALITY] if gan else list(CLASSIFIER_CURVES)
    finals = list(GAN_QUALITY) if gan else ["val_accuracy", "val_loss"]
    return ["config_id", "seed", "repeat", "config", "status", "reason", "epochs_done",
            *finals, "train_time", "params", "flops", "peak_memory", "latency_p50", "wall_time",
            "time_curve", *(f"{c}_curve" for c in curves)]


def header_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".json")


def cell(value: Any) -> Any:
    """A value as the table stores it: lists as JSON, None empty, NaN as `nan`."""
    if isinstance(value, list):
        return json.dumps(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "" if value is None else repr(value)
    return value


def check_header(stored: dict[str, Any], header: dict[str, Any], path: Path) -> bool:
    """Refuse to resume a build whose stored header has other settings (one line); True when
    this build grows the table to a larger `n` (the sampled configs are a prefix-stable
    sequence, so the rows there stay rows of the grown table)."""
    try:
        check_document(stored, KIND)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    pairs = [(k, stored.get(k), header[k]) for k in RESUME_KEYS]
    pairs += [(f"dataset.{k}", (stored.get("dataset") or {}).get(k), header["dataset"][k])
              for k in DATASET_KEYS]
    for key, old, new in pairs:
        if key == "hardware_id" and old == _machine_id(header):
            continue  # written before ids carried threads and pinning: the same machine
        if old != new:
            show = "the search space" if key == "space" else f"{old!r} there, {new!r} now"
            raise UsageError(f"{path} was built with other settings ({key}: {show}); rerun "
                             "with the same settings to resume, or pick another --out")
    old_n = stored.get("n")
    if isinstance(old_n, bool) or not isinstance(old_n, int) or old_n < 1:
        raise UsageError(f"{path}: the header's n ({old_n!r}) is not a positive integer")
    if header["n"] < old_n:
        raise UsageError(f"{path} holds a table of {old_n} sampled configs; --sample "
                         f"{header['n']} would leave some out (a table grows, it never "
                         f"shrinks): give --sample {old_n} or more, or pick another --out")
    return header["n"] > old_n


def _machine_id(header: dict[str, Any]) -> str | None:
    """This build's machine id (its hardware id without the threads and pinning suffix)."""
    hardware = (header.get("provenance") or {}).get("hardware") or {}
    return hardware.get("machine_id") if isinstance(hardware, dict) else None


def distributions(space: Any, where: Path) -> dict[str, Any]:
    """The header's `space` as Optuna distributions; a bad one is a UsageError."""
    from optuna.distributions import json_to_distribution

    if not isinstance(space, dict) or not space:
        raise UsageError(f"{where}: the header holds no search space ('space')")
    try:
        return {name: json_to_distribution(json.dumps(d)) for name, d in space.items()}
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{where}: the header's space is not Optuna distributions "
                         f"({exc})") from None


def config_problem(config: dict[str, Any], space: dict[str, Any]) -> tuple[str, str] | None:
    """(hyperparameter, why) when `config` is not a point of `space` (a value missing or
    outside its distribution), else None."""
    for name, dist in space.items():
        if name not in config:
            return name, f"no value for hyperparameter {name!r}"
        value = config[name]
        try:
            inside = dist._contains(dist.to_internal_repr(value))
        except (ValueError, TypeError):
            inside = False
        if not inside:
            return name, f"{name}={value!r} is outside the search space ({_described(dist)})"
    return None


def _described(dist) -> str:
    if hasattr(dist, "choices"):
        return "one of " + ", ".join(repr(c) for c in dist.choices)
    step = f" step {dist.step}" if getattr(dist, "step", None) else ""
    return f"{dist.low}..{dist.high}{step}{' log' if dist.log else ''}"


def check_rows(parsed: Rows, header: dict[str, Any], space: dict[str, Any]
               ) -> list[dict[str, Any]]:
    """Every cell of the table typed (`cells`), every config inside the space, and an ok
    row's curves finite and either empty (not measured) or of the header's length: per
    epoch, or at the header's `fcd_epochs` for a GAN's quality."""
    checks = dict(CHECKS, **{c: cells.number_list for c in parsed.columns if c.endswith("_curve")})
    rows = cells.checked_rows(parsed, checks)
    epochs = header["epochs"]
    quality = len(header.get("fcd_epochs") or [])
    for line, row in zip(parsed.lines, rows, strict=True):
        problem = config_problem(row["config"], space) if "config" in row else None
        if problem:
            raise cells.bad_cell(parsed.path, line, "config", problem[1])
        if row.get("status") != "ok":
            continue
        for column, curve in row.items():
            if not column.endswith("_curve"):
                continue
            want = quality if column[:-6] in GAN_QUALITY else epochs
            if column == "time_curve" and not curve:
                raise cells.bad_cell(parsed.path, line, column, "an ok row without its "
                                     "training seconds")
            if curve and len(curve) != want:
                raise cells.bad_cell(parsed.path, line, column, f"{len(curve)} values where "
                                     f"the table has {want} (epochs {epochs})")
    return rows


def load_header(path: Path) -> dict[str, Any]:
    """The header of the curves table at `path`, checked for what reading needs."""
    from mobench.documents import read_json

    hpath = header_path(path)
    header = read_json(hpath)
    try:
        check_document(header, KIND)
    except UsageError as exc:
        raise UsageError(f"{hpath}: {exc}") from None
    epochs, columns, fcd = header.get("epochs"), header.get("columns"), header.get("fcd_epochs")
    problem = None
    if not isinstance(header.get("suite"), str):
        problem = "names no suite ('suite')"
    elif isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        problem = f"has no positive number of epochs ('epochs': {epochs!r})"
    elif not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        problem = "lists no columns ('columns')"
    elif fcd is not None and not (isinstance(fcd, list) and all(
            isinstance(e, int) and 1 <= e <= epochs for e in fcd)):
        problem = f"has fcd_epochs {fcd!r}, not epochs 1..{epochs}"
    if problem:
        raise UsageError(f"{hpath}: the header {problem}; not a readable curves table")
    return header


def load_curves(path: str | os.PathLike):
    """(header, DataFrame) of a curves table, complete or partial; curves parsed into lists.

    A torn last line (an interrupted write) is left out, not repaired: reading never writes.
    Any other damage, a garbled or non-finite cell of a measured run, or a config outside
    the header's space is a one-line UsageError naming the line and column.
    """
    import pandas as pd

    path = Path(path)
    header = load_header(path)
    space = distributions(header.get("space"), header_path(path))
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    parsed = parse_rows(path, header["columns"])
    if parsed.columns and parsed.columns != header["columns"]:
        raise UsageError(f"{path}: its columns are not those its header "
                         f"{header_path(path).name} lists")
    check_rows(parsed, header, space)
    if not parsed.rows:
        return header, pd.DataFrame(columns=header["columns"])
    frame = pd.read_csv(io.StringIO(parsed.text()))
    for col in [c for c in frame.columns if c.endswith("_curve")]:
        frame[col] = [json.loads(v) if isinstance(v, str) else [] for v in frame[col]]
    frame.attrs["lines"] = list(parsed.lines)
    return header, frame
