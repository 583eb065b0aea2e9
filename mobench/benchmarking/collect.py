"""Collect suite TOML files as pytest items: one per selected variant x execution mode.

A `*.toml` file in a folder named `suites` (or the wheel's `_suites`) that has `name` and
`model` keys becomes a `SuiteFile` collector. It behaves as a Python module holding one test
function named after the suite, parametrized by `variant` and `mode`, so the items are ordinary
`pytest.Function`s: fixtures (`benchmark`), `-k`, `--benchmark-group-by param:mode` all work.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path
from typing import Any

import pytest

from mobench.errors import UsageError
from mobench.suites import Suite, parse_suite


def _reportinfo(path: Path, name: str) -> tuple[Path, int, str]:
    return path, 0, name


def _bench(benchmark: Any, request: pytest.FixtureRequest, variant: str | None,
           mode: str) -> None:
    from mobench.benchmarking.runner import run_case

    run_case(request, benchmark, request.node.getparent(SuiteFile).suite, variant, mode)


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
