"""Stored documents: written atomically (write, fsync, rename), read as data only, and the
provenance every result carries (hardware, versions, git commit, time, command line)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mobench.errors import UsageError
from mobench.urls import command_line, hide_passwords


def write_json(path: str | os.PathLike, document: dict[str, Any]) -> Path:
    """Write `document` so that a crash leaves either the old file or the new one, never half."""
    text = json.dumps(document, indent=2, sort_keys=False, allow_nan=False, default=str)
    return write_text(path, text + "\n")


def write_text(path: str | os.PathLike, content: str) -> Path:
    """Write atomically (temporary file, fsync, rename), with the permissions the process umask
    gives a new file (mkstemp alone makes 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing or corrupt file is a UsageError naming it and why."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply to be a mobench document") from None


@functools.cache
def mobench_version() -> str:
    """The installed mobench's version (from the package metadata, which the build reads from
    `mobench/__init__.py`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mobench")
    except PackageNotFoundError:
        return "unknown"


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout holding mobench (or `start`), '+dirty' when modified."""
    where = start or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty.strip() else sha


def provenance(fingerprint: dict[str, Any], seed: int, **extra: Any) -> dict[str, Any]:
    """Everything a reader needs to reproduce or compare a result."""
    document = {
        "mobench_version": mobench_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command_line(sys.argv),
        "git_commit": git_commit(),
        "seed": seed,
        "hardware_id": fingerprint.get("hardware_id"),
        "hardware": fingerprint,
        **extra,
    }
    # a command given as text (a worker's) is masked again: its URLs end at white space
    document["command"] = hide_passwords(str(document["command"]))
    return document
