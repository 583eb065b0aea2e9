"""Typed checks of a table's cells: the first bad cell is named by line and column in one
line, so a garbled or non-finite table is refused instead of fitted or replayed.

A check takes the cell's text and whether the row is `ok` (a measured config, whose numbers
must be finite; a failed one may hold NaN or nothing) and returns the value or raises
ValueError with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from mobench.compare.appendcsv import Rows
from mobench.errors import UsageError

STATUSES = ("ok", "failed", "out_of_memory", "stopped")
# where a transferred curves table's row comes from (`mobench transfer`): trained on this
# machine, or its costs predicted by the calibration from the reference machine's
ORIGINS = ("measured", "predicted")
Check = Callable[[str, bool], Any]


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def integer(text: str, ok: bool) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not an integer") from None


def optional_integer(text: str, ok: bool) -> int | None:
    return None if text == "" else integer(text, ok)


def number(text: str, ok: bool) -> float | None:
    """A number or empty; an ok row's number must be finite."""
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a number") from None
    if ok and not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number (in a row whose status is ok)")
    return value


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{_shown(text)} is not valid JSON") from None


def number_list(text: str, ok: bool) -> list[float] | None:
    """A JSON list of numbers (null or NaN allowed in a failed row) or empty."""
    if text == "":
        return None
    values = _json(text)
    if not isinstance(values, list):
        raise ValueError(f"{_shown(text)} is not a JSON list of numbers")
    for value in values:
        if value is None and not ok:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{value!r} in {_shown(text)} is not a number")
        if ok and not math.isfinite(value):
            raise ValueError(f"{value} in {_shown(text)} is not a finite number (in a row "
                             "whose status is ok)")
    return values


def repeats(text: str, ok: bool) -> list[float] | None:
    """A grid table's measured repeats: a non-empty list of finite numbers, or empty."""
    values = number_list(text, True)
    if values == []:
        raise ValueError("an empty list of repeats")
    return values


def config(text: str, ok: bool) -> dict[str, Any]:
    value = _json(text)
    if not isinstance(value, dict):
        raise ValueError(f"{_shown(text)} is not a JSON object of hyperparameter values")
    return value


def status(text: str, ok: bool) -> str:
    if text not in STATUSES:
        raise ValueError(f"{_shown(text)} is not a status ({', '.join(STATUSES)})")
    return text


def origin(text: str, ok: bool) -> str:
    if text not in ORIGINS:
        raise ValueError(f"{_shown(text)} is not an origin ({', '.join(ORIGINS)})")
    return text


def text_cell(text: str, ok: bool) -> str:
    return text


def bad_cell(path, line: int, column: str, reason: str) -> UsageError:
    return UsageError(f"{path}, line {line}, column {column!r}: {reason}")


def checked_rows(parsed: Rows, checks: dict[str, Check]) -> list[dict[str, Any]]:
    """Every row's cells converted by the check of its column (columns without one are
    text); the first bad cell is a UsageError naming its line and column."""
    out = []
    for line, record in zip(parsed.lines, parsed.records(), strict=True):
        try:
            ok = status(record["status"], True) == "ok" if "status" in record else True
        except ValueError as exc:
            raise bad_cell(parsed.path, line, "status", str(exc)) from None
        row: dict[str, Any] = {}
        for column, text in record.items():
            try:
                row[column] = checks.get(column, text_cell)(text, ok)
            except ValueError as exc:
                raise bad_cell(parsed.path, line, column, str(exc)) from None
        out.append(row)
    return out
