"""`mobench transfer SUITE --table REF --calibrate K`: a curves table measured on another
machine, carried to this one for a fraction of a rebuild.

1. Measure K configs of the reference here, chosen to span its cost range (evenly spaced
   ranks of the reference's training seconds, the cheapest and the dearest included).
2. Fit the calibration (`mobench.compare.calibration`) from the reference's costs and the
   configs' sizes to this machine's costs, and predict every config's costs here.
3. Re-measure the predicted front (the objectives, e.g. val_accuracy and train_time): the
   measured values replace the predictions, the front is recomputed, and its members not yet
   measured are measured, for at most `rounds` rounds (a front of measured configs ends it).
4. Write the table (`mobench.compare.transfer_table`): measured rows as they finish, predicted
   rows for every other config last. A rerun with the same settings continues.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mobench.compare.appendcsv import Appender, disk_error, exclusive_lock, repair
from mobench.compare.calibration import Calibration
from mobench.compare.curves_table import (
    cell,
    check_rows,
    distributions,
    header_path,
    load_curves,
)
from mobench.compare.surrogate import column  # the table's column of an objective
from mobench.compare.transfer_table import (
    COST_COLUMNS,
    ORIGIN,
    Reference,
    check_resume,
    frame_rows,
    load_reference,
    predicted_rows,
    transfer_fields,
    transfer_header,
)
from mobench.errors import FatalError, UsageError

ROUNDS = 3
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def calibration_ids(ref: Reference, k: int) -> list[int]:
    """K config ids spanning the reference's training seconds: evenly spaced ranks."""
    order = ref.configs["train_time"].sort_values(kind="stable").index.to_numpy()
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, k)).astype(int))
    return [int(order[i]) for i in picks]


def front_ids(values: pd.DataFrame, objectives) -> set[int]:
    """Config ids (the index) on the front of `values` (one column per objective)."""
    from mobench.pareto import minimisation, nondominated_mask

    cols = [column(o.name) for o in objectives]
    usable = values.dropna(subset=cols)
    if usable.empty:
        return set()
    points = minimisation(usable[cols].to_numpy(float), [o.direction.value for o in objectives])
    return {int(i) for i in usable.index[nondominated_mask(points)]}


@dataclass
class Transfer:
    """What a transfer did: the configs it measured, the calibration, the fronts."""

    out: Path
    reference: Reference
    hardware_id: str
    objectives: tuple
    calibration_ids: list[int]
    calibration: Calibration | None = None
    predicted: pd.DataFrame | None = None  # per config: the predicted costs here
    here: pd.DataFrame | None = None  # per config: the transferred table's values
    predicted_runs: dict[str, np.ndarray] = field(default_factory=dict)  # per reference run
    measured: dict[int, dict[str, Any]] = field(default_factory=dict)  # ok or not
    rounds: list[list[int]] = field(default_factory=list)

    @property
    def reference_front(self) -> set[int]:
        return front_ids(self.reference.configs, self.objectives)

    @property
    def front(self) -> set[int]:
        return front_ids(self.here, self.objectives)

    def measured_seconds(self) -> float:
        return float(sum(r.get("train_time") or 0.0 for r in self.measured.values()))


def default_out(ref_path: Path, hardware_id: str) -> Path:
    """Beside the reference: SUITE-DATASET-<hardware id>-curves.csv for SUITE-DATASET-curves.csv
    (so `surrogate`'s default document is SUITE-DATASET-<hardware id>.json)."""
    stem = Path(ref_path).stem
    return Path(ref_path).with_name(f"{stem.removesuffix('-curves')}-{hardware_id}-curves.csv")


