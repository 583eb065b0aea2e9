"""Collect suite TOML files as pytest items: one per selected variant x execution mode.

A `*.toml` file in a folder named `suites` (or the wheel's `_suites`) that has `name` and
`model` keys becomes a `SuiteFile` collector. It behaves as a Python module holding one test
function named after the suite, parametrized by `variant` and `mode`, so the items are ordinary
`pytest.Function`s: fixtures (`benchmark`), `-k`, `--benchmark-group-by param:mode` all work.
"""

from __future__ import annotations

import functools
import tomllib
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from mobench.errors import UsageError
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


def _reportinfo(path: Path, name: str) -> tuple[Path, int, str]:
    return path, 0, name


def _bench(benchmark: Any, request: pytest.FixtureRequest, variant: str | None,
           mode: str) -> None:
    from mobench.benchmarking.runner import run_case

    run_case(request, benchmark, variant, mode)


class SuiteFile(pytest.Module):
    """A suite TOML file as a module of one parametrized benchmark test."""

    _suite: Suite | None = None

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            try:
                self._suite = parse_suite(self.path)
            except UsageError as exc:
                raise self.CollectError(str(exc)) from None
        return self._suite

    def _getobj(self) -> types.ModuleType:
        name = self.suite.name
        module = types.ModuleType(f"mobench_suite_{self.path.stem.replace('-', '_')}",
                                  f"mobench suite {name} ({self.path})")
        test = types.FunctionType(_bench.__code__, _bench.__globals__, name)
        test.__module__ = module.__name__
        test.__test__ = True  # collected whatever the project's python_functions say
        setattr(module, name, test)
        return module

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        from mobench.benchmarking.runner import plan_for

        if not self.cases(*plan_for(self.config)):
            return []  # not selected by --mobench-suites
        items = list(super().collect())
        for item in items:  # report the suite file, not the module holding the test body
            item.reportinfo = functools.partial(_reportinfo, self.path, item.name)
        return items

    def cases(self, selection: dict[str, tuple[str | None, ...]] | None,
              modes: tuple[str, ...]) -> list[tuple[str | None, str]]:
        """(variant, mode) pairs this file contributes under the run's selection."""
        from mobench.benchmarking.options import default_variant

        if selection is None:
            variants: tuple[str | None, ...] = (default_variant(self.suite),)
        else:
            variants = selection.get(self.suite.name, ())
        return [(v, m) for v in variants for m in modes]
