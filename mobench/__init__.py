"""mobench: resource-aware benchmarks and multi-objective tuning for TensorFlow/Keras.

Importing this package is cheap: TensorFlow is imported only by the modules that need it, and
pandas only when `mobench.load_results` is first used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "load_results":  # lazy: pulls in pandas
        from mobench.report.load import load_results

        return load_results
    raise AttributeError(f"module 'mobench' has no attribute {name!r}")


__all__ = ["__version__", "load_results"]
