"""Read stored result documents (JSON, as data only) into one pandas table of measured units.

One row per measured unit: a profiled mode, a tuning trial, an evaluation, a strategy-comparison
run, a pytest-benchmark benchmark. Documents are dispatched on `kind` through `ROW_BUILDERS`;
a file that cannot be read, is not a mobench document, or has an unknown kind is skipped and
recorded as a `Problem` naming the file and why — the rest still loads.

Reference data (`reference_reason`): results the project ships (replay tables under
`results/tables/`, the reference pytest-benchmark run under `results/benchmarks/<hardware-id>/`)
are loaded like any other document but flagged (`reference` column, `Results.reference`), so
that the report labels them instead of presenting them as the user's own runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mobench.documents import read_json
from mobench.errors import UsageError
from mobench.records import check_document
from mobench.report.rows import (
    FINAL,
    MEASURES,
    OBJ,
    BadValue,
    benchmark_rows,
    comparison_rows,
    evaluation_rows,
    number,
    profile_rows,
    provenance_columns,
    shown,
    tuning_rows,
)

MAX_FILE_BYTES = 100 * 2**20
BENCHMARK_KIND = "benchmark"  # pytest-benchmark JSON (no `kind` field of its own)
COLUMNS = ("source", "run", "kind", "reference", "suite", "suite_version", "config", "variant",
           "strategy", "study", "hardware_id", "mode", "status", "reason", "trial", "feasible",
           "on_front", "seed", "batch_size", "dataset", "model_params", "train_flops_per_sample",
           "duration_s", "benchmark", *MEASURES, "objective_spec", "created_at",
           "mobench_version", "tf_version", "keras_version", "git_commit")
INTEGERS = ("suite_version", "trial", "seed", "batch_size", "model_params")


@dataclass(frozen=True)
class Problem:
    """A results file that was skipped, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(eq=False)  # compared by identity (a DataFrame has no truth value), so hashable
