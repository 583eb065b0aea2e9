"""Reports from stored results: load (pandas), plots (matplotlib, Agg), HTML and Markdown.

Importing this package is cheap; pandas and matplotlib load with the submodules that use them.
Public entry points: `load_results` / `collect` (mobench.report.load) and `build_report`
(mobench.report.build); the CLI verb lives in mobench.cli.report.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"load_results": "mobench.report.load", "collect": "mobench.report.load",
         "build_report": "mobench.report.build"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mobench.report' has no attribute {name!r}")


__all__ = ["build_report", "collect", "load_results"]
