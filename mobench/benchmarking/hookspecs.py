"""Hooks of mobench's pytest plugin: the boundary a conftest or plugin may replace.

Both are `firstresult`; mobench's own implementations run last, so an implementation in a
conftest.py (a fake profiler figure in a test, another fingerprint source) takes precedence.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_mobench_fingerprint(config: pytest.Config) -> dict[str, Any] | None:
    """The hardware fingerprint stored with the run; its `hardware_id` names the run folder."""


@pytest.hookspec(firstresult=True)
def pytest_mobench_prepare(config: pytest.Config, case: Any) -> Any:
    """Profile `case` (a `mobench.benchmarking.options.Case`) and return a `Prepared`:
    the profiler's figures for extra_info and the step function pytest-benchmark times."""