class Results:
    """Everything the report reads: the unit table, the parsed documents, the skipped files."""

    frame: pd.DataFrame
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> document
    problems: list[Problem] = field(default_factory=list)
    reference: dict[str, str] = field(default_factory=dict)  # source -> why it is reference
    # kept document -> older documents of identical settings left out (report.scope)
    repeats: dict[str, list[str]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> pd.DataFrame:
        return self.frame[self.frame["kind"] == kind]


def load_results(path: str | os.PathLike | Iterable[str | os.PathLike] = "results"
                 ) -> pd.DataFrame:
    """One row per measured unit under `path` (files or folders, `*.json` recursively).

    Skipped files are listed in `frame.attrs["problems"]` as (file, reason) pairs.
    """
    results = collect([path] if isinstance(path, str | os.PathLike) else list(path))
    results.frame.attrs["problems"] = [(p.path, p.reason) for p in results.problems]
    return results.frame


def collect(paths: Iterable[str | os.PathLike],
            on_file: Callable[[int, int], None] | None = None) -> Results:
    """Load every `*.json` under `paths`; a path that does not exist is a UsageError.
    `on_file(done, total)` after each file (progress)."""
    rows: list[dict[str, Any]] = []
    documents: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    reference: dict[str, str] = {}
    files = list(json_files(paths))
    for done, file in enumerate(files, 1):
        if on_file is not None and done > 1:
            on_file(done - 1, len(files))
        source = str(file)
        document = None
        try:
            document = read_document(file)
            kind, builder = dispatch(document)
            why = reference_reason(file, document)
            new = [{"source": source, "run": file.stem, "kind": kind, "reference": why is not None,
                    **r} for r in builder(document, file)]
            check_rows(new)
        except UsageError as exc:
            problems.append(Problem(source, str(exc).removeprefix(f"{file}: ")))
            continue
        except OSError as exc:
            problems.append(Problem(source, f"cannot read: {exc.strerror or exc}"))
            continue
        except Exception as exc:  # whatever garbage a document holds, it is skipped, named
            problems.append(Problem(source, malformed(exc, document)))
            continue
        documents[source] = document
        if why is not None:
            reference[source] = why
        rows.extend(new)
    if on_file is not None and files:
        on_file(len(files), len(files))
    return Results(make_frame(rows), documents, problems, reference)


NUMERIC = (*INTEGERS, *MEASURES, "duration_s", "train_flops_per_sample")
TEXT = tuple(c for c in COLUMNS if c not in (*NUMERIC, "reference", "feasible", "on_front",
                                             "objective_spec"))
LARGEST_INTEGER = 2**53  # what a float column holds exactly


def check_rows(rows: list[dict[str, Any]]) -> None:
    """Every measurement a number or absent, every count within range, every label text
    (else BadValue)."""
    for row in rows:
        for key, value in row.items():
            if key in NUMERIC or key.startswith((OBJ, FINAL)):
                value = number(value)
                if key in INTEGERS and value is not None and abs(value) > LARGEST_INTEGER:
                    raise BadValue(row[key], "is out of range", field=key)
            elif key in TEXT and value is not None and not isinstance(value, str):
                raise BadValue(value, "is not text")


def malformed(exc: Exception, document: Any) -> str:
    """Why a document was skipped: the field and its value when known."""
    if isinstance(exc, KeyError):
        return f"malformed document: missing field {exc}"
    if isinstance(exc, BadValue):
        where = locate(document, exc.value) or exc.field
        return f"malformed document: {where + ': ' if where else ''}{exc}"
    text = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"malformed document: {type(exc).__name__}: {text}"


def locate(document: Any, value: Any) -> str | None:
    """The path (`modes[1].step_time.median_s`) where `value` lies in `document`: the very
    object for a list or dict, the one equal leaf for a scalar (None when several are)."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if len(found) > 1:
            return
        if node is value if isinstance(value, dict | list) else \
                (type(node) is type(value) and node == value):
            found.append(path)
            return
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in items:
            walk(child, f"{path}[{key}]" if isinstance(key, int)
                 else f"{path}.{key}" if path else str(key))

    walk(document, "")
    return found[0] if len(found) == 1 and found[0] else None


REFERENCE_SAVE_NAME = "reference"  # `pytest --benchmark --benchmark-save=reference`


def reference_reason(file: Path, document: dict[str, Any]) -> str | None:
    """Why a document is reference data shipped with (or kept as a reference by) a project,
    not one of the user's runs; None for the user's own results.

    - a `"reference": true` marker at the top level or in a pytest-benchmark `mobench` block;
    - a replay table (kind "table") or anything else in a `tables/` folder: the lookup tables
      that `compare` replays (`results/tables/` ships the project's own);
    - a pytest-benchmark file saved under the name "reference" (`NNNN_reference.json`, written
      by `pytest --benchmark --benchmark-save=reference`), as the project's reference run in
      `results/benchmarks/<hardware-id>/` is;
    - anything under a `reference/` folder (`results/reference/comparisons/` ships the
      project's strategy comparisons);
    - a surrogate fitted to a replay table (`results/surrogates/` ships the project's).
    """
    block = document.get("mobench") if isinstance(document.get("mobench"), dict) else {}
    if document.get("reference") is True or block.get("reference") is True:
        return "marked reference"
    if document.get("kind") in ("table", "curves") or "tables" in file.parent.parts[-1:]:
        return "replay table"
    table = document.get("table") if isinstance(document.get("table"), dict) else {}
    if document.get("kind") == "surrogate" and "tables" in Path(str(table.get("path", ""))
                                                              ).parent.parts[-1:]:
        return "surrogate of a replay table"
    if "reference" in file.parent.parts:
        return "reference result shipped with the project"
    name = file.stem.split("_", 1)
    if block and len(name) == 2 and name[0].isdigit() and name[1] == REFERENCE_SAVE_NAME:
        return "reference benchmark run"
    return None


def json_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files given, and `*.json` under folders given (sorted, hidden entries skipped, once)."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        found = [path] if path.is_file() else sorted(
            p for p in path.rglob("*.json") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def read_document(file: Path) -> Any:
    if file.stat().st_size > MAX_FILE_BYTES:
        raise UsageError(f"larger than {MAX_FILE_BYTES // 2**20} MiB; not a results document")
    return read_json(file)


Builder = Callable[[dict[str, Any], Path], list[dict[str, Any]]]


def dispatch(document: Any) -> tuple[str, Builder]:
    """(kind, row builder) of a parsed document, or a UsageError saying why it is skipped."""
    if not isinstance(document, dict):
        raise UsageError(f"not a mobench document: top level is {type(document).__name__}")
    kind = document.get("kind")
    if kind is None and isinstance(document.get("benchmarks"), list) \
            and isinstance(document.get("machine_info"), dict):
        return BENCHMARK_KIND, benchmark_rows
    if kind is None:
        raise UsageError("not a mobench document (no 'kind' field, not pytest-benchmark JSON)")
    builder = ROW_BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        known = ", ".join(sorted([*ROW_BUILDERS, "pytest-benchmark"]))
        raise UsageError(f"unknown document kind {shown(kind)} (the report reads: {known})")
    check_document(document, kind)
    return kind, builder


def make_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    extra = sorted(c for c in frame.columns if c not in COLUMNS)
    frame = frame.reindex(columns=[*COLUMNS, *extra])
    for name in ("reference", "feasible", "on_front"):
        frame[name] = frame[name].astype("boolean")
    for name in INTEGERS:
        frame[name] = pd.to_numeric(frame[name]).round().astype("Int64")
    return frame


def _comparison_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    return comparison_rows(document, provenance_columns(document))


def _no_rows(document: dict[str, Any], file: Path) -> list[dict[str, Any]]:
    """Known kinds that hold no measured units of their own (a table's header: its rows are
    in the CSV beside it); listed in the provenance, not skipped as foreign."""
    return []


ROW_BUILDERS: dict[str, Builder] = {
    "profile": profile_rows,
    "evaluation": evaluation_rows,
    "tuning": tuning_rows,
    "comparison": _comparison_rows,
    "table": _no_rows,
    "curves": _no_rows,  # a sampled learning-curve table's header (compare/curves.py)
    "surrogate": _no_rows,  # a fitted surrogate's fidelity and fronts (compare/surrogate.py)
    # early stopping's targets, side by side (benchmarks/multifidelity_targets.py)
    "multifidelity-targets": _no_rows,
    # a front carried to another machine against a rebuild (benchmarks/transfer_targets.py)
    "transfer-targets": _no_rows,
}

__all__ = ["COLUMNS", "MEASURES", "Problem", "ROW_BUILDERS", "Results", "collect",
           "load_results", "reference_reason"]
