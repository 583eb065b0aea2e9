"""Append-only CSV tables (grid tables, learning-curve tables): one writer at a time, and a
last row torn by a crash repaired on resume.

A build holds an exclusive `flock` on `<csv>.lock` for its whole run, so a second build on
the same file is refused at once instead of writing configs twice. Rows are appended and
fsynced one by one; a crash can only tear the last one, which the next build truncates (and
says so) and readers leave out.
"""

from __future__ import annotations

import csv
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mobench.errors import UsageError


@contextmanager
def exclusive_lock(csv_path: Path) -> Iterator[None]:
    """Hold `<csv>.lock` exclusively; a second writer gets a UsageError at once."""
    lock = csv_path.with_name(csv_path.name + ".lock")
    with lock.open("a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{csv_path} is being written by another process (lock {lock} "
                             "held); wait for it to finish or pick another --out") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def split_torn(text: str, n_fields: int) -> tuple[str, str]:
    """(complete text, torn tail): a tail without newline or with the wrong field count."""
    if not text:
        return "", ""
    cut = text.rfind("\n", 0, len(text) - 1 if text.endswith("\n") else len(text)) + 1
    last = text[cut:]
    fields = next(csv.reader([last.rstrip("\r\n")]), [])
    if last.endswith("\n") and len(fields) == n_fields:
        return text, ""
    return text[:cut], last


def repair_tail(csv_path: Path, fields: list[str], on_line: Callable[[str], None],
                kind: str = "mobench") -> None:
    """Truncate a torn last line (an interrupted write), saying what was dropped; a file whose
    first line is not `fields` is not such a table: a UsageError, and nothing is changed."""
    if not csv_path.exists():
        return
    try:
        text = csv_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{csv_path} is not a {kind} table (not text); pick another "
                         "--out") from None
    first = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]), []) if text else []
    if text and first != fields:
        raise UsageError(f"{csv_path}: its columns are not those of a {kind} table of "
                         "this suite; pick another --out")
    good, torn = split_torn(text, len(fields))
    if torn:
        with csv_path.open("r+", encoding="utf-8") as f:
            f.truncate(len(good.encode("utf-8")))
            f.flush()
            os.fsync(f.fileno())
        shown = torn if len(torn) <= 80 else torn[:77] + "..."
        on_line(f"repaired {csv_path}: dropped a torn last line ({len(torn.encode())} bytes: "
                f"{shown!r})")
