"""Cell text for report tables: units chosen from the column name, '-' for a missing value."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mobench.display import nbytes, objective_value, seconds, si
from mobench.report.rows import OBJ

MISSING = "-"


def present(value: Any) -> bool:
    if value is None or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def fmt(column: str, value: Any) -> str:
    """A cell: units from the column name (or the objective catalogue for `obj.*`)."""
    if not present(value):
        return MISSING
    if column.startswith(OBJ):
        if column.endswith("accuracy") and isinstance(value, int | float) and 0 <= value <= 1:
            return f"{value:.1%}"
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        return objective_value(column.removeprefix(OBJ), value) \
            if isinstance(value, int | float) else str(value)
    if column.endswith("flops_per_s"):
        return si(float(value), "FLOP/s")
    if column.endswith("_s"):
        return seconds(float(value))
    if column.endswith("_bytes"):
        return nbytes(int(value))
    if column in ("throughput", "inference_throughput"):
        return si(float(value), "/s")
    if column == "peak_fraction":
        return f"{float(value):.1%}"
    if column == "energy_j_per_step":
        return si(float(value), "J")
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.4g}"
    return str(value)


def short_commit(commit: Any) -> str:
    if not present(commit):
        return MISSING
    sha, plus, rest = str(commit).partition("+")
    return sha[:10] + plus + rest