def transfer(suite, ref_path: Path, out: Path | None = None, *, calibrate: int = 10,
             objectives=None, configs: int | None = None, rounds: int = ROUNDS,
             check_out: Callable[[Path], Path] = lambda path: path,
             on_line: Callable[[str], None] = print) -> Transfer:
    """Carry `ref_path` to this machine into `out` (default: `default_out`), see the module's
    docstring; `check_out` refuses an output that cannot be written, before any training."""
    from mobench.objectives import parse_objectives

    objectives = parse_objectives(objectives or suite.objectives)
    ref = load_reference(Path(ref_path), suite, configs)
    missing = [o.name for o in objectives if column(o.name) not in ref.header["columns"]]
    if missing:
        raise UsageError(f"objective {missing[0]!r} is not a column of {ref_path}")
    n = len(ref.configs)
    if isinstance(calibrate, bool) or not isinstance(calibrate, int) or not 2 <= calibrate <= n:
        raise UsageError(f"--calibrate must be 2..{n} (the reference's configs with measured "
                         f"runs), got {calibrate}")
    settings = {"calibrate": calibrate, "objectives": [o.name for o in objectives],
                "configs": configs if configs is not None else ref.header.get("n"),
                "rounds": rounds}
    here = _this_machine(suite, ref, out, settings, check_out, on_line)
    result = Transfer(here.out, ref, here.hardware_id, objectives,
                      calibration_ids(ref, calibrate))
    with _opened(here, on_line) as (table, rows):
        for row in rows:
            if row[ORIGIN] == "measured":
                result.measured[row["config_id"]] = row
        done_predicted = {(r["config_id"], r["seed"]) for r in rows if r[ORIGIN] == "predicted"}
        on_line(f"transfer {suite.name}: {ref.path} ({ref.hardware_id}, {n} configs with "
                f"measured runs) to {here.hardware_id}: calibrate on {calibrate} configs, "
                f"then re-measure the predicted front of {', '.join(settings['objectives'])}; "
                f"{len(result.measured)} configs measured here already")
        measure = measurer(suite, here, ref, table, result.measured, on_line)
        measure(result.calibration_ids, "calibration")
        _calibrate(result)
        for _ in range(rounds):
            _update_here(result)
            todo = sorted(result.front - set(result.measured))
            if not todo:
                break
            result.rounds.append(todo)
            measure(todo, f"front round {len(result.rounds)}")
        _update_here(result)
        rows = [r for r in predicted_rows(ref, result.predicted_runs, set(result.measured))
                if (r["config_id"], r["seed"]) not in done_predicted]
        table.extend([{name: cell(r.get(name)) for name in table.fields} for r in rows])
        here.header["transfer"] = {
            **here.header["transfer"], "calibration_ids": result.calibration_ids,
            "calibration": result.calibration.describe(), "front_rounds": result.rounds,
            "measured_configs": sorted(result.measured)}
        _write_header(here)
    return result


def rebuild(suite, ref_path: Path, out: Path, *, configs: int | None = None,
            first: Sequence[int] = (), only: Sequence[int] | None = None,
            copy_from: Path | None = None,
            on_line: Callable[[str], None] = print) -> dict[int, dict[str, Any]]:
    """Measure every config of the reference's first `configs` here (or the `only` ones)
    into `out` (a transferred table whose rows are all measured), `first` ones first; the
    measured rows of the transferred table `copy_from` are copied, not trained again.
    Resumable; returns the rows by config id."""
    ref = load_reference(Path(ref_path), suite, configs)
    settings = {"calibrate": None, "objectives": [], "configs": configs if configs is not None
                else ref.header.get("n"), "rounds": 0, "rebuild": True}
    here = _this_machine(suite, ref, out, settings, lambda path: path, on_line)
    measured: dict[int, dict[str, Any]] = {}
    with _opened(here, on_line) as (table, rows):
        measured.update({r["config_id"]: r for r in rows if r[ORIGIN] == "measured"})
        copied = []
        if copy_from is not None:
            frame = load_curves(copy_from)[1]
            for row in frame_rows(frame[frame[ORIGIN] == "measured"]):
                if row["config_id"] in set(ref.configs.index) - set(measured):
                    copied.append(row)
                    measured[row["config_id"]] = row
            table.extend([{name: cell(r.get(name)) for name in table.fields} for r in copied])
        order = [*first, *(i for i in ref.configs.index if i not in set(first))]
        if only is not None:
            order = [i for i in order if i in set(only)]
        on_line(f"rebuild {suite.name} here ({here.hardware_id}): {len(order)} configs, "
                f"{len(measured)} measured already ({len(copied)} copied from {copy_from})")
        measurer(suite, here, ref, table, measured, on_line)([int(i) for i in order],
                                                             "rebuild")
    return measured


