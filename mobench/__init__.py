"""mobench: resource-aware benchmarks and multi-objective tuning for TensorFlow/Keras.

Importing this package is cheap: TensorFlow is imported only by the modules that need it.
"""

from __future__ import annotations

__version__ = "0.1.0"
