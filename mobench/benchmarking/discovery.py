"""Where suite files are: which TOML files are suites, and which folders `pytest --benchmark`
collects them from."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from mobench.suites import Suite, parse_suite

SUITE_DIR_NAMES = ("suites", "_suites")


def is_suite_file(path: Path) -> bool:
    """A TOML file in a `suites` folder that declares a suite (name and model keys)."""
    if path.suffix != ".toml" or path.parent.name not in SUITE_DIR_NAMES:
        return False
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # looks like ours but broken: collecting it reports why
    return "name" in doc and "model" in doc


def suite_dirs_for(args: Iterable[str], invocation_dir: Path) -> list[Path]:
    """The folders the collection arguments point at (a folder, or a suite file's folder)."""
    dirs: list[Path] = []
    for arg in args:
        path = invocation_dir / arg.split("::")[0]
        folder = path if path.is_dir() else path.parent
        if folder.is_dir() and folder not in dirs:
            dirs.append(folder)
    return dirs


def find_suites(dirs: Iterable[Path]) -> dict[str, Suite]:
    """The suites collection would find in these folders, by name (first one wins)."""
    found: dict[str, Suite] = {}
    for folder in dirs:
        for path in sorted(folder.glob("*.toml")):
            if is_suite_file(path):
                suite = parse_suite(path)
                found.setdefault(suite.name, suite)
    return found


def default_target(rootpath: Path) -> Path | None:
    """Where `pytest --benchmark` without paths collects suites: the project's `suites/`,
    else the current folder's, else the suites shipped with mobench."""
    from mobench.suites import PACKAGE_DIR

    for folder in (rootpath / "suites", Path.cwd() / "suites", PACKAGE_DIR / "_suites",
                   PACKAGE_DIR.parent / "suites"):
        if folder.is_dir() and any(folder.glob("*.toml")):
            return folder
    return None