@dataclass
class _Here:
    """This machine's side of a transfer: where it writes, with which header and data."""

    out: Path
    header: dict[str, Any]
    hardware_id: str
    dataset: Any
    hypermodel: Any
    gan: bool


def _this_machine(suite, ref: Reference, out: Path | None, settings: dict[str, Any],
                  check_out: Callable[[Path], Path], on_line) -> _Here:
    """The reference's TensorFlow threads set, this machine's id (not the reference's),
    the output checked, the reference's data loaded the same, the header made."""
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint, set_threads

    wanted = ref.header.get("threads") or {}
    threads = set_threads(_pool(wanted.get("intra_op")), _pool(wanted.get("inter_op")))
    unlike = [f"{k}={wanted[k]} there, {threads[k] or 'unset'} here" for k in BLAS_THREADS
              if k in wanted and wanted[k] != threads.get(k)]
    if unlike:  # read by the BLAS libraries when they load: too late to set from here
        on_line("note: the reference's thread variables differ (" + "; ".join(unlike) + "): "
                "set them in the environment, as it was built, to measure costs the same way")
    fp = fingerprint()
    if fp.get("hardware_id") == ref.hardware_id:
        raise UsageError(f"--table {ref.path} was measured on this hardware id "
                         f"({ref.hardware_id}): nothing to transfer (use it as it is, or "
                         "rebuild it)")
    out = check_out(Path(out) if out is not None else default_out(ref.path, fp["hardware_id"]))
    if out.exists() and out.samefile(ref.path):
        raise UsageError("--out is the reference table itself; pick another --out")
    dataset = _dataset(ref.header)
    header = transfer_header(ref, fingerprint=fp, threads=threads, settings=settings,
                             provenance=provenance(fp, ref.header.get("seed") or 0,
                                                   suite_version=suite.version))
    hypermodel = suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    return _Here(out, header, fp["hardware_id"], dataset, hypermodel, ref.gan)


@contextmanager
def _opened(here: _Here, on_line) -> Iterator[tuple[Appender, list[dict[str, Any]]]]:
    """The output table locked, its stored header checked (a rerun continues with the stored
    one), a torn last row repaired; yields its appender and checked rows."""
    from mobench.documents import read_json

    fields = transfer_fields(here.gan)
    here.out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(here.out):
        hpath = header_path(here.out)
        if hpath.exists():
            stored = read_json(hpath)
            check_resume(stored, here.header, hpath)
            here.header = stored
        elif here.out.exists() and here.out.stat().st_size:
            raise UsageError(f"{here.out} exists without its header {hpath}; pick another "
                             "--out")
        parsed = repair(here.out, fields, on_line, "transferred curves")
        rows = check_rows(parsed, here.header, distributions(here.header.get("space"), hpath))
        _write_header(here)
        table = Appender(parsed, fields)
        table.start()
        yield table, rows


def _write_header(here: _Here) -> None:
    from mobench.documents import write_json

    try:
        write_json(header_path(here.out), here.header)
    except OSError as exc:
        raise disk_error(header_path(here.out), exc) from None


def _pool(value: Any) -> int | None:
    """A header's thread count: a positive int, else None (TensorFlow's default)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def _dataset(header: dict[str, Any]):
    """The reference's data: same dataset, limit, validation size and seed; checked."""
    from mobench.data import load_dataset

    data = header.get("dataset") or {}
    limit = data.get("limit")
    dataset = load_dataset(data.get("name") or "digits", limit=limit, seed=header.get("seed") or 0,
                           val_limit=data.get("n_val") if limit else None)
    got = dataset.describe()
    for key in ("n_train", "n_val"):
        if data.get(key) is not None and got[key] != data[key]:
            raise UsageError(f"the reference table's data ({data.get('name')}, {key} "
                             f"{data[key]}) cannot be loaded the same here ({got[key]})")
    return dataset


