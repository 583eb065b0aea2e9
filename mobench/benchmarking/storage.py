"""Saved `pytest --benchmark` runs: `<root>/<hardware_id>/NNNN_<name>.json`.

Each file is pytest-benchmark's saved JSON plus a `mobench` block (schema version, kind
"benchmark", hardware id, run settings); `machine_info["mobench"]` holds the hardware
fingerprint; every benchmark's `extra_info` carries the suite, variant, mode, hardware id and
the profiler's figures (named as the record fields: step_time_s, peak_memory_bytes, ...).
`load_runs` / `latest_rows` read them back, keyed by (suite, variant, mode), so that runs of
different hardware ids line up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobench.documents import read_json
from mobench.errors import UsageError

SCHEMA_VERSION = 1
KIND = "benchmark"
DEFAULT_ROOT = Path("results") / "benchmarks"
_RUN_FILE = re.compile(r"^\d{4}_.*\.json$")

Key = tuple[str, str | None, str]  # (suite, variant, mode)


@dataclass(frozen=True)
class SavedRun:
    """One saved run of one machine: its file, hardware id and one row per benchmark.

    A row is the benchmark's extra_info plus `median_s`, `mean_s`, `min_s`, `iqr_s`,
    `rounds` (pytest-benchmark's statistics of the timed step) and `fullname`.
    """

    path: Path
    hardware_id: str
    datetime: str
    rows: tuple[dict[str, Any], ...]
    fingerprint: dict[str, Any]

    def row(self, key: Key) -> dict[str, Any] | None:
        return next((r for r in self.rows if row_key(r) == key), None)


def row_key(row: dict[str, Any]) -> Key:
    return (row.get("suite"), row.get("variant"), row.get("mode"))


def mobench_block(hardware_id: str, **settings: Any) -> dict[str, Any]:
    """The `mobench` block added to every saved run (see `check_run`); the fingerprint itself
    is in `machine_info["mobench"]`."""
    from mobench import __version__

    return {"schema_version": SCHEMA_VERSION, "kind": KIND, "mobench_version": __version__,
            "hardware_id": hardware_id, **settings}


def machine_info_block(fp: dict[str, Any]) -> dict[str, Any]:
    """`machine_info["mobench"]`: the hardware fingerprint plus the mobench and TF versions."""
    from mobench import __version__

    return {**fp, "mobench_version": __version__,
            "tensorflow": (fp.get("versions") or {}).get("tensorflow")}


def check_run(doc: object, path: Path) -> dict[str, Any]:
    """The run's `mobench` block; UsageError naming the file for a foreign or other-schema run."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise UsageError(f"{path}: not a pytest-benchmark saved run (no 'benchmarks' list)")
    block = doc.get("mobench")
    if not isinstance(block, dict) or block.get("kind") != KIND:
        raise UsageError(f"{path}: not a mobench benchmark run (no 'mobench' block of kind "
                         f"{KIND!r}); move it out of {path.parent}")
    version = block.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UsageError(f"{path}: unsupported mobench schema_version {version!r} (this mobench "
                         f"reads {SCHEMA_VERSION}); move it out of {path.parent}")
    if not isinstance(block.get("hardware_id"), str):
        raise UsageError(f"{path}: the mobench block names no hardware_id")
    return block


def read_run(path: str | Path) -> SavedRun:
    """Read and check one saved run (UsageError for unreadable, foreign or other-schema files)."""
    path = Path(path)
    doc = read_json(path)
    block = check_run(doc, path)
    rows = []
    for bench in doc["benchmarks"]:
        stats = bench.get("stats") or {}
        row = dict(bench.get("extra_info") or {})
        row.update(fullname=bench.get("fullname"), median_s=stats.get("median"),
                   mean_s=stats.get("mean"), min_s=stats.get("min"), iqr_s=stats.get("iqr"),
                   rounds=stats.get("rounds"))
        rows.append(row)
    machine = doc.get("machine_info") if isinstance(doc.get("machine_info"), dict) else {}
    fp = machine.get("mobench") if isinstance(machine.get("mobench"), dict) else {}
    return SavedRun(path, block["hardware_id"], str(doc.get("datetime", "")), tuple(rows), fp)


def run_files(folder: Path) -> list[Path]:
    """A hardware folder's run files in save order (pytest-benchmark numbers them NNNN_)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _RUN_FILE.match(p.name))


def load_runs(folder: Path) -> list[SavedRun]:
    """Every run saved in one hardware folder, oldest first; a bad file is a UsageError."""
    return [read_run(p) for p in run_files(folder)]


def latest_rows(runs: Iterable[SavedRun]) -> dict[Key, tuple[dict[str, Any], SavedRun]]:
    """Per (suite, variant, mode), the row of the last run that measured it."""
    latest: dict[Key, tuple[dict[str, Any], SavedRun]] = {}
    for run in runs:
        for row in run.rows:
            latest[row_key(row)] = (row, run)
    return latest


def hardware_folders(root: Path) -> list[Path]:
    """The hardware folders under a storage root, by name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_other_hardware(root: Path, hardware_id: str
                        ) -> tuple[dict[str, list[SavedRun]], list[str]]:
    """Runs of every hardware id but `hardware_id`, and one note per file that was skipped."""
    runs: dict[str, list[SavedRun]] = {}
    notes: list[str] = []
    for folder in hardware_folders(root):
        if folder.name == hardware_id:
            continue
        for path in run_files(folder):
            try:
                runs.setdefault(folder.name, []).append(read_run(path))
            except UsageError as exc:
                notes.append(f"skipped {exc}")
    return {hw: found for hw, found in runs.items() if found}, notes
