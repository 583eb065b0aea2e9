"""Where a result came from: hardware fingerprint, versions, git commit, time, command line."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any


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
    from mobench import __version__

    return {
        "mobench_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "git_commit": git_commit(),
        "seed": seed,
        "hardware_id": fingerprint.get("hardware_id"),
        "hardware": fingerprint,
        **extra,
    }