def measurer(suite, here: _Here, ref: Reference, table: Appender,
             measured: dict[int, dict[str, Any]], on_line):
    """measure(ids, what): train each id not in `measured` yet (with the reference's first
    seed), append its row and record it in `measured`; progress with an ETA."""
    from mobench.compare.curves import measure_config
    from mobench.console import Progress
    from mobench.display import seconds

    header = ref.header
    seed = header.get("seed") or 0

    def measure(ids: list[int], what: str) -> None:
        todo = [i for i in ids if i not in measured]
        if not todo:
            return
        if here.gan:
            from mobench.models.quality import feature_classifier

            feature_classifier(here.dataset)  # train or load the fcd network before the clock
        with Progress(len(todo), f"{what}: configs", on_line=on_line) as progress:
            for i in todo:
                config = json.loads(ref.configs.loc[i, "config"])
                row = measure_config(suite, here.hypermodel, here.dataset, config,
                                     epochs=header["epochs"], seed=seed,
                                     fcd_epochs=header.get("fcd_epochs") or [])
                row.update(config_id=i, seed=seed, repeat=0, config=json.dumps(config),
                           **{ORIGIN: "measured"})
                table.append({name: cell(row.get(name)) for name in table.fields})
                measured[i] = row
                status = f"{what}: config {i} {row['status']}"
                progress.advance(status=status, line=f"{status} train "
                                 f"{seconds(row.get('train_time') or 0)} (reference "
                                 f"{seconds(ref.configs.loc[i, 'train_time'])})")

    return measure


def _first_runs(ref: Reference, ids: list[int]) -> list[dict[str, Any]]:
    """The reference's run of each id with its first seed (the seed measured here)."""
    seed = ref.header.get("seed") or 0
    rows = ref.rows.sort_values("seed", key=lambda s: (s - seed).abs())
    first = rows.groupby("config_id").first()
    return [_as_run(first.loc[i]) for i in ids]


def _as_run(row: pd.Series) -> dict[str, Any]:
    run = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    run["config"] = json.loads(run["config"]) if isinstance(run["config"], str) else run["config"]
    return run


def _calibrate(result: Transfer) -> None:
    ok = [i for i in result.calibration_ids
          if result.measured.get(i, {}).get("status") == "ok"]
    if len(ok) < 2:
        raise FatalError(f"{len(ok)} of the {len(result.calibration_ids)} calibration configs "
                         "trained here (see their status in the table); a calibration needs 2")
    runs = [_as_run(r) for _, r in result.reference.rows.iterrows()]
    result.calibration = Calibration.fit(_first_runs(result.reference, ok),
                                         [result.measured[i] for i in ok], predict_for=runs)
    per_run = result.calibration.predict(runs)
    frame = pd.DataFrame(per_run).assign(config_id=result.reference.rows["config_id"])
    result.predicted = frame.groupby("config_id").median()
    result.predicted_runs = per_run


def _update_here(result: Transfer) -> None:
    """Per config: measured here (ok) where it was, else the reference's quality and sizes
    with the predicted costs; a config that failed here is left out."""
    here = result.reference.configs.drop(columns=["config"]).copy()
    for cost in COST_COLUMNS:
        here[cost] = result.predicted[cost] if cost in result.predicted else np.nan
    here[ORIGIN] = "predicted"
    for i, row in result.measured.items():
        if i not in here.index:
            continue
        if row.get("status") != "ok":
            here = here.drop(index=i)
            continue
        for col in here.columns:
            if col in row and col != ORIGIN:
                here.loc[i, col] = row[col]
        here.loc[i, ORIGIN] = "measured"
    result.here = here
