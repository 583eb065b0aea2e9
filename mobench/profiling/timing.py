"""Clock reads done right: device sync before each read, warm-up excluded, GC off, robust stats."""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from mobench.records import Timing


def summarize(seconds: Sequence[float]) -> Timing:
    """Median, IQR and extremes of clock readings (seconds)."""
    if len(seconds) == 0:
        raise ValueError("summarize() needs at least one reading")
    a = np.asarray(seconds, dtype=np.float64)
    p25, med, p75 = np.percentile(a, [25, 50, 75])
    return Timing(
        median_s=float(med), iqr_s=float(p75 - p25), p25_s=float(p25), p75_s=float(p75),
        min_s=float(a.min()), max_s=float(a.max()), mean_s=float(a.mean()), n=len(a),
    )


def percentile(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds, dtype=np.float64), q))


@functools.cache
def _accelerators() -> bool:
    import tensorflow as tf

    return any(d.device_type != "CPU" for d in tf.config.list_logical_devices())


def sync_devices() -> None:
    """Wait until every device has finished the work queued so far.

    Only accelerators run asynchronously: on a CPU-only host a TensorFlow call returns when its
    work is done, so the sync (22 us a call, measured) would only add to every timed step.
    """
    if _accelerators():
        import tensorflow as tf

        tf.test.experimental.sync_devices()


@contextmanager
def gc_disabled() -> Iterator[None]:
    """Keep Python's garbage collector from firing inside a timed region."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def timed_call(fn: Callable[[], object], sync: Callable[[], None] = sync_devices) -> float:
    """Seconds one call of `fn` takes until the device is idle again."""
    sync()
    t0 = time.perf_counter_ns()
    fn()
    sync()
    return (time.perf_counter_ns() - t0) / 1e9


def time_steps(
    fn: Callable[[], object], steps: int, sync: Callable[[], None] = sync_devices
) -> list[float]:
    """`steps` individually clocked calls of `fn` (seconds each), GC disabled throughout."""
    with gc_disabled():
        return [timed_call(fn, sync) for _ in range(steps)]
