"""mobench: resource-aware benchmarks and multi-objective tuning for TensorFlow/Keras.

Importing this package is cheap: TensorFlow is imported only by the modules that need it, and
pandas only when `mobench.load_results` is first used.
"""

from __future__ import annotations

import os
from typing import Any

# TensorFlow's CPU allocator counts every tensor only when it is its BFC allocator; read when
# TensorFlow makes its first CPU allocation, so it works even if TensorFlow is imported already
# (see mobench.profiling.memory). A user's own setting wins.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")


def _quiet() -> None:
    """TensorFlow's native start-up lines kept off stderr for the Python API too, as the CLI
    does (`mobench.console.quiet_tensorflow`: an import hook; TensorFlow is not imported)."""
    from mobench.console import quiet_tensorflow

    quiet_tensorflow()


_quiet()

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "load_results":  # lazy: pulls in pandas
        from mobench.report.load import load_results

        return load_results
    raise AttributeError(f"module 'mobench' has no attribute {name!r}")


__all__ = ["__version__", "load_results"]
