"""`pytest --benchmark`: mobench suites as pytest-benchmark tests, stored per hardware.

The pytest plugin itself is `mobench.benchmarking.plugin` (registered through the `pytest11` entry
point); the modules here hold its parts. None of them imports TensorFlow at import time.
"""
