"""Append-only CSV tables (grid tables, learning-curve tables): one lock, one parser, one
writer and one repair for both.

- Lock: a build holds an exclusive `flock` on `<csv>.lock` for its whole run, so a second
  build on the same file is refused at once; the lock file is removed when the build ends
  (normally, by an error or Ctrl-C), and a writer checks after locking that the file it
  locked is still the one at that path (else it locked a removed file and tries again).
- Parse: one row per line. The bytes are split at `\\n` and each line parsed by the csv
  module, so every row's line number and byte offset are known whatever the line ending
  (`\\n` or `\\r\\n`); nothing is ever cut by counting characters.
- Repair: only an unterminated last line (a write cut short by a crash or a full disk) is
  dropped, by truncating the file after the last complete row. Any other damaged line (a
  wrong number of fields, not UTF-8, broken quoting, a blank line), wherever it is, is
  refused with its line number and nothing is changed: it is never kept or glued to a row.
- Write: each row is one `os.write` of its encoded line plus `fsync`, in the file's own line
  ending; a failed write (a full disk) truncates back to the last complete row when it can,
  and is one line (FatalError) either way: the next build repairs what is left.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobench.errors import FatalError, UsageError


def lock_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + ".lock")


@contextmanager
def exclusive_lock(csv_path: Path) -> Iterator[None]:
    """Hold `<csv>.lock` exclusively, and remove it when done; a second writer gets a
    UsageError at once."""
    lock = lock_path(csv_path)
    while True:
        try:
            f = lock.open("a")
        except OSError as exc:
            raise disk_error(lock, exc) from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise UsageError(f"{csv_path} is being written by another process (lock {lock} "
                             "held); wait for it to finish or pick another --out") from None
        if _same_file(lock, f.fileno()):
            break
        f.close()  # its holder removed it before we locked it: lock the file there now
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # still locked: a writer that opened it retries
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()


def _same_file(path: Path, fd: int) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def disk_error(path: Path, exc: OSError) -> FatalError:
    """One line for a write that failed (a full disk, a read-only mount)."""
    return FatalError(f"cannot write {path} ({exc.strerror or exc}); the rows written before "
                      "are kept: free space (or fix the folder) and rerun the same command to "
                      "resume")


# ---- parsing -----------------------------------------------------------------------------

@dataclass
class Rows:
    """A table file as parsed: its column names, complete rows and their line numbers, and
    an unterminated last line (`torn`) left out."""

    path: Path
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # 1-based line of each row
    good_bytes: int = 0  # bytes of the column line and the complete rows
    torn: bytes = b""
    newline: str = "\n"
    data: bytes = b""

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def text(self) -> str:
        """The complete part of the file (the column line and the complete rows)."""
        return self.data[:self.good_bytes].decode("utf-8")


def damaged(path: Path, line: int, problem: str) -> UsageError:
    return UsageError(f"{path}, line {line}: {problem}; the table is damaged there (only a "
                      "last row cut short is repaired): fix or delete that line")


def parse_rows(path: Path, expected: list[str] | None = None) -> Rows:
    """Parse `path` (a missing file is an empty table); a damaged line is a UsageError
    naming it. `expected`: the column line a build would write, so a column line cut
    short is recognised as torn."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Rows(path)
    except OSError as exc:
        raise UsageError(f"{path}: not readable: {exc.strerror or exc}") from None
    parsed = Rows(path, data=data)
    pieces = data.split(b"\n")
    raw_lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    offset = 0
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.endswith(b"\n"):  # only the last line can lack one: a write cut short
            if number == 1 and not _torn_column_line(raw, expected):
                raise UsageError(f"{path}: not a table (one line without a line end)")
            parsed.torn = raw
            break
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise damaged(path, number, "not UTF-8 text") from None
        try:
            cells = next(csv.reader([text.rstrip("\r\n")], strict=True), [])
        except csv.Error as exc:
            raise damaged(path, number, f"not a CSV row ({exc})") from None
        if number == 1:
            if not cells:
                raise UsageError(f"{path}: not a table (its first line is blank)")
            parsed.columns = cells
            parsed.newline = "\r\n" if raw.endswith(b"\r\n") else "\n"
        elif len(cells) != len(parsed.columns):
            raise damaged(path, number, f"{len(cells)} fields where the table has "
                          f"{len(parsed.columns)}")
        else:
            parsed.rows.append(cells)
            parsed.lines.append(number)
        offset += len(raw)
        parsed.good_bytes = offset
    return parsed


def _torn_column_line(raw: bytes, expected: list[str] | None) -> bool:
    """A first line cut short while a build wrote the column names."""
    return expected is not None and ",".join(expected).encode().startswith(raw.rstrip(b"\r"))


def repair(path: Path, fields: list[str], on_line: Callable[[str], None],
           kind: str = "mobench") -> Rows:
    """The table at `path` parsed, its torn last line (an interrupted write) truncated and
    said; a file whose first line is not `fields` is not such a table, and a line damaged
    anywhere else is refused: a UsageError, and nothing is changed."""
    parsed = parse_rows(path, fields)
    if parsed.columns and parsed.columns != fields:
        raise UsageError(f"{path}: its columns are not those of a {kind} table of this "
                         "suite; pick another --out")
    if parsed.torn:
        try:
            with path.open("r+b") as f:
                f.truncate(parsed.good_bytes)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise disk_error(path, exc) from None
        torn = parsed.torn.decode("utf-8", errors="replace")
        shown = torn if len(torn) <= 80 else torn[:77] + "..."
        on_line(f"repaired {path}: dropped a torn last line ({len(parsed.torn)} bytes: "
                f"{shown!r})")
        parsed.torn = b""
        parsed.data = parsed.data[:parsed.good_bytes]
    return parsed


# ---- writing -----------------------------------------------------------------------------

def encode_row(values: list[Any], newline: str) -> bytes:
    """One CSV line; a line break inside a cell becomes a space (one row per line)."""
    buffer = io.StringIO()
    cells = ["" if v is None else str(v).replace("\r", " ").replace("\n", " ") for v in values]
    csv.writer(buffer, lineterminator=newline).writerow(cells)
    return buffer.getvalue().encode("utf-8")


class Appender:
    """Appends rows to one table: the column line first when the file is empty, each row in
    one write and fsynced, in the file's own line ending (`\\n` for a new file)."""

    def __init__(self, parsed: Rows, fields: list[str]) -> None:
        self.path = parsed.path
        self.fields = fields
        self.newline = parsed.newline if parsed.columns else "\n"

    def start(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._write(encode_row(self.fields, self.newline))

    def append(self, row: dict[str, Any]) -> None:
        self.extend([row])

    def extend(self, rows: list[dict[str, Any]]) -> None:
        """Rows in one write and one fsync."""
        unknown = {name for row in rows for name in row} - set(self.fields)
        if unknown:
            raise ValueError(f"columns not in the table: {sorted(unknown)}")
        self._write(b"".join(encode_row([row.get(name) for name in self.fields], self.newline)
                             for row in rows))

    def _write(self, data: bytes) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise disk_error(self.path, exc) from None
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, size)  # back to the last complete row
                except OSError:
                    pass  # the torn line is repaired by the next build
                raise disk_error(self.path, exc) from None
        finally:
            os.close(fd)
