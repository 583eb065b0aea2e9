"""What every verb shares: its log line, output paths checked before the work, and a
finished document written (or kept in a temporary file when the write fails)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from mobench.documents import write_json
from mobench.errors import UsageError


def log(message: str) -> None:
    print(f"mobench: {message}", file=sys.stderr, flush=True)


def check_output(path: Path, option: str, *, folder: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written (one line, nothing written):
    a file path naming a folder, a folder naming a file, a parent that is a file or not
    writable. Returns `path`."""
    path = Path(path)
    if not folder and path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file path, e.g. "
                         f"{path / 'result.json'}")
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file; give a folder")
    where = path if folder else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise UsageError(f"{option} {path} cannot be written: {where} is a file, not a folder")
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} cannot be written: folder {where} is not writable; "
                         "pick another path or fix its permissions")
    return path


def save_document(path: Path, document: dict) -> int:
    """Write a finished result; if that fails after all (disk full), keep it in a temporary
    file, say where, and return 1 (0 when written)."""
    try:
        write_json(path, document)
    except OSError as exc:
        try:
            fd, tmp = tempfile.mkstemp(prefix="mobench-", suffix=".json")
            os.close(fd)
            write_json(tmp, document)
            kept = f"the result is kept in {tmp}"
        except OSError as again:
            kept = f"nor could it be kept in a temporary file ({again.strerror or again})"
        print(f"mobench: error: cannot write {path} ({exc.strerror or exc}); {kept}",
              file=sys.stderr, flush=True)
        return 1
    log(f"wrote {path}")
    return 0


def default_run_path(kind: str, suite: str, variant: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / "runs" / f"{kind}-{suite}-{variant}-{stamp}.json"
